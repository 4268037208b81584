"""Append-only journal writer: one directory of Parquet parts per table.

Rows are buffered per table and written as a new *part* when a size bound or a
time bound (default 1 s) is reached, or when :meth:`JournalWriter.flush` is called.
A part is written to a hidden temp file, fsynced, renamed into place and the directory
fsynced, so a crash leaves only whole parts: at most the last flush interval is lost.

A write-ahead writer (paper, live: :mod:`framework.journal.wal`) makes rows durable in
its log before an order is sent, so its periodic flushes need not hold the session up:
they take the buffered rows and write the parts on a thread of their own (one flush in
flight at a time).  A flush that fails hands its rows back to the buffers and the error
to the next call; :meth:`JournalWriter.flush` and :meth:`JournalWriter.close` write in
the caller's thread, after the flush in flight.

Layout::

    <root>/session.json
    <root>/<table>/part-<first seq:020d>-<last seq:020d>.parquet

:meth:`JournalWriter.close` compacts each table's parts into one file (streamed, so
memory stays bounded).  A crash during compaction leaves the new part beside the old
ones; readers skip parts whose seq range lies inside another part's.

:meth:`JournalWriter.adopt_parts` puts another journal's finished parts into an empty
table (hard links, see :mod:`framework.journal.link`); compaction leaves such a
table as it is.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from framework.events.columns import ListColumn
from framework.events.derived import complete, row_schema, with_derived
from framework.events.schema import TABLES, Kind, arrow_schema, spec
from framework.journal.durable import commit, fsync_dir, temp_path
from framework.journal.errors import JournalError
from framework.journal.link import link_or_copy
from framework.journal.manifest import Manifest, write_manifest
from framework.journal.parts import PartMeta, list_parts, parse_part, part_name
from framework.journal.wal import WriteAheadLog, drop, recover
from framework.kernel.rowbuffer import FLOAT64, INT64, OBJECT, RowBuffer, columns_of

COMPRESSION = "zstd"
ROW_GROUP_ROWS = 32_768


def write_part_atomic(directory: Path, table: pa.Table, meta: PartMeta | None = None) -> Path:
    """Write ``table`` as one part: temp file, fsync, rename, fsync the directory.

    ``meta`` goes into the part's footer (see :class:`~framework.journal.parts.PartMeta`).
    """
    seq = table.column("seq")
    final = directory / part_name(seq[0].as_py(), seq[-1].as_py())
    tmp = temp_path(final)
    if meta is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta.encode()})
    pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS, **_write_options(table.schema))
    return commit(tmp, final)


@functools.cache
def _write_options_for(names: tuple[str, ...], strings: tuple[str, ...]) -> dict[str, Any]:
    # Dictionary-encode strings only (coin, status, hash...): on float and list columns
    # it costs write time and gains little.  Statistics on the time and seq columns let
    # DuckDB skip row groups when a query filters on them.
    stats = [n for n in ("seq", "ts", "recv_ts") if n in names]
    return {"compression": COMPRESSION, "use_dictionary": list(strings), "write_statistics": stats}


def _write_options(schema: pa.Schema) -> dict[str, Any]:
    strings = tuple(f.name for f in schema if pa.types.is_string(f.type))
    return _write_options_for(tuple(schema.names), strings)


def _seq_increasing(table: pa.Table) -> bool:
    seq = table.column("seq").to_numpy()
    return bool(np.all(seq[1:] > seq[:-1]))


@functools.cache
def _column_codes(kind: Kind) -> tuple[int, ...]:
    """Per column of ``kind``'s rows, how :func:`columns_of` transposes it."""
    typed = {pa.int64(): INT64, pa.float64(): FLOAT64}
    return tuple(typed.get(f.type, OBJECT) for f in row_schema(kind))


