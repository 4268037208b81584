"""The write-ahead log: what a live session must have on disk before it sends an order.

A live or paper session flushes its tables to Parquet parts about once a second.  An
order command must be durable before it is sent, with every input that caused it, and
writing a Parquet part per table for that cost 4-14 ms of CPU per send (a tiny part
costs ~1 ms to encode, plus two fsyncs).  Instead the writer appends the rows since the
last sync to ``wal.log`` (framed msgpack records) with one ``fdatasync``, and empties
the log whenever every table's buffer has become a part.

Recovery: after a crash the log holds rows no part has.  :func:`recover` turns them into
parts (a table's rows with a seq above its last part's) and empties the log.  It runs
when a journal is opened for reading or appending, and never while a writer is alive:
the writer holds an exclusive ``flock`` on the log for its lifetime.

Frame: ``<u32 length><u32 crc32><msgpack [kind, [row...]]>``.  A torn or corrupt frame
ends the log (it was being written when the process died; nothing after it was synced).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from framework.events.schema import Kind

WAL_NAME = "wal.log"
_HEAD = struct.Struct("<II")


def _enc_hook(obj: Any) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars in output rows
    if item is not None:
        return item()
    raise TypeError(f"a journal row holds a {type(obj).__name__}, which the log cannot hold")


_encode = msgspec.msgpack.Encoder(enc_hook=_enc_hook).encode
_decode = msgspec.msgpack.Decoder().decode


class WriteAheadLog:
    """The open log of a live journal writer (exclusive for the writer's lifetime)."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / WAL_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise
        self.synced = 0  # records appended since the last reset

    def append(self, records: list[tuple[Kind, tuple[Any, ...]]]) -> None:
        """Append ``(kind, row)`` records and make them durable (one fdatasync)."""
        frames = []
        for kind, row in records:
            payload = _encode((int(kind), row))
            frames.append(_HEAD.pack(len(payload), zlib.crc32(payload)))
            frames.append(payload)
        os.write(self._fd, b"".join(frames))
        os.fdatasync(self._fd)
        self.synced += len(records)

    def reset(self) -> None:
        """Empty the log (every row in it is in a durable part now)."""
        if self.synced:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self.synced = 0

    def close(self) -> None:
        """Remove the log (its writer flushed every row to parts) and release it."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)  # releases the lock
        self._fd = -1


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

    path = Path(root) / WAL_NAME
    try:
        if path.stat().st_size == 0:
            return 0
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0  # a live writer: its log is not ours to touch
        by_kind: dict[Kind, list[tuple[Any, ...]]] = {}
        for kind, row in read_log(path):
            by_kind.setdefault(kind, []).append(row)
        # Every row up to the last synced one is on disk once these parts are: the log
        # holds all rows appended since the last full flush, up to its last sync.
        high = max((r[0] for rows in by_kind.values() for r in rows), default=-1)
        try:
            journal = str(read_manifest(Path(root)).created_ns)
        except Exception:  # the parts' rows matter more than the footer's id
            journal = ""
        n = 0
        for kind, rows in by_kind.items():
            table_dir = Path(root) / spec(kind).name
            parts = list_parts(table_dir)
            last = max((p.last for p in parts), default=-1)
            fresh = sorted((r for r in rows if r[0] > last), key=lambda r: r[0])
            if fresh:
                before = sum(footer_rows(p.path) for p in parts)
                meta = PartMeta(journal, before, high)
                write_part_atomic(table_dir, rows_to_table(kind, fresh), meta)
                n += len(fresh)
        os.ftruncate(fd, 0)
        os.fsync(fd)
        return n
    finally:
        os.close(fd)
