"""The fast path of ``import`` for one raw capture file: same journal, ~30x less time.

Three things run at once:

* a reader thread iterates the file's lines exactly as the reference path does (the
  same ``open_binary`` object, line by line), so a corrupt or cut-short stream stops at
  the same line and byte, and hands them over in batches; gzip inflates with the GIL
  released, with Intel's ISA-L (``isal``: 0.35 s for a 24 h capture's 276 MB, zlib 0.8-0.9
  s) until anything abnormal, where the reference reader takes over (see
  :func:`_gzip_chunks`);
* the main thread scans the batches with the compiled :class:`~framework.kernel.hlscan.
  Scanner` (``l2Book`` and ``trades`` straight into typed columns, with the time
  repairs, de-duplication and seq of the reference path).  A line the scanner declines
  (another channel, another coin, anything unusual or malformed) goes through the
  reference per-line code (:class:`~framework.recordings.importer._Run`), which shares
  the scanner's state, so its rows, seq and problem texts are exactly the reference's;
* one writer thread per table writes its Parquet part a row group (32,768 rows) at a
  time (pyarrow releases the GIL), then each part is committed (fsync, rename) at close.

The journal is the reference path's: same tables, rows, seq, row groups, part names and
manifest.  Only the parts' footer ``durable_seq`` can differ, and is exact for this
writer (parts are committed at close, in table order).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from isal import isal_zlib

from framework.events.derived import complete, row_schema
from framework.events.schema import Kind, arrow_schema, spec
from framework.journal.durable import commit
from framework.journal.parts import PartMeta, part_name
from framework.journal.writer import ROW_GROUP_ROWS, JournalWriter, _write_options, rows_to_table
from framework.kernel.hlscan import ROWS, Scanner
from framework.recordings.capture import MAX_NS, looks_like_capture, parse_capture_line
from framework.recordings.errors import LineError, TruncatedLineError

GZ_BLOCK = 256 * 1024  # compressed bytes inflated per call (about 2 MB of lines)
LINE_BATCH = 4096  # lines per chunk when reading line by line
QUEUE_CHUNKS = 4  # chunks in flight (bounds memory)
PENDING_WRITES = 1  # row groups queued per table before the scanner waits
assert ROWS == ROW_GROUP_ROWS  # one take = one row group, as the reference compaction writes


class _EndOfFile:
    """The reader's last item: why it stopped (``exc`` None at a clean end)."""

    def __init__(self, exc: BaseException | None = None, opened: bool = True) -> None:
        self.exc = exc
        self.opened = opened


class _Restart:
    """The reader switched to reading line by line after the lines delivered so far:
    the partial line the scanner holds is dropped (it comes again, whole)."""


class _Crash:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Abnormal(Exception):
    """The fast gzip reader met anything but a clean end (a corrupt or cut-short stream,
    padding or trailing bytes): the reference reader takes over."""


def _gzip_chunks(path: Path, put: Any) -> None:
    """Inflate the gzip file ``path`` in large blocks (ISA-L's inflate, the GIL released
    while it works), handing each block's output to ``put`` one block late.  Raises
    :class:`_Abnormal` at anything but a clean end.

    Handing a block over only once the next one inflated cleanly keeps what was handed
    over short of where the reference reader (8 KiB at a time) stops on a corrupt stream,
    so the reference reader can take over exactly (:func:`_read_chunks`).
    """
    held: bytes | None = None
    try:
        with open(path, "rb") as f:
            d = isal_zlib.decompressobj(31)
            while True:
                block = f.read(GZ_BLOCK)
                if not block:
                    if not d.eof or d.unused_data:
                        raise _Abnormal
                    break
                data = d.decompress(block)
                while d.eof and d.unused_data:  # the next gzip member
                    rest = d.unused_data
                    if rest[:2] != b"\x1f\x8b":
                        raise _Abnormal
                    d = isal_zlib.decompressobj(31)
                    data += d.decompress(rest)
                if data:
                    if held is not None and not put(held):
                        return
                    held = data
    except (OSError, isal_zlib.error, EOFError) as exc:
        raise _Abnormal from exc
    if held is not None:
        put(held)


def _line_chunks(
    path: Path, skip: int, stream_errors: tuple[type[BaseException], ...]
) -> Iterator[Any]:
    """The reference reader (``open_binary``, line by line) after the first ``skip``
    lines, joined into chunks, then one :class:`_EndOfFile`."""
    from framework.recordings.importer import open_binary

    try:
        fh = open_binary(path)
    except OSError as exc:
        yield _EndOfFile(exc, opened=False)
        return
    with fh:
        lines = iter(fh)
        batch: list[bytes] = []
        end = _EndOfFile()
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                break
            except stream_errors as exc:
                end = _EndOfFile(exc)
                break
            if skip:
                skip -= 1
                continue
            batch.append(raw)
            if len(batch) >= LINE_BATCH:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)
        yield end


