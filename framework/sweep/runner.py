"""Running a sweep's trials on Ray: Ray Tune schedules them, a plan chooses them.

Ray Tune drives the trials: a :class:`PlanSearcher` (a Tune ``Searcher``) hands it the
plan's trials (grid, seeded random, or Optuna TPE; :mod:`framework.sweep.plan`), Tune
runs each as a function trainable with one CPU on a worker of the Ray cluster, at most
``workers`` at a time, reusing the workers' processes between trials, and tells the
searcher each result.  A worker lost mid-trial (its process or node gone) is retried by
Tune up to :data:`MAX_FAILURES` times (``FailureConfig(max_failures=...)``); a trial
still lost after that is recorded as an error but not committed, so ``--resume``
runs it again.  A trial whose *backtest* fails is committed with its error: running it
again would fail the same way.

Ray runs on the local machine unless ``address`` names a cluster (``auto`` from a node
of it, ``ray://head:10001`` from outside).  On a cluster the driver ships its own
``framework`` and ``strategies`` packages to the workers (``runtime_env`` py_modules),
so every trial runs the driver's code; the nodes need the same dependencies installed
(``requirements.lock``), and OUT and local ``--recording`` paths must be on a
filesystem every node mounts at the same path (or the recordings given by URI).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.search import Searcher

from framework.sweep.plan import DONE, WAIT, Ask, Plan
from framework.sweep.trial import TrialSpec, run_trial, trial_id

__all__ = ["MAX_FAILURES", "OBJECT_STORE_BYTES", "PlanSearcher", "ray_session", "run_trials"]

#: Times Tune restarts a trial whose worker was lost before giving up on it.
MAX_FAILURES = 3

#: Object store of a local Ray instance: trials pass only small dicts through it.
OBJECT_STORE_BYTES = 128 * 1024 * 1024


def _quiet_ray() -> None:
    """Keep Ray and Tune to themselves: no usage report over the network, no logger
    files, no status tables; the sweep prints its own progress and errors."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # the C++ core's warnings
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no experiment box on stdout
    for name in ("ray", "ray.tune", "ray.train", "ray.data"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def ray_session(address: str | None, workers: int | None) -> Iterator[int]:
    """Ray for the sweep; yields how many trials may run at once.

    An already initialised Ray (a test's, a notebook's) is used as it is and left
    running.  Otherwise a local instance is started (``workers`` CPUs, default all of
    this machine's; no dashboard; a small object store) or the cluster at ``address``
    is joined, and shut down at the end.
    """
    import ray

    import framework
    import strategies

    _quiet_ray()
    started = False
    if not ray.is_initialized():
        common = {"log_to_driver": False, "logging_level": logging.ERROR}
        if address:
            try:
                ray.init(
                    address=address,
                    runtime_env={"py_modules": [framework, strategies]},
                    **common,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConnectionError(
                    f"--address {address}: Ray could not join that cluster ({exc}); check the "
                    "address (`ray status` on the head node prints it) and, when the cluster "
                    "uses token authentication, set RAY_AUTH_MODE=token and its token "
                    "(RAY_AUTH_TOKEN, or ~/.ray/auth_token)"
                ) from None
        else:
            ray.init(
                num_cpus=workers or os.cpu_count() or 1,
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_BYTES,
                **common,
            )
        started = True
    try:
        yield workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        if started:
            ray.shutdown()


def _trainable(config: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """One Tune trial: run and commit it; report its objective and record."""
    record = run_trial(TrialSpec.from_dict(spec), config["index"], config["params"])
    objective = record["objective"]
    return {
        "objective": float("nan") if objective is None else objective,
        "record": json.dumps(record),
    }


class PlanSearcher(Searcher):
    """A Tune searcher that hands out a plan's trials and tells it their objectives.

    ``on_record(record)`` is called in the driver for every finished trial (also one
    Tune gave up on: then with an uncommitted error record).
    """

    def __init__(
        self,
        plan: Plan,
        spec: TrialSpec,
        on_record: Callable[[dict[str, Any]], None],
        first: Ask | None = None,
    ) -> None:
        super().__init__(metric="objective", mode=spec.objective.mode)
        self.plan = plan
        self.spec = spec
        self.on_record = on_record
        self._first = first
        self._asked: dict[str, Ask] = {}  # Tune trial id -> our trial
        self.trials: dict[str, Any] = {}  # Tune trial id -> Tune Trial (set by the callback)

    def __reduce__(self) -> tuple:
        # Tune pickles its searcher and callbacks into its experiment snapshot, for
        # Tuner.restore; a sweep never restores that way (it resumes from OUT/trials),
        # and the live plan, progress bar and Optuna study stay in this process.
        return (Searcher, ())

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        ask, self._first = self._first or self.plan.ask(), None
        if ask == WAIT:
            return None
        if ask == DONE:
            return Searcher.FINISHED
        assert isinstance(ask, Ask)
        self._asked[trial_id] = ask
        return {"index": ask.index, "params": ask.params}

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        ask = self._asked.pop(trial_id)
        if error or not result or "record" not in result:
            record = self._lost(ask, self.trials.get(trial_id))
        else:
            record = json.loads(result["record"])
        self.plan.tell(ask.index, record["objective"])
        self.on_record(record)

    def _lost(self, ask: Ask, trial: Any) -> dict[str, Any]:
        """The record of a trial Tune gave up on (never committed: --resume reruns it)."""
        failures = getattr(trial, "num_failures", None)
        message = (
            f"Ray lost this trial's worker {failures} times (max_failures={MAX_FAILURES}); "
            "not committed: --resume runs it again"
        )
        return {
            "trial": ask.index,
            "id": trial_id(ask.index),
            "params": ask.params,
            "seed": self.spec.seed,
            "status": "lost",
            "error": message,
            "objective": None,
            "rows": [
                {"recording": loc, "status": "lost", "error": message}
                for loc in self.spec.recordings
            ],
            "worker": {},
        }


class _Watch(tune.Callback):
    """Keeps the Tune trial objects (for their failure counts) and reports retries."""

    def __init__(self, searcher: PlanSearcher, on_retry: Callable[[int, int], None]) -> None:
        self.searcher = searcher
        self.on_retry = on_retry

    def __reduce__(self) -> tuple:
        return (tune.Callback, ())  # see PlanSearcher.__reduce__

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.searcher.trials[trial.trial_id] = trial

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        ask = self.searcher._asked.get(trial.trial_id)
        if ask is not None:
            self.on_retry(ask.index, trial.num_failures)


def _tune_name(trial: Any) -> str:
    return f"trial_{trial.trial_id}"


def run_trials(
    plan: Plan,
    spec: TrialSpec,
    *,
    workers: int,
    first: Ask,
    on_record: Callable[[dict[str, Any]], None],
    on_retry: Callable[[int, int], None],
) -> None:
    """Run the plan's trials on the current Ray session, ``workers`` at a time."""
    searcher = PlanSearcher(plan, spec, on_record, first=first)
    trainable = tune.with_resources(
        tune.with_parameters(_trainable, spec=spec.to_dict()), {"cpu": 1}
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=-1,  # as many as the searcher hands out
            max_concurrent_trials=workers,
            reuse_actors=True,  # a worker process (and its imports) serves many trials
            trial_name_creator=_tune_name,
            trial_dirname_creator=_tune_name,  # Tune's default spells out every parameter
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(Path(spec.out).resolve() / ".ray"),
            verbose=0,
            log_to_file=False,
            failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
            callbacks=[_Watch(searcher, on_retry)],
        ),
    )
    tuner.fit()
