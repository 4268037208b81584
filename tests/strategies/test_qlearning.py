"""The Q-learning layer: states, updates, seeded exploration, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from strategies.qlearning import (
    ACTIONS,
    CALM,
    DEFAULT_ACTION,
    N_STATES,
    TRENDING,
    VOLATILE,
    QLearner,
    regime_proxy,
    state_index,
)


def test_states_cover_every_bucket_once():
    seen = {
        state_index(inv, vol, imb)
        for inv in (-0.9, -0.4, 0.0, 0.4, 0.9)
        for vol in (0, 1, 2)
        for imb in (-0.9, 0.0, 0.9)
    }
    assert seen == set(range(N_STATES))


def test_update_moves_q_towards_the_reward_and_counts_visits():
    ql = QLearner(discount=0.5)
    ql.update(3, 4, 1.0, 7)
    assert ql.q[3][4] == pytest.approx(1.0)  # alpha = 1 on the first visit
    assert ql.n[3][4] == 1
    ql.update(3, 4, -1.0, 7)
    assert -1.0 < ql.q[3][4] < 1.0 and ql.n[3][4] == 2


def test_greedy_action_needs_trust_visits():
    ql = QLearner(trust_visits=3, epsilon0=0.05, epsilon_min=0.02)
    ql.q[0][0] = 5.0
    assert ql.greedy(0) == DEFAULT_ACTION
    ql.n[0][0] = 3
    assert ql.greedy(0) == 0


def test_choices_are_reproducible_from_the_seed():
    def run(seed):
        ql, rng = QLearner(epsilon0=0.5), np.random.Generator(np.random.PCG64(seed))
        return [ql.choose(s % N_STATES, rng) for s in range(200)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert len(set(run(1))) > 3  # it explores


def test_checkpoint_round_trips_and_seeds_only_cold_states():
    ql = QLearner()
    ql.update(1, 2, 3.0, 1)
    data = json.loads(json.dumps(ql.to_dict()))
    other = QLearner()
    other.load(data)
    assert other.q == ql.q and other.n == ql.n
    live = QLearner()
    live.update(1, 0, -1.0, 1)  # state 1 visited live: kept
    seeded = live.seed_from(data)
    assert seeded == N_STATES - 1
    assert live.q[1][2] == 0.0 and live.q[1][0] != 0.0


def test_checkpoint_with_other_buckets_is_refused():
    data = QLearner().to_dict()
    data["inventory_edges"] = [-0.5, 0.5]
    with pytest.raises(ValueError, match="inventory_edges"):
        QLearner().load(data)
    assert len(ACTIONS) == 15


def _numpy_reference(ql, steps):
    from framework.kernel import fpmath

    """The learner as it was on numpy arrays (argmax, max, np.int64 counts)."""
    q = np.zeros((N_STATES, len(ACTIONS)))
    n = np.zeros((N_STATES, len(ACTIONS)), dtype=np.int64)
    out = []
    for s, a, r, s2 in steps:
        na = n[s, a]
        # the learning rate's power is fpmath's (the same bits on every CPU), not numpy's
        alpha = 1.0 / fpmath.pow(1.0 + float(na), ql.omega)
        q[s, a] += alpha * (r + ql.discount * float(q[s2].max()) - q[s, a])
        n[s, a] = na + 1
        best = int(np.argmax(q[s2]))
        eps = max(ql.epsilon_min, ql.epsilon0 / (1.0 + n[s2].sum() / 100.0))
        out.append((best, float(eps)))
    return q, n, out


def test_plain_lists_give_numpy_s_bits():
    from framework.kernel.qtable import epsilon, row_argmax

    rng = np.random.Generator(np.random.PCG64(3))
    steps = [
        (
            int(rng.integers(9)),
            int(rng.integers(15)),
            float(rng.normal()) * 10.0 ** int(rng.integers(-6, 6)),
            int(rng.integers(9)),
        )
        for _ in range(3000)
    ]
    steps.append((0, 0, float("nan"), 1))  # NaN propagates as numpy's max/argmax do
    steps.append((1, 3, 0.0, 0))
    ql = QLearner()
    got = []
    for s, a, r, s2 in steps:
        ql.update(s, a, r, s2)
        got.append((row_argmax(ql.q[s2]), epsilon(ql.n[s2], ql.epsilon0, ql.epsilon_min)))
    q, n, want = _numpy_reference(ql, steps)
    assert np.array_equal(np.array(ql.q), q, equal_nan=True)
    assert (np.array(ql.n) == n).all()
    assert got == want


def test_regime_proxy_before_the_hmm_has_a_fit():
    assert regime_proxy(1.0) == CALM and regime_proxy(1.3) == VOLATILE
    assert regime_proxy(float("nan")) == CALM
    assert state_index(0.0, TRENDING, 0.0) != state_index(0.0, CALM, 0.0)
    assert state_index(0.0, 7, 0.0) == state_index(0.0, CALM, 0.0)  # unknown -> calm


def test_strategy_state_follows_the_regime_estimator_once_fitted():
    from tests.strategies.venue import Harness

    class Regime:  # stands in for the regime estimator: only .state is read
        name = "regime"
        state = -1

        def bind(self, engine):
            pass

        def snapshot(self):
            return {}

    h = Harness({"qlearning": True})
    reg = Regime()
    h.mm.regime = reg  # as bind() finds it by name in a full engine
    h.book(40.0, 40.01)
    h.mm.sigma_bps, h.mm.sigma_slow = 4.0, 2.0  # sigma twice its average: volatile proxy
    assert (h.mm._state() // 3) % 3 == VOLATILE  # no fit yet: the proxy
    for label in (CALM, VOLATILE, TRENDING):
        reg.state = label
        s = h.mm._state()
        assert (s // 3) % 3 == label  # the regime digit of the state id
    reg.state = -1
    assert (h.mm._state() // 3) % 3 == VOLATILE