def _read_chunks(path: Path, stream_errors: tuple[type[BaseException], ...]) -> Iterator[Any]:
    """The decompressed content of ``path`` in chunks, then one :class:`_EndOfFile`; or,
    for gzip at anything but a clean end, a :class:`_Restart` (the caller goes on with
    :func:`_line_chunks` after the lines it has).

    Gzip is inflated on a thread, in large blocks; other files are read by the reference
    reader from the start.
    """
    from framework.recordings.importer import GZIP_MAGIC

    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == GZIP_MAGIC
    except OSError:
        gz = False  # the reference reader reports it
    if not gz:
        yield from _line_chunks(path, 0, stream_errors)
        return
    q: queue.Queue[Any] = queue.Queue(QUEUE_CHUNKS)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            _gzip_chunks(path, put)
            put(_EndOfFile())
        except _Abnormal:
            put(_Restart())
        except BaseException as exc:  # handed to the main thread, re-raised there
            put(_Crash(exc))

    t = threading.Thread(target=work, name="import-reader", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, _Crash):
                raise item.exc
            yield item
            if isinstance(item, _EndOfFile | _Restart):
                return
    finally:
        stop.set()
        t.join()


class ColumnSink:
    """The journal of a fast import: rows arrive as scanner columns (book, trades) or as
    reference rows (any table); each table streams into one Parquet part on its own
    writer thread.  Same interface as the :class:`JournalWriter` the reference path
    uses (``append``, ``rows_written``, ``close``)."""

    def __init__(self, root: Path, manifest: Any, scanner: Scanner, coin: str) -> None:
        # JournalWriter makes the directories and session.json exactly as the reference
        # path does, and closes the manifest; the parts are written here.
        self.journal = JournalWriter(root, manifest, flush_interval_s=float("inf"))
        self.root = root
        self.scanner = scanner
        self.coin = coin
        self.rows_written = self.journal.rows_written
        self._rows: dict[Kind, list[tuple[Any, ...]]] = {Kind.BBO: [], Kind.ASSET_CTX: []}
        self._writers: dict[Kind, pq.ParquetWriter] = {}
        self._pools: dict[Kind, ThreadPoolExecutor] = {}
        self._pending: dict[Kind, list[Future[None]]] = {}
        self._first: dict[Kind, int] = {}
        self._last: dict[Kind, int] = {}

    # -- rows ---------------------------------------------------------------------------
    def append(self, kind: Kind, row: tuple[Any, ...]) -> None:
        """One full row ``(seq, ts, recv_ts, coin, *payload)`` from the reference path."""
        if kind == Kind.BOOK:
            self.scanner.add_book(*row[:3], *row[4:])
        elif kind == Kind.TRADES:
            self.scanner.add_trade(*row[:3], *row[4:])
        else:
            rows = self._rows[kind]
            rows.append(row)
            if len(rows) >= ROWS:
                self._submit(kind, rows_to_table(kind, rows))
                self._rows[kind] = []

    def drain(self, final: bool = False) -> None:
        """Hand every full row group (at ``final``: every row) to the table writers."""
        sc = self.scanner
        while sc.book_rows() >= ROWS or (final and sc.book_rows()):
            self._submit(Kind.BOOK, _book_table(sc.take_book(), self.coin))
        while sc.trade_rows() >= ROWS or (final and sc.trade_rows()):
            self._submit(Kind.TRADES, _trades_table(sc.take_trades(), self.coin))
        if final:
            for kind, rows in self._rows.items():
                if rows:
                    self._submit(kind, rows_to_table(kind, rows))
                    self._rows[kind] = []

    # -- parts --------------------------------------------------------------------------
    def _tmp(self, kind: Kind) -> Path:
        return self.root / spec(kind).name / ".fastimport.parquet.tmp"

    def _submit(self, kind: Kind, table: pa.Table) -> None:
        if kind not in self._writers:
            schema = arrow_schema(kind)
            self._writers[kind] = pq.ParquetWriter(
                self._tmp(kind), schema, **_write_options(schema)
            )
            self._pools[kind] = ThreadPoolExecutor(1, thread_name_prefix=f"import-{kind.name}")
            self._pending[kind] = []
            self._first[kind] = int(table.column("seq")[0].as_py())
        self._last[kind] = int(table.column("seq")[-1].as_py())
        self.rows_written[spec(kind).name] += table.num_rows
        writer = self._writers[kind]
        pending = self._pending[kind]
        pending.append(
            self._pools[kind].submit(writer.write_table, table, row_group_size=ROW_GROUP_ROWS)
        )
        while len(pending) > PENDING_WRITES:
            pending.pop(0).result()

    def close(self, *, stats: dict[str, Any] | None = None) -> None:
        """Write what is left, commit every part (in table order) and close the journal."""
        try:
            self.drain(final=True)
            for kind in list(self._pending):
                for f in self._pending[kind]:
                    f.result()
        finally:
            for pool in self._pools.values():
                pool.shutdown(wait=True)
        order = [k for k in Kind if k in self._writers]
        high = max(self._last.values(), default=0)
        for i, kind in enumerate(order):
            later = [self._first[k] for k in order[i + 1 :]]
            # every table is on disk up to just before the first row of a part not yet
            # committed (parts are committed one after another, in this order)
            durable = min(later) - 1 if later else high
            meta = PartMeta(str(self.journal.manifest.created_ns), 0, durable)
            writer = self._writers[kind]
            writer.add_key_value_metadata(meta.encode())
            writer.close()
            final = self._tmp(kind).parent / part_name(self._first[kind], self._last[kind])
            commit(self._tmp(kind), final)
        self.journal.close(stats=stats)


