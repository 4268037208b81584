"""Benchmarks: one JSON line per measurement (events/s, peak RSS).

Run from the repository root::

    .venv/bin/python -m benchmarks.run            # everything
    .venv/bin/python -m benchmarks.run replay_sample replay_24h

Each measurement runs in its own process so its peak RSS is its own.  The 24-hour
recording is generated once (seed 1) into ``benchmarks/.cache/`` and reused (made
again when it predates strided input seqs, so backtests link its inputs); so is the
7-day one (``backtest_7d``: ``cli.py backtest`` as a process of its own, wall time and
that process's peak RSS; generating it once takes about 2 minutes and 2 GB, since the
generator builds its tables in memory).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "recordings" / "sample-hype"
CACHE = REPO / "benchmarks" / ".cache"
DAY = CACHE / "synth-hype-24h-seed1"
WEEK = CACHE / "synth-hype-168h-seed1"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current(root: Path, hours: float, seed: int) -> bool:
    """Whether the cached recording at ``root`` is strided, was generated with the
    parameters today's generator would use (a generator change makes it stale) and
    has every column today's book table has (a journal from before the top-of-book
    columns reads, but computes them from the level lists: not what is measured)."""
    import pyarrow.parquet as pq

    from framework.events.schema import Kind, arrow_schema
    from framework.synth import params_for

    try:
        man = json.loads((root / "session.json").read_text())
        part = next((root / "book").glob("part-*.parquet"))
        book = pq.read_schema(part).names
    except (OSError, ValueError, StopIteration):
        return False
    want = params_for("HYPE", hours=hours, seed=seed).to_dict()
    return (
        bool(man.get("seq_stride"))
        and man.get("generator", {}).get("params") == want
        and book == arrow_schema(Kind.BOOK).names
    )


def ensure_synth(root: Path, hours: float, seed: int) -> Path:
    """A synthetic HYPE recording, generated once into the cache (again when stale)."""
    if root.exists() and not _current(root, hours, seed):
        shutil.rmtree(root)
    if not (root / "session.json").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        cmd = ["synth", "--asset", "HYPE", "--hours", str(hours), "--seed", str(seed)]
        subprocess.run(
            [sys.executable, str(REPO / "cli.py"), *cmd, "--out", str(root)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return root


def ensure_day() -> Path:
    """The 24 h synthetic HYPE recording, seed 1."""
    return ensure_synth(DAY, 24.0, 1)


def ensure_week() -> Path:
    """The 7-day (168 h) synthetic HYPE recording, seed 1 (about 3 M rows)."""
    return ensure_synth(WEEK, 168.0, 1)


def compile_sources() -> None:
    """Write the project's bytecode caches before anything is timed.

    An installed project runs from cached bytecode after its first run; whole-process
    timings should too.  Where ``PYTHONDONTWRITEBYTECODE`` is set (this sandbox sets it)
    every process would otherwise compile the project's modules from source again:
    0.1-0.15 s of each start, measured.  ``compileall`` writes the caches regardless of
    that variable, and reading them is allowed under it.
    """
    import compileall

    for name in ("framework", "strategies", "benchmarks"):
        compileall.compile_dir(REPO / name, quiet=1)
    compileall.compile_file(REPO / "cli.py", quiet=1)


@attrs.frozen
class Timed:
    """A finished child process: wall seconds, its own peak RSS, its stdout."""

    wall_s: float
    peak_rss_mb: float
    stdout: str


def run_timed(cmd: Sequence[str], *, what: str) -> Timed:
    """Run ``cmd`` from the repo root; its wall time and its own peak RSS.

    ``os.wait4`` gives the rusage of this child alone (``RUSAGE_CHILDREN`` would be the
    maximum over every child so far).  Raises RuntimeError naming ``what`` and the last
    lines of its stderr when it exits non-zero.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code != 0:
        tail = stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"{what} exited {code}: {' | '.join(tail)}")
    return Timed(wall, usage.ru_maxrss / 1024, stdout)


def _replay(root: Path, with_market: bool) -> dict:
    from framework.book import MarketState
    from framework.engine import Engine, NullSink, feed, inputs_for
    from framework.journal import JournalReader

    reader = JournalReader(root)
    engine = Engine([MarketState()] if with_market else [], seed=0, sink=NullSink())
    t0 = time.perf_counter()
    n = feed(engine, inputs_for(engine, reader))
    dt = time.perf_counter() - t0
    hours = (engine.now - _first_ts(reader)) / 3.6e12
    return {
        "events": n,
        "seconds": round(dt, 3),
        "events_per_s": round(n / dt),
        "market_hours_per_s": round(hours / dt, 1),
    }


def _first_ts(reader) -> int:
    """The recv_ts of the journal's first input, whatever its table."""
    first = next(reader.merged(), None)
    return first.recv_ts[0] if first is not None else 0


