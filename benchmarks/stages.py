"""Where a backtest's time goes: the same run with components added stage by stage.

Run from the repository root::

    .venv/bin/python -m benchmarks.stages            # the 24 h synthetic HYPE recording
    .venv/bin/python -m benchmarks.stages --sample   # the bundled 2 h sample

Each stage is a full backtest (linked inputs, outputs journaled) of the engine with the
components of the previous stage plus one group, in its own process; the line reports
its CPU seconds, µs per input event and the increment over the previous stage.
Stages: ``market`` (MarketState alone: read, merge, step, journal setup),
``+venue`` (fill simulator, order tracker, risk), ``+estimators`` (all six, on market
data only: no fills without a strategy), ``+strategy`` (the market maker and the order
cascade it drives: the full benchmark).  The strategy comes last because without the
estimators it quotes on cold-start parameters, which churn more than converged ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Stage name -> component path fragments left out of the engine.
STAGES: dict[str, tuple[str, ...]] = {
    "market": ("fills.simulator", "orders:", "risk:", "market_maker", "estimators."),
    "+venue": ("market_maker", "estimators."),
    "+estimators": ("market_maker",),
    "+strategy": (),
}


def run_stage(recording: str, stage: str) -> dict:
    from framework.environments import backtest as bt

    drop = STAGES[stage]
    full = bt.component_list

    def component_list(cfg, **kw):  # type: ignore[no-untyped-def]
        return [c for c in full(cfg, **kw) if not any(d in c["path"] for d in drop)]

    bt.component_list = component_list
    out = Path(tempfile.mkdtemp()) / "bt"
    c0 = time.process_time()
    result = bt.run_backtest(recording, out=out, progress=False, spread_profile="aggressive")
    cpu = time.process_time() - c0
    n = result.summary["events"]
    return {"stage": stage, "events": n, "cpu_s": round(cpu, 3), "us_per_event": cpu / n * 1e6}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        print(json.dumps(run_stage(argv[1], argv[2])), flush=True)
        return 0
    if "--sample" in argv:
        recording = str(REPO / "recordings" / "sample-hype")
    else:
        from benchmarks.run import ensure_day

        recording = str(ensure_day())
    prev = 0.0
    for stage in STAGES:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.stages", "--one", recording, stage],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(proc.stdout)
        us = row["us_per_event"]
        row["us_per_event"] = round(us, 2)
        row["increment_us"] = round(us - prev, 2)
        prev = us
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
