"""One trial of a sweep, as a worker runs it: a backtest per recording, committed whole.

A trial is built in a staging directory (``OUT/trials/.staging/<id>-<random>/``):
``config.toml`` (the full config, loadable by ``backtest --config``), one journal per
recording (``<recording name>/``; with ``keep="summary"`` only its ``session.json``,
which holds the summary), ``worker.json`` (host and pid that ran it) and last
``result.json`` (parameters, seed, every figure, the readiness verdict, the objective).
Then the directory is renamed to ``OUT/trials/<id>/``: a trial is either there whole or
not at all, whatever kills the worker or the sweep, and a resumed sweep skips exactly
the trials that are there.  A staging directory never renamed is a lost attempt: it is
removed when the sweep starts again.

A backtest that fails (the engine raises, the config refuses the combination) is a
result too: the trial is committed with its error and the sweep goes on.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from framework.config import ConfigError, SessionConfig
from framework.journal.durable import commit, fsync_dir, temp_path
from framework.sweep.objective import Objective
from framework.sweep.space import Space

__all__ = [
    "RESULT_NAME",
    "TrialSpec",
    "clear_staging",
    "committed_records",
    "run_trial",
    "summary_figures",
    "trial_id",
    "trials_dir",
]

RESULT_NAME = "result.json"
CONFIG_NAME = "config.toml"
WORKER_NAME = "worker.json"
STAGING = ".staging"


@attrs.frozen
class TrialSpec:
    """What every trial of one sweep shares (sent to the workers once)."""

    out: str  # OUT, absolute
    recordings: tuple[str, ...]  # absolute paths or URIs
    names: tuple[str, ...]  # a trial's journal directory per recording
    fixed: dict[str, Any]  # the space's fixed values
    seed: int  # every trial's engine seed
    keep: str  # "journal" or "summary"
    objective: Objective

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrialSpec:
        d = dict(d)
        d["objective"] = Objective(**d["objective"])
        d["recordings"], d["names"] = tuple(d["recordings"]), tuple(d["names"])
        return cls(**d)


def trial_id(index: int) -> str:
    return f"{index:04d}"


def trials_dir(out: Path | str) -> Path:
    return Path(out) / "trials"


def run_trial(spec: TrialSpec, index: int, params: dict[str, Any]) -> dict[str, Any]:
    """Run trial ``index`` with ``params`` over every recording and commit it.

    Returns its record (what ``result.json`` holds).  A trial already committed (an
    attempt Ray retried after the first one got as far as the rename) is not run again.
    """
    tid = trial_id(index)
    final = trials_dir(spec.out) / tid
    if (final / RESULT_NAME).exists():
        return json.loads((final / RESULT_NAME).read_text())
    staging = trials_dir(spec.out) / STAGING / f"{tid}-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    worker = {"host": socket.gethostname(), "pid": os.getpid()}
    (staging / WORKER_NAME).write_text(json.dumps(worker) + "\n")
    t0 = time.perf_counter()
    try:
        cfg = Space(params=(), fixed=spec.fixed).config(params)
    except ConfigError as exc:  # a combination of values the config refuses
        rows = [_error_row(loc, exc) for loc in spec.recordings]
    else:
        (staging / CONFIG_NAME).write_text(_config_text(spec, tid, params, cfg))
        rows = [
            _run_one(spec, cfg, loc, name, staging, tid)
            for loc, name in zip(spec.recordings, spec.names, strict=True)
        ]
    errors = [r["error"] for r in rows if r["status"] != "ok"]
    record = {
        "trial": index,
        "id": tid,
        "params": params,
        "seed": spec.seed,
        "status": "error" if errors else "ok",
        "error": errors[0] if errors else None,
        "objective": spec.objective.of(rows),
        "rows": rows,
        "worker": {**worker, "wall_s": time.perf_counter() - t0},
    }
    return _commit(staging, final, record)


def _config_text(spec: TrialSpec, tid: str, params: dict[str, Any], cfg: SessionConfig) -> str:
    from framework.sweep.configfile import config_toml

    shown = ", ".join(f"{k} = {v!r}" for k, v in params.items())
    path = trials_dir(spec.out) / tid / CONFIG_NAME
    reruns = [
        f"rerun: market-maker backtest --recording {loc} --config {path} --seed {spec.seed}"
        for loc in spec.recordings
    ]
    return config_toml(cfg, "\n".join([f"market-maker sweep trial {tid}: {shown}", *reruns]))


def _run_one(
    spec: TrialSpec, cfg: SessionConfig, location: str, name: str, staging: Path, tid: str
) -> dict[str, Any]:
    """The backtest of one recording and its readiness, as a results row."""
    from framework.calibration.readiness import assess
    from framework.environments.backtest import run_backtest
    from framework.sweep.data import local_recording

    journal = staging / name
    try:
        result = run_backtest(
            local_recording(location), config=cfg, out=journal, seed=spec.seed, progress=False
        )
        verdict = assess(journal, cfg.calibration)
    except Exception as exc:  # the trial's failure is its result; the sweep goes on
        row = _error_row(location, exc)
    else:
        row = {
            "recording": location,
            "status": "ok",
            "error": None,
            **summary_figures(result.summary),
            **_readiness_figures(verdict),
        }
    if journal.exists():
        row["journal"] = f"trials/{tid}/{name}"
        if spec.keep == "summary":
            _keep_summary(journal)
    return row


def _error_row(location: str, exc: BaseException) -> dict[str, Any]:
    message = " ".join(f"{type(exc).__name__}: {exc}".split())
    return {"recording": location, "status": "error", "error": message}


def summary_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """A backtest summary as flat figures: ``fills_by_rule`` as ``fills_<rule>``, the
    estimator table as ``<estimator>_n_obs`` and ``<estimator>_converged``."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key == "fills_by_rule":
            out.update({f"fills_{rule}": n for rule, n in value.items()})
        elif key == "estimators":
            for e in value:
                out[f"{e['estimator']}_n_obs"] = e["n_obs"]
                out[f"{e['estimator']}_converged"] = e["converged"]
        elif value is None or isinstance(value, int | float | str):
            out[key] = value
    return out


