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
