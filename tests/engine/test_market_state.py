"""MarketState: top of book from book and bbo, depth at a price."""

from __future__ import annotations

from framework.book import MarketState
from framework.engine import Engine, ListSink
from framework.events.columns import Columns
from framework.events.schema import Kind


def _engine() -> tuple[Engine, MarketState]:
    m = MarketState()
    return Engine([m], seed=0, sink=ListSink()), m


def test_depth_at_reads_the_last_book_and_nothing_inside_the_spread():
    e, m = _engine()
    row = (1, 0, 1_000, "X", [40.0, 39.99], [5.0, 7.0], [1, 2], [40.02, 40.03], [3.0, 4.0], [1, 1])
    e.step(Kind.BOOK, 1, 1_000, Columns.from_rows(Kind.BOOK, [row]), 0)
    assert m.depth_at(1, 39.99) == 7.0 and m.depth_at(-1, 40.03) == 4.0
    assert m.depth_at(1, 39.5) == 0.0  # not displayed
    assert m.depth_at(1, 40.01) == 0.0 and m.depth_at(-1, 40.01) == 0.0  # inside the spread
    # a newer bbo moves the top down: 40.0 is now inside the spread, whatever the book said
    bbo = (2, 0, 2_000, "X", 39.99, 7.0, 40.0, 1.0)
    e.step(Kind.BBO, 2, 2_000, Columns.from_rows(Kind.BBO, [bbo]), 0)
    assert m.best_bid == 39.99 and m.best_ask == 40.0
    assert m.depth_at(1, 40.0) == 0.0 and m.depth_at(1, 39.99) == 7.0


def test_depth_at_reads_rows_of_a_batch_and_of_the_next_batch_and_integer_sizes():
    # depth_at reads typed views of a batch's level arrays, taken once per batch: a
    # later row of the same batch, then another batch, must answer from their own
    # levels; sizes built from integers take the generic path with the same answers.
    e, m = _engine()
    rows = [
        (1, 0, 1_000, "X", [40.0, 39.99, 39.98], [5.0, 7.0, 9.0], [1, 1, 1], [40.02], [3.0], [1]),
        (2, 0, 2_000, "X", [40.0], [6.0], [1], [40.02, 40.04], [2.0, 8.5], [1, 1]),
        (3, 0, 3_000, "X", [], [], [], [40.02], [1.0], [1]),
    ]
    batch = Columns.from_rows(Kind.BOOK, rows)
    e.step(Kind.BOOK, 1, 1_000, batch, 0)
    assert m.depth_at(1, 39.98) == 9.0 and m.depth_at(-1, 40.04) == 0.0
    e.step(Kind.BOOK, 2, 2_000, batch, 1)
    assert m.depth_at(1, 39.98) == 0.0 and m.depth_at(-1, 40.04) == 8.5
    assert m.depth_at(1, float("nan")) == 0.0
    assert (m.best_bid, m.bid_sz, m.best_ask, m.ask_sz) == (40.0, 6.0, 40.02, 2.0)
    e.step(Kind.BOOK, 3, 3_000, batch, 2)  # an empty bid side: nothing displayed
    assert m.depth_at(1, 40.0) == 0.0 and m.depth_at(-1, 40.02) == 1.0
    assert m.best_bid != m.best_bid and m.bid_sz != m.bid_sz  # NaN
    assert (m.best_ask, m.ask_sz) == (40.02, 1.0)
    ints = (4, 0, 4_000, "X", [40, 39], [5, 7], [1, 1], [41, 42], [3, 4], [1, 1])
    e.step(Kind.BOOK, 4, 4_000, Columns.from_rows(Kind.BOOK, [ints]), 0)
    got = m.depth_at(1, 39.0), m.depth_at(-1, 42.0), m.depth_at(-1, 41.5)
    assert got == (7.0, 4.0, 0.0) and all(type(x) is float for x in got)
    assert (m.best_bid, m.bid_sz, m.best_ask, m.ask_sz) == (40, 5, 41, 3)


def test_arrow_batches_and_engine_built_rows_give_the_same_top():
    # Over an Arrow batch the compiled MarketState reads typed views (NaN for a null
    # side); over rows the engine built (live) it reads the values: the same state.
    book = [
        (10, 0, 1_000, "X", [40.0, 39.99], [5.0, 7.0], [1, 2], [40.02], [3.0], [1]),
        (30, 0, 3_000, "X", [], [], [], [40.03], [1.5], [1]),
    ]
    bbo = [(20, 0, 2_000, "X", 39.98, 2.0, None, None), (40, 0, 4_000, "X", 40.01, 1.0, 40.02, 2.5)]
    trades = [(25, 0, 2_500, "X", 1, 40.02, 0.1, 7, None)]
    states = []
    for arrow in (False, True):
        e, m = _engine()
        cols = {}
        for kind, rows in ((Kind.BOOK, book), (Kind.BBO, bbo), (Kind.TRADES, trades)):
            c = Columns.from_rows(kind, rows)
            cols[kind] = Columns(kind, c.batch) if arrow else c
        seen = []
        for kind, j in (
            (Kind.BOOK, 0),
            (Kind.BBO, 0),
            (Kind.TRADES, 0),
            (Kind.BOOK, 1),
            (Kind.BBO, 1),
        ):
            row = (book, bbo, trades)[[Kind.BOOK, Kind.BBO, Kind.TRADES].index(kind)][j]
            e.step(kind, row[0], row[2], cols[kind], j)
            seen.append(repr((m.best_bid, m.bid_sz, m.best_ask, m.ask_sz, m.last_trade_px)))
        states.append(seen)
    assert states[0] == states[1]
    assert states[1][1] == repr((39.98, 2.0, float("nan"), float("nan"), float("nan")))
    assert states[1][3] == repr((float("nan"), float("nan"), 40.03, 1.5, 40.02))


def test_quote_wake_decides_as_the_strategys_python_gate_did():
    # The gate the strategy ran in Python before it moved into the kernel, verbatim.
    def python_gate(b, a, fair, move, bid_q, ask_q, touch):
        d = (b + a) * 0.5 - fair
        return not (-move < d < move and b < ask_q and a > bid_q and not touch)

    import itertools
    import math
    import random

    from framework.book import QuoteWake

    nan, inf = math.nan, math.inf
    m = MarketState()
    calls = []
    wake = QuoteWake(m, lambda: calls.append(1))
    rng = random.Random(7)
    tops = [(40.0, 40.02), (40.0, 40.0), (40.02, 40.0), (nan, 40.0), (40.0, nan), (nan, nan)]
    tops += [(rng.uniform(39.9, 40.1), rng.uniform(39.9, 40.1)) for _ in range(40)]
    centers = [40.01, 40.0, nan, 39.95]
    bands = [0.0, 0.005, 0.02, 0.5]
    quotes = [(-inf, inf), (39.99, 40.03), (40.01, 40.02), (40.02, 40.0)]
    for (b, a), fair, move, (bq, aq), touch in itertools.product(
        tops, centers, bands, quotes, (False, True)
    ):
        m.best_bid, m.best_ask = b, a
        wake.center, wake.band, wake.bid, wake.ask, wake.always = fair, move, bq, aq, touch
        calls.clear()
        wake(None, 0)
        assert bool(calls) == python_gate(b, a, fair, move, bq, aq, touch), (b, a, fair, move)
