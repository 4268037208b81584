"""The write-ahead log: durable before a send, recovered after a crash, never twice."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

from framework.events import Kind
from framework.journal import JournalReader, JournalWriter, Manifest
from framework.journal.wal import WAL_NAME, read_log, recover
from tests.stubs import trade_row

REPO = Path(__file__).resolve().parents[2]

# Appends trades 1..N and clock rows, syncs after `synced`, appends more, then waits to
# be killed (a crash after the last send: the synced rows must survive, the rest not).
_WRITER = textwrap.dedent(
    """
    import sys, time
    from framework.events import Kind
    from framework.journal import JournalWriter, Manifest
    root, flushed, synced, total = sys.argv[1], *map(int, sys.argv[2:5])
    w = JournalWriter(root, Manifest(mode="paper", asset="X"), flush_interval_s=1e9,
                      write_ahead=True)
    for s in range(1, total + 1):
        row = (s, s, s, "X", 1, 10.0 + s, 1.0, s, None)
        w.append(Kind.TRADES, row)
        w.append(Kind.CLOCK, (s * 10 + 1, s, s, "t")) if s % 2 else None
        if s == flushed:
            w.flush()  # every table to parts: the log empties
        if s == synced:
            w.sync()
    print("ready", flush=True)
    time.sleep(60)
    """
)


def _kill_when_ready(script: str, *args: object) -> None:
    """Run ``script`` with ``args`` and SIGKILL it once it prints ``ready``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def _crash(root: Path, flushed: int, synced: int, total: int) -> None:
    _kill_when_ready(_WRITER, root, flushed, synced, total)


def _seqs(root: Path, kind: Kind) -> list[int]:
    return JournalReader(root, warn=False).table(kind).column("seq").to_pylist()


def test_rows_synced_before_a_crash_are_recovered_once_and_later_rows_are_not(tmp_path):
    root = tmp_path / "j"
    _crash(root, flushed=20, synced=70, total=90)
    assert (root / WAL_NAME).stat().st_size > 0  # rows 21..70 only in the log
    trades = _seqs(root, Kind.TRADES)  # opening the journal recovers the log
    assert trades == list(range(1, 71))
    clock = _seqs(root, Kind.CLOCK)
    assert clock == [s * 10 + 1 for s in range(1, 71) if s % 2]
    assert (root / WAL_NAME).stat().st_size == 0
    assert _seqs(root, Kind.TRADES) == trades  # recovered once, not again


def test_a_torn_last_frame_ends_the_log(tmp_path):
    root = tmp_path / "j"
    _crash(root, flushed=0, synced=30, total=30)
    log = root / WAL_NAME
    data = log.read_bytes()
    log.write_bytes(data[:-7])  # the process died inside the last write
    rows = list(read_log(log))
    # every whole frame (30 trades, 15 clock rows), not the torn last one (trade 30)
    assert len(rows) == 44 and rows[-1] == (Kind.CLOCK, (291, 29, 29, "t"))
    assert recover(root) == 44
    assert _seqs(root, Kind.TRADES) == list(range(1, 30))


def test_a_live_writers_log_is_not_recovered_by_a_reader(tmp_path):
    root = tmp_path / "j"
    w = JournalWriter(root, Manifest(mode="paper", asset="X"), write_ahead=True)
    for s in range(1, 6):
        w.append(Kind.TRADES, trade_row(s, s, 10.0))
    w.sync()
    assert recover(root) == 0  # the writer holds the log
    assert JournalReader(root, warn=False).table(Kind.TRADES).num_rows == 0
    w.append(Kind.TRADES, trade_row(6, 6, 10.0))
    w.close()
    assert not (root / WAL_NAME).exists()
    assert _seqs(root, Kind.TRADES) == [1, 2, 3, 4, 5, 6]


def test_a_table_flushed_alone_is_not_recovered_twice(tmp_path):
    # flush_rows makes trades a part by itself while the log still holds its rows
    script = _WRITER.replace("flush_interval_s=1e9,", "flush_interval_s=1e9, flush_rows=25,")
    root = tmp_path / "j"
    _kill_when_ready(script, root, 0, 40, 40)
    assert _seqs(root, Kind.TRADES) == list(range(1, 41))
    assert _seqs(root, Kind.CLOCK) == [s * 10 + 1 for s in range(1, 41) if s % 2]


def test_without_write_ahead_sync_flushes_parts(tmp_path):
    root = tmp_path / "j"
    w = JournalWriter(root, Manifest(mode="paper", asset="X"))
    w.append(Kind.TRADES, trade_row(1, 1, 10.0))
    w.sync()
    assert not (root / WAL_NAME).exists()
    assert _seqs(root, Kind.TRADES) == [1]
    w.close()