def rows_to_table(kind: Kind, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Transpose full row tuples into an Arrow table of ``kind``'s schema (the derived
    columns, which rows do not carry, computed)."""
    fields = row_schema(kind)
    typed = columns_of(rows, _column_codes(kind)) if rows else None
    if typed is not None:  # compiled: numbers stored in C, the rest as lists (same arrays)
        arrays = [
            _array(f, col) if type(col) is list else pa.array(col[0], type=f.type, mask=col[1])
            for f, col in zip(fields, typed, strict=True)
        ]
        return _table(kind, arrays, fields)
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(fields)
    if len(cols) != len(fields):
        raise ValueError(
            f"{spec(kind).name} rows have {len(cols)} values, the row layout {len(fields)}: "
            f"{fields.names}"
        )
    return _table(kind, [_array(f, col) for f, col in zip(fields, cols, strict=True)], fields)


def _array(f: pa.Field, col: list[Any] | tuple[Any, ...]) -> pa.Array:
    if col and isinstance(col[0], ListColumn):
        raise TypeError("pass list columns as Python lists")
    return pa.array(col, type=f.type)


def _table(kind: Kind, arrays: list[pa.Array], fields: pa.Schema) -> pa.Table:
    table = pa.Table.from_arrays(arrays, schema=fields)
    return complete(kind, table) if spec(kind).derived else table


def _buffered_table(
    kind: Kind, rows: list[tuple[Any, ...]], batches: list[pa.RecordBatch]
) -> pa.Table:
    """One table's buffered rows and batches as one table in seq order."""
    pieces = []
    if batches:
        pieces.append(pa.Table.from_batches(batches, schema=arrow_schema(kind)))
    if rows:
        pieces.append(rows_to_table(kind, rows))
    table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
    # Rows (alone or beside batches) may come out of seq order: sort them, but only
    # when they are (sorting copies every column).
    if rows and not _seq_increasing(table):
        table = table.sort_by("seq")
    return table


def _first_seq(rows: list[tuple[Any, ...]], batches: list[pa.RecordBatch]) -> int:
    """The lowest seq of buffered ``rows`` and ``batches`` (each in seq order)."""
    firsts = [batches[0].column(0)[0].as_py()] if batches else []
    return min([*firsts, rows[0][0]] if rows else firsts)


#: One table's part of a flush: the kind, its rows and batches, their count, its meta.
_Part = tuple[Kind, list[tuple[Any, ...]], list[pa.RecordBatch], int, PartMeta]


@attrs.define(slots=True)
class _Job:
    """A flush on the flush thread: its parts, the log segments it deletes once they
    are down, and the rows it took that were not synced yet."""

    parts: list[_Part]
    segments: list[Path]
    unsynced: list[tuple[Kind, tuple[Any, ...]]]
    future: Future[None] = attrs.field(default=None)


