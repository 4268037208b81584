"""Hand-built event streams for estimator tests: a real Engine stepped row by row."""

from __future__ import annotations

from typing import Any

from framework.book import MarketState
from framework.engine import Engine, ListSink
from framework.events.columns import Columns
from framework.events.schema import Kind, spec

T0 = 1_767_225_600 * 1_000_000_000
SEC = 1_000_000_000
COIN = "HYPE"


class Driver:
    """Steps an engine through hand-built inputs (each gets ``engine.seq + 1``)."""

    def __init__(self, *components: Any) -> None:
        self.sink = ListSink()
        self.engine = Engine([MarketState(), *components], seed=0, sink=self.sink)
        self.started = False

    def step(self, kind: Kind, t: int, payload: tuple[Any, ...], ts: int | None = None) -> None:
        """One input received at engine time ``t`` with exchange time ``ts`` (default t)."""
        e = self.engine
        if not self.started:
            e.start(t)
            self.started = True
        row = (e.next_input_seq(), t if ts is None else ts, t, *payload)
        e.step(kind, row[0], t, Columns.from_rows(kind, [row]), 0)

    def book(
        self, t: int, bid: float, ask: float, tick: float = 0.001, ts: int | None = None
    ) -> None:
        bids = [round(bid - j * tick, 6) for j in range(5)]
        asks = [round(ask + j * tick, 6) for j in range(5)]
        sz = [10.0] * 5
        self.step(Kind.BOOK, t, (COIN, bids, sz, [1] * 5, asks, sz, [1] * 5), ts)

    def trade(
        self,
        t: int,
        side: int,
        px: float,
        h: str | None = "0xab",
        sz: float = 1.0,
        ts: int | None = None,
    ) -> None:
        self.step(Kind.TRADES, t, (COIN, side, px, sz, 1, h), ts)

    def fill(self, t: int, side: int, px: float, sz: float = 1.0, fee: float = 0.0) -> None:
        """A live fill (input ``fills``)."""
        self.step(Kind.FILLS, t, (COIN, 1, None, side, px, sz, fee, False, 1, 0.0, 0.0))

    def sim_fill(self, side: int, px: float, sz: float = 1.0, fee: float = 0.0) -> None:
        """A paper fill emitted at the engine's current time (as the fill simulator does)."""
        e = self.engine
        e.emit(Kind.SIM_FILLS, ("0x0", COIN, side, px, sz, fee, "maker", "trade_at", 0.0, 0))

    def quote(self, bid: float | None, ask: float | None) -> None:
        e = self.engine
        fair = (bid + ask) / 2 if bid and ask else 0.0
        e.emit(Kind.QUOTES, (COIN, bid, 1.0, ask, 1.0, fair, 0.0, 0.0, 0.0, 0))

    def estimates(self, estimator: str, param: str | None = None) -> list[dict[str, Any]]:
        cols = spec(Kind.ESTIMATES).columns
        out = []
        for kind, row in self.sink.rows:
            if kind == Kind.ESTIMATES:
                d = dict(zip(cols, row, strict=True))
                if d["estimator"] == estimator and (param is None or d["param"] == param):
                    out.append(d)
        return out


def assert_flips_at(rows: list[dict[str, Any]], min_obs: int) -> None:
    """No row converged below ``min_obs``; the first row at ``min_obs`` is converged."""
    early = [r for r in rows if r["n_obs"] < min_obs]
    assert early, "no rows below the minimum count"
    assert not any(r["converged"] for r in early), "converged before the minimum count"
    assert any(r["n_obs"] == min_obs - 1 for r in rows), "no row one short of the count"
    at = [r for r in rows if r["n_obs"] == min_obs]
    assert at, f"no row with n_obs == {min_obs}"
    assert at[0]["converged"], f"not converged at n_obs == {min_obs}: {at[0]}"


class _NoWriter:
    def append_batch(self, kind: Kind, batch: Any) -> None:
        return None


def run_recording(root: Any, *components: Any) -> tuple[Engine, ListSink]:
    """Run ``MarketState`` + ``components`` over a journal (inputs re-sequenced so the
    estimators' outputs fit between them, as a backtest does)."""
    from framework.engine import resequence
    from framework.journal import JournalReader

    sink = ListSink()
    engine = Engine([MarketState(), *components], seed=0, sink=sink)
    resequence(engine, JournalReader(root).merged(), _NoWriter())
    return engine, sink
