"""Test helpers: an instant paper venue and a tiny market driver (no fill simulator needed)."""

from __future__ import annotations

from typing import Any

from framework.book import MarketState
from framework.engine.core import Engine, ListSink
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.orders import OrderTracker
from framework.risk import RiskManager
from strategies.market_maker import MarketMaker

T0 = 1_700_000_000_000_000_000
SEC = 1_000_000_000


class InstantVenue:
    """Name ``fills``: acks every command at once; tests call :meth:`fill` to fill an order."""

    name = "fills"

    def __init__(self, headroom: float = 1.0) -> None:
        self.headroom = headroom
        self.position = 0.0
        self.resting: dict[str, list[Any]] = {}

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        engine.subscribe(Kind.ORDER_COMMANDS, self.on_command)

    def on_command(self, cols: Columns, i: int) -> None:
        e = self.engine
        cloid, action = cols.cloid[i], cols.action[i]
        side, px, sz, seq = cols.side[i], cols.px[i], cols.sz[i], cols.seq[i]
        if action == "cancel":
            self.resting.pop(cloid, None)
            e.emit(Kind.SIM_ORDERS, (cloid, "X", side, px, sz, "canceled", None, None, seq))
            return
        if action == "modify":
            old = cols.target_cloid[i]
            self.resting.pop(old, None)
            e.emit(Kind.SIM_ORDERS, (old, "X", side, None, None, "canceled", "modify", None, seq))
        self.resting[cloid] = [side, px, sz]
        e.emit(Kind.SIM_ORDERS, (cloid, "X", side, px, sz, "resting", None, 0.0, seq))

    def fill(self, side: int, sz: float | None = None) -> None:
        """Fill our resting order on ``side`` (fully, or ``sz``)."""
        e = self.engine
        for cloid, (s, px, rest) in list(self.resting.items()):
            if s == side:
                q = rest if sz is None else sz
                self.position += s * q
                fee = px * q * 1.5e-4
                e.emit(
                    Kind.SIM_FILLS,
                    (cloid, "X", s, px, q, fee, "maker", "trade_at", self.position, e.input_seq),
                )
                if q >= rest:
                    del self.resting[cloid]
                    e.emit(
                        Kind.SIM_ORDERS, (cloid, "X", s, px, 0.0, "filled", None, None, e.input_seq)
                    )
                else:
                    self.resting[cloid][2] = rest - q
                return
        raise AssertionError(f"no resting order on side {side}")

    def snapshot(self) -> dict[str, Any]:
        return {"resting": len(self.resting)}


class Harness:
    """An engine of market + venue + orders + risk + strategy, stepped by hand."""

    def __init__(
        self,
        strategy: dict | None = None,
        risk: dict | None = None,
        headroom: float = 1.0,
        seed: int = 1,
        orders: dict | None = None,
        cls: type[MarketMaker] = MarketMaker,
    ) -> None:
        self.sink = ListSink()
        self.venue = InstantVenue(headroom)
        strategy = {"coin": "X", "qlearning": False, **(strategy or {})}
        self.engine = Engine(
            [
                MarketState(),
                self.venue,
                OrderTracker(coin="X", **(orders or {})),
                RiskManager(**(risk or {})),
                cls(**strategy),
            ],
            seed=seed,
            sink=self.sink,
        )
        self.t = T0
        self.engine.start(T0)
        self.mm: MarketMaker = self.engine.component("strategy")
        self.orders: OrderTracker = self.engine.component("orders")
        self.risk: RiskManager = self.engine.component("risk")

    def step(self, kind: Kind, payload: tuple, dt: float = 0.5) -> None:
        self.t += int(dt * SEC)
        seq = self.engine.next_input_seq()
        cols = Columns.from_rows(kind, [(seq, self.t, self.t, *payload)])
        self.engine.step(kind, seq, self.t, cols, 0)

    def book(
        self, bid: float, ask: float, bsz: float = 5.0, asz: float = 5.0, dt: float = 0.5
    ) -> None:
        self.step(
            Kind.BOOK,
            ("X", [bid, bid - 0.01], [bsz, 10.0], [1, 1], [ask, ask + 0.01], [asz, 10.0], [1, 1]),
            dt,
        )

    def trade(self, px: float, side: int = 1, dt: float = 0.5) -> None:
        self.step(Kind.TRADES, ("X", side, px, 1.0, int(self.t), None), dt)

    def clock(self, dt: float) -> None:
        self.step(Kind.CLOCK, ("test",), dt)

    def rows(self, kind: Kind) -> list[tuple]:
        return [r for k, r in self.sink.rows if k == kind]

    def last_quote(self) -> tuple:
        return self.rows(Kind.QUOTES)[-1]
