"""to_arrow builds the same arrays as pa.array, for every column type of the journal."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from framework.events.schema import Kind, arrow_schema
from framework.journal.arrays import to_arrow


def _value(typ: pa.DataType, rng: random.Random) -> object:
    if rng.random() < 0.15:
        return None
    if typ == pa.float64():
        return rng.choice([rng.uniform(-1e6, 1e6), 0.0, -0.0, float("nan"), float("inf")])
    if typ == pa.int64():
        return rng.choice([rng.randrange(-(2**63), 2**63), 0, 1_700_000_000_000_000_000])
    if typ == pa.int32():
        return rng.randrange(-(2**31), 2**31)
    if typ == pa.int8():
        return rng.randrange(-128, 128)
    if typ == pa.bool_():
        return rng.random() < 0.5
    if typ == pa.string():
        return rng.choice(["", "resting", "0xabc", "héllo ✓", "x" * 100])
    if pa.types.is_list(typ):
        v = [_value(typ.value_type, rng) for _ in range(rng.randrange(0, 6))]
        return [x if x is not None else _value(typ.value_type, rng) or 0 for x in v]
    raise AssertionError(typ)


def _same(a: pa.Array, b: pa.Array) -> None:
    assert a.type == b.type and len(a) == len(b) and a.null_count == b.null_count
    # NaN-aware and bit-exact: compare the Python values' reprs
    assert [repr(x) for x in a.to_pylist()] == [repr(x) for x in b.to_pylist()]


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name.lower())
def test_every_column_of_every_table_matches_pa_array(kind):
    rng = random.Random(int(kind))
    for f in arrow_schema(kind):
        for n in (0, 1, 7, 300):
            values = [_value(f.type, rng) for _ in range(n)]
            if f.type == pa.list_(pa.float64()) or f.type == pa.list_(pa.int32()):
                values = [v if v is None or isinstance(v, list) else [v] for v in values]
            _same(to_arrow(values, f.type), pa.array(values, type=f.type))


@pytest.mark.parametrize(
    ("values", "typ"),
    [
        ([1, 2.5], pa.float64()),  # an int in a float column
        ([np.float64(1.5)], pa.float64()),  # a numpy scalar
        ([[1.0, None]], pa.list_(pa.float64())),  # a null inside a list
    ],
)
def test_values_of_another_python_type_take_pa_arrays_path(values, typ):
    _same(to_arrow(values, typ), pa.array(values, type=typ))


@pytest.mark.parametrize(
    ("values", "typ"),
    [
        (["1.5"], pa.float64()),
        ([2**63], pa.int64()),
        ([128], pa.int8()),
        ([True, 1], pa.int64()),
        ([1, "a"], pa.string()),
    ],
)
def test_bad_values_raise_what_pa_array_raises(values, typ):
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)) as ours:
        to_arrow(values, typ)
    with pytest.raises(type(ours.value)):
        pa.array(values, type=typ)


def test_writing_a_journal_does_not_import_pandas(tmp_path):
    code = (
        "import sys\n"
        "from framework.journal.writer import rows_to_table\n"
        "from framework.events.schema import Kind\n"
        "rows_to_table(Kind.BOOK, [(1, 2, 3, 'X', [1.0], [2.0], [1], [3.0], [4.0], [1])])\n"
        "rows_to_table(Kind.SIM_ORDERS, [(1, 2, 3, '0xa', 'X', 1, 1.0, 2.0, 'resting',"
        " None, 1.0, 5)])\n"
        "print('pandas' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
