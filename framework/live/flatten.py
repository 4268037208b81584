"""The kill switch's flattening orders (engine component ``"flatten"``, live only).

When the kill switch trips (risk rows ``drawdown`` / ``daily_loss`` / ``kill`` in state
``tripped``) and ``enabled`` is set (``--flatten-on-kill``), the position is closed with
reduce-only IOC orders priced ``slippage`` through the touch (the SDK's market order:
an IOC limit 5 % away), one at a time; while a position is left after an order ends,
another follows ``retry_s`` later, at most ``max_orders`` in all.  The strategy has
already cancelled its quotes (risk stopped quoting); this only closes the position.
Everything is decided from engine events, so ``replay --verify`` re-derives it.
"""

from __future__ import annotations

from typing import Any

from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.grid import round_price, round_size

__all__ = ["Flattener"]

_KILL_RULES = frozenset({"drawdown", "daily_loss", "kill"})


class Flattener:
    """Reduce-only IOC orders that close the position after the kill switch.

    Parameters
    ----------
    coin : str
    sz_decimals : int
    enabled : bool
        ``--flatten-on-kill``; when False the component only watches.
    slippage : float
        How far through the touch the IOC is priced (fraction).
    retry_s : float
        Wait after an order ended with a position left, before the next.
    max_orders : int
        Flattening orders at most.
    """

    name = "flatten"

    def __init__(
        self,
        coin: str = "HYPE",
        sz_decimals: int = 2,
        enabled: bool = False,
        slippage: float = 0.05,
        retry_s: float = 1.0,
        max_orders: int = 10,
    ) -> None:
        self.coin = coin
        self.sz_decimals = int(sz_decimals)
        self.enabled = bool(enabled)
        self.slippage = float(slippage)
        self.retry_ns = int(retry_s * 1e9)
        self.max_orders = int(max_orders)
        self.active = False
        self.sent = 0
        self.cloid: str | None = None  # the flattening order in flight

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.market = engine.component("market")
        self.orders = engine.component("orders")
        engine.subscribe(Kind.RISK, self.on_risk)
        engine.subscribe(Kind.ORDER_RESPONSES, self.on_outcome)
        engine.subscribe(Kind.ORDER_UPDATES, self.on_outcome)

    @property
    def done(self) -> bool:
        """Nothing (more) to do: disabled, never tripped, flat, or out of attempts."""
        return (
            not self.enabled
            or not self.active
            or (
                self.cloid is None and (self.orders.position == 0.0 or self.sent >= self.max_orders)
            )
        )

    def on_risk(self, cols: Columns, i: int) -> None:
        if cols.rule[i] in _KILL_RULES and cols.state[i] == "tripped" and not self.active:
            self.active = True
            if self.enabled:
                self._flatten(self.engine.now)

    def on_outcome(self, cols: Columns, i: int) -> None:
        if self.cloid is None or cols.cloid[i] != self.cloid:
            return
        if self.orders.order(self.cloid) is None:  # the IOC ended (filled, canceled, error)
            self.cloid = None
            self.engine.call_at(self.engine.now + self.retry_ns, self._flatten)

    def _flatten(self, t: int) -> None:
        pos = self.orders.position
        if self.cloid is not None or pos == 0.0 or self.sent >= self.max_orders:
            return
        m = self.market
        side = -1 if pos > 0 else 1
        ref = m.best_bid if side < 0 else m.best_ask
        if ref != ref:  # no touch on that side: the mark, else wait for a book
            ref = self.orders.mark_price()
            if ref != ref:
                self.engine.call_at(t + self.retry_ns, self._flatten)
                return
        px = round_price(ref * (1.0 - side * -self.slippage), self.sz_decimals)
        sz = round_size(abs(pos), self.sz_decimals)
        if sz <= 0.0:
            return
        e = self.engine
        self.cloid = e.next_cloid()
        self.sent += 1
        e.emit(
            Kind.ORDER_COMMANDS,
            (
                self.cloid,
                "place",
                self.coin,
                side,
                px,
                sz,
                "Ioc",
                True,
                None,
                e.input_seq,
                "flatten",
            ),
        )

    def snapshot(self) -> dict[str, Any]:
        return {"active": self.active, "sent": self.sent, "cloid": self.cloid}
