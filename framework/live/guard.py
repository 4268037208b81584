"""The last check before an order leaves the process: caps the venue must never see
violated, whatever the strategy decided.

The strategy and the risk component already keep quotes inside the caps; this guard
is the independent second line the desk expects.  A place or modify is refused (and
answered locally with an ``error`` response starting ``client: blocked``) when, filled
completely together with every other open order on its side, it would take the
position past ``risk.max_position`` (coins) or ``risk.max_position_usd`` (at the
order's price), or the notional past ``equity x risk.leverage``, unless it only
reduces the position; after the kill switch (drawdown, daily loss, kill, shutdown)
only cancels and reduce-only orders pass.  Cancels always pass.
"""

from __future__ import annotations

from typing import Any

from framework.orders import SIDE, SZ

__all__ = ["Guard"]

_REL = 1e-9  # float slack: a position exactly at the cap is allowed


class Guard:
    """Checks order commands against the caps (see the module docstring).

    Parameters
    ----------
    engine : Engine
        Read only: the order tracker's position and open orders, the risk state.
    """

    def __init__(self, engine: Any) -> None:
        self.orders = engine.component("orders")
        self.risk = engine.component("risk")
        self.blocked = 0

    def check(self, cmd: dict[str, Any]) -> str | None:
        """None when ``cmd`` may be sent, else why not (one line)."""
        action = cmd["action"]
        if action == "cancel":
            return None
        side, px, sz = int(cmd["side"]), float(cmd["px"]), float(cmd["sz"])
        reduce_only = bool(cmd["reduce_only"])
        o, r = self.orders, self.risk
        pos = o.position
        if reduce_only and abs(pos + side * sz) <= abs(pos) * (1 + _REL) + 1e-12:
            return None  # only reduces (the venue also refuses a reduce-only that grows)
        if r.killed or r.daily_tripped:
            why = "drawdown/kill" if r.killed else "daily loss"
            return self._block(f"kill switch tripped ({why}): only cancels and reduce-only orders")
        skip = (cmd["cloid"], cmd.get("target_cloid"))
        same = sum(rec[SZ] for c, rec in o.open.items() if rec[SIDE] == side and c not in skip)
        worst = pos + side * (same + sz)
        if abs(worst) <= abs(pos):
            return None  # reduces even when every order on this side fills
        c = r.cfg
        if abs(worst) > c.max_position * (1 + _REL):
            return self._block(
                f"worst-case position {worst:g} (position {pos:g} + open {side * same:g} + "
                f"order {side * sz:g}) over the cap max_position {c.max_position:g}"
            )
        notional = abs(worst) * px
        if notional > c.max_position_usd * (1 + _REL):
            return self._block(
                f"worst-case position {worst:g} = {notional:.2f} USD at {px:g} over the cap "
                f"max_position_usd {c.max_position_usd:g}"
            )
        equity = o.equity
        if equity == equity and notional > equity * c.leverage * (1 + _REL):
            return self._block(
                f"worst-case notional {notional:.2f} USD over equity {equity:.2f} x leverage "
                f"{c.leverage:g}"
            )
        return None

    def _block(self, why: str) -> str:
        self.blocked += 1
        return f"client: blocked before sending: {why}"
