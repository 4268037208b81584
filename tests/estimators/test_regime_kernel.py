"""The regime estimator's per-bucket kernel is bit-identical to the Python it replaced.

The references below are ``bucket_sums``, ``argmax_path`` / ``state_runs``,
``drift_stats`` and ``RegimeEstimator._filter`` as they were in
``framework/estimators/regime.py`` before they moved to
:mod:`framework.kernel.regime_buckets`, verbatim but for the ``self``.  Every result must
match to the last bit (compared as IEEE bytes), on random buckets, runs and filter
states and on the edge cases (even and odd buckets, a zero median, ties, K = 2 and 3),
and the compiled module must agree with its own interpreted source.

Run as it is, the kernel is the compiled extension where one is built (a test insists
on it), else the interpreted source; ``MM_KERNEL=python`` checks the latter.
"""

from __future__ import annotations

import math
import random
import struct
from collections import deque
from typing import Any

import pytest

from framework.kernel import regime_buckets
from framework.kernel.fpmath import exp
from tests.kernel.source import assert_compiled_where_built
from tests.kernel.source import interpreted as interpreted_source

# ---- the reference: framework/estimators/regime.py before the kernel, verbatim -----------


def ref_bucket_sums(rets: list[float], clip_mad: float) -> tuple[float, float]:
    a = sorted([abs(r) for r in rets])
    n = len(a)
    med = a[n // 2] if n % 2 else 0.5 * (a[n // 2 - 1] + a[n // 2])
    h = clip_mad * med / 0.6745 if med > 0 else math.inf
    s = q = 0.0
    for r in rets:
        if r > h:
            r = h
        elif r < -h:
            r = -h
        s += r
        q += r * r
    return s, q


def ref_argmax_path(gamma: list[list[float]]) -> list[int]:
    k = len(gamma)
    path = []
    for t in range(len(gamma[0])):
        j, best = 0, gamma[0][t]
        for i in range(1, k):
            if gamma[i][t] > best:
                j, best = i, gamma[i][t]
        path.append(j)
    return path


def ref_state_runs(path: list[int], x: list[float]) -> list[list[Any]]:
    runs: list[list[Any]] = []
    for j, xt in zip(path, x, strict=True):
        if runs and runs[-1][0] == j:
            run = runs[-1]
            run[1] += xt
            run[2] += 1
        else:
            runs.append([j, xt, 1])
    return runs


def ref_drift_stats(runs: Any, k: int) -> list[tuple[float, int, float]]:
    chi = [0.0] * k
    count = [0] * k
    excess = [0.0] * k
    n2 = [0.0] * k
    for j, s_run, n_run in runs:
        ss = s_run * s_run
        chi[j] += ss / n_run
        count[j] += 1
        excess[j] += ss - n_run
        n2[j] += float(n_run * n_run)
    return [
        (chi[j], count[j], math.sqrt(max(0.0, excess[j]) / n2[j]) if n2[j] > 0 else 0.0)
        for j in range(k)
    ]


def ref_filter(p: list[float], a_cols: list[list[float]], filt: Any, y: Any) -> list[float]:
    mus, ivs, consts = filt
    y0, y1 = y
    logb = []
    for j in range(len(mus)):
        mu, iv = mus[j], ivs[j]
        d0, d1 = y0 - mu[0], y1 - mu[1]
        logb.append(consts[j] - 0.5 * (d0 * d0 * iv[0] + d1 * d1 * iv[1]))
    mx = max(logb)
    x = []
    total = 0.0
    for col, lb in zip(a_cols, logb, strict=True):
        s = 0.0
        for pi, aij in zip(p, col, strict=True):
            s += pi * aij
        v = s * exp(lb - mx)
        x.append(v)
        total += v
    return [v / total for v in x]


# ---- helpers -----------------------------------------------------------------------------


def _bits(x: Any) -> Any:
    """Floats as their IEEE bytes, recursively (so -0.0 and NaN compare exactly)."""
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, (list, tuple)):
        return type(x)(_bits(v) for v in x)
    return x


@pytest.fixture(scope="module")
def interpreted() -> Any:
    """The module's source, imported as plain Python beside whatever the kernel loaded."""
    return interpreted_source("regime_buckets")


def _impls(interpreted: Any) -> list[Any]:
    return [regime_buckets, interpreted]


def _bucket(rng: random.Random) -> list[float]:
    n = rng.randint(1, 40)
    out = [rng.gauss(0.0, 1e-4) for _ in range(n)]
    for _ in range(rng.randint(0, 3)):  # jumps
        out[rng.randrange(n)] = rng.choice([-1.0, 1.0]) * rng.uniform(1e-3, 1e-2)
    if rng.random() < 0.2:  # mostly unchanged mids: a zero median, no clip
        out = [0.0 if rng.random() < 0.7 else v for v in out]
    return out


# ---- tests -------------------------------------------------------------------------------