def _arr(typ: pa.DataType, values: np.ndarray) -> pa.Array:
    """A null-free Arrow array over ``values``' memory (``pa.array`` on numpy or lists
    would import pandas: half a second)."""
    return pa.Array.from_buffers(typ, len(values), [None, pa.py_buffer(values)])


def _repeat(text: str, n: int) -> pa.Array:
    """``n`` times the string ``text``."""
    b = text.encode("utf-8")
    off = np.arange(0, (n + 1) * len(b), len(b), dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(b * n))


def _book_table(c: dict[str, np.ndarray], coin: str) -> pa.Table:
    schema = row_schema(Kind.BOOK)  # the top of book columns follow from the lists
    arrays = [
        _arr(pa.int64(), c["seq"]),
        _arr(pa.int64(), c["ts"]),
        _arr(pa.int64(), c["recv_ts"]),
        _repeat(coin, len(c["seq"])),
    ]
    for side in ("bid", "ask"):
        off = _arr(pa.int32(), c[f"{side}_off"])
        arrays += [
            pa.ListArray.from_arrays(off, _arr(pa.float64(), c[f"{side}_px"])),
            pa.ListArray.from_arrays(off, _arr(pa.float64(), c[f"{side}_sz"])),
            pa.ListArray.from_arrays(off, _arr(pa.int32(), c[f"{side}_n"])),
        ]
    return complete(Kind.BOOK, pa.Table.from_arrays(arrays, schema=schema))


