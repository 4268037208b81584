"""The Q-learner's row scans in the kernel are the Python they replaced, bit for bit.

The references are ``_argmax`` and ``_max`` as they were in ``strategies/qlearning.py``,
verbatim; random rows with ties, NaN, infinities and signed zeros must give the same
index and the same float (compared as IEEE bytes), compiled and interpreted.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

from framework.kernel import qtable
from tests.kernel.source import assert_compiled_where_built
from tests.kernel.source import interpreted as interpreted_source


def ref_argmax(row: list[float]) -> int:
    best, at = row[0], 0
    if best != best:
        return 0
    for i in range(1, len(row)):
        v = row[i]
        if v != v:
            return i
        if v > best:
            best, at = v, i
    return at


def ref_max(row: list[float]) -> float:
    best = row[0]
    for v in row:
        if v != v:
            return v
        if v > best:
            best = v
    return best


@pytest.fixture(scope="module")
def interpreted() -> Any:
    """The module's source, imported as plain Python beside whatever the kernel loaded."""
    return interpreted_source("qtable")


def _row(rng: random.Random) -> list[float]:
    pool = [0.0, -0.0, 1.5, -2.25, math.inf, -math.inf, math.nan]
    n = rng.randint(1, 15)
    return [
        rng.choice(pool) if rng.random() < 0.3 else round(rng.gauss(0, 3), rng.choice((1, 6)))
        for _ in range(n)
    ]


def test_the_scans_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(9)
    for _ in range(5000):
        row = _row(rng)
        for mod in (qtable, interpreted):
            assert mod.row_argmax(row) == ref_argmax(row), row
            got, want = mod.row_max(row), ref_max(row)
            assert struct.pack("<d", got) == struct.pack("<d", want), row


def test_the_compiled_module_is_loaded_where_built() -> None:
    assert_compiled_where_built(qtable)


def ref_step(row, counts, a, reward, discount, omega, next_row, eps0, eps_min, trust):
    """The Q-learner's step as its Python was: Watkins' update, then ε and the greedy pick."""
    from framework.kernel.fpmath import pow as fpow

    n = counts[a]
    alpha = 1.0 / fpow(1.0 + n, omega)
    target = reward + discount * ref_max(next_row)
    row[a] += alpha * (target - row[a])
    counts[a] = n + 1
    eps = eps0 / (1.0 + sum(counts) / 100.0)
    eps = eps if eps > eps_min else eps_min
    g = ref_argmax(row)
    return eps, (g if counts[g] >= trust else 7)


def test_the_step_matches_its_python_compiled_and_interpreted(interpreted: Any) -> None:
    rng = random.Random(4)
    for _ in range(3000):
        row, next_row = _row(rng), _row(rng)
        counts = [rng.randint(0, 60) for _ in row]
        a = rng.randrange(len(row))
        args = (rng.gauss(0, 10), rng.choice((0.9, 0.95)), rng.choice((0.5, 0.7)))
        eps0, eps_min, trust = rng.choice((0.2, 0.5)), 0.02, rng.choice((0, 30))
        want_row, want_counts = list(row), list(counts)
        want = ref_step(want_row, want_counts, a, *args, next_row, eps0, eps_min, trust)
        for mod in (qtable, interpreted):
            got_row, got_counts = list(row), list(counts)
            mod.watkins(got_row, got_counts, a, *args, next_row)
            eps = mod.epsilon(got_counts, eps0, eps_min)
            pick = mod.greedy(got_row, got_counts, trust, 7)
            assert [struct.pack("<d", v) for v in got_row] == [
                struct.pack("<d", v) for v in want_row
            ]
            assert got_counts == want_counts and (eps, pick) == want


def ref_state_index(inv_frac: float, regime: int, imbalance: float) -> int:
    """strategies.qlearning.state_index as its Python was (bisect over the edges)."""
    import bisect

    inv = bisect.bisect_right((-0.6, -0.2, 0.2, 0.6), inv_frac) if inv_frac == inv_frac else 2
    reg = regime if 0 <= regime < 3 else 0
    imb = bisect.bisect_right((-1.0 / 3.0, 1.0 / 3.0), imbalance) if imbalance == imbalance else 1
    return (inv * 3 + reg) * 3 + imb


def test_the_state_index_matches_the_bisect_reference(interpreted: Any) -> None:
    rng = random.Random(4)
    edges = [-0.6, -0.2, 0.2, 0.6, -1.0 / 3.0, 1.0 / 3.0]
    pool = [*edges, 0.0, -0.0, math.inf, -math.inf, math.nan]
    pool += [math.nextafter(e, d) for e in edges for d in (-math.inf, math.inf)]
    for _ in range(20000):
        inv = rng.choice(pool) if rng.random() < 0.5 else rng.uniform(-1.5, 1.5)
        imb = rng.choice(pool) if rng.random() < 0.5 else rng.uniform(-1.0, 1.0)
        reg = rng.randint(-1, 4)
        want = ref_state_index(inv, reg, imb)
        for mod in (qtable, interpreted):
            assert mod.state_index(inv, reg, imb) == want, (inv, reg, imb)
    for ratio in (1.25, math.nextafter(1.25, 2.0), 0.0, math.nan, math.inf):
        want = 1 if ratio > 1.25 else 0
        assert qtable.regime_proxy(ratio) == interpreted.regime_proxy(ratio) == want
