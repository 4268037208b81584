"""Side by side with the peer: our import, replay and backtest against hftbacktest's
converter, replay and GLFT market maker on the same Hyperliquid-format capture.

Run from the repository root::

    .venv/bin/python -m benchmarks.peer                       # 24 h capture, seed 1
    .venv/bin/python -m benchmarks.peer --capture FILE --reps 3 --json out.jsonl
    .venv/bin/python -m benchmarks.peer --setup-peer          # creates the peer's venv first

The capture is generated once with the peer's seeded generator (``hl_capture_synth.py``
in ``../shared/bench/``) into ``benchmarks/.cache/`` and reused.  The peer script runs
in a venv of its own (``benchmarks/.cache/peer-venv``; hftbacktest is not a project
dependency) and reports its own steps in process, numba compile time excluded; it runs
once per rep, alternating with ours, so both see about the same load.  Ours
run each step in a process of its own and are timed whole-process (interpreter start,
imports and writing included; the project's bytecode cached first, as an installed
project's is after its first run) with the child's peak RSS:

1. ``import``: ``cli.py import CAPTURE`` into a new journal;
2. ``replay``: the engine with MarketState only over that journal (market-hours/s of the
   loop, as ``benchmarks.run``'s ``replay_*_market_state``; the process wall is reported
   beside it);
3. ``backtest``: ``cli.py backtest`` over that journal (reference strategy, fill
   simulator, estimators, journaling); market hours are the journal's input time span.

It prints one table (market-hours per wall second, ours and the peer's, the ratios and
the issue-14 targets, pass or fail), then one JSON line per figure (``--json`` also
writes them to a file).  The machine is shared: compare figures of the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from benchmarks.run import CACHE, REPO, compile_sources, run_timed

PEER_DIR = REPO.parent / "shared" / "bench"
PEER_VENV = CACHE / "peer-venv"
PEER_PACKAGES = ("hftbacktest==2.4.4", "numpy", "numba")
WORK = CACHE / "peer-work"


@attrs.frozen
class Target:
    """An issue-14 target: ``ours / peer >= value`` (``ratio``) or ``ours >= value``."""

    value: float
    ratio: bool

    def describe(self) -> str:
        return f">= {self.value:g}x peer" if self.ratio else f">= {self.value:g} mh/s"

    def met(self, ours: float, peer: float | None) -> bool | None:
        if not self.ratio:
            return ours >= self.value
        if not peer:
            return None
        return ours / peer >= self.value


#: Our step -> (the peer's figure it is compared with, the target).
STEPS: dict[str, tuple[str, Target]] = {
    "import": ("convert", Target(10.0, ratio=True)),
    "replay": ("replay_60s", Target(100.0, ratio=False)),
    "backtest": ("glft_mm", Target(2.0, ratio=True)),
}


@attrs.frozen
class Row:
    """One line of the table: a step, our best figure and spread, the peer's."""

    step: str
    ours_best: float  # market-hours per wall second, best of the reps
    ours_spread: tuple[float, float]  # (min, max) over the reps
    ours_seconds: float  # of the best rep: the process (import, backtest) or the loop (replay)
    ours_rss_mb: float  # the largest peak RSS over the reps
    peer_name: str
    peer_best: float | None
    peer_spread: tuple[float, float] | None
    target: Target

    @property
    def ratio(self) -> float | None:
        return self.ours_best / self.peer_best if self.peer_best else None

    @property
    def passed(self) -> bool | None:
        return self.target.met(self.ours_best, self.peer_best)


# -- arguments ---------------------------------------------------------------------------


