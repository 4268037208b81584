"""Journal completeness, as a user meets it: `backtest`, `replay --verify` and `sql` on
journals with a part or table gone, a part unreadable, or a writer killed mid-session."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
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
    PartMeta,
    check_completeness,
    list_parts,
)
from tests.stubs import run_cli, trade_row

REPO = Path(__file__).resolve().parents[2]

# A session of the toy quoter (tests.stubs) through a real writer whose per-table size
# bound (flush_rows=7) flushes each table on its own, as a long session's do: killed,
# its tables stop at different seqs.  "close" closes it without compaction (parts stay).
_SESSION = textwrap.dedent(
    """
    import sys, time
    from framework.engine.drive import build_engine
    from framework.events import Kind
    from framework.events.columns import Columns
    from framework.journal import JournalWriter, Manifest
    from tests.stubs import TOY_PATH, book_row, trade_row
    root, n, end = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    man = Manifest(mode="paper", asset="TEST", seed=3,
                   components=[{"path": TOY_PATH, "config": {}}])
    w = JournalWriter(root, man, flush_rows=7, flush_interval_s=3600)
    engine = build_engine(man, w)
    for j in range(n):
        t = 1_700_000_000_000_000_000 + j * 550_000_000
        for kind, row in ((Kind.BOOK, book_row(0, t, 40.0 + 0.01 * (j % 7))),
                          (Kind.TRADES, trade_row(0, t + 1, 40.01, 1 if j % 2 else -1))):
            seq = engine.next_input_seq()
            row = (seq, *row[1:])
            w.append(kind, row)
            if engine.events == 0:
                engine.start(row[2])
            engine.step(kind, seq, row[2], Columns.from_rows(kind, [row]), 0)
    if end == "close":
        w.close(compact=False)
        sys.exit(0)
    print("ready", flush=True)
    time.sleep(120)
    """
)


def _session(root: Path, n: int, end: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _SESSION, str(root), str(n), end],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def closed_session(root: Path, n: int = 40) -> Path:
    proc = _session(root, n, "close")
    assert proc.wait(timeout=60) == 0
    return root


def killed_session(root: Path, n: int = 40) -> Path:
    """The journal of a session killed with SIGKILL after ``n`` books and trades."""
    proc = _session(root, n, "kill")
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return root


def synth_recording(root: Path) -> Path:
    done = run_cli("synth", "--hours", "0.1", "--seed", "5", "--out", str(root))
    assert done.returncode == 0, done.stderr
    return root


def only_part(root: Path, table: str) -> Path:
    (part,) = list_parts(root / table)
    return part.path


def corrupt(path: Path) -> None:
    """Break a part's footer, as a torn copy or a bad disk does."""
    data = bytearray(path.read_bytes())
    data[-8:-4] = b"\xff\xff\xff\x7f"
    path.write_bytes(bytes(data))


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- a part gone from a table that still has others ---------------------------------------
def test_replay_verify_of_a_journal_missing_a_part_names_it_instead_of_diverging(tmp_path):
    root = closed_session(tmp_path / "j")
    parts = list_parts(root / "book")
    assert len(parts) >= 3
    gone = parts[1].path
    gone.unlink()
    done = run_cli("replay", str(root), "--verify")
    assert done.returncode == 2, done.stdout
    assert lines(done.stdout) == [
        f"not verified: {root} is incomplete: book: 33 of 40 rows found; missing "
        f"{gone.name} (7 rows)"
    ]
    assert "DIVERGED" not in done.stdout
    # The rest of the journal is left as it was.
    assert len(list_parts(root / "book")) == len(parts) - 1


