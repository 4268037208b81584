"""Import recordings (raw WS captures, official archive files) into a journal.

``import_recordings(paths, out)`` streams every line of every file, merges the files
by receive time (each file is in receive order; ties keep the files' order), parses
each message with :func:`~framework.recordings.messages.parse_ws_message`, applies
the time repairs of :mod:`framework.recordings.repair`, and appends the rows with seq
assigned in receive order: the n-th row (from 1) gets ``n * SEQ_STRIDE``, so a
backtest can keep the input tables as they are.  Memory stays bounded: files are read line by
line and the writer flushes a part every ``flush_rows`` rows per table.

A bad line (cut short, invalid JSON, no receive-time prefix, an unknown channel, a
malformed message) becomes a :class:`Problem` ``FILE:LINE: what is wrong``; the line
is skipped and the rest imports.  Whether problems fail the run is the caller's call
(``market-maker import --strict`` exits 1).
"""

from __future__ import annotations

import gzip
import heapq
import math
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import attrs
import lz4.frame

from framework.events.schema import SEQ_STRIDE, Kind
from framework.journal.manifest import MANIFEST_NAME, Manifest
from framework.journal.writer import JournalWriter
from framework.recordings import archive, capture
from framework.recordings.errors import FileFormatError, LineError, MessageError, RecordingError
from framework.recordings.messages import parse_ws_message
from framework.recordings.repair import STALE_NS, TimeRepair, TradeDedup

GZIP_MAGIC = b"\x1f\x8b"
LZ4_MAGIC = b"\x04\x22\x4d\x18"
DETECT_LINES = 5  # lines looked at to recognise a format (the first is enough if sound)
MAX_KEPT_PROBLEMS = 1000

_PARSE_LINE = {
    capture.FORMAT: capture.parse_capture_line,
    archive.FORMAT: archive.parse_archive_line,
}


@attrs.frozen
class Problem:
    """One skipped line (or file): where, and what is wrong."""

    file: str
    line: int | None
    message: str

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
    messages: int
    rows: dict[str, int]
    problems: list[Problem]
    n_problems: int
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
                f"  coin {self.coin or '-'}, recv {_iso(self.first_recv_ts)} .. "
                f"{_iso(self.last_recv_ts)} ({span:.1f} s)"
            )
        rows = ", ".join(f"{k} {v}" for k, v in self.rows.items() if v) or "none"
        lines.append(f"  rows: {rows}")
        fixed = [
            f"{k} {v} (worst {self.worst_repair_ns[k] / 1e6:.3f} ms)"
            for k, v in self.repairs.items()
            if v and k in self.worst_repair_ns
        ]
        if self.repairs.get("duplicate_trades"):
            fixed.append(f"duplicate_trades {self.repairs['duplicate_trades']} dropped")
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
    FileFormatError
        The file is empty, unreadable, or matches neither format (message says why).
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
    except (OSError, EOFError, RuntimeError) as exc:
        raise FileFormatError(f"{path}: unreadable ({exc})") from None
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
    """``(recv_ts, order, line_no, message)`` for every good line of one file."""
    parse = _PARSE_LINE[fmt]
    line_no = 0
    try:
        with open_binary(path) as fh:
            for raw in fh:
                line_no += 1
                line = raw.rstrip(b"\r\n")
                if not line.strip():
                    continue
                try:
                    recv_ts, msg = parse(line, last=not raw.endswith(b"\n"))
                except LineError as exc:
                    problems.add(Problem(str(path), line_no, str(exc)))
                    continue
                yield recv_ts, order, line_no, msg
    except (OSError, EOFError, RuntimeError) as exc:
        problems.add(
            Problem(
                str(path),
                line_no + 1,
                f"compressed stream breaks here ({exc}); the file is truncated or corrupt, "
                f"lines 1-{line_no} were read",
            )
        )


