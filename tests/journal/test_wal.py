"""The write-ahead log: durable before a send, recovered after a crash, never twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
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
