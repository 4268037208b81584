"""Columns computed from a table's others: the book's top of book.

A book row's top of book is the first element of its level lists.  Stored apart as
four float64 columns (``best_bid_px``, ``best_bid_sz``, ``best_ask_px``,
``best_ask_sz``; null for an empty side) it adds ~7 % to a part (the 24 h peer
capture's: 21.5 -> 23.0 MB) and lets a reader that needs only the top (MarketState, a
replay, SQL over the spread) skip decoding the four 20-level lists, which were most of
a replay's work.

Rows never carry these columns (:attr:`~framework.events.schema.TableSpec.derived`):
every writer computes them from the lists (:func:`with_derived` for Arrow data,
:func:`first_or_none` for one row), and parts written before the columns existed get
them computed when read, from the lists read for the purpose.  So every journal reads
the same, whenever it was written.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import pyarrow as pa

from framework.events.schema import Kind, arrow_schema, spec

_Data = TypeVar("_Data", pa.Table, pa.RecordBatch)


@functools.cache
def sources(kind: Kind) -> dict[str, str]:
    """``{derived column: the list column whose first element it is}`` of ``kind``."""
    return {f.name: f.name.removeprefix("best_") for f in spec(kind).derived}


def first_or_none(levels: Sequence[float] | None) -> float | None:
    """The first level of one row's list, None when it is empty."""
    return levels[0] if levels else None


def first_levels(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The first element of each list of a float64 list array; null for an empty list."""
    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array([first_levels(c) for c in arr.chunks], type=pa.float64())
    off = arr.offsets.to_numpy()  # a slice's own offsets, into the whole child array
    n = len(off) - 1
    out = np.zeros(n)
    starts = off[:-1]
    full = off[1:] > starts
    if n:
        values = arr.values.to_numpy(zero_copy_only=False)
        out[full] = values[starts[full]]
    nulls = n - int(full.sum())
    valid = pa.py_buffer(np.packbits(full, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(pa.float64(), n, [valid, pa.py_buffer(out)], nulls)


def with_derived(kind: Kind, data: _Data) -> _Data:
    """``data`` (a table or batch of ``kind``'s columns, in schema order) with the
    derived columns it lacks and has the sources of computed, in schema order."""
    derived = sources(kind)
    have = data.schema.names
    missing = [n for n in derived if n not in have and derived[n] in have]
    if not missing:
        return data
    names = list(data.schema.names)
    columns = list(data.columns)
    for name in missing:
        names.append(name)
        columns.append(first_levels(data.column(derived[name])))
    order = [n for n in arrow_schema(kind).names if n in names]
    return type(data).from_arrays(columns, names=names).select(order)


@functools.cache
def row_schema(kind: Kind) -> pa.Schema:
    """``kind``'s schema without its derived columns: what rows and importers supply."""
    schema = arrow_schema(kind)
    return pa.schema(list(schema)[: len(spec(kind).columns)], metadata=schema.metadata)


def complete(kind: Kind, table: pa.Table) -> pa.Table:
    """A table of ``kind``'s row columns as a table of its schema, derived columns
    computed."""
    return pa.Table.from_arrays(with_derived(kind, table).columns, schema=arrow_schema(kind))
