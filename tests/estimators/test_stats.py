"""Quantiles, the geometric MLE, markout and Kelly algebra on known numbers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from framework.estimators.adverse_selection import markout
from framework.estimators.base import chi2_quantile, n_eff_autocorr, t_quantile, z_quantile
from framework.estimators.fill_rate import poisson_glm
from framework.estimators.kappa import geometric_k
from framework.estimators.kelly import kelly_fraction
from framework.grid import tick_size


def test_quantiles_match_tables():
    assert z_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert t_quantile(0.975, 19) == pytest.approx(2.093, abs=1e-3)
    assert t_quantile(0.95, 19) == pytest.approx(1.729, abs=1e-3)
    assert t_quantile(0.95, 19.7) == t_quantile(0.95, 19)  # floored: conservative
    assert t_quantile(0.975, 60) == pytest.approx(2.000, abs=2e-3)
    assert t_quantile(0.95, 120) == pytest.approx(1.658, abs=2e-3)
    assert t_quantile(0.99, 10) == pytest.approx(2.764, abs=2e-2)
    assert chi2_quantile(0.05, 19) == pytest.approx(10.117, rel=0.01)
    assert chi2_quantile(0.975, 40) == pytest.approx(59.342, rel=0.01)
    assert chi2_quantile(0.025, 40) == pytest.approx(24.433, rel=0.01)


def test_z_quantile_is_as241_on_fpmath_s_log():
    """Within a few ulps of the stdlib's AS241 (whose log is libm's) over the whole
    range, the same at the probabilities the estimators use, and its only
    transcendental is fpmath's log (the same bits on every CPU)."""
    from statistics import NormalDist

    import framework.estimators.base as base

    rnd = random.Random(11)
    ps = [rnd.random() for _ in range(20000)]
    ps += [10.0 ** -rnd.uniform(1.0, 300.0) for _ in range(5000)]
    ps += [1.0 - 10.0 ** -rnd.uniform(1.0, 15.0) for _ in range(2000)]
    ref = NormalDist()
    worst = max(abs(z_quantile(p) - ref.inv_cdf(p)) / abs(ref.inv_cdf(p)) for p in ps if p != 0.5)
    assert worst < 1e-14
    for p in (0.005, 0.01, 0.025, 0.05, 0.5, 0.95, 0.975, 0.995):
        assert z_quantile(p) == ref.inv_cdf(p), p
    for bad in (0.0, 1.0, -0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="p must be in"):
            z_quantile(bad)
    real = base.log
    try:  # a log off by 1e-9 moves the tails and only them: it is the one used
        base.log = lambda x: real(x) * (1.0 + 1e-9)
        assert z_quantile(0.01) != ref.inv_cdf(0.01)
        assert z_quantile(0.3) == ref.inv_cdf(0.3)
    finally:
        base.log = real


def test_geometric_mle_recovers_rate_and_tends_to_continuous():
    rng = np.random.default_rng(1)
    k, g = 0.8, 0.25
    x = rng.exponential(1 / k, 200_000)
    j = np.floor(x / g)  # floor rounding onto the grid is exactly geometric
    k_hat, se = geometric_k(float(j.sum()), len(j), g)
    assert k_hat == pytest.approx(k, rel=0.01)
    assert se == pytest.approx(k / math.sqrt(len(j)), rel=0.05)
    # As g -> 0 it is the continuous MLE n / Σx.
    k_small, _ = geometric_k(1000.0 / 1e-6, 1000, 1e-6)
    assert k_small == pytest.approx(1000 / (1000.0), rel=1e-3)


def test_kappas_grid_step_follows_hyperliquid_rules():
    assert tick_size(38.0, 2) == pytest.approx(0.001)
    assert tick_size(150.0, 2) == pytest.approx(0.01)
    assert tick_size(105055.0, 5) == 1.0
    assert tick_size(0.5, 2) == pytest.approx(0.0001)


