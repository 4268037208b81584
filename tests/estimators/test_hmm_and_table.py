"""The HMM core, the summary table, configuration and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from framework.estimators import (
    FillRateEstimator,
    RegimeEstimator,
    VolatilityEstimator,
    default_estimators,
    estimator_table,
)
from framework.estimators.hmm import HmmParams, baum_welch, quantile_init, smoothed
from framework.estimators.regime import label_states, run_drift
from framework.journal import JournalReader, JournalWriter, Manifest
from tests.estimators.helpers import SEC, T0, Driver, run_recording


def _two_state_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = np.zeros(n, dtype=int)
    for t in range(1, n):
        z[t] = z[t - 1] if rng.random() < 0.95 else 1 - z[t - 1]
    mu = np.array([[-14.5, 0.15], [-12.5, 0.15]])
    y = mu[z] + rng.standard_normal((n, 2)) * np.array([0.3, 0.08])
    return y, z


def test_baum_welch_recovers_a_two_state_chain_and_bic_prefers_two():
    y, z = _two_state_data()
    floor = 1e-3 * y.var(axis=0)
    fits = {k: baum_welch(y, quantile_init(y, k, floor), var_floor=floor) for k in (2, 3)}
    f2 = fits[2]
    assert f2.tol_hit
    mu = np.asarray(f2.params.mu)
    order = np.argsort(mu[:, 0])
    assert mu[order, 0] == pytest.approx([-14.5, -12.5], abs=0.1)
    assert np.diag(f2.params.A).min() > 0.85
    decoded = order.argsort()[np.asarray(smoothed(y, f2.params)).argmax(axis=1)]
    assert (decoded == z).mean() > 0.95
    assert fits[2].bic < fits[3].bic


def _params(mu: list[list[float]]) -> HmmParams:
    k = len(mu)
    a = [[0.9 if i == j else 0.1 / (k - 1) for j in range(k)] for i in range(k)]
    return HmmParams([1.0 / k] * k, a, mu, [[0.1, 1.0]] * k)


def test_labels_follow_the_rule():
    p = _params([[-12.0, 0.0], [-14.0, 0.0], [-13.0, 0.5]])
    drift = [(3.0, 3, 0.0), (2.0, 2, 0.0), (30.0, 3, 0.6)]  # state 2: 3 runs, χ = 30
    assert label_states(p, drift) == [1, 0, 2]  # volatile, calm, trending
    # No state shows a drift: no trending label, whatever the state means.
    assert label_states(p, [(3.0, 3, 0.0), (2.0, 2, 0.0), (5.0, 3, 0.4)]) == [1, 0, 1]
    assert label_states(p) == [1, 0, 1]
    # Significant but tiny (0.1 σ per bucket over long runs): not a trend.
    assert label_states(p, [(3.0, 3, 0.0), (2.0, 2, 0.0), (30.0, 3, 0.1)]) == [1, 0, 1]
    # A trend need not sit between calm and volatile: here it is the noisiest state.
    assert label_states(p, [(30.0, 3, 0.7), (2.0, 2, 0.0), (3.0, 3, 0.0)]) == [2, 0, 1]
    # Two trending candidates: the larger drift wins.
    assert label_states(p, [(30.0, 3, 0.3), (2.0, 2, 0.0), (30.0, 3, 0.6)]) == [1, 0, 2]
    # K = 2: calm / volatile by lnRV; with a trend the other state is the calm baseline.
    p2 = _params([[-12.0, 0.0], [-14.0, 0.0]])
    assert label_states(p2, [(1.0, 2, 0.0), (1.5, 2, 0.0)]) == [1, 0]
    assert label_states(p2, [(40.0, 2, 0.8), (1.5, 2, 0.0)]) == [2, 0]


def test_run_drift_sums_runs_of_the_most_probable_state():
    # Most probable state per bucket: 0 0 1 1 1 0 (two runs of state 0, one of state 1).
    gamma = [[0.9, 0.8, 0.1, 0.3, 0.2, 0.7], [0.1, 0.2, 0.9, 0.7, 0.8, 0.3]]
    x = [1.0, 2.0, 1.0, 1.0, 1.0, -1.0]
    (chi0, r0, d0), (chi1, r1, d1) = run_drift(gamma, x)
    assert (r0, r1) == (2, 1)
    assert chi0 == pytest.approx(3.0**2 / 2 + 1.0)  # runs (1, 2) and (-1)
    assert d0 == pytest.approx((((9.0 - 2) + (1.0 - 1)) / (4 + 1)) ** 0.5)
    assert chi1 == pytest.approx(9.0 / 3)
    assert d1 == pytest.approx(((9.0 - 3) / 9) ** 0.5)


def test_estimator_table_from_sink_rows_and_journal(tmp_path):
    vol = VolatilityEstimator(publish_s=0.0)  # a row per return: the last is current
    d = Driver(vol)
    rng = np.random.default_rng(0)
    mid = 38.0
    for k in range(2 * 250):
        mid *= np.exp(1.5 * np.sqrt(0.5) * rng.standard_normal() / 1e4)
        m = round(mid, 4)
        d.book(T0 + k * SEC // 2, round(m - 0.0005, 4), round(m + 0.0005, 4), tick=0.0001)
    table = estimator_table(d.sink.rows)
    assert table == [("volatility", vol.n_obs, 200, True, pytest.approx(vol.sigma_bps))]
    # The same from a journal.
    w = JournalWriter(tmp_path / "j", Manifest(mode="test", asset="HYPE", seed=0))
    for kind, row in d.sink.rows:
        w.append(kind, row)
    w.close()
    assert estimator_table(JournalReader(tmp_path / "j")) == table
    assert estimator_table([]) == []


def test_default_estimators_and_config_errors():
    comps = default_estimators({"volatility": {"dt_s": 0.5}})
    assert [c.name for c in comps] == [
        "volatility",
        "kappa",
        "adverse_selection",
        "regime",
        "fill_rate",
        "kelly",
    ]
    assert comps[0].dt_s == 0.5
    with pytest.raises(KeyError, match="unknown section"):
        default_estimators({"volatilty": {}})
    with pytest.raises(ValueError, match="dt_s"):
        VolatilityEstimator(dt_s=0)
    with pytest.raises(ValueError, match="bucket_s"):
        RegimeEstimator(bucket_s=2.5)
    with pytest.raises(ValueError, match="n_states"):
        RegimeEstimator(n_states=4)
    with pytest.raises(ValueError, match="edges_bps"):
        FillRateEstimator(edges_bps=(0.0, 2.0, 1.0))


def test_all_six_run_over_a_synthetic_recording(tmp_path):
    from framework.synth import params_for, write_synthetic

    root = tmp_path / "rec"
    write_synthetic(root, params_for("HYPE", hours=0.5, seed=3))
    engine, sink = run_recording(root, *default_estimators())
    names = [r[0] for r in estimator_table(sink.rows)]
    assert names == ["volatility", "kappa", "regime"]  # no fills: no markout rows
    snap = engine.snapshot()["components"]
    assert snap["volatility"]["n_obs"] > 1700
    assert snap["kelly"]["ready"] is False


def test_regime_shares_the_volatility_clock_with_identical_results():
    def run(*comps):
        d = Driver(*comps)
        rng = np.random.default_rng(11)
        mid = 38.0
        for k in range(2 * 10 * 90):
            sigma = 1.0 if (k // 200) % 2 else 4.0
            mid *= np.exp(sigma * np.sqrt(0.5) * rng.standard_normal() / 1e4)
            m = round(mid, 5)
            d.book(T0 + k * SEC // 2, round(m - 0.00005, 5), round(m + 0.00005, 5), tick=1e-5)
        return d

    vol, shared = VolatilityEstimator(), RegimeEstimator(bucket_s=10.0, first_fit=30)
    d_shared = run(vol, shared)
    alone = RegimeEstimator(bucket_s=10.0, first_fit=30)
    d_alone = run(alone)
    assert shared.clock is vol.clock and alone.clock is not vol.clock
    pending = [d.engine.snapshot()["pending_timers"] for d in (d_shared, d_alone)]
    assert pending == [1, 1]  # one clock timer serves volatility and regime
    assert shared.snapshot() == alone.snapshot() and shared.refits >= 2
    strip = [{**r, "seq": 0} for r in d_shared.estimates("regime")]
    assert strip == [{**r, "seq": 0} for r in d_alone.estimates("regime")]
    # A different clock is not shared.
    other = RegimeEstimator(dt_s=0.5, bucket_s=10.0)
    Driver(VolatilityEstimator(), other)
    assert other.clock.dt_ns == 500_000_000


def _label_states_by_key(p, drift, *, trend_min=0.25, trend_alpha=0.05):
    """label_states as first written (max/min by (value, index)): the reference for ties."""
    from framework.estimators.base import chi2_quantile

    k = p.k
    out = [0] * k
    rest = list(range(k))
    if drift is not None and k >= 2:
        cands = [
            j
            for j, (chi, runs, d) in enumerate(drift)
            if runs > 0 and d >= trend_min and chi > chi2_quantile(1.0 - trend_alpha, runs)
        ]
        if cands:
            j = max(cands, key=lambda i: (drift[i][2], -i))
            out[j] = 2
            rest.remove(j)
    calm = min(rest, key=lambda i: (p.mu[i][0], i))
    for i in rest:
        out[i] = 0 if i == calm else 1
    return out


def test_labels_break_ties_and_nan_as_max_and_min_by_value_then_index():
    from tests.kernel.source import interpreted

    source = interpreted("regime_buckets")
    # Drawn from a few values so that equal drifts and equal means are common.
    rng = np.random.default_rng(5)
    values = [-13.0, -12.0, float("nan")]
    drifts = [0.0, 0.3, 0.6, float("nan")]
    for _ in range(3000):
        k = int(rng.integers(2, 4))
        p = _params([[values[int(rng.integers(3))], 0.0] for _ in range(k)])
        drift = [
            (float(rng.choice([1.0, 30.0])), int(rng.integers(0, 3)), drifts[int(rng.integers(4))])
            for _ in range(k)
        ]
        want = _label_states_by_key(p, drift)
        assert label_states(p, drift) == want, (p.mu, drift)
        assert source.label_states(p, drift, 0.25, 0.05) == want  # the kernel interpreted
        assert label_states(p) == _label_states_by_key(p, None)


def test_regime_publishes_the_first_most_probable_label():
    est = RegimeEstimator()
    rows = []

    class _Engine:
        now = 0

        def emit(self, kind, payload):
            rows.append(payload)
            return 0

    est.engine = _Engine()
    est.fit_ok = True
    est.labels = [0, 1, 2]
    assert est.probs == {}
    nan = float("nan")
    for p in ([0.2, 0.4, 0.4], [0.5, 0.5, 0.0], [0.3, 0.3, 0.4], [nan, 0.5, 0.5], [0.6, nan, 0.4]):
        est.state = -1
        est._p = p
        est._publish()
        assert est.state == p.index(max(p))  # what by_label.index(max(by_label)) gave
        assert list(est.probs.values()) == pytest.approx(p, nan_ok=True)
        assert rows[-1][2] == float(est.state)


def test_observations_from_columns_are_the_rows_transposed():
    from framework.estimators.hmm import Observations

    rng = np.random.default_rng(3)
    rows = [(float(a), float(b)) for a, b in rng.standard_normal((57, 2))] + [(-0.0, 1e-300)]
    by_rows = Observations(rows)
    by_cols = Observations.from_columns(([r[0] for r in rows], [r[1] for r in rows]))
    assert len(by_cols) == len(by_rows) == 58
    for a, b in zip(
        by_rows.arrays + by_rows.squares, by_cols.arrays + by_cols.squares, strict=True
    ):
        assert a.tobytes() == b.tobytes()
    assert by_cols.cols == by_rows.cols
