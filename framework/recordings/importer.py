"""Import recordings (raw WS captures, official archive files) into a journal.

``import_recordings(paths, out)`` streams every line of every file, merges the files
by receive time (each file is in receive order; ties keep the files' order), parses
each message with :func:`~framework.recordings.messages.parse_ws_message`, applies
the time repairs of :mod:`framework.recordings.repair`, and appends the rows with seq
assigned in receive order: the n-th row (from 1) gets ``n * SEQ_STRIDE``, so a
backtest can keep the input tables as they are.  Memory stays bounded: files are read line by
line and the writer flushes a part every ``flush_rows`` rows per table.

One raw capture file takes a fast path that writes the same journal
(:mod:`framework.recordings.fastimport`: a compiled scanner for ``l2Book`` and ``trades``,
msgspec for ``bbo`` and ``activeAssetCtx``, this module's per-line code for every other
line); ``reference=True`` forces the per-line path described here.

A bad line (invalid JSON, no receive-time prefix, an unknown channel, a malformed
message) becomes a :class:`Problem` ``FILE:LINE: what is wrong``; the line is skipped
and the rest imports.  Whether such problems fail the run is the caller's call
(``market-maker import --strict`` exits 1).

A *broken* file is worse and always fails the run: a compressed stream that is cut short
or corrupt (gzip, lz4), or a last line cut mid-message.  Its problem names the line and
the byte of the decompressed content where reading stopped; the rows read before it are
kept (and imported), the rest of that file is not read, the manifest lists the file under
``stats.broken_files`` and ``market-maker import`` exits 1.  A gzip CRC mismatch is only
seen at the end of the file: the rows read are then kept too, but some may be wrong.  An
lz4 frame written without checksums cannot tell corrupt content from good at all.

The journal records the coin's ``szDecimals`` (manifest ``sz_decimals``) from
``--sz-decimals`` or the known-coins table (:mod:`framework.recordings.coins`).  A coin
in neither is refused before anything is written: a backtest sizes and prices its
orders on that grid, and a guess would quote 10x off without a word.  So is an import that
yields no row of the wanted coin (``--asset ETH`` on a BTC capture): the error lists the
coins present.
"""

from __future__ import annotations

import gzip
import heapq
import math
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import attrs
import lz4.frame

from framework.events.schema import SEQ_STRIDE, Kind
from framework.grid import MAX_PERP_DECIMALS
from framework.journal.manifest import Manifest
from framework.journal.outdir import occupied
from framework.journal.writer import JournalWriter
from framework.recordings import archive, capture
from framework.recordings.coins import KNOWN_SZ_DECIMALS, describe_known, known_sz_decimals
from framework.recordings.errors import (
    BrokenFileError,
    FileFormatError,
    LineError,
    MessageError,
    RecordingError,
    TruncatedLineError,
)
from framework.recordings.messages import parse_ws_message
from framework.recordings.repair import STALE_NS, TimeRepair, TradeDedup

GZIP_MAGIC = b"\x1f\x8b"
LZ4_MAGIC = b"\x04\x22\x4d\x18"
DETECT_LINES = 5  # lines looked at to recognise a format (the first is enough if sound)
MAX_KEPT_PROBLEMS = 1000
MANIFEST_PROBLEMS = 20  # problem texts the manifest keeps (the count is always complete)
#: What reading a compressed file raises when the stream is cut short or corrupt:
#: gzip -> EOFError, BadGzipFile (an OSError: CRC or length mismatch), zlib.error;
#: lz4.frame -> EOFError, RuntimeError; any file -> OSError (I/O).
STREAM_ERRORS = (OSError, EOFError, RuntimeError, zlib.error)

_PARSE_LINE = {
    capture.FORMAT: capture.parse_capture_line,
    archive.FORMAT: archive.parse_archive_line,
}


