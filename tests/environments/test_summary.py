"""The session summary counts what the journal holds."""

from __future__ import annotations

from framework.book import MarketState
from framework.engine.core import Engine, ListSink
from framework.environments.summary import summarize
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.orders import OrderTracker

SEC = 1_000_000_000


def _fill_row(seq: int, t: int, tid: int) -> tuple:
    # seq, ts, recv_ts, coin, oid, cloid, side, px, sz, fee, crossed, tid, closed_pnl,
    # start_position
    return (seq, t, t, "HYPE", 7, None, 1, 40.0, 0.5, 0.01, False, tid, 0.0, 0.0)


def test_live_fills_are_counted_like_paper_ones() -> None:
    # A live session's fills are venue inputs (the fills table), not simulator outputs:
    # the summary used to count only the latter and said 0 beside their volume.
    orders = OrderTracker()
    engine = Engine([MarketState(), orders], seed=1, sink=ListSink())
    engine.start(SEC)
    for n in (1, 2):
        row = _fill_row(n * 1_000_000, n * SEC, n)
        engine.step(Kind.FILLS, row[0], row[2], Columns.single(Kind.FILLS, row), 0)
    s = summarize(engine, wall_s=1.0)
    assert s["fills"] == 2
    assert s["volume_usd"] == 40.0