class _Problems:
    """Problems in arrival order; keeps the first :data:`MAX_KEPT_PROBLEMS`, counts all."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.count = 0

    def add(self, p: Problem) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(p)


# -- import --------------------------------------------------------------------------------
def import_recordings(
    paths: Iterable[Path | str],
    out: Path | str,
    *,
    asset: str | None = None,
    flush_rows: int = 8192,
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
    flush_rows : int, default 8192
        Rows buffered per table before a part is written (bounds memory).

    Returns
    -------
    ImportResult

    Raises
    ------
    RecordingError
        ``out`` holds a journal, a path is missing, or no file is readable.
    """
    out = Path(out)
    if (out / MANIFEST_NAME).exists():
        raise RecordingError(
            f"{out} already holds a journal; choose a new --out directory or remove it"
        )
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
            problems.add(Problem(str(f), None, str(exc).removeprefix(f"{f}: ")))
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
    if asset:
        _set_coin(manifest, asset)
    writer = JournalWriter(out, manifest, flush_rows=flush_rows, flush_interval_s=math.inf)
    state = _Run(writer, problems, asset, skipped)
    try:
        streams = [read_lines(f, fmt, i, problems) for i, (f, fmt) in enumerate(sources)]
        for recv_ts, order, line_no, msg in heapq.merge(*streams, key=itemgetter(0)):
            state.message(recv_ts, str(sources[order][0]), line_no, msg)
    finally:
        if state.coin and not manifest.coin:
            _set_coin(manifest, state.coin)
        writer.close(stats=state.stats())
    return ImportResult(
        out=out,
        files=list(formats),
        formats=formats,
        coin=manifest.coin,
        messages=state.messages,
        rows={t: n for t, n in writer.rows_written.items() if n},
        problems=problems.kept,
        n_problems=problems.count,
        repairs=state.repair_counts(),
        worst_repair_ns=dict(state.repair.worst_ns),
        skipped=dict(skipped),
        first_recv_ts=state.first_recv,
        last_recv_ts=state.repair.last_recv if state.first_recv is not None else None,
    )


class _Run:
    """The per-message work of one import: parse, repair, filter, assign seq, append."""

    def __init__(
        self,
        writer: JournalWriter,
        problems: _Problems,
        asset: str | None,
        skipped: Counter[str],
    ) -> None:
        self.writer = writer
        self.problems = problems
        self.coin = asset
        self.asset_given = asset is not None
        self.skipped = skipped
        self.repair = TimeRepair()
        self.dedup = TradeDedup()
        self.reported_coins: set[str] = set()
        self.seq = 0
        self.messages = 0
        self.first_recv: int | None = None

    def message(self, recv_ts: int, file: str, line_no: int, msg: Any) -> None:
        recv_ts = self.repair.recv(recv_ts)
        if self.first_recv is None:
            self.first_recv = recv_ts
        self.messages += 1
        try:
            rows = parse_ws_message(msg, recv_ts)
        except MessageError as exc:
            self.problems.add(Problem(file, line_no, str(exc)))
            return
        if not rows:
            self.skipped[f"channel {msg.get('channel')}"] += 1
        for kind, row in rows:
            coin = row[2]
            if self.coin is None:
                self.coin = coin
            if coin != self.coin:
                self._other_coin(coin, file, line_no)
                continue
            if kind == Kind.TRADES and self.dedup.is_duplicate(coin, row[6], row[0]):
                continue
            self.seq += SEQ_STRIDE
            ts = self.repair.ts(row[0], recv_ts)
            self.writer.append(kind, (self.seq, ts, *row[1:]))

    def _other_coin(self, coin: str, file: str, line_no: int) -> None:
        self.skipped[f"rows of other coins ({coin})"] += 1
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

    def repair_counts(self) -> dict[str, int]:
        return {**self.repair.counts, "duplicate_trades": self.dedup.duplicates}

    def stats(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "problems": self.problems.count,
            "repairs": self.repair_counts(),
            "skipped": dict(self.skipped),
        }


def _set_coin(manifest: Manifest, coin: str) -> None:
    dex, _, name = coin.rpartition(":")
    manifest.asset, manifest.dex, manifest.coin = name, dex, coin


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")


# -- command -------------------------------------------------------------------------------
def import_command(
    paths: list[Path], out: Path, *, asset: str | None = None, strict: bool = False
) -> int:
    """``market-maker import``: run the import, print the summary; the exit code.

    0 = imported (warnings on stderr), 1 = problems under ``--strict`` (the journal is
    still written, so every problem is listed at once), 2 = nothing imported.
    """
    try:
        result = import_recordings(paths, out, asset=asset)
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    for p in result.problems:
        print(f"warning: {p}", file=sys.stderr)
    hidden = result.n_problems - len(result.problems)
    if hidden:
        print(f"warning: ... and {hidden} more problem(s)", file=sys.stderr)
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