def _backtest(
    root: Path, *, estimators: bool, profile: str = "aggressive", link_inputs: bool = True
) -> dict:
    import tempfile

    from framework.environments.backtest import run_backtest

    out = Path(tempfile.mkdtemp()) / "bt"
    t0 = time.perf_counter()
    result = run_backtest(
        root,
        out=out,
        progress=False,
        spread_profile=profile,
        estimators=estimators,
        link_inputs=link_inputs,
    )
    dt = time.perf_counter() - t0
    s = result.summary
    n = s["events"]
    linked = _linked(out)
    shutil.rmtree(out.parent)  # the output journal is not looked at again
    return {
        "events": n,
        "seconds": round(dt, 3),
        "events_per_s": round(n / dt),
        "market_hours_per_s": round(s["duration_s"] / 3600 / dt, 1),
        "fills": s["fills"],
        "profile": profile,
        "estimators": estimators,
        "inputs": "linked" if linked else "resequenced",
    }


def _backtest_process(root: Path) -> dict:
    """``cli.py backtest`` over ``root`` as a process of its own: its wall time and peak
    RSS (the backtest streams its inputs, so the RSS should not grow with the length)."""
    out = Path(tempfile.mkdtemp()) / "bt"
    cmd = [sys.executable, str(REPO / "cli.py"), "backtest", "--recording", str(root)]
    t = run_timed([*cmd, "--out", str(out), "--quiet"], what="cli.py backtest")
    s = json.loads((out / "session.json").read_text())["stats"]["summary"]
    shutil.rmtree(out.parent)
    return {
        "events": s["events"],
        "seconds": round(t.wall_s, 3),
        "events_per_s": round(s["events"] / t.wall_s),
        "market_hours": round(s["duration_s"] / 3600, 2),
        "market_hours_per_s": round(s["duration_s"] / 3600 / t.wall_s, 1),
        "fills": s["fills"],
        "peak_rss_mb": round(t.peak_rss_mb, 1),
        "process": "cli.py backtest",
    }


def _linked(out: Path) -> bool:
    stats = json.loads((out / "session.json").read_text()).get("stats", {})
    return "linked_parts" in stats.get("inputs", {})


MEASUREMENTS: dict[str, Callable[[], dict]] = {
    "replay_sample": lambda: _replay(SAMPLE, with_market=False),
    "replay_sample_market_state": lambda: _replay(SAMPLE, with_market=True),
    "replay_24h": lambda: _replay(ensure_day(), with_market=False),
    "replay_24h_market_state": lambda: _replay(ensure_day(), with_market=True),
    "backtest_sample": lambda: _backtest(SAMPLE, estimators=True),
    "backtest_24h_no_estimators": lambda: _backtest(ensure_day(), estimators=False),
    "backtest_24h_no_estimators_resequenced": lambda: _backtest(
        ensure_day(), estimators=False, link_inputs=False
    ),
    "backtest_24h": lambda: _backtest(ensure_day(), estimators=True),
    "backtest_7d": lambda: _backtest_process(ensure_week()),
}


def run_one(name: str) -> None:
    result = {"name": name, **MEASUREMENTS[name]()}
    # a measurement of a child process reports the child's peak RSS, not this one's
    result.setdefault("peak_rss_mb", round(_peak_rss_mb(), 1))
    print(json.dumps(result), flush=True)


def unknown_names(names: list[str], known: dict) -> bool:
    """Say which of ``names`` are not measurements (True if any)."""
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown measurement(s) {unknown}; choose from {list(known)}", file=sys.stderr)
    return bool(unknown)


def run_each(module: str, names: list[str], *, last_line: bool = False) -> int:
    """Run ``python -m module --one NAME`` for each name, a process each (so each peak
    RSS is its own), and print its JSON line, or a JSON error line; 1 if any failed.
    ``last_line`` keeps only a child's last line of output (Ray prints its own)."""
    failed = 0
    for name in names:
        proc = subprocess.run(
            [sys.executable, "-m", module, "--one", name],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            failed += 1
            err = proc.stderr.strip().splitlines()[-1:] or ["?"]
            print(json.dumps({"name": name, "error": err[0]}), flush=True)
        elif last_line:
            sys.stdout.write(proc.stdout.strip().splitlines()[-1] + "\n")
        else:
            sys.stdout.write(proc.stdout)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        run_one(argv[1])
        return 0
    names = argv or list(MEASUREMENTS)
    if unknown_names(names, MEASUREMENTS):
        return 2
    if any("24h" in n for n in names):
        ensure_day()
    if any("7d" in n for n in names):
        ensure_week()
    compile_sources()
    return run_each("benchmarks.run", names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
