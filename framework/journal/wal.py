"""The write-ahead log: what a live session must have on disk before it sends an order.

A live or paper session flushes its tables to Parquet parts about once a second.  An
order command must be durable before it is sent, with every input that caused it, and
writing a Parquet part per table for that cost 4-14 ms of CPU per send (a tiny part
costs ~1 ms to encode, plus two fsyncs).  Instead the writer appends the rows since the
last sync to ``wal.log`` (framed msgpack records) with one ``fdatasync``.

Segments: the periodic flush writes its parts on a thread of its own (the session goes
on meanwhile), so the log cannot simply be emptied when it starts.  It *retires* the
current segment (``wal.log`` becomes ``wal.log.<n>``, a fresh ``wal.log`` takes the
next syncs) and deletes the retired segments once its parts are on disk: every record in
them was appended before the flush took its rows.  A record may sit in two segments (a
row taken by a flush and synced after it); recovery keeps one.

Recovery: after a crash the segments hold rows no part has.  :func:`recover` turns them
into parts (a table's rows with a seq above its last part's), deletes the retired
segments and empties ``wal.log``.  It runs when a journal is opened for reading or
appending, and never while a writer is alive: the writer holds an exclusive ``flock`` on
``wal.log`` for its lifetime (and swaps segments so that the name always points at a
file it holds locked).

Frame: ``<u32 length><u32 crc32><msgpack [kind, [row...]]>``.  A torn or corrupt frame
ends the log (it was being written when the process died; nothing after it was synced).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from framework.events.schema import Kind
from framework.journal.durable import fsync_dir

WAL_NAME = "wal.log"
_RETIRED = re.compile(r"^wal\.log\.(\d+)$")
_HEAD = struct.Struct("<II")


def retired_segments(root: Path) -> list[Path]:
    """The retired segments of ``root``'s log, oldest first."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            m = _RETIRED.match(entry.name)
            if m:
                found.append((int(m.group(1)), Path(entry.path)))
    return [p for _, p in sorted(found)]


