"""The journal writer's per-row append, typed: the base of
:class:`framework.journal.writer.JournalWriter`.

Every output row of a session passes here (56,000 a backtest day): the highest seq and
whether rows came in seq order (what a crash leaves whole), the row into its table's
buffer, the write-ahead log's pending rows, the buffered count and first seq per
table, and the flush triggers.  In Python this cost 0.4 µs a row; the flushes
themselves stay the writer's Python (``flush``, ``_flush_behind``, ``maybe_flush``,
called from here when due).
"""

from __future__ import annotations

import cython
import numpy as np


@cython.cclass
class RowBuffer:
    """Per-table row buffers and the bookkeeping :meth:`append` keeps (the writer
    reads and sets these as ordinary attributes)."""

    _rows = cython.declare(dict, visibility="public")  # kind -> buffered row tuples
    _buffered = cython.declare(dict, visibility="public")  # kind -> rows and batch rows
    _first = cython.declare(dict, visibility="public")  # kind -> its first buffered seq
    _high = cython.declare(cython.longlong, visibility="public")  # highest seq appended
    _ordered = cython.declare(cython.bint, visibility="public")  # every append in seq order
    _appends = cython.declare(cython.longlong, visibility="public")
    _behind = cython.declare(cython.bint, visibility="public")  # flushes on the flush thread
    _wal = cython.declare(object, visibility="public")  # the write-ahead log, or None
    _wal_pending = cython.declare(object, visibility="public")  # rows not yet logged
    _flush_rows = cython.declare(object)
    _flush_at = cython.declare(cython.double)  # flush_rows as a C double

    def __init__(self) -> None:
        self._rows = {}
        self._buffered = {}
        self._first = {}
        self._high = -1
        self._ordered = True
        self._appends = 0
        self._behind = False
        self._wal = None
        self._wal_pending = []
        self.flush_rows = 65_536

    @property
    def flush_rows(self) -> object:
        """Rows buffered per table before a part is written."""
        return self._flush_rows

    @flush_rows.setter
    def flush_rows(self, value: object) -> None:
        self._flush_at = value
        self._flush_rows = value

    @cython.ccall
    def append(self, kind: object, row: object) -> cython.void:
        """Buffer one full row ``(seq, ts, recv_ts, *payload)`` of table ``kind``."""
        seq: cython.longlong = row[0]
        if seq > self._high:
            self._high = seq
        else:
            self._ordered = False
        self._rows[kind].append(row)
        if self._wal is not None:
            self._wal_pending.append((kind, row))
        n: cython.longlong = self._buffered[kind] + 1
        self._buffered[kind] = n
        if n == 1:
            self._first[kind] = seq
        if n >= self._flush_at:
            if self._behind:
                self._flush_behind()
            else:
                self.flush((kind,))
        self._appends += 1
        if self._appends & 255 == 0:
            self.maybe_flush()


#: Column codes of :func:`columns_of` (:data:`OBJECT`: a list, whatever the values).
#: Python ints (a module-level C constant would not be importable).
OBJECT, INT64, FLOAT64 = 0, 1, 2


def columns_of(rows: list, codes: tuple) -> object:
    """``rows`` (full row tuples, each as long as ``codes``) transposed into columns:
    what the writer turns into Arrow arrays at a flush.

    A column coded :data:`INT64` or :data:`FLOAT64` whose values are all exact ``int``
    (in int64's range) or exact ``float``, or None, comes as ``(values, nulls)``: a
    numpy array and a bool mask of the Nones (None when there is none).  Every other
    column comes as a list of its values, for ``pa.array`` to convert and to judge.
    Returns None when a row is not a tuple of that length, or when run interpreted:
    the caller then transposes as it always did (same arrays, same errors).

    Compiled, this replaces ``pa.array`` on Python ints and floats (80 ns a value for
    a seq) with one C store per value.  Most of what remains is memory latency: the
    tuples were made over the whole session and lie scattered (a backtest day's
    57,000 rows take 30-40 ms here, a fresh list of as many 4 ms).
    """
    if not cython.compiled:
        return None
    n: cython.Py_ssize_t = len(rows)
    m: cython.Py_ssize_t = len(codes)
    i: cython.Py_ssize_t
    j: cython.Py_ssize_t
    for i in range(n):
        r = rows[i]
        if type(r) is not tuple or len(r) != m:
            return None
    f64: cython.int = FLOAT64
    i64: cython.int = INT64
    out = []
    for j in range(m):
        code: cython.int = codes[j]
        col = None
        if code == f64:
            col = _floats(rows, j, n)
        elif code == i64:
            col = _ints(rows, j, n)
        if col is None:
            col = [rows[i][j] for i in range(n)]
        out.append(col)
    return out


@cython.cfunc
def _nulls(mask: object) -> object:
    return None if mask is None else mask.view(np.bool_)


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _floats(rows: list, j: cython.Py_ssize_t, n: cython.Py_ssize_t) -> object:
    values = np.empty(n, dtype=np.float64)
    v: cython.double[::1] = values
    mask = None
    nulls: cython.uchar[::1]
    i: cython.Py_ssize_t
    for i in range(n):
        row: tuple = rows[i]
        x = row[j]
        if type(x) is float:
            v[i] = x
        elif x is None:
            if mask is None:
                mask = np.zeros(n, dtype=np.uint8)
                nulls = mask
            nulls[i] = 1
            v[i] = 0.0
        else:
            return None  # an int, a numpy scalar, a str...: pa.array converts or refuses
    return (values, _nulls(mask))


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _ints(rows: list, j: cython.Py_ssize_t, n: cython.Py_ssize_t) -> object:
    values = np.empty(n, dtype=np.int64)
    v: cython.longlong[::1] = values
    mask = None
    nulls: cython.uchar[::1]
    i: cython.Py_ssize_t
    try:
        for i in range(n):
            row: tuple = rows[i]
            x = row[j]
            if type(x) is int:
                v[i] = x
            elif x is None:
                if mask is None:
                    mask = np.zeros(n, dtype=np.uint8)
                    nulls = mask
                nulls[i] = 1
                v[i] = 0
            else:
                return None  # a bool, a float, a numpy scalar...: pa.array judges it
    except OverflowError:
        return None  # beyond int64: pa.array's error says so
    return (values, _nulls(mask))