def test_the_compiled_module_is_loaded_where_built() -> None:
    assert_compiled_where_built(regime_buckets)


def test_bucket_sums_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(7)
    cases = [[1e-4], [0.0, 0.0], [1e-4, -1e-4], [0.0, 0.0, 0.0, 5e-3], [-0.0, 2e-4, 3e-4]]
    cases += [_bucket(rng) for _ in range(3000)]
    for rets in cases:
        for clip in (4.0, 0.5, math.inf):
            want = _bits(ref_bucket_sums(rets, clip))
            for impl in _impls(interpreted):
                assert _bits(impl.bucket_sums(rets, clip)) == want, (rets, clip)


def test_argmax_runs_and_drift_stats_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(11)
    for trial in range(600):
        k = 2 if trial % 2 else 3
        t_len = rng.randint(1, 300)
        gamma = [[rng.random() for _ in range(t_len)] for _ in range(k)]
        if trial % 5 == 0:  # ties: the first state wins
            for t in range(0, t_len, 3):
                for i in range(k):
                    gamma[i][t] = 0.5
        x = deque(rng.gauss(0.0, 1.0) for _ in range(t_len))
        want_runs = ref_state_runs(ref_argmax_path(gamma), list(x))
        want_drift = _bits(ref_drift_stats(want_runs, k))
        for impl in _impls(interpreted):
            runs = impl.argmax_runs(gamma, x)
            assert _bits(runs) == _bits(want_runs)
            # the estimator keeps runs in a deque and edits them in place
            assert _bits(impl.drift_stats(deque(runs), k)) == want_drift
    # a state with no run, and one run whose summed return is 0
    runs = [[0, 0.0, 3], [2, 1.5, 1]]
    for impl in _impls(interpreted):
        assert _bits(impl.drift_stats(runs, 3)) == _bits(ref_drift_stats(runs, 3))


def test_argmax_runs_refuses_mismatched_lengths(interpreted: Any) -> None:
    for impl in _impls(interpreted):
        with pytest.raises(ValueError, match="bucket values"):
            impl.argmax_runs([[0.1, 0.2], [0.9, 0.8]], [1.0])


def test_filter_step_matches_the_reference(interpreted: Any) -> None:
    rng = random.Random(5)
    for trial in range(3000):
        k = 2 if trial % 3 == 0 else 3
        mus = tuple((rng.gauss(-18.0, 2.0), rng.gauss(0.0, 0.5)) for _ in range(k))
        ivs = tuple((1.0 / rng.uniform(0.01, 4.0), 1.0 / rng.uniform(0.05, 2.0)) for _ in range(k))
        consts = tuple(rng.gauss(-1.0, 1.0) for _ in range(k))
        raw = [rng.random() + 1e-12 for _ in range(k)]
        p = [v / sum(raw) for v in raw]
        a_cols = [[max(rng.random(), 1e-300) for _ in range(k)] for _ in range(k)]
        # far outliers too: emissions that underflow for all but one state
        y = (rng.gauss(-18.0, 30.0 if trial % 10 == 0 else 2.0), rng.gauss(0.0, 1.0))
        want = _bits(ref_filter(p, a_cols, (mus, ivs, consts), y))
        for impl in _impls(interpreted):
            got = impl.filter_step(p, a_cols, mus, ivs, consts, y[0], y[1])
            assert _bits(got) == want


def test_filter_step_refuses_a_mismatched_state(interpreted: Any) -> None:
    mus = ((0.0, 0.0), (1.0, 1.0))
    ivs = ((1.0, 1.0), (1.0, 1.0))
    for impl in _impls(interpreted):
        with pytest.raises(ValueError, match="for 2 states"):
            impl.filter_step([1.0], [[1.0, 0.0], [0.0, 1.0]], mus, ivs, (0.0, 0.0), 0.0, 0.0)
        with pytest.raises(ZeroDivisionError):  # every state impossible: as Python fails
            impl.filter_step([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], mus, ivs, (0.0, 0.0), 0.0, 0.0)


def test_the_return_bucket_hands_over_each_full_bucket(interpreted: Any) -> None:
    """The clock's returns reach the estimator once a bucket: the bucket's returns in
    tick order (None for invalid ticks) and the extra ticks gap returns spanned."""
    for impl in _impls(interpreted):
        got: list[tuple[list, int]] = []
        b = impl.ReturnBucket(3, lambda rets, extra, got=got: got.append((rets, extra)))
        ticks = [(1e-4, 1), (None, 0), (2e-4, 3), (-1e-4, 1), (5e-5, 2), (0.0, 1), (1e-5, 1)]
        for t, (r, k) in enumerate(ticks):
            b.on_return(t, r, k)
        assert got == [([1e-4, None, 2e-4], 2), ([-1e-4, 5e-5, 0.0], 1)]
        assert b.rets == [1e-5] and b.extra_k == 0  # the open bucket
