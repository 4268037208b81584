"""Fractional Kelly size from per-fill net returns at the horizon h* (mm_math.md §7).

``x_i = e_i(h*)/1e4`` comes from the adverse-selection markouts (spread capture − AS
− fee).  ``f = c·μ_LCB/σ²_UCB`` clipped to ``[0, f_max]`` with
``μ_LCB = μ̂ − t_{0.95,n_eff−1}·ŝ/√n_eff`` and ``σ²_UCB = ŝ²(n_eff−1)/χ²_{n_eff−1,0.05}``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from framework.engine.core import Engine
from framework.estimators.adverse_selection import Markout
from framework.estimators.base import (
    NAN,
    EstimatorBase,
    chi2_quantile,
    fmean,
    fstd,
    fvar,
    n_eff_autocorr,
    t_quantile,
)


def kelly_fraction(
    x: np.ndarray, c: float, f_max: float, n_eff: float | None = None
) -> tuple[float, float, float]:
    """``(fraction, μ_LCB, σ²_UCB)`` for per-fill returns ``x`` (fractions of notional).

    ``fraction`` is 0 when ``μ_LCB <= 0`` and NaN with fewer than 3 returns.
    """
    n = len(x)
    if n < 3:
        return NAN, NAN, NAN
    ne = float(n if n_eff is None else min(max(n_eff, 2.0), n))
    mu = fmean(x)
    s2 = fvar(x, 1)
    mu_lcb = mu - t_quantile(0.95, ne - 1) * math.sqrt(s2 / ne)
    var_ucb = s2 * (ne - 1) / chi2_quantile(0.05, ne - 1) if s2 > 0 else 0.0
    if mu_lcb <= 0:
        return 0.0, mu_lcb, var_ucb
    if var_ucb <= 0:
        return f_max, mu_lcb, var_ucb
    return min(f_max, c * mu_lcb / var_ucb), mu_lcb, var_ucb


class KellyEstimator(EstimatorBase):
    """Fractional Kelly notional fraction of equity; ready after 20 measured fills.

    Parameters
    ----------
    h_star_s : float
        Markout horizon ≈ holding time (one of the adverse-selection horizons).
    c : float
        Kelly fraction (0.1-0.25 initially, <= 0.5 ever).
    f_max : float
        Cap on the fraction of equity.
    window : int
        Last N per-fill returns used.

    Attributes
    ----------
    ready : bool
        At least 20 fills with a measured markout at h*.
    fraction : float
        ``c·μ_LCB/σ²_UCB`` in ``[0, f_max]``; NaN until ready; 0 when ``μ_LCB <= 0``.
    """

    name = "kelly"

    def __init__(
        self, h_star_s: float = 5.0, c: float = 0.25, f_max: float = 1.0, window: int = 500
    ) -> None:
        super().__init__()
        if not 0 < c <= 0.5:
            raise ValueError(f"c={c!r}: the Kelly fraction must be in (0, 0.5] (§7)")
        self.h_star = float(h_star_s)
        self.c = c
        self.f_max = f_max
        self.x: deque[float] = deque(maxlen=window)
        self.t: deque[int] = deque(maxlen=window)
        self.ready = False
        self.fraction = NAN
        self.mu_lcb = NAN
        self.var_ucb = NAN
        self.n_eff = 0.0

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        try:
            source = engine.component("adverse_selection")
        except KeyError as exc:
            raise KeyError(
                "the kelly estimator reads markouts: add the adverse_selection estimator "
                "to the engine's components"
            ) from exc
        if self.h_star not in source.horizons_s:
            raise ValueError(
                f"h_star_s={self.h_star!r} must be one of the adverse-selection horizons "
                f"{source.horizons_s}"
            )
        source.add_listener(self.on_markout)

    def on_markout(self, mk: Markout) -> None:
        if mk.h_s != self.h_star:
            return
        self.x.append(mk.net_bps / 1e4)
        self.t.append(mk.t)
        n = len(self.x)
        self.n_obs = n
        self.ready = n >= self.min_obs
        x = np.fromiter(self.x, dtype=np.float64)
        span_s = (self.t[-1] - self.t[0]) / 1e9
        lag = max(1, min(50, math.ceil(n * self.h_star / span_s))) if span_s > 0 else 1
        self.n_eff = n_eff_autocorr(x, lag) if n >= 3 else float(n)
        f, self.mu_lcb, self.var_ucb = kelly_fraction(x, self.c, self.f_max, self.n_eff)
        self.fraction = f if self.ready else NAN
        self.set_converged(self.mu_lcb > 0)
        se = fstd(x, 1) / math.sqrt(self.n_eff) if n >= 2 and self.n_eff > 0 else None
        self.emit("fraction", self.fraction, None)
        self.emit("mu_lcb", self.mu_lcb, se)

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "ready": self.ready,
            "fraction": self.fraction,
            "mu_lcb": self.mu_lcb,
            "var_ucb": self.var_ucb,
            "n_eff": self.n_eff,
        }