def setup_command(venv: Path | None = None) -> str:
    """The one line that creates the peer's venv (default: the cached one)."""
    venv = PEER_VENV if venv is None else venv
    return f"python3 -m venv {venv} && {venv}/bin/pip install {' '.join(PEER_PACKAGES)}"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.peer",
        description="Our import, replay and backtest next to hftbacktest's on one capture.",
    )
    ap.add_argument("--capture", type=Path, help="Hyperliquid-format capture (.gz).")
    ap.add_argument("--hours", type=float, help="Generate a capture this long (default 24).")
    ap.add_argument("--seed", type=int, help="Generator seed (default 1).")
    ap.add_argument(
        "--peer-python", type=Path, help=f"The peer venv's python (default {PEER_VENV}/bin/python)."
    )
    ap.add_argument("--peer-dir", type=Path, default=PEER_DIR, help="The peer scripts' folder.")
    ap.add_argument("--reps", type=int, default=3, help="Repetitions of every step (default 3).")
    ap.add_argument("--json", type=Path, help="Also write the JSON lines here.")
    ap.add_argument("--setup-peer", action="store_true", help="Create the peer venv if missing.")
    ap.add_argument("--skip-peer", action="store_true", help="Run ours only (no ratios).")
    a = ap.parse_args(list(argv))
    if a.capture is not None and (a.hours is not None or a.seed is not None):
        ap.error("--capture and --hours/--seed exclude each other: give a file or generate one")
    if a.capture is not None and not a.capture.is_file():
        ap.error(f"--capture {a.capture}: no such file")
    if a.hours is not None and not a.hours > 0:
        ap.error(f"--hours {a.hours}: must be > 0")
    if a.reps < 1:
        ap.error(f"--reps {a.reps}: must be >= 1")
    a.hours = 24.0 if a.hours is None else a.hours
    a.seed = 1 if a.seed is None else a.seed
    return a


# -- processes ---------------------------------------------------------------------------


def ensure_capture(hours: float, seed: int, peer_dir: Path) -> Path:
    """The peer generator's capture for (hours, seed), generated once into the cache."""
    path = CACHE / f"hype_{hours:g}h_seed{seed}.gz"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".gz.tmp")
        gen = peer_dir / "hl_capture_synth.py"
        cmd = [sys.executable, str(gen), "--hours", f"{hours:g}", "--seed", str(seed)]
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        subprocess.run([*cmd, "--out", str(tmp)], check=True, stdout=subprocess.DEVNULL)
        tmp.rename(path)
    return path


def ensure_peer_python(peer_python: Path | None, setup: bool) -> Path | None:
    """The peer's interpreter, or None after printing how to create it."""
    if peer_python is not None:
        if not peer_python.exists():
            print(f"error: --peer-python {peer_python}: no such file", file=sys.stderr)
            return None
        return peer_python
    py = PEER_VENV / "bin" / "python"
    if py.exists():
        return py
    if not setup:
        print(
            f"error: no peer venv at {PEER_VENV}; create it with: {setup_command()} "
            "(or pass --setup-peer, or --peer-python PATH)",
            file=sys.stderr,
        )
        return None
    print(f"creating the peer venv: {setup_command()}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", *PEER_PACKAGES], check=True)
    return py