def test_sql_warns_one_line_per_problem_and_still_answers(tmp_path):
    root = closed_session(tmp_path / "j")
    gone = list_parts(root / "book")[2].path
    gone.unlink()
    bad = list_parts(root / "trades")[0].path
    corrupt(bad)
    done = run_cli("sql", str(root), "SELECT count(*) AS n FROM book", "--format", "csv")
    assert done.returncode == 0
    assert lines(done.stdout) == ["n", "33"]
    warnings = lines(done.stderr)
    assert len(warnings) == 2, warnings
    assert warnings[0] == (
        f"warning: {root} is incomplete: book: 33 of 40 rows found; missing {gone.name} (7 rows)"
    )
    assert warnings[1].startswith(
        f"warning: {root} is incomplete: trades: 33 of 40 rows found; {bad.name} is unreadable: "
    )
    assert warnings[1].endswith("(7 rows)")


# -- a table gone, a part unreadable: backtest --------------------------------------------
@pytest.mark.parametrize("damage", ["table gone", "part unreadable"])
def test_backtest_refuses_an_incomplete_recording_with_exit_2(tmp_path, damage):
    rec = synth_recording(tmp_path / "rec")
    book = only_part(rec, "book")
    rows = pq.read_metadata(book).num_rows
    if damage == "table gone":
        shutil.rmtree(rec / "book")
        what = f"the table directory book/ is gone: {book.name} ({rows} rows)"
    else:
        corrupt(book)
        what = f"{book.name} is unreadable: "
    out = tmp_path / "bt"
    done = run_cli("backtest", "--recording", str(rec), "--out", str(out), "--quiet")
    assert done.returncode == 2
    (line,) = lines(done.stderr)
    assert line.startswith(
        f"error: --recording {rec} is incomplete: book: 0 of {rows} rows found; {what}"
    )
    assert line.endswith("; pass --allow-incomplete to backtest what is there")
    assert not out.exists()


def test_backtest_allow_incomplete_warns_runs_and_records_what_was_missing(tmp_path):
    rec = synth_recording(tmp_path / "rec")
    book = only_part(rec, "book")
    rows = pq.read_metadata(book).num_rows
    shutil.rmtree(rec / "book")
    out = tmp_path / "bt"
    done = run_cli(
        "backtest", "--recording", str(rec), "--out", str(out), "--quiet", "--allow-incomplete"
    )
    assert done.returncode == 0, done.stderr
    missing = (
        f"book: 0 of {rows} rows found; the table directory book/ is gone: {book.name} "
        f"({rows} rows)"
    )
    assert lines(done.stderr) == [
        f"warning: --recording {rec} is incomplete: {missing}; backtesting what is there "
        "(--allow-incomplete)"
    ]
    source = json.loads((out / "session.json").read_text())["source"]
    assert source == {"recording": str(rec), "incomplete": [missing]}
    # The backtest's own journal is whole: it replays, and sql has nothing to warn about.
    verified = run_cli("replay", str(out), "--verify")
    assert verified.returncode == 0 and verified.stdout.startswith("verified: ")
    assert run_cli("sql", str(out), "SELECT count(*) FROM trades").stderr == ""


def test_a_recording_closed_before_part_lists_is_checked_by_row_counts(tmp_path):
    rec = tmp_path / "rec"
    shutil.copytree(REPO / "recordings" / "sample-hype", rec)
    manifest = json.loads((rec / "session.json").read_text())
    assert "parts" not in manifest
    rows = manifest["stats"]["rows"]
    shutil.rmtree(rec / "book")
    done = run_cli("sql", str(rec), "SELECT count(*) FROM trades", "--format", "csv")
    assert done.returncode == 0 and lines(done.stdout)[1] == str(rows["trades"])
    assert lines(done.stderr) == [
        f"warning: {rec} is incomplete: book: 0 of {rows['book']} rows found; the table "
        "directory book/ is gone"
    ]
    refused = run_cli("backtest", "--recording", str(rec), "--out", str(tmp_path / "bt"))
    assert refused.returncode == 2 and f"book: 0 of {rows['book']} rows found" in refused.stderr


