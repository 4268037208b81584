"""Crash safety, corrupt parts, compaction and bounded reads of the journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from framework.events import Kind
from framework.journal import (
    CorruptPartError,
    JournalReader,
    JournalWriter,
    Manifest,
    ManifestError,
    compact_journal,
    list_parts,
    read_manifest,
)
from tests.stubs import trade_row

REPO = Path(__file__).resolve().parents[2]

_WRITER = textwrap.dedent(
    """
    import sys, time
    from framework.events import Kind
    from framework.journal import JournalWriter, Manifest
    root, interval = sys.argv[1], float(sys.argv[2])
    w = JournalWriter(root, Manifest(mode="test", asset="X"), flush_interval_s=interval,
                      flush_rows=10**9)
    seq = 0
    t0 = time.monotonic()
    while True:
        seq += 1
        w.append(Kind.TRADES, (seq, seq, seq, "X", 1, 10.0, 1.0, seq, None))
        w.maybe_flush()
        if seq % 20 == 0:
            print(f"appended {seq} {time.monotonic() - t0:.4f}", flush=True)
        time.sleep(0.0005)
    """
)


def test_sigkill_mid_session_loses_at_most_one_flush_interval(tmp_path: Path) -> None:
    root = tmp_path / "j"
    interval = 0.25
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), str(interval)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    progress: list[tuple[int, float]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not progress or progress[-1][1] < 1.3):
        line = proc.stdout.readline()
        if line.startswith("appended"):
            _, n, t = line.split()
            progress.append((int(n), float(t)))
    os.kill(proc.pid, signal.SIGKILL)
    for line in proc.stdout.read().splitlines():  # whatever it printed before dying
        if line.startswith("appended"):
            _, n, t = line.split()
            progress.append((int(n), float(t)))
    proc.wait()
    reader = JournalReader(root, strict=True)
    seqs = reader.table(Kind.TRADES).column("seq").to_pylist()
    # Whole parts only: every persisted row is there, in order, nothing torn.
    assert seqs == list(range(1, len(seqs) + 1))
    assert not reader.problems
    # Everything appended more than one flush interval (plus scheduling slack)
    # before the last sign of life was persisted.
    last_t = progress[-1][1]
    must_have = max(n for n, t in progress if t <= last_t - interval - 0.05)
    assert len(seqs) >= must_have
    assert len(seqs) <= progress[-1][0] + 20


def test_temp_files_from_a_crash_mid_write_are_ignored(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, Manifest(mode="test", asset="X")) as w:
        w.append(Kind.TRADES, trade_row(1, 1, 10.0))
    (
        tmp_path / "trades" / ".part-00000000000000000002-00000000000000000009.parquet.tmp"
    ).write_bytes(b"PAR1 torn")
    assert JournalReader(tmp_path, strict=True).table("trades").num_rows == 1


def _three_part_journal(root: Path) -> list[Path]:
    w = JournalWriter(root, Manifest(mode="test", asset="X"))
    for part in range(3):
        for j in range(10):
            s = part * 10 + j + 1
            w.append(Kind.TRADES, trade_row(s, s, 10.0 + s))
        w.flush()
    w.close(compact=False)
    return [p.path for p in list_parts(root / "trades")]


def test_corrupt_part_is_named_and_the_rest_still_reads(tmp_path: Path, capsys) -> None:
    parts = _three_part_journal(tmp_path)
    assert len(parts) == 3
    data = bytearray(parts[1].read_bytes())
    data[len(data) // 2 : len(data) // 2 + 40] = b"\x00" * 40
    data[-8:-4] = b"\xff\xff\xff\x7f"  # footer length nonsense
    parts[1].write_bytes(bytes(data))
    reader = JournalReader(tmp_path)
    seqs = reader.table("trades").column("seq").to_pylist()
    assert seqs == list(range(1, 11)) + list(range(21, 31))
    assert len(reader.problems) == 1 and parts[1].name in reader.problems[0]
    assert parts[1].name in capsys.readouterr().err
    with pytest.raises(CorruptPartError, match=parts[1].name):
        JournalReader(tmp_path, strict=True).table("trades")


def test_compaction_merges_parts_and_survives_a_crash_before_cleanup(tmp_path: Path) -> None:
    parts = _three_part_journal(tmp_path)
    saved = {p: p.read_bytes() for p in parts}
    compact_journal(tmp_path)
    after = list_parts(tmp_path / "trades")
    assert len(after) == 1 and (after[0].first, after[0].last) == (1, 30)
    # A crash between writing the compacted part and deleting the old ones:
    for p, data in saved.items():
        p.write_bytes(data)
    reader = JournalReader(tmp_path, strict=True)
    assert reader.table("trades").column("seq").to_pylist() == list(range(1, 31))


def test_merged_reads_a_seq_window_in_bounded_batches(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, Manifest(mode="test", asset="X"), flush_rows=50) as w:
        for s in range(1, 1001):
            kind = Kind.TRADES if s % 3 else Kind.CLOCK
            row = trade_row(s, s, 10.0) if kind == Kind.TRADES else (s, s, s, "t")
            w.append(kind, row)
    reader = JournalReader(tmp_path, strict=True)
    chunks = list(
        reader.merged([Kind.TRADES, Kind.CLOCK], start_seq=101, stop_seq=900, batch_rows=64)
    )
    seqs = [s for ch in chunks for s in ch.seqs]
    assert seqs == list(range(101, 901))
    assert max(len(ch) for ch in chunks) <= 2 * 64
    kinds = [k for ch in chunks for k in ch.kinds]
    assert kinds == [Kind.TRADES if s % 3 else Kind.CLOCK for s in range(101, 901)]


def test_reading_a_big_part_holds_one_row_group_not_the_file(tmp_path: Path) -> None:
    # A compacted part of many row groups (a week's book is one part): reading it must
    # stream.  iter_batches over the whole file pre-buffered every row group's pages
    # first (the 7-day backtest's reader held ~190 MB of Arrow memory).
    import numpy as np
    import pyarrow as pa

    from framework.journal.writer import ROW_GROUP_ROWS

    n = 8 * ROW_GROUP_ROWS
    rng = np.random.default_rng(1)
    px = rng.random((4, n))  # incompressible: the part is ~8 MB on disk
    seq = np.arange(1, n + 1, dtype=np.int64)
    table = pa.table(
        {
            "seq": seq,
            "ts": seq,
            "recv_ts": seq,
            "coin": pa.array(["X"] * n),
            "bid_px": px[0],
            "bid_sz": px[1],
            "ask_px": px[2],
            "ask_sz": px[3],
        }
    )
    with JournalWriter(tmp_path, Manifest(mode="test", asset="X")) as w:
        w.append_batch(Kind.BBO, table)
    assert pq.ParquetFile(list_parts(tmp_path / "bbo")[0].path).num_row_groups == 8
    reader = JournalReader(tmp_path, strict=True)
    base = pa.total_allocated_bytes()
    peak, rows = 0, 0
    for batch in reader.iter_batches(Kind.BBO):
        rows += batch.num_rows
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert rows == n
    # one row group's pages (~1 MB) and a decoded batch, not all eight
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MB of Arrow memory while reading"


def test_manifest_never_holds_secrets(tmp_path: Path) -> None:
    key = "0x" + "ab" * 32
    man = Manifest(
        mode="paper",
        asset="HYPE",
        config={"private_key": key, "nested": {"api_secret": "s", "wallet": key}, "gamma": 0.1},
        components=[{"path": "framework.x:Y", "config": {"private_key": key, "gamma": 0.1}}],
    )
    JournalWriter(tmp_path, man).close()
    text = (tmp_path / "session.json").read_text()
    assert key not in text and "api_secret" not in text
    assert json.loads(text)["config"] == {"nested": {"wallet": "<redacted>"}, "gamma": 0.1}
    assert json.loads(text)["components"] == [{"path": "framework.x:Y", "config": {"gamma": 0.1}}]
    assert read_manifest(tmp_path).asset == "HYPE"


def test_missing_or_broken_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no session manifest"):
        read_manifest(tmp_path)
    (tmp_path / "session.json").write_text("{not json")
    with pytest.raises(ManifestError, match=r"session\.json: unreadable manifest"):
        read_manifest(tmp_path)


def test_written_parts_are_plain_parquet(tmp_path: Path) -> None:
    _three_part_journal(tmp_path)
    t = pq.read_table(tmp_path / "trades")
    assert t.num_rows == 30


def _trades_and_clocks(root: Path, n: int = 1000) -> JournalReader:
    with JournalWriter(root, Manifest(mode="test", asset="X"), flush_rows=50) as w:
        for s in range(1, n + 1):
            kind = Kind.TRADES if s % 3 else Kind.CLOCK
            w.append(kind, trade_row(s, s, 10.0) if kind == Kind.TRADES else (s, s, s, "t"))
    return JournalReader(root, strict=True)


def test_prefetched_chunks_are_the_chunks_read_in_line(tmp_path: Path) -> None:
    reader = _trades_and_clocks(tmp_path)
    kinds = [Kind.TRADES, Kind.CLOCK]

    def flat(prefetch: int) -> list[tuple[int, int, int, int, float]]:
        out = []
        for ch in reader.merged(kinds, batch_rows=64, prefetch=prefetch):
            for k, r, s, t in zip(ch.kinds, ch.rows, ch.seqs, ch.recv_ts, strict=True):
                px = ch.columns[k].px[r] if k == Kind.TRADES else 0.0
                out.append((k, r, s, t, px))
        return out

    assert flat(3) == flat(0) and len(flat(1)) == 1000


def _prefetch_threads() -> set[object]:
    """The journal's prefetch threads alive now (other tests in this worker may have
    left a generator for the garbage collector: each test looks at its own)."""
    import threading

    return {t for t in threading.enumerate() if t.name.startswith("journal-prefetch")}


def test_prefetch_raises_a_bad_part_after_the_chunks_before_it(tmp_path: Path) -> None:
    before = _prefetch_threads()
    _trades_and_clocks(tmp_path, 3000)
    # The footer stays readable (the part is listed); its data pages are zeroed, so it
    # fails only when the prefetch thread decodes it.
    victim = list_parts(tmp_path / "trades")[0].path
    data = victim.read_bytes()
    tail = int.from_bytes(data[-8:-4], "little") + 8
    victim.write_bytes(b"PAR1" + b"\0" * (len(data) - tail - 4) + data[-tail:])
    reader = JournalReader(tmp_path, strict=True)
    seen: list[int] = []
    with pytest.raises(CorruptPartError, match=victim.name):
        for ch in reader.merged([Kind.TRADES, Kind.CLOCK], batch_rows=64, prefetch=2):
            seen.extend(ch.seqs)
    assert seen == sorted(seen)  # whatever came before it, in order
    assert not _prefetch_threads() - before


def _zero_pages(part: Path) -> None:
    """Zero a part's data pages, footer kept: it is listed and fails only when decoded."""
    data = part.read_bytes()
    tail = int.from_bytes(data[-8:-4], "little") + 8
    part.write_bytes(b"PAR1" + b"\0" * (len(data) - tail - 4) + data[-tail:])