@attrs.frozen
class Problem:
    """One skipped line (or file): where, and what is wrong.

    ``broken``: the file is truncated or corrupt and was not read to its end.
    """

    file: str
    line: int | None
    message: str
    broken: bool = False

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@attrs.define
class ImportResult:
    """What an import wrote and what it skipped."""

    out: Path
    files: list[str]
    formats: dict[str, str]
    coin: str
    sz_decimals: int
    sz_decimals_from: str
    messages: int
    rows: dict[str, int]
    problems: list[Problem]
    n_problems: int
    broken: list[Problem]
    repairs: dict[str, int]
    worst_repair_ns: dict[str, int]
    skipped: dict[str, int]
    first_recv_ts: int | None
    last_recv_ts: int | None

    def summary(self) -> str:
        """A few lines for a person: rows per table, repairs, problems."""
        fmts = ", ".join(sorted(set(self.formats.values()))) or "none"
        lines = [
            f"imported {self.messages} messages from {len(self.files)} file(s) ({fmts}) "
            f"into {self.out}"
        ]
        if self.first_recv_ts is not None and self.last_recv_ts is not None:
            span = (self.last_recv_ts - self.first_recv_ts) / 1e9
            lines.append(
                f"  coin {self.coin} (szDecimals {self.sz_decimals} from "
                f"{self.sz_decimals_from}), recv {_iso(self.first_recv_ts)} .. "
                f"{_iso(self.last_recv_ts)} ({span:.1f} s)"
            )
        rows = ", ".join(f"{k} {v}" for k, v in self.rows.items() if v) or "none"
        lines.append(f"  rows: {rows}")
        fixed = [
            f"{k} {v} (worst {self.worst_repair_ns[k] / 1e6:.3f} ms)"
            for k, v in self.repairs.items()
            if v and k in self.worst_repair_ns
        ]
        for key in ("duplicate_messages", "duplicate_trades"):
            if self.repairs.get(key):
                fixed.append(f"{key} {self.repairs[key]} dropped")
        lines.append(f"  repairs: {', '.join(fixed) or 'none'}")
        if self.repairs.get("stale_ts"):
            lines.append(
                f"  note: {self.repairs['stale_ts']} row(s) with ts more than "
                f"{STALE_NS / 1e9:.0f} s before recv_ts (the trades replay on subscribe); "
                "kept with the exchange ts"
            )
        if self.skipped:
            lines.append("  skipped: " + ", ".join(f"{k} {v}" for k, v in self.skipped.items()))
        lines.append(f"  problems: {self.n_problems}")
        for p in self.broken:
            lines.append(f"  BROKEN FILE: {p.file}")
        return "\n".join(lines)


# -- files ---------------------------------------------------------------------------------
def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files named by ``paths``; a directory gives its non-hidden files, recursively, sorted.

    Raises
    ------
    FileFormatError
        A path does not exist, or nothing is left to import.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and not any(s.startswith(".") for s in f.relative_to(p).parts)
            )
        elif p.is_file():
            files.append(p)
        else:
            raise FileFormatError(f"{p}: no such file or directory")
    if not files:
        raise FileFormatError(f"no files to import under {', '.join(map(str, paths))}")
    return files


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading lines, decompressing gzip or lz4-frame by magic bytes."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == GZIP_MAGIC:
        return gzip.open(path, "rb")
    if magic == LZ4_MAGIC:
        return lz4.frame.open(path, "rb")
    return open(path, "rb")