# -- a writer killed mid-session ----------------------------------------------------------
_PREFIX = re.compile(
    r"verified (\d+) inputs up to seq (\d+) \((\d+) outputs identical\); the journal ends "
    r"in a crash at seq (\d+) \(\S+Z\): "
)


def test_replay_verify_after_sigkill_verifies_the_whole_prefix_and_says_it_crashed(tmp_path):
    root = killed_session(tmp_path / "j")
    reader = JournalReader(root)
    assert not reader.manifest.closed
    comp = check_completeness(reader)
    # The tables stop at different seqs: rows after the prefix are on disk in some.
    assert comp.durable_seq is not None and 0 < comp.durable_seq < comp.last_seq
    done = run_cli("replay", str(root), "--verify")
    assert done.returncode == 0, done.stdout
    first, second = lines(done.stdout)
    assert re.fullmatch(
        re.escape(
            f"incomplete: {root} was never closed (its writer was killed or crashed, or is "
            f"still writing): every table is on disk up to seq {comp.durable_seq}; after it, "
            f"the last flush reached only some tables, the last row on disk is at seq "
            f"{comp.last_seq} ("
        )
        + r"\d{4}-\d\d-\d\dT[\d:.]+Z\)",
        first,
    ), first
    m = _PREFIX.match(second)
    assert m, second
    inputs, last_input, outputs, crash = map(int, m.groups())
    assert crash == comp.last_seq
    assert f"nothing after seq {comp.durable_seq} is verified" in second
    # The prefix: every input up to the cut with all its outputs (inputs are one stride
    # apart); an input at the cut whose outputs were not all flushed is not counted.
    stride = 1_000_000
    assert inputs == last_input // stride and 0 < inputs < 80 and outputs > 0
    cut = re.search(r"\(the input at seq (\d+) is not counted: some of its outputs", second)
    if cut:
        assert int(cut[1]) == last_input + stride <= comp.durable_seq
    else:
        assert last_input <= comp.durable_seq < last_input + stride


@pytest.mark.parametrize("damage", ["deleted", "unreadable"])
def test_a_killed_journal_missing_a_part_is_not_verified(tmp_path, damage):
    root = killed_session(tmp_path / "j")
    part = list_parts(root / "book")[1].path
    if damage == "deleted":
        part.unlink()
        what = (
            f"book: 7 rows missing before {list_parts(root / 'book')[1].path.name} (a part is gone)"
        )
    else:
        corrupt(part)
        what = f"book: {part.name} is unreadable: "
    done = run_cli("replay", str(root), "--verify")
    assert done.returncode == 2, done.stdout
    first, second = lines(done.stdout)
    assert first.startswith(f"not verified: {root} is incomplete: never closed")
    assert second.startswith(f"not verified: {root} is incomplete: {what}")
    if damage == "unreadable":
        assert second.endswith("(7 rows)")
    assert "DIVERGED" not in done.stdout


@pytest.mark.simulator
def test_paper_session_killed_with_sigkill_replays_its_prefix(tmp_path):
    out = tmp_path / "paper"
    script = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        from framework.environments.paper import run_paper
        from framework.hyperliquid.simulator import SimConfig, SimulatorThread
        cfg = SimConfig(port=0, recording=Path(sys.argv[1]), speed=20.0)
        with SimulatorThread(cfg) as h:
            asyncio.run(run_paper("HYPE", duration_s=120, base_url=h.base_url,
                                  out=sys.argv[2], progress=False))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(REPO / "recordings" / "sample-hype"), str(out)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list_parts(out / "order_commands")) < 3:
            time.sleep(0.1)
        time.sleep(0.35)  # mid-way between flushes
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(list_parts(out / "order_commands")) >= 3
    done = run_cli("replay", str(out), "--verify")
    assert done.returncode == 0, done.stdout
    first, second = lines(done.stdout)
    assert first.startswith(f"incomplete: {out} was never closed (its writer was killed")
    assert _PREFIX.match(second), second


