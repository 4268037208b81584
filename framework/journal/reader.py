"""Journal reader: tables, and all tables merged by seq as a bounded stream.

Every part is checked against the table's schema (drift is an error naming the part
and the column).  With ``strict=False`` an unreadable or drifted part is skipped and
recorded in :attr:`JournalReader.problems`, so the rest of the journal still reads.
Each part's footer is read once (schema, row count, :class:`PartMeta`) and kept:
:func:`framework.journal.completeness.check_completeness` compares them with the
manifest without reading any data.
"""

from __future__ import annotations

import atexit
import queue
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from framework.events.columns import Columns
from framework.events.derived import sources, with_derived
from framework.events.schema import COMMON_FIELDS, INPUT_KINDS, Kind, arrow_schema, spec
from framework.journal.errors import (
    CorruptPartError,
    JournalError,
    SchemaDriftError,
    SeqOrderError,
)
from framework.journal.manifest import Manifest, read_manifest
from framework.journal.parts import Part, PartMeta, list_parts
from framework.journal.wal import recover

BATCH_ROWS = 8_192
PREFETCH = 3  # merged chunks decoded ahead of the consumer (each <= ~BATCH_ROWS rows a table)


def _listed(name: str) -> property:
    """A chunk's int64 array ``name`` as a list of ints, made when first asked for."""

    def get(self: MergedChunk) -> list[int]:
        lst = self._lists.get(name)
        if lst is None:
            lst = self._lists[name] = getattr(self, name).tolist()
        return lst

    return property(get)


class MergedChunk:
    """A run of events from several tables, in seq order.

    ``kinds[j]``, ``rows[j]``, ``seqs[j]``, ``recv_ts[j]`` describe the j-th event:
    its table, its row in ``columns[kind]`` / ``batches[kind]``, its seq and time.
    They are int64 arrays (``kind_arr``, ``row_arr``, ``seq_arr``, ``recv_arr``: what
    the engine's typed loop steps through); the list attributes are made from them
    when first asked for (a merge that built four Python lists per chunk held the GIL
    for a fifth of a replay).
    """

    __slots__ = ("_lists", "batches", "columns", "kind_arr", "recv_arr", "row_arr", "seq_arr")

    def __init__(
        self,
        kinds: np.ndarray,
        rows: np.ndarray,
        seqs: np.ndarray,
        recv_ts: np.ndarray,
        batches: dict[Kind, pa.RecordBatch],
        columns: dict[Kind, Columns],
    ) -> None:
        self.kind_arr = kinds
        self.row_arr = rows
        self.seq_arr = seqs
        self.recv_arr = recv_ts
        self.batches = batches
        self.columns = columns
        self._lists: dict[str, list[int]] = {}

    kinds = _listed("kind_arr")
    rows = _listed("row_arr")
    seqs = _listed("seq_arr")
    recv_ts = _listed("recv_arr")

    def __len__(self) -> int:
        return len(self.kind_arr)


def check_schema(part: Path, kind: Kind, schema: pa.Schema) -> None:
    """Raise :class:`SchemaDriftError` naming the first column that differs (a derived
    column may be missing: parts from before it existed get it computed when read)."""
    want = arrow_schema(kind)
    got_names = schema.names
    derived = sources(kind)
    for f in want:
        if f.name not in got_names:
            if f.name in derived:
                continue
            raise SchemaDriftError(
                f"{part}: column {f.name!r} ({f.type}) is missing; table "
                f"{spec(kind).name!r} expects {want.names}"
            )
        got = schema.field(f.name)
        if not got.type.equals(f.type):
            raise SchemaDriftError(
                f"{part}: column {f.name!r} has type {got.type}, expected {f.type}"
            )
    extra = [n for n in got_names if n not in want.names]
    if extra:
        raise SchemaDriftError(
            f"{part}: unexpected column(s) {extra} in table {spec(kind).name!r}; "
            "the journal was written by a different schema version"
        )