def detect_format(path: Path) -> str:
    """``"capture"`` or ``"archive"``, from the first line(s) of the file's content.

    Raises
    ------
    BrokenFileError
        The file cannot be read (truncated or corrupt before its first lines).
    FileFormatError
        The file is empty or matches neither format (message says why).
    """
    seen: list[bytes] = []
    try:
        with open_binary(path) as fh:
            for raw in fh:
                line = raw.strip()
                if not line:
                    continue
                if capture.looks_like_capture(line):
                    return capture.FORMAT
                if archive.looks_like_archive(line):
                    return archive.FORMAT
                seen.append(line)
                if len(seen) >= DETECT_LINES:
                    break
    except STREAM_ERRORS as exc:
        raise BrokenFileError(f"{path}: {_stream_break(path, 0, 0, exc)}") from None
    if not seen:
        raise FileFormatError(f"{path}: empty file, nothing to import")
    head = seen[0][:60].decode("utf-8", "replace")
    hint = ""
    if seen[0].startswith(b'{"channel"'):
        hint = (
            "; the lines are bare WS messages without a receive time: prefix each with the "
            "19-digit receive ns and a space"
        )
    raise FileFormatError(
        f"{path}: neither a raw WS capture ('<19-digit ns> <json>' lines) nor an official "
        f'archive file (\'{{"time": ..., "raw": ...}}\' lines); first line starts {head!r}'
        f"{hint}"
    )


def read_lines(
    path: Path, fmt: str, order: int, problems: _Problems
) -> Iterator[tuple[int, int, int, Any]]:
    """``(recv_ts, order, line_no, message)`` for every good line of one file.

    Reading stops at a broken stream (or a last line cut short): a ``broken`` problem
    names the line and the decompressed byte where it stopped; the lines before it were
    yielded.
    """
    parse = _PARSE_LINE[fmt]
    line_no = offset = 0
    try:
        fh = open_binary(path)
    except OSError as exc:
        problems.add(Problem(str(path), None, _stream_break(path, 0, 0, exc), broken=True))
        return
    with fh:
        lines = iter(fh)
        while True:
            # only the read is guarded: an error while parsing is the line's, not the stream's
            try:
                raw = next(lines)
            except StopIteration:
                return
            except STREAM_ERRORS as exc:
                msg = _stream_break(path, line_no, offset, exc)
                problems.add(Problem(str(path), line_no + 1, msg, broken=True))
                return
            line_no += 1
            offset += len(raw)
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                recv_ts, msg = parse(line, last=not raw.endswith(b"\n"))
            except TruncatedLineError as exc:
                problems.add(Problem(str(path), line_no, str(exc), broken=True))
                return
            except LineError as exc:
                problems.add(Problem(str(path), line_no, str(exc)))
                continue
            yield recv_ts, order, line_no, msg


def _stream_break(path: Path, line_no: int, offset: int, exc: BaseException) -> str:
    """Why and where reading ``path`` stopped, and what was kept (one line)."""
    if isinstance(exc, EOFError):
        what = "the file is cut short (truncated)"
    elif isinstance(exc, gzip.BadGzipFile) and "CRC" in str(exc):
        what = f"the content does not match its checksum: some of lines 1-{line_no} may be wrong"
    elif isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile):
        what = "the file cannot be read"
    else:
        what = "the compressed data is corrupt"
    kept = f"the rows of lines 1-{line_no} are imported" if line_no else "nothing was read"
    name = "zlib.error" if isinstance(exc, zlib.error) else type(exc).__name__
    return (
        f"reading stopped at line {line_no + 1} (byte {offset:,} of the decompressed content): "
        f"{what} ({name}: {exc}); {kept}; re-fetch or re-copy the file"
    )