def test_replay_verify_after_sigkill_verifies_everything_the_log_made_durable(tmp_path):
    # A toy quoting session that syncs after every step, as paper and live do before a
    # send, killed: every input and output reached the log, so the whole session
    # verifies (without the log, rows since the last part flush were lost).
    import re

    from tests.journal.test_completeness import _SESSION, lines
    from tests.stubs import run_cli

    script = _SESSION.replace(
        "w = JournalWriter(root, man, flush_rows=7, flush_interval_s=3600)",
        "w = JournalWriter(root, man, flush_rows=7, flush_interval_s=3600, write_ahead=True)",
    ).replace(
        "engine.step(kind, seq, row[2], Columns.from_rows(kind, [row]), 0)",
        "engine.step(kind, seq, row[2], Columns.from_rows(kind, [row]), 0); w.sync()",
    )
    assert script.count("write_ahead=True") == 1 and script.count("w.sync()") == 1
    root = tmp_path / "j"
    _kill_when_ready(script, root, 40, "kill")
    assert (root / WAL_NAME).stat().st_size > 0
    done = run_cli("replay", str(root), "--verify")
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(lines(done.stdout))
    m = re.search(r"verified (\d+) inputs up to seq (\d+)", text)
    assert m, text
    assert int(m[1]) == 80  # all 40 books and 40 trades
    assert (root / WAL_NAME).stat().st_size == 0  # the log became parts


# -- the flush thread: parts written behind the session, the log in segments ----------


def _writer(root: Path, **kw) -> JournalWriter:
    return JournalWriter(root, Manifest(mode="paper", asset="X"), write_ahead=True, **kw)


@contextlib.contextmanager
def _parts_held(monkeypatch) -> Iterator[list[str]]:
    """Parts wait until the block ends (a flush stays in flight); yields the names of the
    threads that wrote them."""
    import framework.journal.writer as writer_mod

    real = writer_mod.write_part_atomic
    gate = threading.Event()
    threads: list[str] = []

    def held(*args, **kw):
        threads.append(threading.current_thread().name)
        gate.wait(10)
        return real(*args, **kw)

    monkeypatch.setattr(writer_mod, "write_part_atomic", held)
    try:
        yield threads
    finally:
        gate.set()


def test_a_periodic_flush_writes_parts_on_the_flush_thread_and_retires_the_log(
    tmp_path, monkeypatch
):
    root = tmp_path / "j"
    w = _writer(root, flush_interval_s=0.0)
    for s in range(1, 11):
        w.append(Kind.TRADES, trade_row(s, s, 10.0))
    w.sync()
    with _parts_held(monkeypatch) as threads:
        w.maybe_flush()  # takes rows 1..10 and returns while the part is being written
        assert (root / f"{WAL_NAME}.1").exists()  # the synced rows' segment, retired
        assert (root / WAL_NAME).stat().st_size == 0
        for s in range(11, 16):
            w.append(Kind.TRADES, trade_row(s, s, 10.0))
        w.sync()  # into the fresh segment, while the flush is in flight
        assert [r[1][0] for r in read_log(root / WAL_NAME)] == [11, 12, 13, 14, 15]
        assert _seqs(root, Kind.TRADES) == []  # the part is not down yet (the log is held)
    w._reap(wait=True)
    assert threads == ["journal-flush_0"]
    assert not (root / f"{WAL_NAME}.1").exists()  # its rows are in a part: deleted
    assert w.parts_written == 1
    w.close()
    assert _seqs(root, Kind.TRADES) == list(range(1, 16))
    assert not list(root.glob("wal.log*"))


def test_rows_taken_by_a_flush_and_synced_while_it_runs_are_logged(tmp_path, monkeypatch):
    root = tmp_path / "j"
    w = _writer(root, flush_interval_s=0.0)
    with _parts_held(monkeypatch):
        for s in range(1, 6):
            w.append(Kind.TRADES, trade_row(s, s, 10.0))  # never synced before the flush
        w.maybe_flush()
        w.sync()  # an order is sent now: rows 1..5 are not in a part yet, so they go to the log
        assert [r[1][0] for r in read_log(root / WAL_NAME)] == [1, 2, 3, 4, 5]
    w.close()
    assert _seqs(root, Kind.TRADES) == [1, 2, 3, 4, 5]


