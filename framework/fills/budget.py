"""The simulated address request budget (hyperliquid_protocol.md §6.2).

Each order, cancel or modify the venue processes consumes one request.  The cap is
``10000 + cumulative traded volume in USDC``; once it is exhausted one request per
10 s is still allowed, and cancels have the higher cap ``min(cap + 100000, 2 cap)``.
"""

from __future__ import annotations

import math
from typing import Any

BASE_REQUESTS = 10_000
THROTTLED_INTERVAL_NS = 10_000_000_000


class RequestBudget:
    """Requests used against the cap ``base + cum_vlm``.

    Parameters
    ----------
    used : int, default 0
        Requests already used when the session starts (to exercise low headroom).
    cum_vlm : float, default 0.0
        Cumulative traded volume in USDC when the session starts.
    base : int, default 10000
        The venue's initial buffer.
    """

    def __init__(self, used: int = 0, cum_vlm: float = 0.0, base: int = BASE_REQUESTS) -> None:
        if used < 0 or not math.isfinite(cum_vlm) or cum_vlm < 0 or base <= 0:
            raise ValueError(
                f"budget used={used!r}, cum_vlm={cum_vlm!r}, base={base!r}: used and cum_vlm "
                "must be >= 0 and base > 0"
            )
        self.base = int(base)
        self._used = int(used)
        self._cum_vlm = float(cum_vlm)
        #: ``1 - used / cap`` (negative once cancels run past the order cap); a plain
        #: attribute kept current as used and cum_vlm change: the risk check reads it
        #: every second of event time (86,400 times a day), they change a few thousand.
        self.headroom = 1.0 - self._used / self.cap
        self.rejected = 0
        self._last_throttled_ns = -THROTTLED_INTERVAL_NS

    @property
    def used(self) -> int:
        """Requests used so far."""
        return self._used

    @used.setter
    def used(self, value: int) -> None:
        self._used = value
        self.headroom = 1.0 - value / self.cap

    @property
    def cum_vlm(self) -> float:
        """Cumulative traded volume, USDC."""
        return self._cum_vlm

    @cum_vlm.setter
    def cum_vlm(self, value: float) -> None:
        self._cum_vlm = value
        self.headroom = 1.0 - self._used / self.cap

    @property
    def cap(self) -> int:
        """``base + floor(cum_vlm)``, as ``nRequestsCap`` reports it."""
        return self.base + int(self._cum_vlm)

    def add_volume(self, notional: float) -> None:
        """Traded notional raises the cap one request per USDC."""
        self.cum_vlm += notional

    def take(self, now_ns: int, *, cancel: bool = False) -> bool:
        """Consume one request if the budget allows it at ``now_ns``; False = rate limited."""
        cap = self.cap
        if cancel:
            cap = min(cap + 100_000, 2 * cap)
        if self.used < cap:
            self.used += 1
            return True
        if now_ns - self._last_throttled_ns >= THROTTLED_INTERVAL_NS:
            self._last_throttled_ns = now_ns
            self.used += 1
            return True
        self.rejected += 1
        return False

    def snapshot(self) -> dict[str, Any]:
        return {
            "used": self.used,
            "cap": self.cap,
            "cum_vlm": self.cum_vlm,
            "headroom": self.headroom,
            "rejected": self.rejected,
        }