def _open_locked(path: Path, flags: int = 0) -> int:
    """``path`` opened read-write and ``flock``ed exclusively; OSError if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def _enc_hook(obj: Any) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars in output rows
    if item is not None:
        return item()
    raise TypeError(f"a journal row holds a {type(obj).__name__}, which the log cannot hold")


_encode = msgspec.msgpack.Encoder(enc_hook=_enc_hook).encode
_decode = msgspec.msgpack.Decoder().decode


class WriteAheadLog:
    """The open log of a live journal writer (exclusive for the writer's lifetime).

    :meth:`append` and :meth:`rotate` belong to the writer's thread; :meth:`settle` and
    :func:`drop` may run on its flush thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / WAL_NAME
        self._fd = _open_locked(self.path)
        self.synced = 0  # records appended to the current segment
        old = retired_segments(self.root)  # none once recovered; never reuse a number
        self._next = int(old[-1].name.rsplit(".", 1)[1]) + 1 if old else 1
        self.retired: list[Path] = []  # retired, not yet deleted
        self._unsettled = False  # a rotation whose directory entries are not durable yet

    def append(self, records: list[tuple[Kind, tuple[Any, ...]]]) -> None:
        """Append ``(kind, row)`` records and make them durable (one fdatasync)."""
        frames = []
        for kind, row in records:
            payload = _encode((int(kind), row))
            frames.append(_HEAD.pack(len(payload), zlib.crc32(payload)))
            frames.append(payload)
        os.write(self._fd, b"".join(frames))
        os.fdatasync(self._fd)
        if self._unsettled:  # the segment's name must survive a power loss too
            self.settle()
        self.synced += len(records)

    def rotate(self) -> Path | None:
        """Retire the current segment and start an empty one; returns the retired path
        (None when the current segment is empty: nothing to retire).

        ``wal.log`` names a file this writer holds locked at every instant: the fresh
        segment is created and locked under a temp name first, then the current one is
        renamed away and the fresh one renamed over its name.
        """
        if not self.synced:
            return None
        tmp = self.root / f".{WAL_NAME}.tmp"
        fd = _open_locked(tmp, os.O_TRUNC)
        retired = self.root / f"{WAL_NAME}.{self._next}"
        self._next += 1
        os.rename(self.path, retired)
        os.rename(tmp, self.path)
        os.close(self._fd)
        self._fd = fd
        self.synced = 0
        self.retired.append(retired)
        self._unsettled = True
        return retired

    def settle(self) -> None:
        """Make the last rotation's renames durable (the flush thread does it first)."""
        if self._unsettled:
            self._unsettled = False
            fsync_dir(self.root)

    def reset(self) -> None:
        """Empty the log (every row in it is in a durable part now)."""
        if self.retired:
            drop(self.retired)
            self.retired = []
            self._unsettled = False
        if self.synced:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self.synced = 0

    def close(self) -> None:
        """Remove the log (its writer flushed every row to parts) and release it."""
        if self._fd < 0:
            return
        for path in [*self.retired, self.path]:
            with contextlib.suppress(OSError):
                path.unlink()
        self.retired = []
        os.close(self._fd)  # releases the lock
        self._fd = -1


def drop(segments: list[Path]) -> None:
    """Delete retired segments whose rows are all in durable parts."""
    if not segments:
        return
    for path in segments:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    fsync_dir(segments[0].parent)


def read_log(path: Path) -> Iterator[tuple[Kind, tuple[Any, ...]]]:
    """The log's records up to its first torn or corrupt frame."""
    data = path.read_bytes()
    at = 0
    while at + _HEAD.size <= len(data):
        n, crc = _HEAD.unpack_from(data, at)
        payload = data[at + _HEAD.size : at + _HEAD.size + n]
        if len(payload) < n or zlib.crc32(payload) != crc:
            return
        try:
            kind, row = _decode(payload)
            yield Kind(kind), tuple(row)
        except (msgspec.DecodeError, ValueError, TypeError):
            return
        at += _HEAD.size + n


def recover(root: Path) -> int:
    """Turn a dead writer's log into parts; returns the rows recovered (0 when there is
    no log, it is empty, or a writer holds it)."""
    from framework.events.schema import spec
    from framework.journal.manifest import read_manifest
    from framework.journal.parts import PartMeta, list_parts
    from framework.journal.writer import footer_rows, rows_to_table, write_part_atomic

    root = Path(root)
    path = root / WAL_NAME
    retired = retired_segments(root)
    try:
        if not retired and path.stat().st_size == 0:
            return 0
        # Created when a crash fell between a rotation's two renames: the lock is what
        # tells a dead writer's segments from a live one's.
        fd = _open_locked(path)
    except OSError:
        return 0  # no log, a read-only journal, or a live writer: not ours to touch
    try:
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            return 0  # a live writer swapped segments while we opened the old one
        by_kind: dict[Kind, dict[int, tuple[Any, ...]]] = {}
        for segment in [*retired, path]:
            for kind, row in read_log(segment):
                by_kind.setdefault(kind, {})[row[0]] = row  # a row synced twice: once
        # Every row up to the last synced one is on disk once these parts are: the
        # segments hold all rows appended since the last full flush, up to the last sync.
        high = max((seq for rows in by_kind.values() for seq in rows), default=-1)
        try:
            journal = str(read_manifest(root).created_ns)
        except Exception:  # the parts' rows matter more than the footer's id
            journal = ""
        n = 0
        for kind, rows in by_kind.items():
            table_dir = root / spec(kind).name
            parts = list_parts(table_dir)
            last = max((p.last for p in parts), default=-1)
            fresh = [rows[seq] for seq in sorted(rows) if seq > last]
            if fresh:
                before = sum(footer_rows(p.path) for p in parts)
                meta = PartMeta(journal, before, high)
                write_part_atomic(table_dir, rows_to_table(kind, fresh), meta)
                n += len(fresh)
        drop(retired)
        os.ftruncate(fd, 0)
        os.fsync(fd)
        return n
    finally:
        os.close(fd)