def _readiness_figures(r: Any) -> dict[str, Any]:
    return {
        "verdict": r.verdict,
        "seed_verdict": r.seed_verdict,
        "converged": r.converged,
        "kelly_fills": r.kelly_fills,
        "edge_bps": r.edge_bps,
        "edge_lo": r.edge_lo,
        "edge_hi": r.edge_hi,
        "edge_fills": r.edge_fills,
    }


def _keep_summary(journal: Path) -> None:
    """Drop a journal's tables, keeping its manifest (which holds the summary)."""
    for entry in journal.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)


def _commit(staging: Path, final: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write ``result.json`` and rename the staging directory to ``final`` (atomic).

    When ``final`` exists already (another attempt of the same trial committed first)
    this attempt is dropped and the committed record returned: both are the same
    deterministic backtests.
    """
    result = staging / RESULT_NAME
    tmp = temp_path(result)
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    commit(tmp, result)
    try:
        os.rename(staging, final)
    except OSError:
        if not (final / RESULT_NAME).exists():
            raise
        shutil.rmtree(staging, ignore_errors=True)
        return json.loads((final / RESULT_NAME).read_text())
    fsync_dir(final.parent)
    return record


def committed_records(out: Path | str) -> dict[int, dict[str, Any]]:
    """Every committed trial's record under ``OUT/trials/``, by index."""
    root = trials_dir(out)
    records: dict[int, dict[str, Any]] = {}
    if not root.is_dir():
        return records
    for entry in sorted(root.iterdir()):
        path = entry / RESULT_NAME
        if entry.name.isdigit() and path.is_file():
            record = json.loads(path.read_text())
            records[int(record["trial"])] = record
    return records


def clear_staging(out: Path | str) -> None:
    """Remove the lost attempts of an earlier run (never renamed, so never finished)."""
    shutil.rmtree(trials_dir(out) / STAGING, ignore_errors=True)
