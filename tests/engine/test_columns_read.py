"""A journal read for an engine decodes only the columns its handlers say they read."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.book import MarketState
from framework.engine import Engine, ListSink, feed, inputs_for
from framework.events.schema import Kind
from framework.journal import JournalReader, JournalWriter, Manifest


def _journal(root: Path) -> JournalReader:
    with JournalWriter(root, Manifest(mode="test", asset="X")) as w:
        w.append(Kind.BOOK, (1, 1, 1, "X", [40.0, 39.9], [1.0, 2.0], [1, 2], [40.1], [3.0], [7]))
        w.append(Kind.TRADES, (2, 2, 2, "X", 1, 40.1, 0.5, 11, "0xab"))
    return JournalReader(root)


class _Reader:
    """Reads the book's order counts (bid_n), declared or not."""

    name = "reader"

    def __init__(self, declare: bool) -> None:
        self.declare = declare
        self.seen: list[object] = []

    def bind(self, engine: Engine) -> None:
        cols = ("bid_n",) if self.declare else None
        engine.subscribe(Kind.BOOK, self.on_book, columns=cols)

    def on_book(self, cols, i) -> None:
        self.seen.append(cols.bid_n[i])

    def snapshot(self) -> dict:
        return {}


def test_columns_read_is_the_union_of_declarations_or_everything():
    e = Engine([MarketState()], seed=0, sink=ListSink())
    assert e.columns_read(Kind.BOOK) == [  # the top of book only: no level list
        "seq",
        "ts",
        "recv_ts",
        "best_bid_px",
        "best_bid_sz",
        "best_ask_px",
        "best_ask_sz",
    ]
    assert e.columns_read(Kind.TRADES) == ["seq", "ts", "recv_ts", "px"]
    assert e.columns_read(Kind.FILLS) == ["seq", "ts", "recv_ts"]  # nobody listens
    e2 = Engine([MarketState(), _Reader(declare=True)], seed=0, sink=ListSink())
    assert "bid_n" in e2.columns_read(Kind.BOOK) and "ask_n" not in e2.columns_read(Kind.BOOK)
    e3 = Engine([MarketState(), _Reader(declare=False)], seed=0, sink=ListSink())
    assert e3.columns_read(Kind.BOOK) is None  # an undeclared handler may read anything


def test_a_column_that_is_not_in_the_table_is_refused_at_subscribe():
    e = Engine([], seed=0, sink=ListSink())
    with pytest.raises(ValueError, match=r"no column\(s\) \['bid_count'\].*has \["):
        e.subscribe(Kind.BOOK, lambda c, i: None, columns=("bid_count",))


def test_the_reader_decodes_only_what_the_engine_reads(tmp_path):
    reader = _journal(tmp_path)
    declared = _Reader(declare=True)
    e = Engine([MarketState(), declared], seed=0, sink=ListSink())
    chunks = list(inputs_for(e, reader))
    names = {k: b.schema.names for ch in chunks for k, b in ch.batches.items()}
    assert names[Kind.BOOK] == e.columns_read(Kind.BOOK)
    assert names[Kind.TRADES] == ["seq", "ts", "recv_ts", "px"]
    assert feed(e, iter(chunks)) == 2
    assert declared.seen == [[1, 2]] and e.component("market").last_trade_px == 40.1


def test_reading_a_column_nobody_declared_says_which_and_how_to_fix(tmp_path):
    reader = _journal(tmp_path)
    e = Engine([MarketState()], seed=0, sink=ListSink())
    chunk = next(iter(inputs_for(e, reader)))
    with pytest.raises(AttributeError, match=r"'bid_n' of table 'book' was not read.*columns="):
        _ = chunk.columns[Kind.BOOK].bid_n