class _Problems:
    """Problems in arrival order; keeps the first :data:`MAX_KEPT_PROBLEMS`, counts all."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.count = 0
        self.broken: list[Problem] = []  # every one (at most one per file)

    def add(self, p: Problem) -> None:
        self.count += 1
        if p.broken:
            self.broken.append(p)
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(p)


# -- import --------------------------------------------------------------------------------
def import_recordings(
    paths: Iterable[Path | str],
    out: Path | str,
    *,
    asset: str | None = None,
    sz_decimals: int | None = None,
    flush_rows: int = 8192,
    reference: bool = False,
) -> ImportResult:
    """Import recording files into a new journal at ``out``.

    Parameters
    ----------
    paths : iterable of path
        Files or directories (searched recursively), any mix of formats.
    out : path
        The new journal directory; must not already hold a journal.
    asset : str, optional
        Coin to import (``BTC`` or ``dex:COIN``).  Default: the first coin seen; rows of
        any other coin are then problems.  Archive files laid out as
        ``.../<channel>/<COIN>.lz4`` for another coin are not opened.
    sz_decimals : int, optional
        The coin's ``szDecimals`` (0..6); default: :mod:`framework.recordings.coins`.
    flush_rows : int, default 8192
        Rows buffered per table before a part is written (bounds memory; reference
        path only).
    reference : bool, default False
        Use the reference (pure Python) path even where the fast one applies: a single
        raw capture file, with the scanner compiled or ``MM_KERNEL=python`` set
        (:mod:`framework.recordings.fastimport`).  Both write the same journal; tests
        compare them.

    Returns
    -------
    ImportResult
        ``broken`` lists the files that were cut short or corrupt (their rows before the
        break are imported).

    Raises
    ------
    RecordingError
        Nothing was written: ``out`` holds a journal, a path is missing, no file is
        readable, the coin's szDecimals is unknown (neither ``sz_decimals`` nor the
        table), ``sz_decimals`` is out of range, or no row of the coin was found.
    """
    out = Path(out)
    why = occupied(out)
    if why is not None:
        raise RecordingError(f"--out {out}: {why}")
    if sz_decimals is not None and not (
        isinstance(sz_decimals, int) and 0 <= sz_decimals <= MAX_PERP_DECIMALS
    ):
        raise RecordingError(
            f"--sz-decimals {sz_decimals!r}: must be an integer in 0..{MAX_PERP_DECIMALS} "
            "(the coin's szDecimals from the venue's meta)"
        )
    if asset is not None:
        same = _other_case(asset, KNOWN_SZ_DECIMALS)
        if same is not None and sz_decimals is None:
            # Coin names are case-sensitive on the venue (kPEPE): not guessed, suggested.
            raise RecordingError(
                f"--asset {asset}: coin names are case-sensitive; did you mean --asset "
                f"{same}? nothing was written"
            )
        _grid_of(asset, sz_decimals)  # refuse an unknown coin before reading anything
    problems = _Problems()
    skipped: Counter[str] = Counter()
    sources: list[tuple[Path, str]] = []
    for f in expand_paths(paths):
        if asset is not None and archive.archive_coin(f) not in (None, asset):
            skipped["files_of_other_coins"] += 1
            continue
        try:
            sources.append((f, detect_format(f)))
        except FileFormatError as exc:
            problems.add(
                Problem(
                    str(f),
                    None,
                    str(exc).removeprefix(f"{f}: "),
                    broken=isinstance(exc, BrokenFileError),
                )
            )
    if not sources:
        raise FileFormatError(
            "no readable recording among the inputs:\n  " + "\n  ".join(map(str, problems.kept))
        )
    formats = {str(f): fmt for f, fmt in sources}
    fmt_set = set(formats.values())
    manifest = Manifest(
        mode="import",
        asset="",
        source={"files": list(formats), "format": fmt_set.pop() if len(fmt_set) == 1 else "mixed"},
        seq_stride=SEQ_STRIDE,
    )
    fast = (
        not reference
        and len(sources) == 1
        and sources[0][1] == capture.FORMAT
        and _fast_scanner_runs()
    )
    run = _FastRun if fast else _Run
    state = run(out, manifest, problems, asset, sz_decimals, skipped, flush_rows)
    try:
        if isinstance(state, _FastRun):
            state.run(sources[0][0])
        else:
            streams = [read_lines(f, fmt, i, problems) for i, (f, fmt) in enumerate(sources)]
            overlap = _Overlap()
            for recv_ts, order, line_no, msg in heapq.merge(*streams, key=itemgetter(0)):
                if not overlap.seen(recv_ts, order, msg):
                    state.message(recv_ts, str(sources[order][0]), line_no, msg)
            state.duplicate_messages = overlap.dropped
    finally:
        if state.writer is not None:
            state.writer.close(stats=state.stats())
    if state.writer is None:
        raise RecordingError(state.nothing_imported())
    return ImportResult(
        out=out,
        files=list(formats),
        formats=formats,
        coin=manifest.coin,
        sz_decimals=state.grid[0],
        sz_decimals_from=state.grid[1],
        messages=state.messages,
        rows={t: n for t, n in state.writer.rows_written.items() if n},
        problems=problems.kept,
        n_problems=problems.count,
        broken=list(problems.broken),
        repairs=state.repair_counts(),
        worst_repair_ns=dict(state.repair.worst_ns),
        skipped=dict(skipped),
        first_recv_ts=state.first_recv,
        last_recv_ts=state.repair.last_recv if state.first_recv is not None else None,
    )


def _other_case(coin: str, names: Iterable[str]) -> str | None:
    """The first of ``names`` that is ``coin`` in another case, or None."""
    return next((n for n in names if n != coin and n.lower() == coin.lower()), None)


class _Overlap:
    """Drops a message that another input file already gave with the same receive time:
    captures that overlap (the same capture as ``.gz`` and ``.txt``, or two recorders'
    files of one session) would otherwise double every book row.  Trades have their own
    de-duplication by trade id; a file's own lines are never compared with each other
    (a single capture imports the same on every path)."""

    def __init__(self) -> None:
        self.recv_ts: int | None = None
        self.group: list[tuple[int, Any]] = []  # (file order, message) at recv_ts
        self.dropped = 0

    def seen(self, recv_ts: int, order: int, msg: Any) -> bool:
        """True (and counted) when a message equal to ``msg`` came from another file at
        ``recv_ts``; the merge gives lines in receive-time order."""
        if recv_ts != self.recv_ts:
            self.recv_ts, self.group = recv_ts, []
        if any(o != order and m == msg for o, m in self.group):
            self.dropped += 1
            return True
        self.group.append((order, msg))
        return False


def _grid_of(coin: str, sz_decimals: int | None) -> tuple[int, str]:
    """``(szDecimals, where it came from)`` of ``coin``.

    Raises
    ------
    RecordingError
        The coin is not in the known-coins table and no ``--sz-decimals`` was given.
    """
    if sz_decimals is not None:
        return sz_decimals, "--sz-decimals"
    known = known_sz_decimals(coin)
    if known is None:
        raise RecordingError(
            f"coin {coin!r}: its szDecimals (size lot and price grid) is not known here "
            f"(known: {describe_known()}) and a backtest quotes on it; pass --sz-decimals N "
            f"with {coin}'s szDecimals from the venue's meta (`market-maker list-dexs` "
            "prints it); nothing was written"
        )
    return known, "the known-coins table"


class _Run:
    """The per-message work of one import: parse, repair, filter, assign seq, append.

    The journal (``writer``) is created at the first row of the coin, once its
    szDecimals is settled: an import refused for it, or finding no row, writes nothing.
    """

    def __init__(
        self,
        out: Path,
        manifest: Manifest,
        problems: _Problems,
        asset: str | None,
        sz_decimals: int | None,
        skipped: Counter[str],
        flush_rows: int,
    ) -> None:
        self.out = out
        self.manifest = manifest
        self.writer: JournalWriter | None = None
        self.flush_rows = flush_rows
        self.problems = problems
        self.coin = asset
        self.asset_given = asset is not None
        self.sz_decimals = sz_decimals
        self.grid: tuple[int, str] = (-1, "")
        self.skipped = skipped
        self.repair = TimeRepair()
        self.dedup = TradeDedup()
        self.reported_coins: set[str] = set()
        self.other_rows: Counter[str] = Counter()
        self.seq = 0
        self.messages = 0
        self.first_recv: int | None = None
        self.duplicate_messages = 0  # the same message in two files (see _Overlap)

    def message(self, recv_ts: int, file: str, line_no: int, msg: Any) -> None:
        recv_ts = self.received(recv_ts)
        try:
            rows = parse_ws_message(msg, recv_ts)
        except MessageError as exc:
            self.problems.add(Problem(file, line_no, str(exc)))
            return
        if not rows:
            self.skipped[f"channel {msg.get('channel')}"] += 1
        self.rows(rows, recv_ts, file, line_no)

    def received(self, recv_ts: int) -> int:
        """Count a message received at ``recv_ts``; its repaired receive time."""
        recv_ts = self.repair.recv(recv_ts)
        if self.first_recv is None:
            self.first_recv = recv_ts
        self.messages += 1
        return recv_ts

    def rows(self, rows: list[tuple[Kind, Any]], recv_ts: int, file: str, line_no: int) -> None:
        """Filter, de-duplicate, sequence and write the rows of one message."""
        for kind, row in rows:
            coin = row[2]
            if self.coin is None:
                self.coin = coin
            if coin != self.coin:
                self._other_coin(coin, file, line_no)
                continue
            if kind == Kind.TRADES and self.dedup.is_duplicate(coin, row[6], row[0]):
                continue
            writer = self.writer or self._open(coin)
            seq = self._next_seq()
            ts = self.repair.ts(row[0], recv_ts)
            writer.append(kind, (seq, ts, *row[1:]))

    def _next_seq(self) -> int:
        self.seq += SEQ_STRIDE
        return self.seq

    def _open(self, coin: str) -> JournalWriter:
        """Create the journal for ``coin`` (raises when its szDecimals is unknown)."""
        self.grid = _grid_of(coin, self.sz_decimals)
        _set_coin(self.manifest, coin)
        self.manifest.sz_decimals = self.grid[0]
        self.manifest.source["sz_decimals"] = self.grid[1]
        self.writer = JournalWriter(
            self.out, self.manifest, flush_rows=self.flush_rows, flush_interval_s=math.inf
        )
        return self.writer

    def _other_coin(self, coin: str, file: str, line_no: int) -> None:
        self.skipped[f"rows of other coins ({coin})"] += 1
        self.other_rows[coin] += 1
        if self.asset_given or coin in self.reported_coins:
            return  # with --asset, other coins are simply not wanted
        self.reported_coins.add(coin)
        self.problems.add(
            Problem(
                file,
                line_no,
                f"coin {coin!r} differs from the journal's coin {self.coin!r} (a journal "
                f"holds one coin); its rows are skipped: pass --asset {coin} to import it",
            )
        )

    def nothing_imported(self) -> str:
        """Why no row was written (the error of an import that wrote nothing)."""
        if self.other_rows:
            present = ", ".join(f"{c} ({n} rows)" for c, n in sorted(self.other_rows.items()))
            near = _other_case(self.coin, self.other_rows) if self.coin else None
            hint = f"did you mean --asset {near}? " if near else ""
            return (
                f"--asset {self.coin}: the inputs hold no {self.coin} rows; coins present: "
                f"{present}; {hint}pass one of them to --asset; nothing was written"
            )
        shown = "; ".join(map(str, self.problems.kept[:3]))
        more = f" (first: {shown})" if shown else ""
        return (
            f"no market rows in the inputs: {self.messages} message(s) read, "
            f"{self.problems.count} problem(s){more}; nothing was written"
        )

    def repair_counts(self) -> dict[str, int]:
        return {
            **self.repair.counts,
            "duplicate_messages": self.duplicate_messages,
            "duplicate_trades": self.dedup.duplicates,
        }

    def stats(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "problems": self.problems.count,
            "first_problems": [str(p) for p in self.problems.kept[:MANIFEST_PROBLEMS]],
            "broken_files": [str(p) for p in self.problems.broken],
            "repairs": self.repair_counts(),
            "skipped": dict(self.skipped),
        }


class _FastRun(_Run):
    """:class:`_Run` for one capture file scanned by the compiled kernel (see
    :mod:`framework.recordings.fastimport`): the scanner is its repair state and seq
    counter, and the journal is written column-wise; lines the scanner declines go
    through :meth:`_Run.message` as in the reference path."""

    def __init__(self, *args: Any) -> None:
        from framework.kernel.hlscan import Scanner

        super().__init__(*args)
        self.scanner = Scanner(self.dedup.window, SEQ_STRIDE)
        # the scanner keeps the repair counts, the trade keys and seq for both paths
        self.repair = self.scanner  # type: ignore[assignment]  # same interface
        self.dedup = self.scanner  # type: ignore[assignment]

    def run(self, path: Path) -> None:
        from framework.recordings.fastimport import scan_file

        try:
            scan_file(self, path, STREAM_ERRORS)
        finally:
            self.messages += self.scanner.messages

    def _next_seq(self) -> int:
        return self.scanner.next_seq()

    def _open(self, coin: str) -> Any:
        from framework.recordings.fastimport import ColumnSink

        self.grid = _grid_of(coin, self.sz_decimals)
        _set_coin(self.manifest, coin)
        self.manifest.sz_decimals = self.grid[0]
        self.manifest.source["sz_decimals"] = self.grid[1]
        self.writer = ColumnSink(self.out, self.manifest, self.scanner, coin)
        self.scanner.set_coin(coin)
        return self.writer


def _fast_scanner_runs() -> bool:
    """The fast path runs where its scanner is compiled, or where ``MM_KERNEL=python``
    asks for the interpreted kernel on purpose: interpreted, the scanner is a little
    slower than the reference path, so an install without a compiled build keeps that."""
    import framework.kernel
    import framework.kernel.hlscan  # imported, so status() knows which path it took

    return framework.kernel._FORCE_PYTHON or framework.kernel.status()["hlscan"] == "compiled"


def _set_coin(manifest: Manifest, coin: str) -> None:
    dex, _, name = coin.rpartition(":")
    manifest.asset, manifest.dex, manifest.coin = name, dex, coin


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")


# -- command -------------------------------------------------------------------------------
def import_command(
    paths: list[Path],
    out: Path,
    *,
    asset: str | None = None,
    sz_decimals: int | None = None,
    strict: bool = False,
) -> int:
    """``market-maker import``: run the import, print the summary; the exit code.

    0 = imported (skipped lines are warnings on stderr); 1 = a file was truncated or
    corrupt (its rows before the break are imported), or any problem under ``--strict``
    (the journal is still written, so every problem is listed at once); 2 = nothing
    imported (nothing written).
    """
    try:
        result = import_recordings(paths, out, asset=asset, sz_decimals=sz_decimals)
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    for p in result.problems:
        if not p.broken:  # a broken file is an error, printed last
            print(f"warning: {p}", file=sys.stderr)
    hidden = result.n_problems - len(result.problems)
    if hidden:
        print(f"warning: ... and {hidden} more problem(s)", file=sys.stderr)
    known = known_sz_decimals(result.coin)
    if sz_decimals is not None and known is not None and known != sz_decimals:
        print(
            f"warning: --sz-decimals {sz_decimals} overrides the known {result.coin} value "
            f"{known}; the journal records {sz_decimals}",
            file=sys.stderr,
        )
    for p in result.broken:
        print(
            f"error: {p}; {result.out} holds the rows read before the break and its "
            "session.json lists the file under stats.broken_files",
            file=sys.stderr,
        )
    if result.broken:
        return 1
    if result.n_problems and strict:
        print(f"error: {result.n_problems} problem(s) and --strict was given", file=sys.stderr)
        return 1
    return 0


__all__ = [
    "ImportResult",
    "Problem",
    "detect_format",
    "expand_paths",
    "import_command",
    "import_recordings",
    "open_binary",
]