class JournalReader:
    """Read a journal directory.

    Parameters
    ----------
    root : Path
        The journal directory (holding ``session.json``).
    strict : bool, default False
        Raise on the first bad part instead of skipping it and recording a problem.
    warn : bool, default True
        Print a warning on stderr for each part skipped when listing a table; off for
        commands that report :func:`~framework.journal.completeness.check_completeness`
        instead (one line per problem, not two).  Rows recovered from a dead session's
        write-ahead log are noted on stderr either way: the journal changed on disk.
    """

    def __init__(self, root: Path | str, *, strict: bool = False, warn: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise JournalError(f"{self.root}: no such journal directory")
        self.manifest: Manifest = read_manifest(self.root)
        if not self.manifest.closed:
            # A dead writer's write-ahead log becomes parts first (a live one holds it).
            n = recover(self.root)
            if n:
                print(
                    f"note: {self.root}: recovered {n} rows from the write-ahead log of a "
                    "session that did not close",
                    file=sys.stderr,
                )
        self.strict = strict
        self.warn = warn
        self.problems: list[str] = []
        self._parts: dict[Kind, list[Part]] = {}
        self._footers: dict[Path, pq.FileMetaData] = {}
        self._lacks: dict[Path, frozenset[str]] = {}  # derived columns a part predates
        self._rejected: dict[Kind, list[tuple[Part, str]]] = {}

    # -- parts --------------------------------------------------------------------------
    def parts(self, kind: Kind | str) -> list[Part]:
        """The readable parts of a table (footer read and schema-checked once, cached)."""
        kind = spec(kind).kind
        if kind not in self._parts:
            good, rejected = [], []
            for p in list_parts(self.root / spec(kind).name):
                try:
                    footer = pq.read_metadata(p.path)
                    arrow = footer.schema.to_arrow_schema()
                    names = arrow.names
                    check_schema(p.path, kind, arrow)
                    lacks = frozenset(sources(kind)).difference(names)
                    if lacks:
                        self._lacks[p.path] = lacks
                except SchemaDriftError as exc:
                    rejected.append((p, f"schema drift: {_reason(exc, p.path)}"))
                    self._problem(exc, warn=self.warn)
                    continue
                except (pa.ArrowException, OSError) as exc:
                    rejected.append((p, f"unreadable: {_reason(exc, p.path)}"))
                    self._problem(
                        CorruptPartError(f"{p.path}: unreadable Parquet part ({exc})"),
                        warn=self.warn,
                    )
                    continue
                self._footers[p.path] = footer
                good.append(p)
            self._parts[kind] = good
            self._rejected[kind] = rejected
        return self._parts[kind]

    def rejected(self, kind: Kind | str) -> list[tuple[Part, str]]:
        """The parts of a table skipped as unreadable or drifted, each with why."""
        kind = spec(kind).kind
        self.parts(kind)
        return self._rejected[kind]

    def rows(self, part: Part) -> int:
        """A readable part's row count (from its footer)."""
        return self._footers[part.path].num_rows

    def footer(self, part: Part) -> pq.FileMetaData:
        """A readable part's Parquet footer."""
        return self._footers[part.path]

    def lacks(self, part: Part) -> frozenset[str]:
        """The derived columns a readable part was written before (computed on read)."""
        return self._lacks.get(part.path, frozenset())

    def meta(self, part: Part) -> PartMeta | None:
        """What a readable part's footer says about its place in its journal."""
        return PartMeta.decode(self._footers[part.path].metadata)

    def _problem(self, exc: JournalError, *, warn: bool = True) -> None:
        if self.strict:
            raise exc
        self.problems.append(str(exc))
        if warn:
            print(f"warning: {exc}; skipping it, the rest still reads", file=sys.stderr)

    # -- single tables ------------------------------------------------------------------
    def iter_batches(
        self,
        kind: Kind | str,
        *,
        start_seq: int | None = None,
        stop_seq: int | None = None,
        batch_rows: int = BATCH_ROWS,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Batches of one table with ``start_seq <= seq <= stop_seq``, in seq order.

        ``columns`` decodes only those (with ``seq``, ``ts`` and ``recv_ts``, which
        always come; batches keep the table's column order); None decodes every column.
        """
        return self._reported(
            self._decoded(spec(kind).kind, start_seq, stop_seq, batch_rows, columns)
        )

    def _decoded(
        self,
        kind: Kind,
        start_seq: int | None,
        stop_seq: int | None,
        batch_rows: int,
        columns: Sequence[str] | None,
    ) -> Iterator[pa.RecordBatch | JournalError]:
        """:meth:`iter_batches`' batches, with a part that cannot be read yielded as its
        error where it was met instead of reported: a thread may decode ahead while the
        problems are still reported in stream order (see :meth:`merged`)."""
        want = _pruned(arrow_schema(kind), columns)
        last_seq = -1
        for p in self.parts(kind):
            if (start_seq is not None and p.last < start_seq) or (
                stop_seq is not None and p.first > stop_seq
            ):
                continue
            try:
                pf = pq.ParquetFile(p.path)
                read = _readable(kind, want.names, self._lacks.get(p.path, frozenset()))
                for batch in _batches(pf, batch_rows, read):
                    if read is not want.names:
                        batch = with_derived(kind, batch).select(want.names)
                    batch = _select(batch, want, start_seq, stop_seq)
                    if batch.num_rows == 0:
                        continue
                    seqs = batch.column(0).to_numpy()
                    if seqs[0] <= last_seq or (len(seqs) > 1 and not np.all(np.diff(seqs) > 0)):
                        raise SeqOrderError(
                            f"{p.path}: seq not strictly increasing near seq {int(seqs[0])}"
                        )
                    last_seq = int(seqs[-1])
                    yield batch
            except (pa.ArrowException, OSError) as exc:
                yield CorruptPartError(f"{p.path}: unreadable Parquet part ({exc})")

    def _reported(self, items: Iterator[pa.RecordBatch | JournalError]) -> Iterator[pa.RecordBatch]:
        """``items`` with the problems among them reported (or raised, strict)."""
        for item in items:
            if isinstance(item, JournalError):
                self._problem(item)
            else:
                yield item

    def table(
        self, kind: Kind | str, *, start_seq: int | None = None, stop_seq: int | None = None
    ) -> pa.Table:
        """A whole table (for small tables and tests)."""
        kind = spec(kind).kind
        batches = list(self.iter_batches(kind, start_seq=start_seq, stop_seq=stop_seq))
        return pa.Table.from_batches(batches, schema=arrow_schema(kind))

    def count(self, kind: Kind | str) -> int:
        return sum(self.rows(p) for p in self.parts(kind))

    # -- merged stream ------------------------------------------------------------------
    def merged(
        self,
        kinds: Iterable[Kind] = INPUT_KINDS,
        *,
        start_seq: int | None = None,
        stop_seq: int | None = None,
        batch_rows: int = BATCH_ROWS,
        prefetch: int = PREFETCH,
        columns: Mapping[Kind, Sequence[str] | None] | None = None,
    ) -> Iterator[MergedChunk]:
        """All rows of ``kinds`` merged by seq, as chunks of bounded size.

        With ``prefetch`` > 0 each table is decoded on a thread of its own, up to
        ``prefetch`` batches ahead, and the batches are merged on another, up to
        ``prefetch`` chunks ahead of the consumer: Parquet decoding releases the GIL, so
        a replay or backtest steps one chunk while the next is decoded, and the book's
        level lists (most of the decoding) no longer wait behind the trades.  The
        chunks, their order, the problems reported and any error (raised where the
        chunk it interrupted would have been) are the same either way.

        ``columns`` maps a table to the columns to decode (see :meth:`iter_batches`;
        an engine's :meth:`~framework.engine.core.Engine.columns_read`); tables it does
        not name are decoded whole.
        """
        cols = columns or {}
        iters = {}
        decoders = []
        for k in kinds:
            k = spec(k).kind
            decoded = self._decoded(k, start_seq, stop_seq, batch_rows, cols.get(k))
            if prefetch > 0:
                decoded = _prefetched(decoded, prefetch, f"journal-prefetch-{spec(k).name}")
                decoders.append(decoded)
            iters[k] = self._reported(decoded)
        merged = _merge(iters)
        return _prefetched(_closing(merged, decoders), prefetch) if prefetch > 0 else merged

    def has_rows(self, kind: Kind | str) -> bool:
        return bool(self.parts(kind))


_DONE = object()
_T = TypeVar("_T")

# Producers running now: (stop event, thread).  A daemon thread still decoding inside
# pyarrow when the interpreter exits is torn down mid-C++ (pthread_exit through C++
# frames: "terminate called without an active exception", SIGABRT), e.g. after a
# command exits while a generator it abandoned is still referenced; so every producer
# is stopped and joined at exit, while the interpreter still runs.
_PRODUCERS: set[tuple[threading.Event, threading.Thread]] = set()
_PRODUCERS_LOCK = threading.Lock()


def _stop_producers() -> None:
    with _PRODUCERS_LOCK:
        running = list(_PRODUCERS)
    for stop, _ in running:
        stop.set()
    for _, worker in running:
        worker.join(timeout=10.0)


atexit.register(_stop_producers)


def _closing(items: Iterator[_T], decoders: list[Iterator[Any]]) -> Iterator[_T]:
    """``items``, then ``decoders`` closed (their threads stopped and joined) however
    ``items`` ends: exhausted, raising, or closed early.  Not left to the garbage
    collector: an exception's traceback keeps a decoder's frame alive."""
    try:
        yield from items
    finally:
        for d in decoders:
            _close(d)


def _close(it: Iterator[Any]) -> None:
    """Close ``it`` if it is a generator (or anything else with ``close``)."""
    close = getattr(it, "close", None)
    if close is not None:
        close()


def _prefetched(chunks: Iterator[_T], depth: int, name: str = "journal-prefetch") -> Iterator[_T]:
    """``chunks`` produced on a daemon thread, at most ``depth`` ahead of the consumer.

    An exception in the producer is re-raised to the consumer after the chunks before
    it.  Closing the returned generator (a consumer that stops early, e.g. at
    ``stop_seq``) stops the producer at its next chunk; the producer then closes
    ``chunks`` (which stops the producers feeding it, if any).
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[Any, BaseException | None]) -> bool:
        """Queue ``item`` unless asked to stop first (False then)."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for ch in chunks:
                if not put((ch, None)) or stop.is_set():
                    return  # asked to stop: decode nothing more
            item: tuple[Any, BaseException | None] = (_DONE, None)
        except BaseException as exc:  # handed to the consumer, raised there
            item = (None, exc)
        finally:
            _close(chunks)
        put(item)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    entry = (stop, worker)
    with _PRODUCERS_LOCK:
        _PRODUCERS.add(entry)
    worker.start()
    try:
        while True:
            try:
                ch, exc = q.get(timeout=0.1)
            except queue.Empty:
                if worker.is_alive():
                    continue
                # Stopped from outside (the interpreter exiting, _stop_producers): it
                # ended without its last item.  Waiting on would hang the consumer,
                # e.g. a merge thread reading this decoder, and so the exit.
                raise JournalError(f"{name}: stopped before the end of the journal") from None
            if exc is not None:
                raise exc
            if ch is _DONE:
                return
            yield ch
    finally:
        stop.set()
        # Unblock a producer waiting on a full queue, then let it finish its chunk.
        while worker.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
        with _PRODUCERS_LOCK:
            _PRODUCERS.discard(entry)


def _pruned(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    """``schema`` with only ``columns`` (and the common ``seq``, ``ts``, ``recv_ts``)."""
    if columns is None:
        return schema
    keep = set(columns)
    missing = keep - set(schema.names)
    if missing:
        raise ValueError(f"no column(s) {sorted(missing)} to read; the table has {schema.names}")
    keep.update(f.name for f in COMMON_FIELDS)
    fields = [f for f in schema if f.name in keep]
    return pa.schema(fields, metadata=schema.metadata)


def _readable(kind: Kind, names: list[str], lacks: frozenset[str]) -> list[str]:
    """The columns to read from a part for ``names``: ``names`` itself, unless the part
    lacks derived columns among them; then their source columns instead."""
    if not lacks.intersection(names):
        return names
    derived = sources(kind)
    need = {n for n in names if n not in lacks}
    need.update(derived[n] for n in names if n in lacks)
    return [n for n in arrow_schema(kind).names if n in need]


def _reason(exc: Exception, path: Path) -> str:
    """An exception's message on one line, without the part path it may repeat (the
    caller names the part)."""
    return " ".join(str(exc).replace(f"{path}: ", "").replace(str(path), "the file").split())


def _batches(pf: pq.ParquetFile, batch_rows: int, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """A part's batches, one row group at a time.

    ``iter_batches`` over the whole file pre-buffers every row group's column chunks up
    front: a compacted 7-day book part held ~125 MB of compressed pages for the whole
    read.  Asking for one row group at a time keeps one in memory, at the same speed.
    Decoded on the calling thread (no Arrow thread pool): a merged read already decodes
    each table on a thread of its own, beside the engine's, and the pool's threads on
    top competed with the engine for the cores (a 24 h backtest on 2 cores: about 5 %
    slower with them).
    """
    for rg in range(pf.num_row_groups):
        yield from pf.iter_batches(
            batch_size=batch_rows, row_groups=[rg], columns=columns, use_threads=False
        )


def _select(
    batch: pa.RecordBatch, want: pa.Schema, start_seq: int | None, stop_seq: int | None
) -> pa.RecordBatch:
    if batch.schema != want:
        batch = pa.RecordBatch.from_arrays(batch.columns, schema=want)
    if start_seq is None and stop_seq is None:
        return batch
    seqs = batch.column(0).to_numpy()
    lo = 0 if start_seq is None else int(np.searchsorted(seqs, start_seq, "left"))
    hi = len(seqs) if stop_seq is None else int(np.searchsorted(seqs, stop_seq, "right"))
    return batch.slice(lo, max(0, hi - lo))


def _merge(iters: dict[Kind, Iterator[pa.RecordBatch]]) -> Iterator[MergedChunk]:
    """k-way merge of per-table seq-ordered batch streams.

    Each round takes every buffered row with seq <= the smallest "last buffered seq"
    among tables that still have rows: no table can later produce a row below that,
    so the round is complete; the table that set the bound is consumed entirely.
    """
    buffers: dict[Kind, pa.RecordBatch] = {}
    seqcols: dict[Kind, np.ndarray] = {}
    while True:
        for k, it in list(iters.items()):
            if k not in buffers:
                nxt = next(it, None)
                if nxt is None:
                    del iters[k]
                else:
                    buffers[k] = nxt
                    seqcols[k] = nxt.column(0).to_numpy()
        if not buffers:
            return
        horizon = min(int(s[-1]) for s in seqcols.values())
        taken: dict[Kind, pa.RecordBatch] = {}
        seq_parts, kind_parts, row_parts, recv_parts = [], [], [], []
        for k in list(buffers):
            s = seqcols[k]
            n = int(np.searchsorted(s, horizon, "right"))
            if n == 0:
                continue
            b = buffers[k]
            taken[k] = b.slice(0, n)
            seq_parts.append(s[:n])
            kind_parts.append(np.full(n, int(k), dtype=np.int64))
            row_parts.append(np.arange(n, dtype=np.int64))
            recv_parts.append(b.column(2).to_numpy()[:n])
            if n == len(s):
                del buffers[k], seqcols[k]
            else:
                buffers[k] = b.slice(n)
                seqcols[k] = s[n:]
        seqs = np.concatenate(seq_parts)
        order = np.argsort(seqs, kind="stable")
        yield MergedChunk(
            kinds=np.concatenate(kind_parts)[order],
            rows=np.concatenate(row_parts)[order],
            seqs=seqs[order],
            recv_ts=np.concatenate(recv_parts)[order],
            batches=taken,
            columns={k: Columns(k, b) for k, b in taken.items()},
        )