class JournalWriter(RowBuffer):
    """Buffered, crash-safe writer of one journal directory.

    Parameters
    ----------
    root : Path
        The journal directory; created if missing.  An existing journal is appended to.
    manifest : Manifest
        Written to ``session.json`` at open and again (with stats) at close.
    flush_rows : int, default 65536
        Rows buffered per table before a part is written.
    flush_interval_s : float, default 1.0
        Wall-clock bound between flushes; checked on append and by :meth:`maybe_flush`.
    write_ahead : bool, default False
        Keep a write-ahead log (:meth:`sync` makes rows durable with one append to it)
        and write the periodic parts on the flush thread (paper and live sessions).
    flush_behind : bool, default False
        Write the periodic parts on the flush thread without a log: the caller's thread
        only hands its rows over (a recorder, whose WS handler stamps ``recv_ts``: a
        synchronous flush held every message that arrived meanwhile for 10-15 ms, and
        stamped it that late).  Rows handed over are lost in a crash as buffered rows
        are; :meth:`flush`, :meth:`sync` and :meth:`close` still write in the caller's
        thread, after the flush in flight.
    """

    def __init__(
        self,
        root: Path | str,
        manifest: Manifest,
        *,
        flush_rows: int = 65_536,
        flush_interval_s: float = 1.0,
        write_ahead: bool = False,
        flush_behind: bool = False,
    ) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest = manifest
        if not manifest.created_ns:
            manifest.created_ns = time.time_ns()
        if not manifest.session_id:
            manifest.session_id = uuid.uuid4().hex
        write_manifest(self.root, manifest)
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self._rows: dict[Kind, list[tuple[Any, ...]]] = {k: [] for k in Kind}
        self._batches: dict[Kind, list[pa.RecordBatch]] = {k: [] for k in Kind}
        self._buffered: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._last_flush = time.monotonic()
        self._appends = 0
        self.rows_written: dict[str, int] = {t.name: 0 for t in TABLES.values()}
        self.parts_written = 0
        self.parts_linked = 0
        self.parts_copied = 0
        self._adopted: set[Kind] = set()
        self._closed = False
        # Where the journal is whole after a crash (see PartMeta): the first seq each
        # table holds in memory, the highest seq appended, and whether every append
        # came in seq order (a live session's do; without it nothing can be said).
        self._journal_id = str(manifest.created_ns)
        self._first: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._high = -1
        self._ordered = True
        recover(self.root)  # a crashed writer's log, before appending after it
        self._wal: WriteAheadLog | None = WriteAheadLog(self.root) if write_ahead else None
        self._behind = write_ahead or flush_behind  # periodic parts on the flush thread
        self._wal_pending: list[tuple[Kind, tuple[Any, ...]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._job: _Job | None = None  # the flush in flight on the flush thread
        for t in TABLES.values():
            (self.root / t.name).mkdir(exist_ok=True)
            for part in list_parts(self.root / t.name):  # appending to an existing journal
                self._high = max(self._high, part.last)
                with contextlib.suppress(pa.ArrowException, OSError):  # readers will say
                    self.rows_written[t.name] += footer_rows(part.path)

    # -- appending ----------------------------------------------------------------------
    # append(kind, row), one full row (seq, ts, recv_ts, *payload), is RowBuffer's: the
    # per-row bookkeeping in the typed kernel, calling flush / _flush_behind /
    # maybe_flush below when due.

    def append_batch(self, kind: Kind, batch: pa.RecordBatch | pa.Table) -> None:
        """Buffer a batch already in ``kind``'s schema (columnar fast path)."""
        if batch.num_rows == 0:
            return
        if batch.schema != arrow_schema(kind):
            batch = with_derived(kind, batch).cast(arrow_schema(kind))
        seqs = batch.column(0)
        first, last = seqs[0].as_py(), seqs[-1].as_py()
        if first > self._high:
            self._high = last
        else:
            self._ordered = False
        if not self._buffered[kind]:
            self._first[kind] = first
        if isinstance(batch, pa.Table):
            self._batches[kind].extend(batch.to_batches())
        else:
            self._batches[kind].append(batch)
        self._buffered[kind] += batch.num_rows
        if self._buffered[kind] >= self.flush_rows:
            self.flush((kind,))

    def extend(self, kind: Kind, rows: Iterable[tuple[Any, ...]]) -> None:
        for r in rows:
            self.append(kind, r)

    def adopt_parts(self, kind: Kind, paths: Iterable[Path]) -> int:
        """Put finished parts of another journal into table ``kind`` as they are.

        Each part keeps its name (its seq range) and is hard-linked, or copied when
        that is not possible (another filesystem).  The table must be empty and stay
        so apart from these parts; compaction at close leaves it alone.  Returns the
        rows adopted.

        Raises
        ------
        JournalError
            The table already has rows, a name is not a part name, or the parts'
            seq ranges overlap or are out of order.
        """
        directory = self.root / spec(kind).name
        if self._buffered[kind] or list_parts(directory):
            raise JournalError(
                f"{directory}: parts can only be adopted into an empty table; this one "
                "already has rows"
            )
        parts = []
        for path in paths:
            part = parse_part(Path(path))
            if part is None:
                raise JournalError(f"{path}: not a part name (part-<first>-<last>.parquet)")
            if parts and part.first <= parts[-1].last:
                raise JournalError(
                    f"{path}: seq range overlaps or precedes the previous part {parts[-1].path}"
                )
            parts.append(part)
        rows = 0
        for part in parts:
            if link_or_copy(part.path, directory / part.path.name):
                self.parts_linked += 1
            else:
                self.parts_copied += 1
            rows += footer_rows(part.path)
        if parts:
            fsync_dir(directory)
            self._adopted.add(kind)
        self.rows_written[spec(kind).name] += rows
        return rows

    # -- flushing -----------------------------------------------------------------------
    def maybe_flush(self) -> None:
        """Flush everything if the time bound has passed (call from an idle loop too);
        a write-ahead or flush-behind writer writes the parts on its flush thread."""
        if self._behind:
            self._reap()
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            if self._behind:
                self._flush_behind()
            else:
                self.flush()

    def sync(self) -> None:
        """Make every row appended so far durable: the write-ahead log when the writer
        keeps one (one fdatasync), else a flush of every table to parts."""
        if self._wal is None:
            self.flush()
            return
        job = self._job
        if job is not None and job.unsynced:  # taken by a flush not reaped yet: logged too
            self._wal_pending = job.unsynced + self._wal_pending
            job.unsynced = []
        if self._wal_pending:
            self._wal.append(self._wal_pending)
            self._wal_pending = []

    def flush(self, kinds: Iterable[Kind] | None = None) -> None:
        """Write buffered rows of ``kinds`` (default: all tables) as parts, durably, in
        this thread (after the flush in flight, if any)."""
        self._reap(wait=True)
        for kind in Kind if kinds is None else kinds:
            if self._buffered[kind]:
                self._flush_kind(kind)
        if kinds is None:
            self._last_flush = time.monotonic()
            if self._wal is not None:  # every row is in a part now
                self._wal_pending = []
                self._wal.reset()

    def _flush_kind(self, kind: Kind) -> None:
        name = spec(kind).name
        meta = self._part_meta(kind)
        table = _buffered_table(kind, self._rows[kind], self._batches[kind])
        write_part_atomic(self.root / name, table, meta)
        self.rows_written[name] += table.num_rows
        self.parts_written += 1
        self._rows[kind] = []
        self._batches[kind] = []
        self._buffered[kind] = 0

    # -- flushing on the flush thread (write-ahead and flush-behind writers) ---------------
    def _flush_behind(self) -> None:
        """Take every table's buffered rows and write them as parts on the flush thread.

        With a write-ahead log, their rows are in the log up to the last sync; the log's
        current segment is retired here and deleted by the job once its parts are on
        disk.  Rows taken but not yet synced stay with the job until it is done
        (:meth:`sync` logs them meanwhile).  Nothing happens while the previous flush is
        in flight: the rows wait for the next call.
        """
        self._reap()
        if self._job is not None:
            return
        kinds = [k for k in Kind if self._buffered[k]]
        parts = []
        for kind in kinds:  # in flush()'s order, each part's meta as flush() would write it
            name = spec(kind).name
            n = self._buffered[kind]
            parts.append((kind, self._rows[kind], self._batches[kind], n, self._part_meta(kind)))
            self.rows_written[name] += n
            self._rows[kind] = []
            self._batches[kind] = []
            self._buffered[kind] = 0
        segments: list[Path] = []
        if self._wal is not None:
            self._wal.rotate()
            segments = list(self._wal.retired)
        job = _Job(parts, segments, self._wal_pending)
        self._wal_pending = []
        self._last_flush = time.monotonic()
        if not parts and not segments:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="journal-flush")
        job.future = self._pool.submit(self._write_job, self.root, parts, segments, self._wal)
        self._job = job

    @staticmethod
    def _write_job(
        root: Path, parts: list[_Part], segments: list[Path], wal: WriteAheadLog | None
    ) -> None:
        if wal is not None:
            wal.settle()  # first: a sync must not wait on it
        for kind, rows, batches, _, meta in parts:
            write_part_atomic(root / spec(kind).name, _buffered_table(kind, rows, batches), meta)
        drop(segments)

    def _reap(self, wait: bool = False) -> None:
        """Finish the flush in flight if it is done (or wait for it); a failed one gives
        its rows back to the buffers, in front, and raises."""
        job = self._job
        if job is None or not (wait or job.future.done()):
            return
        self._job = None
        exc = job.future.exception()
        if exc is None:
            self.parts_written += len(job.parts)
            if self._wal is not None:
                self._wal.retired = [p for p in self._wal.retired if p not in job.segments]
            return
        for kind, rows, batches, n, _ in reversed(job.parts):
            self._rows[kind] = rows + self._rows[kind]
            self._batches[kind] = batches + self._batches[kind]
            self._buffered[kind] += n
            self.rows_written[spec(kind).name] -= n
            self._first[kind] = _first_seq(rows, batches)
        self._wal_pending = job.unsynced + self._wal_pending
        raise JournalError(
            f"{self.root}: writing parts failed ({type(exc).__name__}: {exc}); the rows are "
            "kept (buffered, and in the write-ahead log up to the last sync) and written "
            "at the next flush"
        ) from exc

    def _part_meta(self, kind: Kind) -> PartMeta:
        """The footer meta of the part ``kind``'s buffer becomes next."""
        rows_before = self.rows_written[spec(kind).name]
        return PartMeta(self._journal_id, rows_before, self._durable_after(kind))

    def _durable_after(self, kind: Kind) -> int | None:
        """The seq up to which every table is on disk once ``kind``'s buffer is.

        Rows arrive in seq order, so every row up to the highest appended seq is on
        disk except those still buffered: the journal is whole up to just before the
        first seq any other table still buffers.
        """
        if not self._ordered:
            return None
        firsts = [self._first[k] for k in Kind if k != kind and self._buffered[k]]
        return min(firsts) - 1 if firsts else self._high

    # -- closing ------------------------------------------------------------------------
    def close(self, *, compact: bool = True, stats: dict[str, Any] | None = None) -> None:
        """Flush, compact each table into one part, and mark the manifest closed."""
        if self._closed:
            return
        self.flush()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._wal is not None:
            self._wal.close()
            self._wal = None
        if compact:
            compact_journal(self.root, skip=[spec(k).name for k in self._adopted])
        self.manifest.parts = part_rows(self.root)
        self.manifest.closed = True
        self.manifest.stats = {"rows": dict(self.rows_written), **(stats or {})}
        write_manifest(self.root, self.manifest)
        self._closed = True

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def part_rows(root: Path) -> dict[str, dict[str, int]]:
    """Every table's parts and their row counts, from the footers (what the manifest
    records at close, so a reader can tell a deleted or unreadable part)."""
    tables: dict[str, dict[str, int]] = {}
    for t in TABLES.values():
        rows = {}
        for part in list_parts(Path(root) / t.name):
            try:
                rows[part.path.name] = footer_rows(part.path)
            except (pa.ArrowException, OSError):
                continue  # unreadable already: readers report it as a part not listed
        tables[t.name] = rows
    return tables


def footer_rows(path: Path) -> int:
    """Rows of a part, from its Parquet footer (no data read)."""
    return pq.read_metadata(path).num_rows


def compact_journal(root: Path, *, skip: Iterable[str] = ()) -> None:
    """Merge each table's parts into one part, streaming row groups (bounded memory).

    Compaction exists for the many small parts a long live session flushes (one a
    second); a table whose parts already average half a row group or more (a backtest
    flushing large batches) is left as it is, since rewriting it would gain nothing.
    Tables named in ``skip`` (parts shared with another journal) are left as well.
    The merged part's footer carries the :class:`PartMeta` of the parts it replaces.
    """
    skipped = set(skip)
    for t in TABLES.values():
        if t.name in skipped:
            continue
        directory = Path(root) / t.name
        parts = list_parts(directory)
        if len(parts) < 2:
            continue
        footers = [pq.read_metadata(p.path) for p in parts]
        rows = sum(f.num_rows for f in footers)
        if rows / len(parts) >= ROW_GROUP_ROWS // 2:
            continue
        final = directory / part_name(parts[0].first, parts[-1].last)
        tmp = temp_path(final)
        schema = arrow_schema(t.kind)
        meta = _merged_meta([PartMeta.decode(f.metadata) for f in footers])
        if meta is not None:
            schema = schema.with_metadata({**(schema.metadata or {}), **meta.encode()})
        with pq.ParquetWriter(tmp, schema, **_write_options(schema)) as out:
            pending: list[pa.Table] = []
            pending_rows = 0
            for p in parts:
                tbl = _part_table(p.path, t.kind)
                pending.append(tbl)
                pending_rows += tbl.num_rows
                if pending_rows >= ROW_GROUP_ROWS:
                    out.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                    pending, pending_rows = [], 0
            if pending:
                out.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        commit(tmp, final)
        for p in parts:
            if p.path != final:
                p.path.unlink()
        fsync_dir(directory)


def _part_table(path: Path, kind: Kind) -> pa.Table:
    """A part in ``kind``'s schema; one written before a derived column existed gets
    it computed (compaction then writes it down)."""
    schema = arrow_schema(kind)
    names = pq.read_schema(path).names
    if all(n in names for n in schema.names):
        return pq.read_table(path, schema=schema)
    return with_derived(kind, pq.read_table(path)).cast(schema)


def _merged_meta(metas: list[PartMeta | None]) -> PartMeta | None:
    """The meta of a part merging parts with ``metas`` (None if any has none)."""
    if not metas or any(m is None for m in metas):
        return None
    durable = [m.durable_seq for m in metas if m.durable_seq is not None]
    return PartMeta(metas[-1].journal, metas[0].rows_before, max(durable) if durable else None)
