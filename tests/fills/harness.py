"""A paper venue under test: a real Engine with MarketState, the fill simulator, a
command injector, and a ListSink; events are hand-built rows (``Columns.from_rows``).

Times: the market methods (``book``, ``bbo``, ``trade``, ``ctx``) take the row's
exchange time ``ts``; the engine receives it ``feed_ms`` later (``recv_ts``, default
0: received when stamped).  Clock ticks, and so commands, happen at engine time.
"""

from __future__ import annotations

from typing import Any

from framework.book import MarketState
from framework.engine.core import Engine, ListSink
from framework.events.columns import Columns
from framework.events.schema import Kind, spec
from framework.fills.simulator import FillSimulator

MS = 1_000_000
HOUR = 3_600 * 1_000_000_000
#: 10 minutes after an hour boundary.
T0 = 1_700_000_000 // 3600 * HOUR + 600_000 * MS
COIN = "TEST"


class Commander:
    """Emits the order commands the test queued, when the next clock tick is stepped."""

    name = "cmd"

    def __init__(self) -> None:
        self.pending: list[tuple[Any, ...]] = []

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        engine.subscribe(Kind.CLOCK, self.on_clock)

    def on_clock(self, cols: Columns, i: int) -> None:
        pending, self.pending = self.pending, []
        for payload in pending:
            self.engine.emit(Kind.ORDER_COMMANDS, payload)

    def snapshot(self) -> dict[str, Any]:
        return {}


class Venue:
    """Drive a FillSimulator (its own defaults unless ``config`` says otherwise) through
    a real engine with hand-built events; market rows arrive ``feed_ms`` after ``ts``."""

    def __init__(self, seed: int = 1, *, feed_ms: float = 0.0, **config: Any) -> None:
        self.feed_ns = round(feed_ms * MS)
        self.sink = ListSink()
        self.sim = FillSimulator(**config)
        self.cmd = Commander()
        self.market = MarketState()
        self.engine = Engine([self.market, self.sim, self.cmd], seed=seed, sink=self.sink)
        self._started = False

    # -- inputs -------------------------------------------------------------------------
    def step(self, kind: Kind, t: int, payload: tuple[Any, ...], recv: int | None = None) -> int:
        """Step one input stamped ``t`` and received at ``recv`` (default ``t``)."""
        e = self.engine
        recv = t if recv is None else recv
        seq = e.next_input_seq()
        row = (seq, t, recv, *payload)
        if not self._started:
            e.start(recv)
            self._started = True
        e.step(kind, seq, recv, Columns.from_rows(kind, [row]), 0)
        return seq

    def market_row(self, kind: Kind, t: int, payload: tuple[Any, ...]) -> int:
        return self.step(kind, t, payload, t + self.feed_ns)

    def book(self, t: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> int:
        return self.market_row(
            Kind.BOOK,
            t,
            (
                COIN,
                [p for p, _ in bids],
                [s for _, s in bids],
                [1] * len(bids),
                [p for p, _ in asks],
                [s for _, s in asks],
                [1] * len(asks),
            ),
        )

    def bbo(self, t: int, bid: float, bid_sz: float, ask: float, ask_sz: float) -> int:
        return self.market_row(Kind.BBO, t, (COIN, bid, bid_sz, ask, ask_sz))

    def trade(self, t: int, side: int, px: float, sz: float) -> int:
        return self.market_row(Kind.TRADES, t, (COIN, side, px, sz, t, None))

    def ctx(self, t: int, oracle: float, rate: float) -> int:
        # asset_ctx rows carry their receive time as ts (the venue sends none).
        return self.step(Kind.ASSET_CTX, t, (COIN, oracle, oracle, None, rate, None, None, None))

    def tick(self, t: int) -> int:
        return self.step(Kind.CLOCK, t, ("test",))

    # -- commands -----------------------------------------------------------------------
    def command(self, t: int, payload: tuple[Any, ...]) -> None:
        self.cmd.pending.append(payload)
        self.tick(t)

    def place(
        self, t: int, side: int, px: float, sz: float, tif: str | None = "Alo", reduce_only=False
    ) -> str:
        cloid = self.engine.next_cloid()
        self.command(t, (cloid, "place", COIN, side, px, sz, tif, reduce_only, None, 0, "test"))
        return cloid

    def cancel(self, t: int, cloid: str) -> None:
        self.command(t, (cloid, "cancel", COIN, 1, None, None, None, False, None, 0, "test"))

    def modify(self, t: int, target: str, side: int, px: float, sz: float) -> str:
        cloid = self.engine.next_cloid()
        self.command(t, (cloid, "modify", COIN, side, px, sz, "Alo", False, target, 0, "test"))
        return cloid

    # -- outputs ------------------------------------------------------------------------
    def rows(self, kind: Kind) -> list[dict[str, Any]]:
        names = spec(kind).columns
        return [dict(zip(names, r, strict=True)) for k, r in self.sink.rows if k == kind]

    def orders(self, cloid: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.rows(Kind.SIM_ORDERS) if cloid is None or r["cloid"] == cloid]

    def fills(self, cloid: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.rows(Kind.SIM_FILLS) if cloid is None or r["cloid"] == cloid]

    def filled_sz(self, cloid: str) -> float:
        return round(sum(f["sz"] for f in self.fills(cloid)), 9)


BOOK_BIDS = [(100.0, 5.0), (99.9, 3.0), (99.8, 2.0)]
BOOK_ASKS = [(100.1, 4.0), (100.2, 6.0), (100.3, 1.0)]


def venue_with_book(**config: Any) -> Venue:
    """A venue with the book ``BOOK_BIDS`` / ``BOOK_ASKS`` at ``T0``, for the matching
    rule tests: those observe outcomes when the venue decides them, so the response
    latency is 0 unless ``config`` sets it (the simulator's default is 50 ms; the
    latency tests use it)."""
    config.setdefault("response_ms", 0.0)
    v = Venue(**config)
    v.book(T0, BOOK_BIDS, BOOK_ASKS)
    return v


def rest_bid(v: Venue, t: int, px: float = 100.0, sz: float = 1.0) -> str:
    """Place a post-only bid at ``t`` and step to when the engine hears it rested
    (place + response latency, a quiet market: no market row after ``t``)."""
    cloid = v.place(t, 1, px, sz)
    cfg = v.sim.config
    v.tick(t + round((cfg.place_ms + cfg.response_ms) * MS))
    return cloid