# Syncs rows 1..a, starts a flush whose part never gets written (the flush thread hangs),
# appends and syncs rows up to b, appends up to c unsynced, then waits to be killed.
_HANGING_FLUSH = textwrap.dedent(
    """
    import sys, threading, time
    import framework.journal.writer as writer_mod
    from framework.events import Kind
    from framework.journal import JournalWriter, Manifest
    root, a, b, c = sys.argv[1], *map(int, sys.argv[2:5])
    w = JournalWriter(root, Manifest(mode="paper", asset="X"), flush_interval_s=1e9,
                      write_ahead=True)
    real = writer_mod.write_part_atomic
    def hang(directory, table, meta=None):
        if directory.name == "clock":
            threading.Event().wait()  # trades' part is down, clock's never
        return real(directory, table, meta)
    writer_mod.write_part_atomic = hang
    for s in range(1, c + 1):
        w.append(Kind.TRADES, (s, s, s, "X", 1, 10.0 + s, 1.0, s, None))
        w.append(Kind.CLOCK, (s * 1000, s, s, "t"))
        if s == a:
            w.sync()
            w.flush_interval_s = 0.0
            w.maybe_flush()
            w.flush_interval_s = 1e9
        if s == b:
            w.sync()
    print("ready", flush=True)
    time.sleep(60)
    """
)


def test_a_crash_with_a_flush_in_flight_recovers_every_synced_row_once(tmp_path):
    root = tmp_path / "j"
    _kill_when_ready(_HANGING_FLUSH, root, 30, 50, 60)
    assert (root / f"{WAL_NAME}.1").exists()  # rows 1..30, retired, not deleted
    assert _seqs(root, Kind.TRADES) == list(range(1, 51))  # 1..30 from the part + log
    assert _seqs(root, Kind.CLOCK) == [s * 1000 for s in range(1, 51)]
    assert not (root / f"{WAL_NAME}.1").exists()
    assert (root / WAL_NAME).stat().st_size == 0
    assert _seqs(root, Kind.TRADES) == list(range(1, 51))  # recovered once


def test_a_crash_between_a_rotations_renames_is_recovered(tmp_path):
    root = tmp_path / "j"
    _crash(root, flushed=0, synced=10, total=10)
    (root / WAL_NAME).rename(root / f"{WAL_NAME}.1")  # retired, the fresh one not named yet
    assert _seqs(root, Kind.TRADES) == list(range(1, 11))
    assert not (root / f"{WAL_NAME}.1").exists()


def test_a_live_writers_retired_segments_are_not_recovered_by_a_reader(tmp_path, monkeypatch):
    root = tmp_path / "j"
    w = _writer(root, flush_interval_s=0.0)
    with _parts_held(monkeypatch):
        for s in range(1, 4):
            w.append(Kind.TRADES, trade_row(s, s, 10.0))
        w.sync()
        w.maybe_flush()
        assert recover(root) == 0
        assert (root / f"{WAL_NAME}.1").exists()
    w.close()
    assert _seqs(root, Kind.TRADES) == [1, 2, 3]


def test_a_failed_flush_keeps_its_rows_and_says_so(tmp_path):
    import pytest

    import framework.journal.writer as writer_mod
    from framework.journal.errors import JournalError

    root = tmp_path / "j"
    w = _writer(root, flush_interval_s=0.0)
    real = writer_mod.write_part_atomic

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    for s in range(1, 4):
        w.append(Kind.TRADES, trade_row(s, s, 10.0))
        w.append(Kind.CLOCK, (s * 10, s, s, "t"))
    w.sync()
    writer_mod.write_part_atomic = full_disk
    try:
        w.maybe_flush()
        w.append(Kind.TRADES, trade_row(4, 4, 10.0))
        with pytest.raises(JournalError, match=r"No space left on device.*rows are kept"):
            w._reap(wait=True)
    finally:
        writer_mod.write_part_atomic = real
    assert (root / f"{WAL_NAME}.1").exists()  # the synced rows' segment is kept
    w.append(Kind.TRADES, trade_row(5, 5, 10.0))
    w.maybe_flush()  # the rows handed back go down with the new ones
    w._reap(wait=True)
    assert not (root / f"{WAL_NAME}.1").exists()
    w.close()
    assert _seqs(root, Kind.TRADES) == [1, 2, 3, 4, 5]
    assert _seqs(root, Kind.CLOCK) == [10, 20, 30]
    assert len(list((root / "trades").glob("part-*.parquet"))) == 1  # compacted at close


def test_every_command_notes_the_rows_it_recovered(tmp_path):
    # Only `readiness` said so; sql, report and replay recovered silently.
    from tests.stubs import run_cli

    root = tmp_path / "j"
    _crash(root, flushed=20, synced=70, total=90)
    out = run_cli("sql", str(root), "SELECT count(*) AS n FROM trades", "--format", "csv")
    assert out.returncode == 0 and out.stdout.splitlines() == ["n", "70"]
    assert (
        f"note: {root}: recovered 75 rows from the write-ahead log" in out.stderr
    )  # 50 trades, 25 clock
