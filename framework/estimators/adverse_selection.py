"""Adverse selection from markouts of our own fills (mm_math.md §4).

For fill i (time ``t_i``, price ``p_i``, our side ``s_i``, mid before ``m_i``):
``SC = s(m - p)/m``, ``AS(h) = -s(m(h) - m)/m``, ``MO(h) = s(m(h) - p)/p``, all in bps,
and the net ``e(h) = MO(h) - fee_bps``.  A fill matures at horizon h when the first
event with time ``>= t_i + h`` is processed (FIFO per horizon): an engine timer at
``t_i + h``, which fires before that event is applied.

Both mids are "last valid mid strictly before" an instant **[ours, one convention]**:
``m_i = m⁻(t_i)`` (§4) and ``m_i(h) = m⁻(t_i + h)``; a book stamped exactly at
``t_i + h`` is after the horizon, as one stamped exactly at ``t_i`` is after the fill.
The mids are looked up on the shared :class:`~framework.estimators.base.BookTape`, so
the estimator runs nothing per market event.

Clock **[ours, one choice]**: fills and mids are both timed by engine time
(``engine.now``, the ``recv_ts`` clock).  Simulated fills only have engine time, and
a live fill's exchange ``ts`` is on the venue's clock while our book mids arrive on
ours; one clock for both keeps the as-of joins ordered and replay-exact.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from framework.engine.core import Engine
from framework.estimators.base import (
    NAN,
    EstimatorBase,
    book_tape,
    emit_estimate,
    fmean,
    fstd,
    n_eff_autocorr,
    on_checkpoint,
    require_positive,
    t_quantile,
)
from framework.events.columns import Columns
from framework.events.schema import Kind

#: Markout horizons: 1, 5 and 30 s (§4), plus 2 and 10 min so Kelly can take its edge
#: over the inventory's holding time (§7), which on a quiet book runs to minutes.
HORIZONS_S: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)


class Markout:
    """One matured fill at one horizon (all values in bps)."""

    __slots__ = ("as_bps", "fee_bps", "h_s", "mo_bps", "net_bps", "sc_bps", "side", "t")

    def __init__(
        self, t: int, side: int, h_s: float, sc: float, as_: float, mo: float, fee: float
    ) -> None:
        self.t, self.side, self.h_s = t, side, h_s
        self.sc_bps, self.as_bps, self.mo_bps, self.fee_bps = sc, as_, mo, fee
        self.net_bps = mo - fee


def markout(side: int, px: float, mid_before: float, mid_after: float, fee_bps: float) -> tuple:
    """``(SC, AS, MO, e)`` in bps for one fill (§4 formulas)."""
    sc = side * (mid_before - px) / mid_before * 1e4
    as_ = -side * (mid_after - mid_before) / mid_before * 1e4
    mo = side * (mid_after - px) / px * 1e4
    return sc, as_, mo, mo - fee_bps


class HorizonStats:
    """Last-N matured values of one horizon, with mean, n_eff and the 95 % CI half-width."""

    def __init__(self, h_s: float, window: int) -> None:
        self.h_s = h_s
        self.as_bps: deque[float] = deque(maxlen=window)
        self.t: deque[int] = deque(maxlen=window)
        self.mean = NAN
        self.sd = NAN
        self.n_eff = 0.0
        self.half_width = NAN
        self.converged = False

    def add(self, t: int, as_bps: float) -> None:
        self.as_bps.append(as_bps)
        self.t.append(t)

    def update(self) -> None:
        x = np.fromiter(self.as_bps, dtype=np.float64)
        n = len(x)
        if n == 0:
            return
        self.mean = fmean(x)
        if n < 2:
            self.sd, self.n_eff, self.half_width = NAN, float(n), NAN
            return
        self.sd = fstd(x, 1)
        # L = typical number of fills within h of each other (§4 overlap rule).
        span_s = (self.t[-1] - self.t[0]) / 1e9
        lag = max(1, min(50, math.ceil(n * self.h_s / span_s))) if span_s > 0 else 50
        self.n_eff = n_eff_autocorr(x, lag)
        self.half_width = (
            t_quantile(0.975, self.n_eff - 1) * self.sd / math.sqrt(self.n_eff)
            if self.n_eff >= 2
            else math.inf
        )


class AdverseSelectionEstimator(EstimatorBase):
    """Markouts of our fills at 1, 5 and 30 s; gates on the 5 s horizon.

    Parameters
    ----------
    horizons_s : tuple of float
        Markout horizons.
    gate_horizon_s : float
        Horizon whose statistics decide ``converged`` (one of ``horizons_s``).
    window : int
        Matured fills kept per horizon (the estimator is the mean of the last N).
    min_n_eff, min_half_width_bps, rel_half_width : float
        §4 gate: ``n_eff >= 20`` and 95 % CI half-width ``<= max(1 bp, 0.25 |μ̂|)``.
    history_s : float
        Kept for configuration compatibility (must exceed the longest horizon); the
        as-of joins read the book tape.
    """

    name = "adverse_selection"

    def __init__(
        self,
        horizons_s: tuple[float, ...] = HORIZONS_S,
        gate_horizon_s: float = 5.0,
        window: int = 1000,
        min_n_eff: float = 20.0,
        min_half_width_bps: float = 1.0,
        rel_half_width: float = 0.25,
        history_s: float = 900.0,
    ) -> None:
        super().__init__()
        require_positive(window=window, history_s=history_s)
        require_positive(**{f"horizons_s[{i}]": h for i, h in enumerate(horizons_s)})
        self.horizons_s = tuple(float(h) for h in horizons_s)
        if float(gate_horizon_s) not in self.horizons_s:
            raise ValueError(
                f"gate_horizon_s={gate_horizon_s!r} must be one of horizons_s={self.horizons_s}"
            )
        if history_s <= max(self.horizons_s):
            raise ValueError(f"history_s={history_s!r} must exceed the longest horizon")
        self.gate_h = float(gate_horizon_s)
        self.min_n_eff = min_n_eff
        self.min_half_width_bps = min_half_width_bps
        self.rel_half_width = rel_half_width
        self.history_ns = round(history_s * 1e9)
        self.stats = {h: HorizonStats(h, window) for h in self.horizons_s}
        # Pending fills per horizon, FIFO: (due ns, t ns, side, px, mid before, fee bps).
        self._pending: dict[float, deque[tuple[int, int, int, float, float, float]]] = {
            h: deque() for h in self.horizons_s
        }
        self._h_ns = {h: round(h * 1e9) for h in self.horizons_s}
        # One timer function per horizon: it matures that horizon's due fills.
        self._maturers = {h: self._maturer(h) for h in self.horizons_s}
        self.fills = 0
        self.fills_no_mid = 0
        self.matured_no_mid = 0
        self.listeners: list[Callable[[Markout], None]] = []
        self.market: Any = None

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.market = engine.component("market")
        self._tape = book_tape(engine)
        engine.subscribe(Kind.SIM_FILLS, self.on_fill)
        engine.subscribe(Kind.FILLS, self.on_fill)
        on_checkpoint(engine, self.publish)

    def publish(self) -> None:
        for h in self.horizons_s:
            if self.stats[h].as_bps:
                self._publish(h)

    # -- public -------------------------------------------------------------------------
    def mean_bps(self, horizon_s: float) -> float:
        """Mean adverse selection AS(h) over the window, bps (NaN before any)."""
        return self.stats[float(horizon_s)].mean

    def add_listener(self, fn: Callable[[Markout], None]) -> None:
        """Call ``fn(markout)`` for every matured fill (Kelly reads its h* here)."""
        self.listeners.append(fn)

    # -- handlers -----------------------------------------------------------------------
    def on_fill(self, cols: Columns, i: int) -> None:
        e = self.engine
        now = e.now
        self.fills += 1
        m_before = self._tape.mid_before(now)
        if not m_before > 0:
            self.fills_no_mid += 1
            return
        px, sz, side = cols.px[i], cols.sz[i], cols.side[i]
        notional = px * sz
        fee_bps = cols.fee[i] / notional * 1e4 if notional > 0 else 0.0
        for h in self.horizons_s:
            due = now + self._h_ns[h]
            self._pending[h].append((due, now, side, px, m_before, fee_bps))
            e.call_at(due, self._maturers[h])

    def _maturer(self, h: float) -> Callable[[int], None]:
        q = self._pending[h]
        stats = self.stats[h]

        def mature(t: int) -> None:
            # Timers run before the event at or after t is applied, so every event on
            # the tape is before the due time: the lookup is m⁻(t_i + h).
            got = False
            while q and q[0][0] <= t:
                due, t_fill, side, px, m0, fee = q.popleft()
                m_h = self._tape.mid_before(due)
                if not m_h > 0:
                    self.matured_no_mid += 1  # no valid mid on the tape: not measurable
                    continue
                sc, as_, mo, _ = markout(side, px, m0, m_h, fee)
                stats.add(t_fill, as_)
                got = True
                mk = Markout(t_fill, side, h, sc, as_, mo, fee)
                for fn in self.listeners:
                    fn(mk)
            if got:
                self._publish(h)

        return mature

    def _publish(self, h: float) -> None:
        st = self.stats[h]
        st.update()
        st.converged = (
            len(st.as_bps) >= self.min_obs
            and st.n_eff >= self.min_n_eff
            and st.half_width <= max(self.min_half_width_bps, self.rel_half_width * abs(st.mean))
        )
        if h == self.gate_h:
            self.n_obs = len(st.as_bps)
            self.set_converged(st.converged)
        param = f"as_{h:g}s"
        if h == self.gate_h:
            self.emit(param, st.mean, st.half_width)
        else:
            assert self.engine is not None
            emit_estimate(
                self.engine,
                self.name,
                param,
                st.mean,
                len(st.as_bps),
                st.half_width,
                st.converged,
            )

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "fills": self.fills,
            "fills_no_mid": self.fills_no_mid,
            "matured_no_mid": self.matured_no_mid,
            "as_bps": {f"{h:g}s": self.stats[h].mean for h in self.horizons_s},
            "n_eff": {f"{h:g}s": self.stats[h].n_eff for h in self.horizons_s},
        }
