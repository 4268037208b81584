"""Fractional Kelly size from per-fill net returns over the holding horizon (mm_math.md §7).

``x_i = e_i(h*)/1e4`` comes from the adverse-selection markouts (spread capture − AS
− fee) at the horizon ``h*``.  ``f = c·μ_LCB/σ²_UCB`` clipped to ``[0, f_max]`` with
``μ_LCB = μ̂ − t_{0.95,n_eff−1}·ŝ/√n_eff`` and ``σ²_UCB = ŝ²(n_eff−1)/χ²_{n_eff−1,0.05}``.

Horizon **[ours, §7: "h* ≈ holding time, so inventory risk is included"]**: by default
(``h_star_s=0``) ``h*`` is the shortest adverse-selection horizon at or beyond the
measured holding time of inventory, by Little's law ``H = ∫|position| dt / (traded
size / 2)`` over the session's own fills (a fill adds to or takes from inventory; on
average half the traded size enters it).  Until two fills exist, ``h*`` is the
longest horizon up to ``default_h_s``.  A 5 s markout ignores what holding a position
for minutes costs, which made per-fill μ/σ² huge and Kelly jump to the size clip.
Returns are kept per horizon, so ``h*`` can move without losing history.

The fraction defaults to a conservative ``c = 0.1`` (§7: 0.1-0.25 initially); the
strategy further caps the size by a top-of-book share and the margin room (§7's
``N_max``), see :mod:`strategies.sizing`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from framework.engine.core import Engine
from framework.estimators.adverse_selection import Markout
from framework.estimators.base import (
    NAN,
    EstimatorBase,
    chi2_quantile,
    fmean,
    fvar,
    n_eff_autocorr,
    on_checkpoint,
    t_quantile,
)
from framework.events.columns import Columns
from framework.events.schema import Kind


def kelly_fraction(
    x: Sequence[float], c: float, f_max: float, n_eff: float | None = None
) -> tuple[float, float, float]:
    """``(fraction, μ_LCB, σ²_UCB)`` for per-fill returns ``x`` (fractions of notional).

    ``fraction`` is 0 when ``μ_LCB <= 0`` and NaN with fewer than 3 returns.
    """
    n = len(x)
    if n < 3:
        return NAN, NAN, NAN
    ne = float(n if n_eff is None else min(max(n_eff, 2.0), n))
    mu, s2 = fmean(x), fvar(x, 1)
    mu_lcb = mu - t_quantile(0.95, ne - 1) * math.sqrt(s2 / ne)
    var_ucb = s2 * (ne - 1) / chi2_quantile(0.05, ne - 1) if s2 > 0 else 0.0
    if mu_lcb <= 0:
        return 0.0, mu_lcb, var_ucb
    if var_ucb <= 0:
        return f_max, mu_lcb, var_ucb
    return min(f_max, c * mu_lcb / var_ucb), mu_lcb, var_ucb


class KellyEstimator(EstimatorBase):
    """Fractional Kelly notional fraction of equity; ready after 20 measured fills at h*.

    Parameters
    ----------
    h_star_s : float
        Markout horizon; 0 (default) = the holding horizon rule of the module docstring.
        A positive value must be one of the adverse-selection horizons.
    c : float
        Kelly fraction (0.1-0.25 initially, <= 0.5 ever).
    f_max : float
        Cap on the fraction of equity.
    window : int
        Last N per-fill returns used (per horizon).
    default_h_s : float
        ``h*`` before the holding time is measured (the longest horizon up to it).

    Attributes
    ----------
    ready : bool
        At least 20 fills with a measured markout at h*.
    fraction : float
        ``c·μ_LCB/σ²_UCB`` in ``[0, f_max]``; NaN until ready; 0 when ``μ_LCB <= 0``.
    h_star : float
        The horizon in use (s).
    holding_s : float
        Measured holding time of inventory (s); NaN before two fills.
    """

    name = "kelly"

    def __init__(
        self,
        h_star_s: float = 0.0,
        c: float = 0.1,
        f_max: float = 1.0,
        window: int = 500,
        default_h_s: float = 30.0,
    ) -> None:
        super().__init__()
        if not 0 < c <= 0.5:
            raise ValueError(f"c={c!r}: the Kelly fraction must be in (0, 0.5] (§7)")
        if not h_star_s >= 0:
            raise ValueError(f"h_star_s={h_star_s!r}: a horizon in s, or 0 for the holding time")
        self.auto = h_star_s == 0
        self.h_star = float(h_star_s)
        self.default_h = float(default_h_s)
        self.c = c
        self.f_max = f_max
        self.window = window
        self.x: dict[float, deque[float]] = {}
        self.t: dict[float, deque[int]] = {}
        self.horizons: tuple[float, ...] = ()
        self.ready = False
        self.fraction = NAN
        self.mu_lcb = NAN
        self.var_ucb = NAN
        self.n_eff = 0.0
        self.holding_s = NAN
        # Little's law state: ∫|position| dt (coin·ns) and traded size since the first fill.
        self._pos = 0.0
        self._pos_t = 0
        self._abs_pos_ns = 0.0
        self._traded = 0.0
        self._fills = 0

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        try:
            source = engine.component("adverse_selection")
        except KeyError as exc:
            raise KeyError(
                "the kelly estimator reads markouts: add the adverse_selection estimator "
                "to the engine's components"
            ) from exc
        self.horizons = tuple(sorted(source.horizons_s))
        if not self.auto and self.h_star not in self.horizons:
            raise ValueError(
                f"h_star_s={self.h_star!r} must be one of the adverse-selection horizons "
                f"{source.horizons_s} (or 0: the holding time)"
            )
        if self.auto:
            self.h_star = self._horizon_for(self.default_h)
        for h in self.horizons:
            self.x[h] = deque(maxlen=self.window)
            self.t[h] = deque(maxlen=self.window)
        source.add_listener(self.on_markout)
        engine.subscribe(Kind.SIM_FILLS, self.on_fill)
        engine.subscribe(Kind.FILLS, self.on_fill)
        on_checkpoint(engine, self.publish)

    def publish(self) -> None:
        if self.x and self.x[self.h_star]:
            self._update()

    def _horizon_for(self, hold_s: float) -> float:
        """The shortest horizon at or beyond ``hold_s`` (the longest if none is)."""
        for h in self.horizons:
            if h >= hold_s:
                return h
        return self.horizons[-1]

    # -- holding time ---------------------------------------------------------------------
    def on_fill(self, cols: Columns, i: int) -> None:
        now = self.engine.now
        if self._fills:
            self._abs_pos_ns += abs(self._pos) * (now - self._pos_t)
        self._fills += 1
        self._pos_t = now
        sz = cols.sz[i]
        self._pos += cols.side[i] * sz
        self._traded += sz
        if self._fills >= 2 and self._traded > 0:
            self.holding_s = self._abs_pos_ns / 1e9 / (0.5 * self._traded)
            if self.auto:
                h = self._horizon_for(self.holding_s)
                if h != self.h_star:
                    self.h_star = h
                    self._update()

    # -- returns --------------------------------------------------------------------------
    def on_markout(self, mk: Markout) -> None:
        xs = self.x.get(mk.h_s)
        if xs is None:
            return
        xs.append(mk.net_bps / 1e4)
        self.t[mk.h_s].append(mk.t)
        if mk.h_s == self.h_star:
            self._update()

    def _update(self) -> None:
        h = self.h_star
        xs, ts = list(self.x[h]), self.t[h]
        n = len(xs)
        self.n_obs = n
        self.ready = n >= self.min_obs
        span_s = (ts[-1] - ts[0]) / 1e9 if n else 0.0
        lag = max(1, min(50, math.ceil(n * h / span_s))) if span_s > 0 else 1
        self.n_eff = n_eff_autocorr(xs, lag) if n >= 3 else float(n)
        f, self.mu_lcb, self.var_ucb = kelly_fraction(xs, self.c, self.f_max, self.n_eff)
        self.fraction = f if self.ready else NAN
        self.set_converged(self.mu_lcb > 0)
        se = NAN
        if n >= 2 and self.n_eff > 0:
            se = math.sqrt(fvar(xs, 1) / self.n_eff)
        self.emit("fraction", self.fraction, None)
        self.emit("mu_lcb", self.mu_lcb, se)
        self.emit("h_star_s", h, None)

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "ready": self.ready,
            "fraction": self.fraction,
            "mu_lcb": self.mu_lcb,
            "var_ucb": self.var_ucb,
            "n_eff": self.n_eff,
            "h_star_s": self.h_star,
            "holding_s": self.holding_s,
        }
