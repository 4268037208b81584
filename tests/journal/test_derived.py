"""The book's top-of-book columns: written from the level lists by every writer,
computed on read (and in SQL, and at compaction) for parts written before them, and
what MarketState reads instead of the lists."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest

from framework.book import MarketState
from framework.engine import Engine, ListSink, feed, inputs_for
from framework.events import Kind
from framework.events.columns import Columns
from framework.events.derived import row_schema
from framework.journal import JournalReader, JournalWriter, Manifest
from framework.journal.duck import connect
from framework.journal.writer import compact_journal, rows_to_table, write_part_atomic
from tests.stubs import book_row

TOP = ["best_bid_px", "best_bid_sz", "best_ask_px", "best_ask_sz"]


def _rows(first_seq: int, n: int) -> list[tuple]:
    rows = [book_row(first_seq + j, 1_000 + j, 10.0 + 0.01 * j) for j in range(n)]
    # an empty bid side, then an empty ask side (a thin book): null tops
    rows[1] = (*rows[1][:4], [], [], [], *rows[1][7:])
    rows[2] = (*rows[2][:7], [], [], [])
    return rows


def _tops(rows: list[tuple]) -> list[tuple]:
    def first(levels):
        return levels[0] if levels else None

    return [(first(r[4]), first(r[5]), first(r[7]), first(r[8])) for r in rows]


def _old_part(root: Path, rows: list[tuple]) -> Path:
    """A part as journals wrote it before the top-of-book columns existed."""
    table = rows_to_table(Kind.BOOK, rows).select(row_schema(Kind.BOOK).names)
    assert table.schema.names[-1] == "ask_n"
    return write_part_atomic(root / "book", table)


def _journal(root: Path, old: list[tuple] = (), new: list[tuple] = ()) -> Path:
    w = JournalWriter(root, Manifest(mode="record", asset="X"))
    if old:
        _old_part(root, list(old))
    for r in new:
        w.append(Kind.BOOK, r)
    w.close(compact=False)
    return root


def test_every_writer_path_writes_the_top_from_the_lists():
    rows = _rows(1, 5)
    table = rows_to_table(Kind.BOOK, rows)
    assert list(zip(*(table.column(c).to_pylist() for c in TOP), strict=True)) == _tops(rows)
    assert table.column("best_bid_px").null_count == 1  # the empty side is null, not NaN
    one = Columns.single(Kind.BOOK, rows[1])  # a row the live engine steps
    assert (one.best_bid_px[0], one.best_ask_px[0]) == (None, rows[1][7][0])
    many = Columns.from_rows(Kind.BOOK, rows)
    assert many.best_ask_sz == [t[3] for t in _tops(rows)]
    assert many.row(0) == rows[0]  # rows never carry the derived columns


def test_rows_of_the_wrong_width_are_refused_with_the_layout():
    with pytest.raises(ValueError, match=r"book rows have 14 values, the row layout 10"):
        rows_to_table(Kind.BOOK, [(*book_row(1, 1, 10.0), 1.0, 1.0, 1.0, 1.0)])


def test_parts_from_before_the_columns_read_like_new_ones(tmp_path):
    rows = _rows(1, 6)
    old = JournalReader(_journal(tmp_path / "old", old=rows))
    new = JournalReader(_journal(tmp_path / "new", new=rows))
    (part,) = old.parts(Kind.BOOK)
    assert old.lacks(part) == frozenset(TOP) and not old.problems
    assert not new.lacks(new.parts(Kind.BOOK)[0])
    assert old.table(Kind.BOOK).to_pylist() == new.table(Kind.BOOK).to_pylist()
    for r in (old, new):  # the top alone: from the lists read for it, or as stored
        (batch,) = r.iter_batches(Kind.BOOK, columns=["best_ask_px"])
        assert batch.schema.names == ["seq", "ts", "recv_ts", "best_ask_px"]
        assert batch.column(3).to_pylist() == [t[2] for t in _tops(rows)]


def test_market_state_reads_the_top_without_the_lists(tmp_path):
    rows = _rows(1, 6)
    seen = {}
    for name, kw in (("old", {"old": rows}), ("new", {"new": rows})):
        reader = JournalReader(_journal(tmp_path / name, **kw))
        market = MarketState()
        e = Engine([market], seed=0, sink=ListSink())
        tops = []
        e.subscribe(
            Kind.BOOK, lambda c, i, m=market, t=tops: t.append((m.best_bid, m.best_ask)), columns=()
        )
        chunks = list(inputs_for(e, reader))
        assert chunks[0].batches[Kind.BOOK].schema.names == ["seq", "ts", "recv_ts", *TOP]
        assert feed(e, iter(chunks)) == len(rows)
        seen[name] = tops
    assert repr(seen["old"]) == repr(seen["new"])  # NaN included
    assert math.isnan(seen["new"][1][0]) and math.isnan(seen["new"][2][1])  # empty sides
    assert seen["new"][0] == (rows[0][4][0], rows[0][7][0])


def test_sql_and_compaction_fill_the_top_of_older_parts(tmp_path):
    rows = _rows(1, 8)
    root = _journal(tmp_path / "mixed", old=rows[:4], new=rows[4:])
    reader = JournalReader(root)
    assert [bool(reader.lacks(p)) for p in reader.parts(Kind.BOOK)] == [True, False]
    want = [t[0] for t in _tops(rows)]
    sql = "SELECT best_bid_px FROM book ORDER BY seq"
    assert [r[0] for r in connect(root).execute(sql).fetchall()] == want
    only_old = _journal(tmp_path / "old", old=rows)
    assert [r[0] for r in connect(only_old).execute(sql).fetchall()] == want
    compact_journal(root)
    (part,) = JournalReader(root).parts(Kind.BOOK)
    stored = pa.parquet.read_table(part.path)
    assert stored.schema.names[-4:] == TOP and stored.column("best_bid_px").to_pylist() == want


def test_a_journal_of_a_newer_format_is_refused_by_name_and_older_ones_read(tmp_path):
    import json

    from framework.journal.errors import ManifestError
    from framework.journal.manifest import FORMAT_VERSION, MANIFEST_NAME

    root = _journal(tmp_path / "j", new=_rows(1, 3))
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 2
    for older in (1, FORMAT_VERSION):  # format 1: before the top-of-book columns
        (root / MANIFEST_NAME).write_text(json.dumps({**manifest, "format_version": older}))
        assert JournalReader(root).count(Kind.BOOK) == 3
    (root / MANIFEST_NAME).write_text(json.dumps({**manifest, "format_version": 3}))
    with pytest.raises(ManifestError, match=r"journal format 3 by a newer version.*up to 2"):
        JournalReader(root)
    from framework.flags import UsageError, journal_dir

    with pytest.raises(UsageError, match=r"--recording .*format 3.*upgrade to read it$"):
        journal_dir("--recording", root)  # the fix named, not "restore it from a copy"
