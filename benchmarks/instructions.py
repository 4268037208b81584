"""Instructions a backtest executes, counted by cachegrind: what a change saves, without
the wall-clock noise of a shared machine.

Run from the repository root::

    .venv/bin/python -m benchmarks.instructions                  # the peer's 24 h capture
    .venv/bin/python -m benchmarks.instructions --recording J    # any recorded journal
    .venv/bin/python -m benchmarks.instructions --top 20         # and the hottest functions

The default recording is the 24 h Hyperliquid-format capture of ``benchmarks.peer``
(generated once by the peer's generator in ``../shared/bench/``), imported once into
``benchmarks/.cache/``.  Two processes run under valgrind's cachegrind (no cache
simulation): an in-process backtest (``run_backtest``: the reference strategy, fill
simulator, estimators and journaling, progress off) and the same imports alone.  It
prints the instructions of each, their difference (the session: setup, the loop,
closing the journal) per input event, and one JSON line.

Counts, not seconds: on the machines this project runs on, wall times of the same run
spread by 10-30 % with the neighbours' load, while counts repeat to about 0.1 %
(``PYTHONHASHSEED=0`` fixes the hash seed; ``OPENBLAS_NUM_THREADS=1`` as the CLI sets
it).  They miss memory stalls and the prefetch thread's overlap (Parquet decoding, about
13 % of the count, runs beside the loop on a second core), so confirm a change that
matters with ``benchmarks.peer``.  Needs ``valgrind`` (``cg_annotate`` for ``--top``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.peer import PEER_DIR, ensure_capture
from benchmarks.run import CACHE, REPO, compile_sources

#: What the counted backtest runs (the child prints its input event count).
BACKTEST = """
import json, sys
from framework.environments.backtest import run_backtest
r = run_backtest(sys.argv[1], out=sys.argv[2], progress=False)
print(json.dumps({"events": r.summary["events"]}))
"""
#: The same imports, counted alone.
IMPORTS = "import framework.environments.backtest"

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    p.add_argument("--recording", type=Path, help="journal to backtest (default: the capture)")
    p.add_argument("--hours", type=float, default=24.0, help="capture length (default 24)")
    p.add_argument("--seed", type=int, default=1, help="capture seed (default 1)")
    p.add_argument("--top", type=int, default=0, help="also list the N hottest functions")
    return p.parse_args(argv)


def capture_journal(hours: float, seed: int) -> Path:
    """The peer capture for (hours, seed), imported once into the cache."""
    capture = ensure_capture(hours, seed, PEER_DIR)
    journal = CACHE / f"journal-{capture.name.removesuffix('.gz')}"
    if not (journal / "session.json").exists():
        shutil.rmtree(journal, ignore_errors=True)
        cmd = [sys.executable, str(REPO / "cli.py"), "import", str(capture), "--out", str(journal)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return journal


def count(code: str, args: Sequence[str], out_file: Path) -> tuple[int, str]:
    """Instructions of the script ``code`` run with ``args`` under cachegrind, and its
    stdout.  The script goes in a file: cachegrind writes the command line into its
    output, whose format has no room for the newlines of ``python -c``."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    script = out_file.with_suffix(".py")
    script.write_text(code)
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        f"--cachegrind-out-file={out_file}",
        sys.executable,
        str(script),
        *args,
    ]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"cachegrind run failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    return int(found.group(1).replace(",", "")), done.stdout


def hottest(out_file: Path, n: int) -> list[str]:
    """The ``n`` functions with the most instructions, as cg_annotate lists them."""
    text = subprocess.run(
        ["cg_annotate", str(out_file)], capture_output=True, text=True, check=True
    ).stdout
    lines = [ln for ln in text.splitlines() if re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)\s+\S", ln)]
    return [ln.strip() for ln in lines if "PROGRAM TOTALS" not in ln][:n]


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    recording = args.recording or capture_journal(args.hours, args.seed)
    if not (recording / "session.json").exists():
        print(f"error: --recording {recording}: not a journal (no session.json)", file=sys.stderr)
        return 2
    compile_sources()  # bytecode cached first, as an installed project's is
    with tempfile.TemporaryDirectory(prefix="mm-instructions-") as tmp:
        work = Path(tmp)
        total, stdout = count(BACKTEST, [str(recording), str(work / "out")], work / "cg.run")
        events = json.loads(stdout.strip().splitlines()[-1])["events"]
        imports, _ = count(IMPORTS, [], work / "cg.imports")
        top = hottest(work / "cg.run", args.top) if args.top else []
    session = total - imports
    print(f"recording     {recording}")
    print(f"backtest      {total / 1e9:.3f} G instructions")
    print(f"imports       {imports / 1e9:.3f} G")
    print(f"session       {session / 1e9:.3f} G ({session / events:,.0f} per input event)")
    for line in top:
        print("  " + line)
    result = {
        "name": "instructions_backtest",
        "recording": str(recording),
        "events": events,
        "instructions": total,
        "imports": imports,
        "session": session,
        "per_event": round(session / events, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
