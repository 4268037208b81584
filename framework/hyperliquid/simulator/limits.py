"""Venue limits: per-IP request weight (HTTP 429) and the per-address action budget.

Reference §6.  Wall-clock time is fine here: the simulator is a live venue, not engine code.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from typing import Any

from framework.hyperliquid import rest

# one definition of the /exchange weight for the client and the venue (re-exported here)
from framework.hyperliquid.wire import batch_length, exchange_weight

__all__ = ["AddressBudget", "IpLimiter", "batch_length", "exchange_weight", "info_weight"]

WINDOW_S = 60.0
THROTTLED_INTERVAL_S = 10.0


def info_weight(body: Mapping[str, Any], n_items: int = 0) -> int:
    """IP weight of one ``/info`` request (``n_items`` = elements returned).

    The weight table is the client's (:data:`framework.hyperliquid.rest.INFO_WEIGHTS`),
    so the venue charges exactly what the client budgets for.
    """
    kind = body.get("type")
    if not isinstance(kind, str):
        kind = ""  # not a request type: the default weight (the body is refused later)
    return rest.info_weight(kind) + rest.info_item_weight(kind, n_items)


class IpLimiter:
    """Sliding 60 s window of request weight per client IP."""

    def __init__(self, cap_per_min: int) -> None:
        self.cap = cap_per_min
        self._events: dict[str, collections.deque[tuple[float, int]]] = {}
        self._used: dict[str, int] = {}

    def charge(self, ip: str, weight: int, now: float) -> bool:
        """Add ``weight`` for ``ip`` at ``now`` (s); False (nothing charged) if over the cap."""
        q = self._events.setdefault(ip, collections.deque())
        used = self._used.get(ip, 0)
        while q and q[0][0] <= now - WINDOW_S:
            used -= q.popleft()[1]
        if used + weight > self.cap:
            self._used[ip] = used
            return False
        q.append((now, weight))
        self._used[ip] = used + weight
        return True

    def used(self, ip: str) -> int:
        return self._used.get(ip, 0)


class AddressBudget:
    """The per-address action budget of one account (reference §6.2).

    ``cap = initial + floor(cum_vlm)``; cancels may go up to ``min(cap + 100000, 2 * cap)``.
    When exhausted, one request is let through every 10 s.
    """

    __slots__ = ("initial", "last_throttled", "used")

    def __init__(self, initial: int) -> None:
        self.initial = initial
        self.used = 0
        self.last_throttled = -math.inf

    def cap(self, cum_vlm: float) -> int:
        return self.initial + math.floor(cum_vlm)

    def cancel_cap(self, cum_vlm: float) -> int:
        cap = self.cap(cum_vlm)
        return min(cap + 100_000, 2 * cap)

    def charge(self, n: int, cum_vlm: float, now: float, *, cancel: bool) -> bool:
        """Consume ``n`` requests; False if over budget and the 10 s allowance is used."""
        cap = self.cancel_cap(cum_vlm) if cancel else self.cap(cum_vlm)
        if self.used + n <= cap:
            self.used += n
            return True
        if now - self.last_throttled >= THROTTLED_INTERVAL_S:
            self.last_throttled = now
            self.used += n
            return True
        return False