def test_problems_are_reported_in_stream_order_whatever_the_threads_decode_ahead(
    tmp_path: Path, capsys
) -> None:
    # Each table decodes on its own thread, ahead of the merge: a bad part is still
    # reported where the merged stream meets it, so the warnings, the problem list and
    # the rows are those of a reader that decodes in line.
    w = JournalWriter(tmp_path, Manifest(mode="test", asset="X"), flush_rows=40)
    for s in range(1, 601):
        kind = Kind.TRADES if s % 3 else Kind.CLOCK
        w.append(kind, trade_row(s, s, 10.0) if kind == Kind.TRADES else (s, s, s, "t"))
    w.close(compact=False)
    _zero_pages(list_parts(tmp_path / "clock")[1].path)
    _zero_pages(list_parts(tmp_path / "trades")[3].path)

    def read(prefetch: int) -> tuple[list[int], list[str], str]:
        reader = JournalReader(tmp_path)
        seqs = [
            s for ch in reader.merged([Kind.TRADES, Kind.CLOCK], prefetch=prefetch) for s in ch.seqs
        ]
        return seqs, reader.problems, capsys.readouterr().err

    inline = read(0)
    assert len(inline[1]) == 2 and inline[1][0].startswith(str(tmp_path / "clock"))
    for _ in range(5):
        assert read(2) == inline