# -- what the writer records ---------------------------------------------------------------
def test_closed_manifest_lists_every_part_with_its_rows(tmp_path):
    root = closed_session(tmp_path / "j")
    listed = json.loads((root / "session.json").read_text())["parts"]
    assert set(listed) == {p.name for p in root.iterdir() if p.is_dir()}
    for table, parts in listed.items():
        on_disk = {p.path.name: pq.read_metadata(p.path).num_rows for p in list_parts(root / table)}
        assert parts == on_disk
    assert sum(listed["book"].values()) == 40 and len(listed["book"]) == 6


def test_part_footers_chain_their_rows_and_say_where_the_journal_is_whole(tmp_path):
    w = JournalWriter(tmp_path, Manifest(mode="test", asset="X"), flush_rows=3)
    for s in range(1, 8):  # trades flush at their 3rd and 6th row, clock never
        w.append(
            Kind.TRADES if s != 2 else Kind.CLOCK,
            trade_row(s, s, 10.0) if s != 2 else (2, 2, 2, "t"),
        )
    metas = [
        PartMeta.decode(pq.read_metadata(p.path).metadata) for p in list_parts(tmp_path / "trades")
    ]
    journal = str(w.manifest.created_ns)
    # The clock row at seq 2 is still in memory: the journal is whole only up to seq 1.
    assert metas == [PartMeta(journal, 0, 1), PartMeta(journal, 3, 1)]
    w.flush()  # writes the clock row: now everything appended is on disk
    (clock,) = list_parts(tmp_path / "clock")
    assert PartMeta.decode(pq.read_metadata(clock.path).metadata) == PartMeta(journal, 0, 7)
    w.append(Kind.CLOCK, (6, 6, 6, "t"))  # out of seq order: nothing can be said
    w.flush()
    last = list_parts(tmp_path / "clock")[-1].path
    assert PartMeta.decode(pq.read_metadata(last).metadata) == PartMeta(journal, 1, None)


def test_the_check_reads_footers_only(tmp_path):
    """Every part's data zeroed, its footer kept: the check (which must stay fast on a
    24 h recording) still finds the journal whole; reading the data would fail."""
    root = closed_session(tmp_path / "j")
    for table in root.iterdir():
        for part in list_parts(table) if table.is_dir() else []:
            data = bytearray(part.path.read_bytes())
            footer = int.from_bytes(data[-8:-4], "little") + 8
            data[4 : len(data) - footer] = bytes(len(data) - footer - 4)
            part.path.write_bytes(bytes(data))
    reader = JournalReader(root, warn=False)
    assert check_completeness(reader).problems == ()
    with pytest.raises(CorruptPartError, match="book"):
        JournalReader(root, strict=True).table("book")


def test_a_journal_never_closed_whose_writer_could_not_tell_says_so(tmp_path):
    """Rows appended out of seq order (a re-sequencing backtest does): after a crash
    nothing says up to where the journal is whole, and sql says that."""
    w = JournalWriter(tmp_path / "j", Manifest(mode="backtest", asset="X"))
    w.append(Kind.TRADES, trade_row(2, 2, 10.0))
    w.append(Kind.CLOCK, (1, 1, 1, "t"))
    w.flush()  # and then the process dies: no close
    done = run_cli("sql", str(tmp_path / "j"), "SELECT count(*) FROM trades", "--format", "csv")
    assert done.returncode == 0 and lines(done.stdout) == ["count_star()", "1"]
    assert lines(done.stderr) == [
        f"warning: {tmp_path / 'j'} is incomplete: never closed (its writer was killed or "
        "crashed, or is still writing), and its parts do not say up to which seq it is whole "
        "(written before part footers said so, or rows not appended in seq order): rows at its "
        "end may be missing; the last row on disk is at seq 2 (1970-01-01T00:00:00.000Z)"
    ]
