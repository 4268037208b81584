"""Volatility σ from clock-sampled mid log returns (mm_math.md §3).

EWMA of ``r^2`` (no demeaning, bias-corrected from ``S_0 = 0``), the jump-robust
bipower variation ``(π/2)|r_t||r_{t-1}|`` on the same weights, and a kurtosis-aware
relative standard error.  Work happens on the sampling timer only.
"""

from __future__ import annotations

import math
from typing import Any

from framework.engine.core import Engine
from framework.estimators.base import NAN, EstimatorBase, MidClock

HALF_PI = math.pi / 2.0


class VolatilityEstimator(EstimatorBase):
    """EWMA + bipower σ of the mid, in bps per √s.

    Parameters
    ----------
    dt_s : float
        Sampling clock Δ in seconds (0.1 ... 1).
    half_life_samples : float
        EWMA half-life ``H`` in samples; ``λ = 2^(-1/H)``.
    stale_s : float
        A mid older than this (no market progress) is invalid.
    max_rel_se : float
        Gate on ``relSE(σ̂)`` (0.10 in §3).
    min_valid_frac : float
        Gate on the EWMA share of ticks with a valid mid (0.95 in §3).
    emit_every : int
        Journal a row every this many clock returns (and whenever the flag flips).
    noise_correction : bool
        Remove i.i.d. mid noise with the one-lag autocovariance (see ``sigma_bps``).

    Attributes
    ----------
    sigma_bps : float
        σ for quoting, bps/√s, NaN until the first estimate: the noise-corrected
        variance ``v_c = v̂ + 2ĉ1`` times the bipower share ``min(1, B̂/v̂)`` (§3: quote
        with the jump-robust part).  ``sigma_rv_bps`` is the plain EWMA ``sqrt(v̂)`` of
        §3; ``sigma_risk_bps`` is ``sqrt(max(v_c, B̂-part))`` for risk limits;
        ``jump_share`` is ``max(0, 1 - B̂/v̂)``.
    """

    name = "volatility"

    def __init__(
        self,
        dt_s: float = 1.0,
        half_life_samples: float = 300.0,
        stale_s: float = 5.0,
        max_rel_se: float = 0.10,
        min_valid_frac: float = 0.95,
        emit_every: int = 1,
        noise_correction: bool = True,
    ) -> None:
        super().__init__()
        if not half_life_samples > 0:
            raise ValueError(f"half_life_samples={half_life_samples!r}: must be > 0 (e.g. 300)")
        self.clock = MidClock(dt_s, stale_s)
        self.dt_s = float(dt_s)
        self.lam = 2.0 ** (-1.0 / half_life_samples)
        self.max_rel_se = max_rel_se
        self.min_valid_frac = min_valid_frac
        self.emit_every = max(1, int(emit_every))
        self.n_eff_cap = (1.0 + self.lam) / (1.0 - self.lam)
        self._s2 = 0.0  # EWMA of r^2 (per Δ, gap-scaled)
        self._s4 = 0.0  # EWMA of r^4
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
        self._flag_changed = False
        self.sigma_bps = NAN
        self.sigma_rv_bps = NAN
        self.sigma_risk_bps = NAN
        self.jump_share = NAN
        self.rel_se = NAN
        self.kurtosis = NAN
        self.valid_frac = NAN

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.clock.bind(engine, self.on_return)

    # -- the clock ----------------------------------------------------------------------
    def on_return(self, t: int, r: float | None, k: int) -> None:
        lam = self.lam
        self._lam_ticks *= lam
        self._valid = lam * self._valid + (1.0 - lam) * (0.0 if r is None else 1.0)
        self.valid_frac = self._valid / (1.0 - self._lam_ticks)
        if r is None:
            self._prev_abs = self._prev_r = NAN  # bipower needs adjacent returns
            return
        # A return spanning k ticks is scaled to one tick (§3: r^2 / (elapsed/Δ)).
        r2 = r * r / k
        self.n_obs += 1
        self._s2 = lam * self._s2 + (1.0 - lam) * r2
        self._s4 = lam * self._s4 + (1.0 - lam) * r2 * r2
        self._lam_n *= lam
        a = math.sqrt(r2)
        rs = r / math.sqrt(k)
        if self._prev_abs == self._prev_abs:  # not NaN
            self._bv = lam * self._bv + (1.0 - lam) * HALF_PI * a * self._prev_abs
            self._c1 = lam * self._c1 + (1.0 - lam) * rs * self._prev_r
            self._lam_bv *= lam
            self._n_bv += 1
        self._prev_abs = a
        self._prev_r = rs
        self._update()
        if self._flag_changed or self.n_obs % self.emit_every == 0:
            self._emit()

    def _update(self) -> None:
        corr = 1.0 - self._lam_n
        v = self._s2 / corr
        to_bps = 1e4 / math.sqrt(self.dt_s)
        self.sigma_rv_bps = math.sqrt(v) * to_bps
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
        self.jump_share = 1.0 - ratio
        # Quoting σ: noise-corrected and jump-robust (the bipower share of the variance).
        self.sigma_bps = math.sqrt(vc * ratio) * to_bps
        self.sigma_risk_bps = math.sqrt(max(vc, v * ratio)) * to_bps
        n_eff = min(float(self.n_obs), self.n_eff_cap)
        if v > 0:
            self.kurtosis = (self._s4 / corr) / (v * v)
            # §3: relSE(v̂) = sqrt((κ4 - 1)/n_eff); the lag-1 term adds ~4 [ours].
            extra = 4.0 if self.noise_correction else 0.0
            self.rel_se = 0.5 * math.sqrt(max(self.kurtosis - 1.0 + extra, 0.0) / n_eff)
        else:
            self.kurtosis = NAN
            self.rel_se = math.inf
        ok = self.rel_se <= self.max_rel_se and self.valid_frac >= self.min_valid_frac
        self._flag_changed = self.set_converged(ok)

    def _emit(self) -> None:
        se = self.rel_se * self.sigma_bps if math.isfinite(self.rel_se) else None
        self.emit("sigma", self.sigma_bps, se)
        self.emit("sigma_rv", self.sigma_rv_bps, self.rel_se * self.sigma_rv_bps)
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
