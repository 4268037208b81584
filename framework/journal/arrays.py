"""Python row values to Arrow arrays, for the journal's column types, without pandas.

``pa.array(values)`` asks pyarrow's pandas shim whether ``values`` is a pandas object,
which imports pandas the first time (~0.3 s): every backtest paid it at its first
flush, and a paper or live session stalled for it mid-session.  :func:`to_arrow`
builds the array from its buffers (numpy for the values, a bitmap for the nulls) for
the types journal schemas use, and only when every value already has the column's
Python type; anything else (a numpy scalar, an int in a float column, a string in a
number column) goes to ``pa.array``, whose checks and errors stay the reference.
Both give equal arrays (a test compares them on every schema's columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import numpy as np
import pyarrow as pa

_NUMBERS: dict[pa.DataType, tuple[type, np.dtype]] = {
    pa.float64(): (float, np.dtype(np.float64)),
    pa.int64(): (int, np.dtype(np.int64)),
    pa.int32(): (int, np.dtype(np.int32)),
    pa.int8(): (int, np.dtype(np.int8)),
}
_NONE = type(None)


def to_arrow(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    """``pa.array(values, type=typ)``, built from buffers where that is exact."""
    arr = _from_buffers(values, typ)
    return arr if arr is not None else pa.array(values, type=typ)


def _from_buffers(values: Sequence[Any], typ: pa.DataType) -> pa.Array | None:
    n = len(values)
    kinds = set(map(type, values))
    nulls = _NONE in kinds
    kinds.discard(_NONE)
    if typ in _NUMBERS:
        py, dt = _NUMBERS[typ]
        if kinds - {py}:
            return None
        if py is int and not _fits(values, dt, nulls):
            return None  # out of range: pa.array says so
        filled = [0 if v is None else v for v in values] if nulls else values
        data = np.array(filled, dtype=dt) if n else np.empty(0, dt)
        return pa.Array.from_buffers(typ, n, [_validity(values, nulls), pa.py_buffer(data)])
    if typ == pa.string():
        if kinds - {str}:
            return None
        encoded = [b"" if v is None else v.encode() for v in values]
        offsets = np.fromiter(accumulate(map(len, encoded), initial=0), np.int64, n + 1)
        if offsets[-1] >= 2**31:
            return None  # past 32-bit offsets: pa.array chunks or refuses
        return pa.Array.from_buffers(
            typ,
            n,
            [
                _validity(values, nulls),
                pa.py_buffer(offsets.astype(np.int32)),
                pa.py_buffer(b"".join(encoded)),
            ],
        )
    if typ == pa.bool_():
        if kinds - {bool}:
            return None
        bits = np.packbits(np.array([v is True for v in values], dtype=bool), bitorder="little")
        return pa.Array.from_buffers(typ, n, [_validity(values, nulls), pa.py_buffer(bits)])
    if pa.types.is_list(typ) and typ.value_type in _NUMBERS:
        if kinds - {list}:
            return None
        flat = [x for v in values if v is not None for x in v]
        inner = _from_buffers(flat, typ.value_type)
        if inner is None or inner.null_count:
            return None
        lengths = (0 if v is None else len(v) for v in values)
        offsets = np.fromiter(accumulate(lengths, initial=0), np.int32, n + 1)
        return pa.Array.from_buffers(
            typ, n, [_validity(values, nulls), pa.py_buffer(offsets)], children=[inner]
        )
    return None


def _fits(values: Sequence[Any], dt: np.dtype, nulls: bool) -> bool:
    info = np.iinfo(dt)
    nums = [v for v in values if v is not None] if nulls else values
    return not nums or (info.min <= min(nums) and max(nums) <= info.max)


def _validity(values: Sequence[Any], nulls: bool) -> pa.Buffer | None:
    if not nulls:
        return None
    valid = np.array([v is not None for v in values], dtype=bool)
    return pa.py_buffer(np.packbits(valid, bitorder="little"))
