"""The volatility estimator's typed per-return kernel is bit-identical to its Python.

``OldVolatility`` is :class:`VolatilityEstimator` as it was before its per-return work
moved to :mod:`framework.kernel.vol_sums`, verbatim.  Both are fed the same returns
(normal and fat-tailed, gaps spanning several ticks, invalid ticks, jumps, zeros) and
must journal the same rows at the same returns and agree, bit for bit, on every
figure the strategy and the snapshot read.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

import framework.kernel
from framework.engine.core import Engine
from framework.estimators.base import (
    NAN,
    EstimatorBase,
    MidClock,
    on_checkpoint,
    require_positive,
)
from framework.estimators.volatility import HALF_PI, KURTOSIS_CLIP_SIGMA, VolatilityEstimator
from framework.kernel import vol_sums

# ---- the reference: framework/estimators/volatility.py before the kernel, verbatim -------


class OldVolatility(EstimatorBase):
    name = "volatility"

    def __init__(
        self,
        dt_s: float = 1.0,
        half_life_samples: float = 300.0,
        stale_s: float = 5.0,
        max_rel_se: float = 0.10,
        min_valid_frac: float = 0.95,
        publish_s: float = 30.0,
        noise_correction: bool = True,
    ) -> None:
        super().__init__()
        require_positive(dt_s=dt_s, half_life_samples=half_life_samples, stale_s=stale_s)
        self.clock = MidClock(dt_s, stale_s)
        self.dt_s = float(dt_s)
        self.lam = 2.0 ** (-1.0 / half_life_samples)
        self.max_rel_se = max_rel_se
        self.min_valid_frac = min_valid_frac
        if not publish_s >= 0:
            raise ValueError(f"publish_s={publish_s!r}: must be >= 0 s (e.g. 30.0)")
        self.publish_ns = round(publish_s * 1e9)
        self._next_pub = 0
        self.n_eff_cap = (1.0 + self.lam) / (1.0 - self.lam)
        self._s2 = 0.0  # EWMA of r^2 (per Δ, gap-scaled)
        self._s4 = 0.0  # EWMA of r_c^4 (r^2 clipped at KURTOSIS_CLIP_SIGMA bipower sigmas)
        self._s2c = 0.0  # EWMA of r_c^2 (the kurtosis' denominator)
        self._bv = 0.0  # EWMA of (π/2)|r_t||r_{t-1}|
        self._c1 = 0.0  # EWMA of r_t r_{t-1} (first-order autocovariance)
        self.noise_correction = bool(noise_correction)
        self._prev_r = NAN
        self._lam_n = 1.0  # λ^n for the bias correction
        self._lam_bv = 1.0
        self._n_bv = 0
        self._valid = 0.0  # EWMA of the valid-tick indicator
        self._lam_ticks = 1.0
        self._prev_abs = NAN
        self._om = 1.0 - self.lam
        self._om_half_pi = self._om * HALF_PI
        self._max_rel_se2 = max_rel_se * max_rel_se
        self._to_bps = 1e4 / math.sqrt(self.dt_s)
        self._extra = 4.0 if self.noise_correction else 0.0
        self._clip2 = KURTOSIS_CLIP_SIGMA**2  # times the bipower variance: (6 σ)²

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.clock.bind(engine, self.on_return)
        on_checkpoint(engine, self.publish)

    def publish(self) -> None:
        if self.n_obs:
            self._emit()

    # -- the clock ----------------------------------------------------------------------
    def on_return(self, t: int, r: float | None, k: int) -> None:
        # Hot path (86 400 calls a day at 1 s): only the EWMA sums and the gate; the
        # derived figures (valid_frac, kurtosis, rel_se, the σ family) are properties.
        lam = self.lam
        om = self._om
        self._lam_ticks *= lam
        if r is None:
            self._valid *= lam
            self._prev_abs = self._prev_r = NAN  # bipower needs adjacent returns
            return
        self._valid = lam * self._valid + om
        # A return spanning k ticks is scaled to one tick (§3: r^2 / (elapsed/Δ)).
        if k == 1:
            r2 = r * r
            a = r if r >= 0.0 else -r
            rs = r
        else:
            r2 = r * r / k
            a = math.sqrt(r2)
            rs = r / math.sqrt(k)
        n = self.n_obs = self.n_obs + 1
        self._s2 = lam * self._s2 + om * r2
        r2c = r2
        if self._n_bv:
            cap = self._clip2 * self._bv / (1.0 - self._lam_bv)
            if r2c > cap:
                r2c = cap
        s2c = self._s2c = lam * self._s2c + om * r2c
        s4 = self._s4 = lam * self._s4 + om * r2c * r2c
        lam_n = self._lam_n = self._lam_n * lam
        pa = self._prev_abs
        if pa == pa:  # not NaN
            self._bv = lam * self._bv + self._om_half_pi * a * pa
            self._c1 = lam * self._c1 + om * rs * self._prev_r
            self._lam_bv *= lam
            self._n_bv += 1
        self._prev_abs = a
        self._prev_r = rs
        # The gate, every return (the flag must flip at the exact count): n first, then
        # relSE(σ̂)^2 = (κ4 - 1 + extra)/(4 n_eff) <= max_rel_se^2 (see `rel_se`), then
        # the valid share.
        if n >= self.min_obs and s2c > 0.0:
            corr = 1.0 - lam_n
            x = s4 * corr / (s2c * s2c) - 1.0 + self._extra
            n_eff = n if n < self.n_eff_cap else self.n_eff_cap
            new = 0.25 * (
                x if x > 0.0 else 0.0
            ) <= self._max_rel_se2 * n_eff and self._valid >= self.min_valid_frac * (
                1.0 - self._lam_ticks
            )
        else:
            new = False
        changed = new != self.converged
        self.converged = new
        if changed or t >= self._next_pub or n == self.min_obs or n == self.min_obs - 1:
            self._next_pub = t + self.publish_ns
            self._emit()

    @property
    def valid_frac(self) -> float:
        """EWMA share of clock ticks with a valid mid (NaN before the first tick)."""
        lt = 1.0 - self._lam_ticks
        return self._valid / lt if lt > 0 else NAN

    @property
    def kurtosis(self) -> float:
        """``κ̂4 = EWMA(r_c⁴)/EWMA(r_c²)²`` of the returns clipped at
        :data:`KURTOSIS_CLIP_SIGMA` bipower σ (NaN until a non-zero return)."""
        if not self._s2c > 0:
            return NAN
        return self._s4 * (1.0 - self._lam_n) / (self._s2c * self._s2c)

    @property
    def rel_se(self) -> float:
        """Kurtosis-aware ``relSE(σ̂)`` of §3 (inf until a non-zero return)."""
        kurt = self.kurtosis
        if kurt != kurt:
            return math.inf if self.n_obs else NAN
        # §3: relSE(v̂) = sqrt((κ4 - 1)/n_eff); the lag-1 term adds ~4 [ours].
        x = kurt - 1.0 + self._extra
        n_eff = min(self.n_obs, self.n_eff_cap)
        return 0.5 * math.sqrt(max(x, 0.0) / n_eff)

    # -- the σ family, derived from the sums when read -------------------------------------
    def _parts(self) -> tuple[float, float, float]:
        """``(v, v_c, ratio)``: raw and noise-corrected variance per Δ, bipower share."""
        v = self._s2 / (1.0 - self._lam_n)
        if self._n_bv:
            corr_bv = 1.0 - self._lam_bv
            b = self._bv / corr_bv
            c1 = self._c1 / corr_bv
        else:
            b, c1 = v, 0.0
        # Noise correction [ours]: i.i.d. mid noise (spread flicker, grid rounding) adds
        # 2ω² to E[r²] and -ω² to E[r_t r_{t-1}]; v + 2c1 removes it (one-lag kernel).
        vc = max(v + 2.0 * c1, 0.25 * v) if self.noise_correction else v
        ratio = min(1.0, b / v) if v > 0 else 1.0
        return v, vc, ratio

    @property
    def sigma_bps(self) -> float:
        """Quoting σ: noise-corrected and jump-robust (the bipower share of the variance)."""
        if not self.n_obs:
            return NAN
        _, vc, ratio = self._parts()
        return math.sqrt(vc * ratio) * self._to_bps

    @property
    def sigma_rv_bps(self) -> float:
        """The plain EWMA σ of §3."""
        if not self.n_obs:
            return NAN
        return math.sqrt(self._s2 / (1.0 - self._lam_n)) * self._to_bps

    @property
    def sigma_risk_bps(self) -> float:
        """``sqrt(max(v_c, v·ratio))``: for risk limits."""
        if not self.n_obs:
            return NAN
        v, vc, ratio = self._parts()
        return math.sqrt(max(vc, v * ratio)) * self._to_bps

    @property
    def jump_share(self) -> float:
        """``max(0, 1 - B̂/v̂)``."""
        if not self.n_obs:
            return NAN
        return 1.0 - self._parts()[2]

    def _emit(self) -> None:
        sigma, rv, rel_se = self.sigma_bps, self.sigma_rv_bps, self.rel_se
        finite = math.isfinite(rel_se)
        self.emit("sigma", sigma, rel_se * sigma if finite else None)
        self.emit("sigma_rv", rv, rel_se * rv if finite else None)
        self.emit("jump_share", self.jump_share, None)

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "sigma_bps": self.sigma_bps,
            "sigma_rv_bps": self.sigma_rv_bps,
            "jump_share": self.jump_share,
            "rel_se": self.rel_se,
            "kurtosis": self.kurtosis,
            "valid_frac": self.valid_frac,
        }


# ---- tests --------------------------------------------------------------------------------


def _b(x: Any) -> Any:
    return struct.pack("<d", x) if isinstance(x, float) else x


def _returns(seed: int, n: int) -> list[tuple[int, float | None, int]]:
    rng = random.Random(seed)
    out, t = [], 0
    for _ in range(n):
        u = rng.random()
        k = 1 if u > 0.03 else rng.randint(2, 7)  # a gap: the return spans k ticks
        t += k * 1_000_000_000
        if u < 0.01:
            out.append((t, None, 0))  # an invalid tick
        elif u < 0.012:
            out.append((t, rng.choice((0.009, -0.012)), k))  # a 90-120 bps jump
        elif u < 0.02:
            out.append((t, rng.choice((0.0, -0.0)), k))
        else:
            # Student-t with 3 degrees of freedom: fat tails for the clipped kurtosis.
            z = rng.gauss(0.0, 1.0) / math.sqrt(rng.gammavariate(1.5, 1.0 / 1.5))
            out.append((t, 1.2e-4 * z, k))
    return out


FIGURES = ("sigma_bps", "sigma_rv_bps", "sigma_risk_bps", "jump_share", "rel_se",
           "kurtosis", "valid_frac", "n_obs", "converged")  # fmt: skip


def test_the_kernel_runs_compiled_where_it_is_built():
    if framework.kernel._FORCE_PYTHON or framework.kernel._extension("vol_sums") is None:
        pytest.skip("the kernel is not compiled here (python setup.py build_ext --inplace)")
    assert framework.kernel.status()["vol_sums"] == "compiled"
    assert not vol_sums.__file__.endswith(".py")


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"half_life_samples": 20.0, "publish_s": 0.0, "max_rel_se": 0.5},
        {"noise_correction": False, "max_rel_se": 0.3, "min_valid_frac": 0.5},
        {"dt_s": 0.25, "half_life_samples": 50.0, "publish_s": 7.0, "max_rel_se": 0.3},
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_per_return_work_is_bit_identical_to_the_python(kw, seed):
    rows: dict[str, list[tuple[Any, ...]]] = {"old": [], "new": []}
    ests = {"old": OldVolatility(**kw), "new": VolatilityEstimator(**kw)}
    for name, est in ests.items():
        est.min_obs = 40  # flips within the run, several times with the jumps

        def emit(param, value, std_err, est=est, out=rows[name]):
            out.append((param, _b(value), _b(std_err), est.n_obs, est.converged))

        est.emit = emit
    flips = 0
    for t, r, k in _returns(seed, 6000):
        before = ests["new"].converged
        ests["old"].on_return(t, r, k)
        ests["new"]._sums.on_return(t, r, k)  # as the clock calls it
        flips += ests["new"].converged != before
        for f in FIGURES:
            assert _b(getattr(ests["old"], f)) == _b(getattr(ests["new"], f)), (t, f)
    assert rows["old"] == rows["new"]
    assert len(rows["new"]) > 30 and flips >= 1
