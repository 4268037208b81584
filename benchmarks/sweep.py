"""Sweep benchmarks: trials per minute on local Ray with 1 and 2 workers, and what a trial
costs over a bare backtest of the same recording.  One JSON line per measurement.

Run from the repository root::

    .venv/bin/python -m benchmarks.sweep                 # everything
    .venv/bin/python -m benchmarks.sweep sweep_2_workers

Measurements (each in its own process, over the bundled 2-hour sample):

* ``bare_backtest``: ``run_backtest`` alone, the median of 3 runs after a warm-up;
* ``trial_in_process``: one sweep trial without Ray (backtest, readiness verdict by
  DuckDB, config file, atomic commit), the median of 3 after a warm-up;
* ``sweep_1_worker``, ``sweep_2_workers``: a grid of :data:`TRIALS` trials through
  ``market-maker sweep``'s code on a local Ray started for it (1 or 2 CPUs).  ``ray_init_s``
  is Ray's start; ``sweep_s`` everything after it (Tune, worker processes, trials,
  results, report); ``trials_per_min`` counts ``sweep_s`` only; ``per_trial_s`` is
  ``sweep_s / trials``; ``trial_wall_s`` the mean time a trial took inside its worker;
  ``steady_per_trial_s`` the time between commits once the first ``workers`` trials are
  in (start-up excluded), and ``load_avg_1m`` the machine's load when it ended (the
  numbers are only as quiet as the machine).

The overhead of a trial over a bare backtest is ``per_trial_s`` (1 worker) minus
``bare_backtest``'s ``seconds``; ``trial_wall_s`` minus that splits it into the trial's
own work (readiness, commit) and Ray's (scheduling, worker start-up, amortised).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "recordings" / "sample-hype"
TRIALS = 8
SPACE = """
[strategy]
spread_profile = ["hip3", "aggressive"]
requote_tolerance_bps = [1.0, 2.0, 3.0, 4.0]
"""


def _median_s(fn: Callable[[int], object], runs: int = 3) -> float:
    fn(-1)  # warm-up: imports, caches
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bare_backtest() -> dict:
    from framework.environments.backtest import run_backtest

    with tempfile.TemporaryDirectory() as tmp:
        s = _median_s(lambda i: run_backtest(SAMPLE, out=Path(tmp) / f"bt{i}", progress=False))
    return {"seconds": round(s, 3), "recording": SAMPLE.name}


def trial_in_process() -> dict:
    from framework.sweep.data import recording_names
    from framework.sweep.objective import Objective
    from framework.sweep.trial import TrialSpec, run_trial

    tmp = tempfile.TemporaryDirectory()
    spec = TrialSpec(
        out=tmp.name,
        recordings=(str(SAMPLE),),
        names=tuple(recording_names([str(SAMPLE)])),
        fixed={},
        seed=0,
        keep="journal",
        objective=Objective("net_pnl_usd", "max"),
    )
    with tmp:
        s = _median_s(lambda i: run_trial(spec, i + 1, {}))
    return {"seconds": round(s, 3), "recording": SAMPLE.name}


def _sweep(workers: int) -> dict:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory() as name:
        return _sweep_in(Path(name), workers)


def _sweep_in(tmp: Path, workers: int) -> dict:
    import pyarrow.parquet as pq
    import ray
    from rich.console import Console

    from framework.sweep.command import sweep_command

    space = tmp / "space.toml"
    space.write_text(SPACE)
    t0 = time.perf_counter()
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        _temp_dir=str(tmp / "ray"),
        object_store_memory=128 * 1024 * 1024,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    init_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        code = sweep_command(
            recordings=[str(SAMPLE)],
            space=space,
            workers=workers,
            out=tmp / "sweep",
            quiet=True,
            console=Console(file=open(os.devnull, "w")),  # noqa: SIM115
        )
        sweep_s = time.perf_counter() - t0
    finally:
        ray.shutdown()
    rows = pq.read_table(tmp / "sweep" / "results.parquet").to_pylist()
    assert code == 0 and len(rows) == TRIALS, (code, len(rows))
    # commit times: after the first `workers` trials (worker start-up), one every ...
    commits = sorted(p.stat().st_mtime for p in (tmp / "sweep" / "trials").glob("*/result.json"))
    steady_s = (commits[-1] - commits[workers - 1]) / (TRIALS - workers)
    return {
        "workers": workers,
        "trials": TRIALS,
        "ray_init_s": round(init_s, 2),
        "sweep_s": round(sweep_s, 2),
        "trials_per_min": round(TRIALS / sweep_s * 60, 1),
        "per_trial_s": round(sweep_s / TRIALS, 2),
        "trial_wall_s": round(statistics.fmean(r["wall_s"] for r in rows), 2),
        "steady_per_trial_s": round(steady_s, 2),
        "steady_trials_per_min": round(60 / steady_s, 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


MEASUREMENTS: dict[str, Callable[[], dict]] = {
    "bare_backtest": bare_backtest,
    "trial_in_process": trial_in_process,
    "sweep_1_worker": lambda: _sweep(1),
    "sweep_2_workers": lambda: _sweep(2),
}


def main(argv: list[str]) -> int:
    from benchmarks.run import run_each, unknown_names

    if argv[:1] == ["--one"]:
        print(json.dumps({"name": argv[1], **MEASUREMENTS[argv[1]]()}), flush=True)
        return 0
    names = argv or list(MEASUREMENTS)
    if unknown_names(names, MEASUREMENTS):
        return 2
    return run_each("benchmarks.sweep", names, last_line=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
