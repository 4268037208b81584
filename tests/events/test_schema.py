"""Every event kind round-trips through the journal; schema drift is caught."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.events import TABLES, Columns, Kind, arrow_schema, from_row, spec, to_row
from framework.events.schema import COMMON_FIELDS
from framework.journal import JournalReader, JournalWriter, Manifest, SchemaDriftError


def _value(t: pa.DataType, nullable: bool, draw) -> object:
    if nullable and draw(st.booleans()):
        return None
    if pa.types.is_list(t):
        inner = t.value_type
        return draw(st.lists(st.just(0).map(lambda _: _value(inner, False, draw)), max_size=4))
    if pa.types.is_floating(t):
        return draw(st.floats(allow_nan=False, allow_infinity=False, width=64))
    if pa.types.is_int8(t):
        return draw(st.sampled_from([-1, 1]))
    if pa.types.is_int32(t):
        return draw(st.integers(0, 2**31 - 1))
    if pa.types.is_integer(t):
        return draw(st.integers(-(2**62), 2**62))
    if pa.types.is_boolean(t):
        return draw(st.booleans())
    return draw(st.text(max_size=12))


@st.composite
def journal_rows(draw) -> list[tuple[Kind, tuple]]:
    rows = []
    seq = 0
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(list(Kind)))
        seq += draw(st.integers(1, 3))
        t = draw(st.integers(0, 2**62))
        payload = tuple(_value(f.type, f.nullable, draw) for f in spec(kind).fields)
        rows.append((kind, (seq, t, t + 5, *payload)))
    return rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=journal_rows())
def test_every_kind_round_trips_through_the_journal(tmp_path_factory, rows) -> None:
    root = tmp_path_factory.mktemp("j")
    with JournalWriter(root, Manifest(mode="test", asset="X"), flush_rows=7) as w:
        for kind, row in rows:
            w.append(kind, row)
    reader = JournalReader(root, strict=True)
    back = []
    for ch in reader.merged(list(Kind)):
        for k, r in zip(ch.kinds, ch.rows, strict=True):
            back.append((Kind(k), ch.columns[Kind(k)].row(r)))
    assert back == rows
    # The event classes round-trip the same rows.
    for kind, row in rows:
        assert to_row(from_row(kind, row)) == list(row) or to_row(from_row(kind, row)) == row


def test_one_schema_per_table_with_common_columns_first() -> None:
    for kind, t in TABLES.items():
        names = arrow_schema(kind).names
        assert names[:3] == ["seq", "ts", "recv_ts"]
        assert names[3:] == [*t.payload_columns, *(f.name for f in t.derived)]
        assert len(set(names)) == len(names)
    assert [f.name for f in COMMON_FIELDS] == ["seq", "ts", "recv_ts"]


def test_columns_from_rows_match_columns_from_arrow() -> None:
    row = (1, 2, 3, "BTC", [1.5, 1.0], [2.0, 3.0], [1, 2], [2.5], [4.0], [7])
    a = Columns.from_rows(Kind.BOOK, [row])
    b = Columns(Kind.BOOK, a.batch)
    assert a.row(0) == b.row(0) == row
    assert b.bid_px.first(0) == 1.5


def test_single_row_columns_read_like_batch_columns_for_every_table() -> None:
    # Columns.single (the engine's output delivery) builds per-kind slot classes: every
    # column reads as the Arrow batch's would, and a row of the wrong width is refused.
    for kind in Kind:
        sch = arrow_schema(kind)
        row = tuple(
            [_plain(f.type.value_type, j), _plain(f.type.value_type, j + 1)]
            if pa.types.is_list(f.type)
            else _plain(f.type, j)
            for j, f in enumerate(list(sch)[: len(spec(kind).columns)])
        )
        one = Columns.single(kind, row)
        assert isinstance(one, Columns) and one.kind == kind and one.n == 1
        assert one.row(0) == Columns(kind, one.batch).row(0) == row
        for d in spec(kind).derived:  # computed from the row, as a writer does
            src = d.name.removeprefix("best_")
            assert getattr(one, d.name)[0] == getattr(one, src)[0][0]
            assert Columns(kind, one.batch).batch.column(d.name).to_pylist() == [
                getattr(one, src)[0][0]
            ]
        with pytest.raises(ValueError, match=rf"{spec(kind).name} row has 2 values"):
            Columns.single(kind, row[:2])
        with pytest.raises(AttributeError, match="no_such_column"):
            _ = one.no_such_column


def _plain(t: pa.DataType, j: int) -> object:
    if pa.types.is_integer(t):
        return j
    if pa.types.is_floating(t):
        return j + 0.25
    if pa.types.is_boolean(t):
        return True
    return f"v{j}"


def _write_drifted_part(root: Path, table: pa.Table) -> Path:
    path = root / "trades" / "part-00000000000000000100-00000000000000000100.parquet"
    pq.write_table(table, path)
    return path


def _good_session(root: Path) -> None:
    with JournalWriter(root, Manifest(mode="test", asset="X")) as w:
        w.append(Kind.TRADES, (1, 1, 1, "X", 1, 10.0, 1.0, 1, None))


def test_schema_drift_names_part_and_column(tmp_path: Path) -> None:
    _good_session(tmp_path)
    good = pq.read_table(next((tmp_path / "trades").glob("part-*.parquet")))
    drifted = good.set_column(5, "px", pa.array(["10.0"])).set_column(0, "seq", pa.array([100]))
    path = _write_drifted_part(tmp_path, drifted)
    with pytest.raises(SchemaDriftError) as exc:
        JournalReader(tmp_path, strict=True).table("trades")
    assert str(path) in str(exc.value) and "'px'" in str(exc.value)
    # Non-strict: the drifted part is skipped and reported, the rest still reads.
    reader = JournalReader(tmp_path)
    assert reader.table("trades").num_rows == 1
    assert len(reader.problems) == 1 and "px" in reader.problems[0]


def test_extra_column_is_drift(tmp_path: Path) -> None:
    _good_session(tmp_path)
    good = pq.read_table(next((tmp_path / "trades").glob("part-*.parquet")))
    extra = good.append_column("venue", pa.array(["hl"])).set_column(0, "seq", pa.array([100]))
    _write_drifted_part(tmp_path, extra)
    with pytest.raises(SchemaDriftError, match="unexpected column"):
        JournalReader(tmp_path, strict=True).table("trades")


def test_unknown_table_name_lists_known_tables() -> None:
    with pytest.raises(KeyError, match="known tables: book"):
        spec("orderbook")
