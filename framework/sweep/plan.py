"""Which trials a sweep runs, in which order: grid, seeded random, or Optuna TPE.

A plan hands out ``(index, params)`` pairs and is told each trial's objective.  What it
hands out depends only on the space, the seed, the number of trials, the batch size
and the objectives it is told, never on timing:

* ``grid`` and ``random`` fix every trial before the first one runs (random draws with
  ``random.Random(seed)``, one uniform per parameter per trial in space order), so the
  set of trials is the same whatever the number of workers;
* ``optuna`` asks its study (TPE sampler seeded with the sweep's seed) for a batch of
  ``batch`` trials at a time, and asks for the next batch only when every trial of
  this one is told, in index order.  Its suggestions therefore depend on the batch
  size (the sweep uses its number of workers) but not on which trial finished first:
  the same space, seed, trials and workers give the same trials, run after run.

Resuming: a plan built with ``committed`` (trials whose results are on disk) replays the
same sequence, checks each committed trial got the same parameters, and tells it its
recorded objective instead of handing it out again.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import attrs

from framework.exits import UsageError
from framework.sweep.objective import Objective
from framework.sweep.space import Choice, Range, Space, SpaceError

__all__ = ["DONE", "SEARCHES", "WAIT", "Ask", "Plan", "ResumeError", "make_plan"]

SEARCHES = ("grid", "random", "optuna")

#: Trials of ``random`` and ``optuna`` when ``--trials`` is not given.
DEFAULT_TRIALS = 20

WAIT = "wait"  # every trial of this batch is handed out; ask again once they are told
DONE = "done"  # every trial is handed out


class ResumeError(UsageError):
    """A committed trial's parameters differ from what the sweep asks for again."""


@attrs.frozen
class Ask:
    index: int
    params: dict[str, Any]


@attrs.frozen
class Committed:
    """A trial whose result is on disk: what it ran with and its objective."""

    params: dict[str, Any]
    objective: float | None


class Plan:
    """A fixed list of trials (grid, random), each handed out once."""

    def __init__(
        self, trials: list[dict[str, Any]], committed: dict[int, Committed] | None = None
    ) -> None:
        self.total = len(trials)
        self.committed = committed or {}
        self._queue = deque(enumerate(trials))
        self.told: dict[int, float | None] = {}

    def ask(self) -> Ask | str:
        while self._queue:
            index, params = self._queue.popleft()
            if self._skip(index, params):
                continue
            return Ask(index, params)
        return DONE

    def tell(self, index: int, objective: float | None) -> None:
        self.told[index] = objective

    def _skip(self, index: int, params: dict[str, Any]) -> bool:
        """Whether trial ``index`` is committed (then it is told its objective)."""
        done = self.committed.get(index)
        if done is None:
            return False
        if done.params != params:
            raise ResumeError(
                f"--resume: trial {index} on disk ran with {done.params}, but this sweep asks for "
                f"{params} there; resume with the flags and space file it was started "
                "with, or choose a new --out"
            )
        self.tell(index, done.objective)
        return True


class OptunaPlan(Plan):
    """Optuna's TPE sampler, asked ``batch`` trials at a time (see the module doc)."""

    def __init__(
        self,
        space: Space,
        objective: Objective,
        *,
        trials: int,
        seed: int,
        batch: int,
        committed: dict[int, Committed] | None = None,
    ) -> None:
        import optuna

        super().__init__([], committed)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.total = trials
        self.batch = max(1, batch)
        self.space = space
        self._study = optuna.create_study(
            direction="maximize" if objective.mode == "max" else "minimize",
            sampler=optuna.samplers.TPESampler(seed=seed),
        )
        self._dists = {p.key: _distribution(p) for p in space.params}
        self._asked = 0
        self._trials: dict[int, Any] = {}  # index -> optuna trial awaiting its objective

    def ask(self) -> Ask | str:
        while True:
            while self._queue:
                index, params = self._queue.popleft()
                if not self._skip(index, params):
                    return Ask(index, params)
            if any(i not in self.told for i in self._trials):
                return WAIT
            self._tell_batch()
            if self._asked >= self.total:
                return DONE
            for _ in range(min(self.batch, self.total - self._asked)):
                trial = self._study.ask(fixed_distributions=self._dists)
                self._trials[self._asked] = trial
                self._queue.append((self._asked, self._params(trial.params)))
                self._asked += 1

    def _tell_batch(self) -> None:
        """Tell the study the finished batch, in index order (so the next batch's
        suggestions never depend on which trial finished first)."""
        from optuna.trial import TrialState

        for index in sorted(self._trials):
            value = self.told[index]
            if value is None:
                self._study.tell(self._trials[index], state=TrialState.FAIL)
            else:
                self._study.tell(self._trials[index], value)
        self._trials.clear()

    def _params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Optuna's values as the trial's: choices by index, continuous draws tidied."""
        out = {}
        for p in self.space.params:
            v = raw[p.key]
            out[p.key] = p.values[v] if isinstance(p, Choice) else p.clip(v)
        return out


def _distribution(p: Choice | Range) -> Any:
    """The Optuna distribution of a parameter (choices by index: any TOML value goes)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(p, Choice):
        return CategoricalDistribution(list(range(len(p.values))))
    if p.integer:
        return IntDistribution(int(p.low), int(p.high), log=p.log, step=int(p.step or 1))
    if p.step is not None:
        high = p.grid()[-1]  # Optuna wants high - low divisible by step
        return FloatDistribution(p.low, high, step=p.step)
    return FloatDistribution(p.low, p.high, log=p.log)


def random_trials(space: Space, trials: int, seed: int) -> list[dict[str, Any]]:
    """``trials`` parameter sets drawn with ``random.Random(seed)``: one uniform per
    parameter per trial, in space order (only ``Random.random``, whose sequence Python
    keeps stable across versions and platforms)."""
    rng = random.Random(seed)
    return [{p.key: p.draw(rng.random()) for p in space.params} for _ in range(trials)]


def make_plan(
    search: str,
    space: Space,
    objective: Objective,
    *,
    trials: int | None,
    seed: int,
    batch: int,
    committed: dict[int, Committed] | None = None,
) -> Plan:
    """The plan of a sweep.  ``grid`` runs every combination (the first ``trials`` when
    given); ``random`` and ``optuna`` run ``trials`` (default 20).

    Raises
    ------
    SpaceError
        ``grid`` over a continuous range.
    """
    if search == "grid":
        try:
            grid = space.grid(trials)
        except SpaceError as exc:  # a continuous range has no grid
            raise SpaceError(f"{space.source}: {exc}") from None
        return Plan(grid, committed)
    n = trials or DEFAULT_TRIALS
    if search == "random":
        return Plan(random_trials(space, n, seed), committed)
    if search == "optuna":
        return OptunaPlan(space, objective, trials=n, seed=seed, batch=batch, committed=committed)
    raise SpaceError(f"--search {search!r}: use one of {', '.join(SEARCHES)}")