def test_markout_formulas():
    # Bought at 99.99 with mid 100 before; mid 100.05 later; 0.3 bps fee.
    sc, as_, mo, e = markout(+1, 99.99, 100.0, 100.05, 0.3)
    assert sc == pytest.approx(1.0)
    assert as_ == pytest.approx(-5.0)
    assert mo == pytest.approx((100.05 - 99.99) / 99.99 * 1e4)
    assert mo == pytest.approx(sc - as_, rel=1e-3)
    assert e == pytest.approx(mo - 0.3)
    sc, as_, mo, _ = markout(-1, 100.01, 100.0, 100.05, 0.0)
    assert (sc, as_) == (pytest.approx(1.0), pytest.approx(5.0))


def test_kelly_fraction_on_known_returns():
    x = np.array([3.0, -1.0] * 10) * 1e-4  # n = 20, mean 1e-4, sd 2.052e-4
    f, mu_lcb, var_ucb = kelly_fraction(x, c=0.25, f_max=1e6)
    s = x.std(ddof=1)
    assert mu_lcb == pytest.approx(1e-4 - 1.729 * s / math.sqrt(20), rel=1e-6)
    assert var_ucb == pytest.approx(s * s * 19 / 10.117, rel=0.01)
    assert f == pytest.approx(0.25 * mu_lcb / var_ucb, rel=1e-9)
    assert f > 0
    # A negative lower bound means do not size up: fraction 0.
    f0, lcb, _ = kelly_fraction(np.array([1.0, -1.0] * 10) * 1e-4, 0.25, 10.0)
    assert lcb < 0 and f0 == 0.0
    # The cap binds.
    assert kelly_fraction(x, 0.25, f_max=0.5)[0] == 0.5


def test_n_eff_penalises_positive_autocorrelation():
    rng = np.random.default_rng(2)
    iid = rng.standard_normal(2000)
    assert n_eff_autocorr(iid, 5) > 1500
    smooth = np.convolve(rng.standard_normal(2100), np.ones(10) / 10, mode="valid")[:2000]
    assert n_eff_autocorr(smooth, 10) < 400


def test_poisson_glm_recovers_decay():
    depth = np.array([0.5, 1.5, 2.5, 4.0, 6.5])
    exposure = np.array([4000.0, 3000.0, 3000.0, 2000.0, 1000.0])
    a, k = 0.05, 0.6
    fills = np.round(exposure * a * np.exp(-k * depth))
    a_hat, k_hat, se_ln_a, se_k = poisson_glm(fills, exposure, depth)
    assert k_hat == pytest.approx(k, rel=0.05)
    assert a_hat == pytest.approx(a, rel=0.05)
    assert 0 < se_k < 0.2 and 0 < se_ln_a < 0.2


def test_geometric_k_in_the_kernel_is_the_former_python_bit_for_bit():
    """κ's fit moved into the kernel (framework.kernel.market): the former Python,
    verbatim, against the compiled module and its source."""
    import struct

    from framework.kernel import fpmath
    from tests.kernel.source import interpreted

    def ref(j_sum, n, g):
        if n <= 0 or j_sum <= 0:
            return math.nan, math.nan
        k = fpmath.log1p(n / j_sum) / g
        q = fpmath.exp(-k * g)
        return k, (1.0 - q) / (g * math.sqrt(q * n))

    source = interpreted("market")
    rng = random.Random(8)
    for _ in range(5000):
        n = rng.choice((0, 1, 3, rng.randint(1, 5000)))
        j_sum = rng.choice((0.0, -1.0, float(rng.randint(1, 20000)), rng.uniform(0.5, 1e5)))
        g = rng.choice((0.1, 0.25, rng.uniform(1e-6, 5.0)))
        want = [struct.pack("<d", v) for v in ref(j_sum, n, g)]
        for fn in (geometric_k, source.geometric_k):
            assert [struct.pack("<d", v) for v in fn(j_sum, n, g)] == want, (j_sum, n, g)