def test_a_consumer_that_stops_early_stops_the_prefetch_thread(tmp_path: Path) -> None:
    before = _prefetch_threads()
    reader = _trades_and_clocks(tmp_path, 3000)
    it = reader.merged([Kind.TRADES, Kind.CLOCK], batch_rows=16, prefetch=2)
    next(it)
    assert _prefetch_threads() - before  # started
    it.close()
    assert not _prefetch_threads() - before


def test_a_consumer_of_a_producer_stopped_at_exit_is_not_left_waiting() -> None:
    # _stop_producers stops every producer, a merge's decoders too; a decoder stopped
    # mid-stream ends without its last item, and the merge thread waiting on it used to
    # wait for ever (joined in vain for 10 s at exit, and left running).
    from framework.journal import reader as reader_module
    from framework.journal.errors import JournalError

    decoding = threading.Event()
    resume = threading.Event()

    def chunks():
        yield 1
        decoding.set()
        resume.wait(10)  # a batch being decoded when the stop comes
        yield 2

    it = reader_module._prefetched(chunks(), 4, "journal-prefetch-test")
    assert next(it) == 1
    decoding.wait(10)
    stopper = threading.Thread(target=reader_module._stop_producers)
    stopper.start()
    resume.set()
    stopper.join(10)
    t0 = time.monotonic()
    with pytest.raises(JournalError, match="journal-prefetch-test: stopped before the end"):
        next(it)
    assert time.monotonic() - t0 < 5.0


_ABANDON = textwrap.dedent(
    """
    import sys
    from framework.journal import JournalReader
    it = JournalReader(sys.argv[1]).merged(batch_rows=64, prefetch=100_000)
    next(it)  # the producer is decoding ahead; the generator stays referenced
    sys.exit(3)
    """
)


def test_producers_still_running_are_stopped_at_exit(tmp_path):
    # A daemon thread still inside pyarrow at interpreter exit aborts the process
    # ("terminate called without an active exception", about 1 exit in 20 of a
    # `replay --verify` that diverged early): the reader stops its producers at exit.
    from framework.journal import reader as reader_module

    _trades_and_clocks(tmp_path, 3000)
    it = JournalReader(tmp_path).merged(batch_rows=16, prefetch=100_000)
    next(it)  # abandoned mid-read, still referenced
    reader_module._stop_producers()  # what runs at exit: every producer, of any test
    assert not _prefetch_threads()
    sample = REPO / "recordings" / "sample-hype"
    for _ in range(4):
        res = subprocess.run(
            [sys.executable, "-c", _ABANDON, str(sample)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 3, res.stderr