def run_peer(python: Path, peer_dir: Path, capture: Path, rep: int) -> dict:
    """One run of the peer script (one rep of each of its steps): its JSON figures."""
    out = CACHE / f"{capture.name.removesuffix('.gz')}.hftbacktest-{rep}.json"
    script = peer_dir / "hftbacktest_hl_bench.py"
    cmd = [str(python), str(script), str(capture), "--reps", "1", "--json", str(out)]
    print("peer: " + " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"peer script exited {proc.returncode}: {' | '.join(tail)}")
    sys.stderr.write(proc.stdout)
    return json.loads(out.read_text())


def peer_rates(raws: list[dict]) -> dict[str, list[float]]:
    """The peer's market-hours per wall second per step, one value per run."""
    rates: dict[str, list[float]] = {}
    for res in raws:
        span = res["market_hours"]
        rates.setdefault("convert", []).extend(span / w for w in res["convert_wall_s_all"])
        for name, run in res["runs"].items():
            rates.setdefault(name, []).extend(span / r["wall_s"] for r in run["per_rep"])
    return rates


# -- ours --------------------------------------------------------------------------------


def span_hours(root: Path) -> float:
    """Hours between a journal's first and last input event (recv_ts)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from framework.events.schema import INPUT_KINDS
    from framework.journal import JournalReader

    reader = JournalReader(root)
    lo, hi = None, None
    for kind in INPUT_KINDS:
        for part in reader.parts(kind):
            col = pq.read_table(part.path, columns=["recv_ts"]).column(0)
            mm = pc.min_max(col).as_py()
            if mm["min"] is None:
                continue
            lo = mm["min"] if lo is None else min(lo, mm["min"])
            hi = mm["max"] if hi is None else max(hi, mm["max"])
    return 0.0 if lo is None else (hi - lo) / 3.6e12


def _ours_once(capture: Path, rep: int) -> tuple[dict, Path]:
    """One rep of our three steps; the imported journal is kept for the next reps."""
    py, cli = sys.executable, str(REPO / "cli.py")
    journal = WORK / f"import-{rep}"
    shutil.rmtree(journal, ignore_errors=True)
    t = run_timed([py, cli, "import", str(capture), "--out", str(journal)], what="cli.py import")
    hours = span_hours(journal)
    res: dict = {"import": _run(t.wall_s, t.wall_s, t.peak_rss_mb, hours)}

    t = run_timed([py, "-m", "benchmarks.peer", "--one-replay", str(journal)], what="replay")
    inner = json.loads(t.stdout.strip().splitlines()[-1])
    # the journal's span, not the replay's rounded market_hours_per_s times its seconds
    res["replay"] = _run(inner["seconds"], t.wall_s, t.peak_rss_mb, hours)
    res["replay"]["events"] = inner["events"]

    out = WORK / f"backtest-{rep}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [py, cli, "backtest", "--recording", str(journal), "--out", str(out), "--quiet"]
    t = run_timed(cmd, what="cli.py backtest")
    summary = _summary(out)
    shutil.rmtree(out, ignore_errors=True)
    res["backtest"] = {**_run(t.wall_s, t.wall_s, t.peak_rss_mb, hours), **summary}
    return res, journal


def _run(seconds: float, process_s: float, rss_mb: float, hours: float) -> dict:
    """One rep of a step: ``seconds`` is what the market hours are divided by (the whole
    process for import and backtest, the engine loop for replay)."""
    return {
        "seconds": seconds,
        "process_wall_s": process_s,
        "peak_rss_mb": rss_mb,
        "hours": hours,
        "market_hours_per_s": hours / seconds,
    }


def _summary(out: Path) -> dict:
    """Events and fills of a finished backtest (from its manifest; empty if absent)."""
    try:
        man = json.loads((out / "session.json").read_text())
    except (OSError, ValueError):
        return {}
    summary = man.get("stats", {}).get("summary", {})
    return {k: summary[k] for k in ("events", "fills") if k in summary}


def run_ours(capture: Path, rep: int, runs: dict[str, list[dict]]) -> None:
    """One rep of our steps, appended to ``runs`` (step -> reps)."""
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"ours: rep {rep + 1}", file=sys.stderr, flush=True)
    res, journal = _ours_once(capture, rep)
    shutil.rmtree(journal, ignore_errors=True)
    for step, r in res.items():
        runs.setdefault(step, []).append(r)
        print(f"  {step}: {json.dumps(_rounded(r))}", file=sys.stderr, flush=True)


def replay_one(root: Path) -> dict:
    """In the replay process: the engine with MarketState only over ``root``."""
    from benchmarks.run import _replay

    return _replay(root, with_market=True)


# -- table -------------------------------------------------------------------------------


def rows(ours: dict[str, list[dict]], peer: dict[str, list[float]]) -> list[Row]:
    out = []
    for step, (peer_name, target) in STEPS.items():
        mh = [r["market_hours_per_s"] for r in ours[step]]
        best = max(ours[step], key=lambda r: r["market_hours_per_s"])
        p = peer.get(peer_name)
        out.append(
            Row(
                step=step,
                ours_best=max(mh),
                ours_spread=(min(mh), max(mh)),
                ours_seconds=best["seconds"],
                ours_rss_mb=max(r["peak_rss_mb"] for r in ours[step]),
                peer_name=peer_name,
                peer_best=max(p) if p else None,
                peer_spread=(min(p), max(p)) if p else None,
                target=target,
            )
        )
    return out


def _fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def format_table(table: list[Row]) -> str:
    """The rows as aligned text: market-hours per wall second (mh/s), best (min-max)."""
    head = (
        "step",
        "ours mh/s (min-max)",
        "s",
        "RSS MB",
        "peer",
        "peer mh/s (min-max)",
        "ours/peer",
        "target",
        "",
    )
    lines = [head]
    for r in table:
        ours = f"{_fmt(r.ours_best)} ({_fmt(r.ours_spread[0])}-{_fmt(r.ours_spread[1])})"
        peer = (
            "-"
            if r.peer_spread is None
            else f"{_fmt(r.peer_best)} ({_fmt(r.peer_spread[0])}-{_fmt(r.peer_spread[1])})"
        )
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[r.passed]
        lines.append(
            (
                r.step,
                ours,
                f"{r.ours_seconds:.1f}",
                f"{r.ours_rss_mb:.0f}",
                r.peer_name,
                peer,
                ratio,
                r.target.describe(),
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def json_lines(
    table: list[Row], ours: dict[str, list[dict]], peer: dict[str, list[float]], capture: Path
) -> list[dict]:
    """One record per step (ours vs peer) and one per peer figure, for machines."""
    recs = []
    for r in table:
        runs = ours[r.step]
        best = max(runs, key=lambda x: x["market_hours_per_s"])
        recs.append(
            _rounded(
                {
                    "name": f"peer_{r.step}",
                    "capture": str(capture),
                    "market_hours": best["hours"],
                    "market_hours_per_s": r.ours_best,
                    "market_hours_per_s_min": r.ours_spread[0],
                    "seconds": [x["seconds"] for x in runs],
                    "process_wall_s": [x["process_wall_s"] for x in runs],
                    "peak_rss_mb": r.ours_rss_mb,
                    **{k: best[k] for k in ("events", "fills") if k in best},
                    "peer": r.peer_name,
                    "peer_market_hours_per_s": r.peer_best,
                    "ratio": r.ratio,
                    "target": r.target.describe(),
                    "pass": r.passed,
                }
            )
        )
    if peer:
        recs.append(
            _rounded(
                {
                    "name": "peer_hftbacktest",
                    **{f"{k}_market_hours_per_s": v for k, v in peer.items()},
                }
            )
        )
    return recs


def _rounded(obj):  # type: ignore[no-untyped-def]
    if isinstance(obj, float):
        return round(obj, 3)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_rounded(v) for v in obj]
    return obj


# -- main --------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    if list(argv[:1]) == ["--one-replay"]:
        print(json.dumps(replay_one(Path(argv[1]))), flush=True)
        return 0
    a = parse_args(argv)
    peer_python = None
    if not a.skip_peer:
        peer_python = ensure_peer_python(a.peer_python, a.setup_peer)
        if peer_python is None:
            return 2
    capture = a.capture or ensure_capture(a.hours, a.seed, a.peer_dir)
    compile_sources()
    # alternate the peer's rep and ours: the machine's load drifts, so each pair of
    # figures is measured under about the same load
    raws: list[dict] = []
    ours: dict[str, list[dict]] = {}
    for rep in range(a.reps):
        if peer_python is not None:
            raws.append(run_peer(peer_python, a.peer_dir, capture, rep))
        run_ours(capture, rep, ours)
    peer = peer_rates(raws)
    table = rows(ours, peer)
    print(f"capture {capture} ({ours['import'][0]['hours']:.2f} market-hours), reps {a.reps}")
    print(format_table(table))
    recs = json_lines(table, ours, peer, capture)
    text = "".join(json.dumps(r) + "\n" for r in recs)
    sys.stdout.write(text)
    if a.json is not None:
        a.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
