"""Estimators recover the synthetic generator's hidden truth (framework/synth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framework.estimators import KappaEstimator, RegimeEstimator, VolatilityEstimator
from framework.journal import JournalReader
from framework.synth import RegimeSpec, params_for, write_synthetic
from tests.estimators.helpers import run_recording

NAMES = ("calm", "volatile", "trending")


def _one_regime(root: Path, sigma: float, extra_ticks: float, seed: int, hours: float) -> Path:
    # Three identical regimes: whatever the chain does, the volatility is `sigma`.
    regs = tuple(
        RegimeSpec(
            n, 3600.0, sigma, 0.0, 0.3, extra_ticks, tuple(0.0 if j == i else 0.5 for j in range(3))
        )
        for i, n in enumerate(NAMES)
    )
    write_synthetic(root, params_for("HYPE", hours=hours, seed=seed, regimes=regs))
    return root


@pytest.mark.parametrize(("sigma", "extra", "seed"), [(1.2, 1.0, 1), (3.5, 2.5, 2)])
def test_sigma_within_10_percent(tmp_path, sigma, extra, seed):
    root = _one_regime(tmp_path / "rec", sigma, extra, seed, hours=2.0)
    truth = JournalReader(root).manifest.generator["truth"]["sigma_bps_per_sqrt_s"]
    assert set(truth.values()) == {sigma}
    vol = VolatilityEstimator(half_life_samples=900)
    run_recording(root, vol)
    assert vol.converged
    assert vol.sigma_bps == pytest.approx(sigma, rel=0.10)
    # Without the noise correction the book's spread flicker biases σ upwards.
    assert vol.sigma_rv_bps > vol.sigma_bps


@pytest.fixture(scope="module")
def default_recording(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "hype6h"
    write_synthetic(root, params_for("HYPE", hours=6.0, seed=2))
    return root


def test_kappa_within_25_percent(default_recording):
    truth = JournalReader(default_recording).manifest.generator["truth"]
    kap = KappaEstimator(delta0_bps=truth["delta0_bps"], window_s=6 * 3600.0, refit_s=10.0)
    run_recording(default_recording, kap)
    assert kap.converged and kap.n_obs > 1000
    assert kap.k_per_bps == pytest.approx(truth["kappa_per_bps"], rel=0.25)
    # The rolling default window also lands within 25 % at the end.
    kap15 = KappaEstimator(delta0_bps=truth["delta0_bps"])
    run_recording(default_recording, kap15)
    assert kap15.k_per_bps == pytest.approx(truth["kappa_per_bps"], rel=0.25)


def regime_accuracy(root: Path, reg: RegimeEstimator, rows) -> float:
    truth = JournalReader(root).manifest.generator["truth"]
    assert tuple(truth["regimes"]) == NAMES  # labels map by the documented rule, no search
    path = np.array(truth["regime_path"], dtype=np.int64)
    states = [r for k, r in rows if r[3] == "regime" and r[4] == "state"]
    t = np.array([r[1] for r in states], dtype=np.int64)
    got = np.array([-1 if r[5] is None else r[5] for r in states])
    n_obs = np.array([r[6] for r in states])
    # Truth at each bucket's middle; warm-up = the first MIN_OBS buckets.
    mid_t = t - round(reg.clock.dt_ns * reg.bucket_ticks / 2)
    want = path[np.searchsorted(path[:, 0], mid_t, side="right") - 1, 1]
    keep = n_obs >= reg.min_obs
    assert keep.sum() >= 200
    return float((got[keep] == want[keep]).mean())


def test_hmm_labels_regimes_80_percent(default_recording):
    reg = RegimeEstimator()
    _, sink = run_recording(default_recording, reg)
    acc = regime_accuracy(default_recording, reg, sink.rows)
    assert acc >= 0.80, acc
    assert any(r[8] for k, r in sink.rows if r[3] == "regime")  # the gate opened


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 3, 4, 5])
def test_hmm_and_kappa_other_seeds(tmp_path, seed):
    root = tmp_path / "rec"
    write_synthetic(root, params_for("HYPE", hours=8.0, seed=seed))
    truth = JournalReader(root).manifest.generator["truth"]
    reg = RegimeEstimator()
    kap = KappaEstimator(delta0_bps=truth["delta0_bps"], window_s=8 * 3600.0)
    _, sink = run_recording(root, reg, kap)
    assert regime_accuracy(root, reg, sink.rows) >= 0.80
    assert kap.k_per_bps == pytest.approx(truth["kappa_per_bps"], rel=0.25)
