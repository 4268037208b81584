"""Plans: what a sweep runs depends on the space, the seed, the trials and (Optuna) the
batch size, never on which trial finishes first; a resumed plan replays the same
sequence and hands out only what is not committed."""

from __future__ import annotations

import random
import tomllib

import pytest

from framework.exits import UsageError
from framework.sweep.objective import FIGURES, Objective, parse_objective
from framework.sweep.plan import DONE, WAIT, Ask, Committed, ResumeError, make_plan
from framework.sweep.space import SpaceError, parse_space

SPACE = parse_space(
    tomllib.loads(
        """
        [strategy]
        gamma_per_bps = { low = 0.05, high = 1.0, log = true }
        requote_ticks = { low = 1, high = 4, int = true }
        spread_profile = ["hip3", "aggressive", "default"]
        [estimators.kelly]
        c = { low = 0.05, high = 0.3, step = 0.05 }
        """
    ),
    "--space s.toml",
)
GOAL = Objective("net_pnl_usd", "max")


def fake_objective(params: dict) -> float:
    """A smooth function of the parameters (what a backtest would return)."""
    profile = {"hip3": 0.3, "aggressive": 0.1, "default": -0.2}
    return (
        profile[params["strategy.spread_profile"]]
        - (params.get("strategy.gamma_per_bps", 0.3) - 0.3) ** 2
        + 0.01 * params["strategy.requote_ticks"]
        - abs(params.get("estimators.kelly.c", 0.15) - 0.15)
    )


def drive(plan, workers: int, order_seed: int | None, fail: set[int] = frozenset()) -> dict:
    """Run a plan as a pool of ``workers`` would: up to ``workers`` trials in flight,
    each finishing in an order drawn with ``order_seed`` (None: first in, first out).
    Returns {index: params}."""
    rng = random.Random(order_seed)
    running: list[Ask] = []
    seen: dict[int, dict] = {}
    while True:
        while len(running) < workers:
            ask = plan.ask()
            if ask in (WAIT, DONE):
                break
            assert ask.index not in seen
            seen[ask.index] = ask.params
            running.append(ask)
        if not running:
            assert plan.ask() == DONE
            return seen
        done = running.pop(rng.randrange(len(running)) if order_seed is not None else 0)
        plan.tell(done.index, None if done.index in fail else fake_objective(done.params))


def optuna(trials=14, seed=3, batch=2, committed=None):
    return make_plan(
        "optuna", SPACE, GOAL, trials=trials, seed=seed, batch=batch, committed=committed
    )


def test_grid_runs_every_combination_last_key_fastest():
    space = parse_space(
        tomllib.loads(
            "[strategy]\nspread_profile = ['hip3', 'aggressive']\n"
            "requote_ticks = { low = 1, high = 3, int = true }"
        )
    )
    trials = drive(make_plan("grid", space, GOAL, trials=None, seed=0, batch=1), 1, None)
    assert [tuple(p.values()) for p in trials.values()] == [
        ("hip3", 1),
        ("hip3", 2),
        ("hip3", 3),
        ("aggressive", 1),
        ("aggressive", 2),
        ("aggressive", 3),
    ]
    first = drive(make_plan("grid", space, GOAL, trials=4, seed=0, batch=1), 1, None)
    assert list(first.values()) == list(trials.values())[:4]


def test_grid_over_a_continuous_range_names_it():
    with pytest.raises(SpaceError, match=r"s.toml: strategy.gamma_per_bps: a continuous range"):
        make_plan("grid", SPACE, GOAL, trials=None, seed=0, batch=1)


def test_random_is_fixed_by_the_seed_whatever_the_workers():
    one = drive(make_plan("random", SPACE, GOAL, trials=12, seed=5, batch=1), 1, None)
    two = drive(make_plan("random", SPACE, GOAL, trials=12, seed=5, batch=2), 2, 99)
    assert one == two and len(one) == 12
    other = drive(make_plan("random", SPACE, GOAL, trials=12, seed=6, batch=1), 1, None)
    assert other != one
    for params in one.values():
        assert 0.05 <= params["strategy.gamma_per_bps"] <= 1.0
        assert params["estimators.kelly.c"] in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def test_optuna_suggests_the_same_trials_whatever_order_they_finish_in():
    reference = drive(optuna(), 2, None)
    assert len(reference) == 14
    for order_seed in (1, 2, 3):
        assert drive(optuna(), 2, order_seed) == reference
    # the seed and the batch size (the sweep's workers) are what choose the trials
    assert drive(optuna(seed=4), 2, None) != reference
    assert drive(optuna(batch=1), 1, None) != reference


def test_optuna_hands_out_one_batch_then_waits_for_it():
    plan = optuna(batch=2)
    a, b = plan.ask(), plan.ask()
    assert (a.index, b.index) == (0, 1) and plan.ask() == WAIT
    plan.tell(1, 0.5)
    assert plan.ask() == WAIT
    plan.tell(0, None)  # a failed trial: Optuna is told it failed
    assert plan.ask().index == 2


@pytest.mark.parametrize("search", ["random", "optuna"])
def test_a_resumed_plan_replays_the_sequence_and_skips_committed_trials(search):
    full_plan = make_plan(search, SPACE, GOAL, trials=10, seed=7, batch=2)
    full = drive(full_plan, 2, 11, fail={3})
    committed = {
        i: Committed(full[i], None if i == 3 else fake_objective(full[i])) for i in (0, 1, 2, 3, 5)
    }
    resumed_plan = make_plan(search, SPACE, GOAL, trials=10, seed=7, batch=2, committed=committed)
    rest = drive(resumed_plan, 2, 12, fail={3})
    assert sorted(rest) == [4, 6, 7, 8, 9]
    assert {**{i: full[i] for i in committed}, **rest} == full


def test_resuming_with_other_parameters_on_disk_is_refused():
    full = drive(make_plan("random", SPACE, GOAL, trials=3, seed=7, batch=1), 1, None)
    changed = Committed({**full[0], "strategy.requote_ticks": 99}, 1.0)
    plan = make_plan("random", SPACE, GOAL, trials=3, seed=7, batch=1, committed={0: changed})
    with pytest.raises(ResumeError, match=r"--resume: trial 0 on disk ran with"):
        plan.ask()


def test_objectives_default_direction_and_unknown_keys():
    assert parse_objective("net_pnl_usd") == Objective("net_pnl_usd", "max")
    assert parse_objective("fees_usd") == Objective("fees_usd", "min")
    assert parse_objective("max:max_drawdown") == Objective("max_drawdown", "max")
    with pytest.raises(UsageError, match=r"'net_pnl': not a result figure; did you mean 'net_pn"):
        parse_objective("net_pnl")
    with pytest.raises(UsageError, match="direction must be max: or min:"):
        parse_objective("best:fills")
    assert set(FIGURES) >= {"net_pnl_usd", "fills", "volume_usd", "fees_usd", "edge_bps"}


def test_a_trials_objective_is_the_mean_over_its_recordings_when_all_ran():
    rows = [{"status": "ok", "fills": 4}, {"status": "ok", "fills": 7}]
    assert Objective("fills", "max").of(rows) == 5.5
    assert Objective("fills", "max").of([*rows, {"status": "error"}]) is None
    assert Objective("edge_bps", "max").of([{"status": "ok", "edge_bps": None}]) is None
