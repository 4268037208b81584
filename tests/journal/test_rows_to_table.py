"""The writer's compiled transpose (:func:`framework.kernel.rowbuffer.columns_of`) makes
the same Arrow tables as ``pa.array`` over the Python values, and leaves every value it
does not take (a bool or float in an int column, an int in a float column, a number
beyond int64, a string) to ``pa.array``: same arrays, same errors."""

from __future__ import annotations

import math
import random

import pyarrow as pa
import pytest

from framework.events.derived import row_schema
from framework.events.schema import Kind
from framework.journal import writer
from framework.kernel import rowbuffer
from tests.kernel.source import assert_compiled_where_built

BIG = 10**18


def _reference(kind: Kind, rows: list[tuple]) -> pa.Table:
    """rows_to_table without the compiled transpose: pa.array over each column."""
    fields = row_schema(kind)
    cols = list(zip(*rows, strict=True))
    arrays = [pa.array(col, type=f.type) for f, col in zip(fields, cols, strict=True)]
    return writer._table(kind, arrays, fields)


def _same(a: pa.Table, b: pa.Table) -> bool:
    """Same schema and the same values bit for bit (``Table.equals`` calls NaN unequal
    to itself): NaN and -0.0 compared by their repr."""
    return a.schema == b.schema and all(
        [repr(v) for v in x.to_pylist()] == [repr(v) for v in y.to_pylist()]
        for x, y in zip(a.columns, b.columns, strict=True)
    )


def _sim_order(i: int, rnd: random.Random) -> tuple:
    """An order outcome row: int64, string, int8, double columns, some of them null."""
    px = rnd.choice([rnd.uniform(1, 100), math.nan, -0.0, math.inf, None])
    queue = rnd.choice([rnd.random(), None])
    cause = rnd.choice([BIG + i, None, -(2**63), 2**63 - 1])
    status = rnd.choice(["resting", "filled", None])
    return (BIG + i, BIG + 2 * i, BIG + 3 * i, f"0x{i:032x}", "HYPE", 1, px, 0.5, status, None,
            queue, cause)  # fmt: skip


def test_the_compiled_transpose_is_the_one_loaded() -> None:
    assert_compiled_where_built(rowbuffer)


def test_typed_columns_equal_pa_array_on_the_values() -> None:
    rnd = random.Random(7)
    rows = [_sim_order(i, rnd) for i in range(3000)]
    got = writer.rows_to_table(Kind.SIM_ORDERS, rows)
    want = _reference(Kind.SIM_ORDERS, rows)
    assert _same(got, want)
    assert got.column("px").null_count == want.column("px").null_count > 0
    # NaN stays a value (not a null), -0.0 keeps its sign
    px = got.column("px").to_pylist()
    assert any(v != v for v in px if v is not None)
    assert any(v == 0.0 and math.copysign(1.0, v) < 0 for v in px if v is not None)


def test_a_column_of_no_value_but_none_and_a_single_row() -> None:
    rows = [(1, 2, 3, "c", "HYPE", -1, None, None, None, None, None, None)]
    assert _same(writer.rows_to_table(Kind.SIM_ORDERS, rows), _reference(Kind.SIM_ORDERS, rows))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (11, 2.0),  # a float in an int column: pa.array refuses it
        (11, True),  # a bool in an int column
        (11, 2**63),  # beyond int64
        (11, "7"),  # a string
        (6, 3),  # an int in a float column: pa.array converts it
        (6, "x"),  # a string in a float column
    ],
)
def test_a_value_the_transpose_does_not_take_goes_to_pa_array(column: int, value: object) -> None:
    rnd = random.Random(1)
    rows = [_sim_order(i, rnd) for i in range(50)]
    rows[17] = (*rows[17][:column], value, *rows[17][column + 1 :])
    try:
        want = _reference(Kind.SIM_ORDERS, rows)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        with pytest.raises(type(exc)) as got:
            writer.rows_to_table(Kind.SIM_ORDERS, rows)
        assert str(got.value) == str(exc)
    else:
        assert _same(writer.rows_to_table(Kind.SIM_ORDERS, rows), want)


def test_rows_of_the_wrong_length_are_refused_as_before() -> None:
    rows = [(1, 2, 3, "c", "HYPE", 1, 1.0, 1.0, "resting", None, None)]  # one value short
    with pytest.raises(ValueError, match="sim_orders rows have 11 values, the row layout 12"):
        writer.rows_to_table(Kind.SIM_ORDERS, rows)
    assert rowbuffer.columns_of([(1, 2)], (1, 2, 0)) is None
    assert rowbuffer.columns_of([[1, 2]], (1, 2)) is None  # not a tuple


def test_columns_of_shapes() -> None:
    if not rowbuffer.__file__.endswith(".so"):
        assert rowbuffer.columns_of([(1, 2.0, "a")], (1, 2, 0)) is None  # interpreted
        return
    (ints, i_nulls), (floats, f_nulls), objs = rowbuffer.columns_of(
        [(1, None, "a"), (None, 2.5, None)], (rowbuffer.INT64, rowbuffer.FLOAT64, 0)
    )
    assert ints.tolist()[0] == 1 and i_nulls.tolist() == [False, True]
    assert floats.tolist()[1] == 2.5 and f_nulls.tolist() == [True, False]
    assert objs == ["a", None]
    (ints, nulls), _ = rowbuffer.columns_of([(5, 1), (6, 1)], (rowbuffer.INT64, 0))
    assert ints.tolist() == [5, 6] and nulls is None