def _trades_table(c: dict[str, Any], coin: str) -> pa.Table:
    schema = arrow_schema(Kind.TRADES)
    n = len(c["seq"])
    valid = c["hash_valid"].astype(bool)
    nulls = n - int(valid.sum())
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    hashes = pa.StringArray.from_buffers(
        n, pa.py_buffer(c["hash_off"]), pa.py_buffer(c["hash_data"]), bitmap, nulls
    )
    arrays = [
        _arr(pa.int64(), c["seq"]),
        _arr(pa.int64(), c["ts"]),
        _arr(pa.int64(), c["recv_ts"]),
        _repeat(coin, n),
        _arr(pa.int8(), c["side"]),
        _arr(pa.float64(), c["px"]),
        _arr(pa.float64(), c["sz"]),
        _arr(pa.int64(), c["tid"]),
        hashes,
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


# -- the other channels: msgspec ----------------------------------------------------------
class _Level(msgspec.Struct):
    px: str
    sz: str


class _BboData(msgspec.Struct):
    coin: str
    time: int
    bbo: tuple[_Level | None, _Level | None]


class _Bbo(msgspec.Struct):
    channel: str
    data: _BboData


class _Ctx(msgspec.Struct):
    # the wire's names
    markPx: str
    oraclePx: str
    funding: str
    midPx: str | None = None
    premium: str | None = None
    openInterest: str | None = None
    dayNtlVlm: str | None = None


class _CtxData(msgspec.Struct):
    coin: str
    ctx: _Ctx


class _AssetCtx(msgspec.Struct):
    channel: str
    data: _CtxData


_BBO_HEAD = b'{"channel":"bbo","data":'
_CTX_HEAD = b'{"channel":"activeAssetCtx","data":'
_BBO = msgspec.json.Decoder(_Bbo)
_CTX = msgspec.json.Decoder(_AssetCtx)
MAX_MS = (2**63 - 1) // 1_000_000


def _num(v: str | None, positive: bool = False) -> float:
    """``float(v)`` where the reference parser takes it; else ValueError (declined)."""
    if v is None:
        raise ValueError
    x = float(v)
    if not math.isfinite(x) or (positive and x <= 0.0):
        raise ValueError
    return x


def _opt(v: str | None) -> float | None:
    return None if v is None else _num(v)


def _other_channel(line: bytes) -> tuple[Kind, tuple[Any, ...]] | None:
    """``bbo`` and ``activeAssetCtx`` lines read with msgspec: ``(kind, row)`` with
    ``recv_ts`` left as 0, or None where the reference parser must read the line (any
    other shape, value or error; it then says what is wrong)."""
    body = line[20:]
    try:
        if body.startswith(_BBO_HEAD):
            m = _BBO.decode(body)
            d = m.data
            if m.channel != "bbo" or not d.coin or not 0 <= d.time <= MAX_MS:
                return None
            out: list[float | None] = []
            for lvl in d.bbo:
                out += [None, None] if lvl is None else [_num(lvl.px, True), _num(lvl.sz, True)]
            return Kind.BBO, (d.time * 1_000_000, 0, d.coin, *out)
        if body.startswith(_CTX_HEAD):
            m = _CTX.decode(body)
            c = m.data.ctx
            if m.channel != "activeAssetCtx" or not m.data.coin:
                return None
            row = (
                0,
                0,
                m.data.coin,
                _num(c.markPx),
                _num(c.oraclePx),
                _opt(c.midPx),
                _num(c.funding),
                _opt(c.premium),
                _opt(c.openInterest),
                _opt(c.dayNtlVlm),
            )
            return Kind.ASSET_CTX, row
    except (msgspec.DecodeError, ValueError, OverflowError):
        return None
    return None


def reference_line(run: Any, raw: bytes, file: str, line_no: int) -> bool:
    """One line the scanner declined: ``bbo``/``activeAssetCtx`` through msgspec where
    it reads them exactly as the reference does, everything else through the reference
    code (``read_lines`` then ``_Run.message``).  False when reading the file must stop
    (a last line cut short)."""
    from framework.recordings.importer import Problem

    if raw.endswith(b"}\n") and looks_like_capture(raw) and int(raw[:19]) <= MAX_NS:
        got = _other_channel(raw[:-1])
        if got is not None:
            kind, row = got
            recv_ts = run.received(int(raw[:19]))
            ts = recv_ts if kind == Kind.ASSET_CTX else row[0]  # ctx: ts is the receive time
            run.rows([(kind, (ts, recv_ts, *row[2:]))], recv_ts, file, line_no)
            return True
    line = raw.rstrip(b"\r\n")
    if not line.strip():
        return True
    try:
        recv_ts, msg = parse_capture_line(line, last=not raw.endswith(b"\n"))
    except TruncatedLineError as exc:
        run.problems.add(Problem(file, line_no, str(exc), broken=True))
        return False
    except LineError as exc:
        run.problems.add(Problem(file, line_no, str(exc)))
        return True
    run.message(recv_ts, file, line_no, msg)
    return True


def scan_file(run: Any, path: Path, stream_errors: tuple[type[BaseException], ...]) -> None:
    """Import every line of the capture ``path`` into ``run`` (a ``_FastRun``).

    Line numbers and byte offsets count every line read, as the reference reader does;
    a stream that breaks keeps the whole lines decoded before the break, and is reported
    where and as the reference reader reports it.
    """
    _scan_chunks(run, path, _read_chunks(path, stream_errors), stream_errors)


def _scan_chunks(
    run: Any,
    path: Path,
    chunks: Iterator[Any],
    stream_errors: tuple[type[BaseException], ...],
    line_no: int = 0,
    offset: int = 0,
) -> None:
    from framework.recordings.importer import Problem, _stream_break

    sc: Scanner = run.scanner
    file = str(path)
    pending = b""
    for chunk in chunks:
        if isinstance(chunk, _EndOfFile):
            if chunk.exc is not None:
                if chunk.opened:
                    msg = _stream_break(path, line_no, offset, chunk.exc)
                    run.problems.add(Problem(file, line_no + 1, msg, broken=True))
                else:
                    msg = _stream_break(path, 0, 0, chunk.exc)
                    run.problems.add(Problem(file, None, msg, broken=True))
            elif pending:  # a last line without a newline
                reference_line(run, pending, file, line_no + 1)
            return
        if isinstance(chunk, _Restart):
            # the reference reader goes on after the whole lines scanned (the partial
            # line held comes again, whole or not, as the reference reads it)
            rest = _line_chunks(path, line_no, stream_errors)
            _scan_chunks(run, path, rest, stream_errors, line_no, offset)
            return
        buf = pending + chunk if pending else chunk
        i = 0
        while True:
            before = sc.lines_scanned()
            j = sc.scan(buf, i)
            line_no += sc.lines_scanned() - before
            offset += j - i
            i = j
            if sc.full():
                if run.writer is not None:
                    run.writer.drain()
                continue
            e = buf.find(b"\n", i)
            if e < 0:
                break
            line_no += 1
            offset += e + 1 - i
            if not reference_line(run, buf[i : e + 1], file, line_no):
                return
            i = e + 1
        pending = buf[i:]


__all__ = ["ColumnSink", "scan_file"]
