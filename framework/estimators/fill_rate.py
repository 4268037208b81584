"""Fill rate of our quotes: a piecewise-constant hazard per depth bucket (mm_math.md §6).

Each quoted side is exposed to a hazard that depends on its depth bucket,
``δ = s·(m - p)/m·1e4`` bps, recomputed at every book event.  Exposure time goes to
the bucket the quote sat in; a fill counts in the bucket just before it.  Quotes come
from ``QUOTES`` rows (a row holds until the next one; a null price = not quoted) and
fills from ``SIM_FILLS`` / ``FILLS``.

Observation **[ours]** (the unit of the minimum count): one completed quote episode,
i.e. a side's quote from when it is set until a fill, a price change or withdrawal
ends it (right-censoring), as in survival analysis.

Cost: one float range test per book / bbo event (a quote's bucket can only change when
the mid leaves the range that keeps both sides' depth buckets); exposure is accrued in
integer ns only when a bucket or a quote changes and before any read.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Any

from framework.engine.core import Engine
from framework.estimators.base import NAN, EstimatorBase, chi2_quantile, require_positive
from framework.events.columns import Columns
from framework.events.schema import Kind

DEFAULT_EDGES_BPS: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0)


def poisson_glm(
    fills: Sequence[float],
    exposure_s: Sequence[float],
    depth_bps: Sequence[float],
    iters: int = 50,
) -> tuple[float, float, float, float]:
    """IRLS fit of ``F_b ~ Poisson(E_b·A_f·exp(-k_f·δ_b))``: ``(A_f, k_f, SE(ln A_f), SE(k_f))``.

    Returns NaNs when fewer than two buckets have exposure or there are no fills.
    Plain floats: the information matrix is 2x2, so its inverse is closed-form (numpy's
    per-call overhead was most of the cost).
    """
    rows = [
        (float(f), float(e), float(d))
        for f, e, d in zip(fills, exposure_s, depth_bps, strict=True)
        if e > 0
    ]
    if len(rows) < 2:
        return NAN, NAN, NAN, NAN
    f_sum = sum(r[0] for r in rows)
    ds = [r[2] for r in rows]
    if f_sum <= 0 or max(ds) - min(ds) <= 0:
        return NAN, NAN, NAN, NAN
    exp = math.exp
    b0 = math.log(f_sum / sum(r[1] for r in rows))
    b1 = 0.0
    for _ in range(iters):
        s0 = s1 = s2 = g0 = g1 = 0.0
        for f, e, d in rows:
            mu = e * exp(min(700.0, max(-700.0, b0 - b1 * d)))
            s0 += mu
            s1 += mu * d
            s2 += mu * d * d
            g0 += f - mu
            g1 += (f - mu) * d
        # info = [[s0, -s1], [-s1, s2]], gradient = (g0, -g1) for x = (1, -δ).
        det = s0 * s2 - s1 * s1
        if not det > 0:
            return NAN, NAN, NAN, NAN
        st0 = (s2 * g0 - s1 * g1) / det
        st1 = (s1 * g0 - s0 * g1) / det
        b0 += st0
        b1 += st1
        if max(abs(st0), abs(st1)) < 1e-10:
            break
    s0 = s1 = s2 = 0.0
    for _f, e, d in rows:
        mu = e * exp(min(700.0, max(-700.0, b0 - b1 * d)))
        s0 += mu
        s1 += mu * d
        s2 += mu * d * d
    det = s0 * s2 - s1 * s1
    if not det > 0:
        return NAN, NAN, NAN, NAN
    return math.exp(b0), b1, math.sqrt(s2 / det), math.sqrt(s0 / det)


class FillRateEstimator(EstimatorBase):
    """``λ̂_b = F_b / E_b`` per depth bucket, a Poisson GLM across buckets, and the §6 gate.

    Parameters
    ----------
    edges_bps : tuple of float
        Bucket lower edges in bps (the last bucket is open); depths below the first
        edge go to the first bucket.
    min_fills_bucket : int
        §6: ``F_b >= 20`` in every bucket we quote in.
    quoted_share : float
        A bucket counts as "quoted in" with at least this share of the exposure **[ours]**.
    min_exposure_s : float
        Exposure in the quoted buckets (10 min).
    glm_min_fills, glm_max_rel_se : float
        The GLM alternative: total fills >= 50 with ``SE(k_f)/k_f <= 0.25``.
    emit_s : float
        Period of the gate re-check between fills (exposure grows; a row when the flag
        flips or the GLM is refitted).  30 s by default **[ours]**, the GLM's cadence:
        exposure is the only thing that changes in between, and 10 min of it is needed.
    glm_every_s : float
        The GLM is refitted at most this often (event time), and only when a fill
        arrived or the total exposure grew by ``glm_exposure_growth`` since the last
        fit; rows are journaled at refits (see :mod:`framework.estimators.base`).
    glm_exposure_growth : float
        Relative exposure growth that makes a refit worthwhile without a new fill.
    """

    name = "fill_rate"

    def __init__(
        self,
        edges_bps: tuple[float, ...] = DEFAULT_EDGES_BPS,
        min_fills_bucket: int = 20,
        quoted_share: float = 0.05,
        min_exposure_s: float = 600.0,
        glm_min_fills: int = 50,
        glm_max_rel_se: float = 0.25,
        emit_s: float = 30.0,
        glm_every_s: float = 30.0,
        glm_exposure_growth: float = 0.05,
    ) -> None:
        super().__init__()
        require_positive(emit_s=emit_s, glm_every_s=glm_every_s, min_exposure_s=min_exposure_s)
        edges = [float(x) for x in edges_bps]
        if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError(f"edges_bps={edges_bps!r}: need >= 2 strictly increasing edges")
        self.edges = edges
        nb = len(edges)
        width = edges[-1] - edges[-2]
        self.depth_mid = [(edges[j] + edges[j + 1]) / 2 for j in range(nb - 1)] + [
            edges[-1] + width / 2
        ]
        self.min_fills_bucket = min_fills_bucket
        self.quoted_share = quoted_share
        self.min_exposure_s = min_exposure_s
        self.glm_min_fills = glm_min_fills
        self.glm_max_rel_se = glm_max_rel_se
        self.emit_ns = round(emit_s * 1e9)
        self.glm_every_ns = round(glm_every_s * 1e9)
        self.glm_exposure_growth = glm_exposure_growth
        # Exposure in integer ns per bucket: exact whatever the accrual order, so it is
        # accrued lazily (when a side's bucket or quote changes, and before any read).
        self._exposure_ns = [0] * nb
        self.fills = [0] * nb
        # Per side (0 = bid, 1 = ask): quoted price (NaN = none), current bucket and the
        # start of the exposure not yet accrued.
        self._px = [NAN, NAN]
        self._bucket = [0, 0]
        self._seg_t = [0, 0]
        self._n_quoted = 0
        # Per side: the open mid range in which its bucket cannot change (shrunk by a
        # relative 1e-12 so float rounding at an edge is decided by the exact formula);
        # an unquoted side's range is everything.  `_lo2`/`_hi2`: the intersection of
        # both, times two (compared with bid + ask, so a book event costs one test).
        self._lo0 = self._lo1 = -math.inf
        self._hi0 = self._hi1 = math.inf
        self._lo2, self._hi2 = -math.inf, math.inf
        self._dirty = False
        self._next_glm = 0
        self._glm_fills = -1
        self._glm_exposure_ns = 0
        self.glm_fits = 0
        self.A_f = self.k_f = self.se_ln_A = self.se_k = NAN
        self.market: Any = None

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.market = engine.component("market")
        engine.subscribe(Kind.BOOK, self.on_book)
        engine.subscribe(Kind.BBO, self.on_book)
        engine.subscribe(Kind.QUOTES, self.on_quote)
        engine.subscribe(Kind.SIM_FILLS, self.on_fill)
        engine.subscribe(Kind.FILLS, self.on_fill)
        engine.call_every(self.emit_ns, self.on_timer)

    # -- public -------------------------------------------------------------------------
    @property
    def exposure_s(self) -> list[float]:
        """Seconds of quote exposure per bucket, up to the engine's current time."""
        if self.engine is not None:
            self._flush(self.engine.now)
        return [e / 1e9 for e in self._exposure_ns]

    def bucket_of(self, depth_bps: float) -> int:
        """Index of the bucket holding ``depth_bps``."""
        if depth_bps != depth_bps:
            return 0
        return max(0, bisect.bisect_right(self.edges, depth_bps) - 1)

    def hazard(self, depth_bps: float) -> float:
        """``λ̂_b`` (fills per second of exposure) of the bucket holding ``depth_bps``."""
        b = self.bucket_of(depth_bps)
        e = self.exposure_s[b]
        return self.fills[b] / e if e > 0 else NAN

    def p_fill(self, depth_bps: float, tau_s: float) -> float:
        """``P(fill within τ) = 1 - exp(-λ̂_b τ)``."""
        return 1.0 - math.exp(-self.hazard(depth_bps) * tau_s)

    def interval(self, b: int, level: float = 0.95) -> tuple[float, float]:
        """Exact Poisson CI of ``λ_b``: ``[χ²_{2F,α/2}/(2E), χ²_{2F+2,1-α/2}/(2E)]``."""
        e, f = self.exposure_s[b], self.fills[b]
        if e <= 0:
            return NAN, NAN
        a = (1.0 - level) / 2.0
        lo = chi2_quantile(a, 2 * f) / (2 * e) if f > 0 else 0.0
        return lo, chi2_quantile(1.0 - a, 2 * f + 2) / (2 * e)

    # -- exposure -----------------------------------------------------------------------
    def _flush(self, now: int) -> None:
        """Accrue both sides' open exposure up to ``now``."""
        px, seg = self._px, self._seg_t
        for s in (0, 1):
            if px[s] == px[s]:
                self._exposure_ns[self._bucket[s]] += now - seg[s]
                seg[s] = now

    def _set_range(self) -> None:
        lo0, lo1, hi0, hi1 = self._lo0, self._lo1, self._hi0, self._hi1
        if lo0 != lo0 or lo1 != lo1 or hi0 != hi0 or hi1 != hi1:
            self._lo2 = self._hi2 = NAN  # a side waits for a valid mid: test every book
        else:
            self._lo2 = 2.0 * (lo0 if lo0 > lo1 else lo1)
            self._hi2 = 2.0 * (hi0 if hi0 < hi1 else hi1)

    def _set_bucket(self, s: int, m: float, now: int) -> None:
        p = self._px[s]
        depth = ((m - p) if s == 0 else (p - m)) / m * 1e4
        edges = self.edges
        b = max(0, bisect.bisect_right(edges, depth) - 1)
        if b != self._bucket[s]:
            self._exposure_ns[self._bucket[s]] += now - self._seg_t[s]
            self._seg_t[s] = now
            self._bucket[s] = b
        # Mids that keep depth in [edges[b], edges[b+1]): the bid's depth (1 - p/m)·1e4
        # grows with m, the ask's (p/m - 1)·1e4 falls.
        e_lo = edges[b] if b > 0 else -math.inf
        e_hi = edges[b + 1] if b + 1 < len(edges) else math.inf
        if s == 0:
            lo = p / (1.0 - e_lo / 1e4) if e_lo > -math.inf else 0.0
            hi = p / (1.0 - e_hi / 1e4) if e_hi < 1e4 else math.inf
            self._lo0, self._hi0 = lo * (1.0 + 1e-12), hi * (1.0 - 1e-12)
        else:
            lo = p / (1.0 + e_hi / 1e4) if e_hi < math.inf else 0.0
            hi = p / (1.0 + e_lo / 1e4) if e_lo > -1e4 else math.inf
            self._lo1, self._hi1 = lo * (1.0 + 1e-12), hi * (1.0 - 1e-12)

    def _unbucket(self, s: int) -> None:
        if s == 0:
            self._lo0, self._hi0 = -math.inf, math.inf
        else:
            self._lo1, self._hi1 = -math.inf, math.inf
        self._set_range()

    # -- handlers -----------------------------------------------------------------------
    def on_book(self, cols: Columns, i: int) -> None:
        # One float test per book event: a side's bucket depends only on its price and
        # the mid, so nothing can change while bid + ask stays inside both sides' range
        # (everything when nothing is quoted; NaN - invalid or a range still unset -
        # fails the test and is sorted out below).
        m = self.market
        if self._lo2 < m.best_bid + m.best_ask < self._hi2:
            return
        if not self._n_quoted:
            return
        mid = m.mid
        if mid != mid:
            return  # invalid: the buckets keep their last depth
        # Only a side whose own range the mid left can change bucket.
        now = self.engine.now
        px = self._px
        if px[0] == px[0]:
            if not self._lo0 < mid < self._hi0:
                self._set_bucket(0, mid, now)
        else:
            self._unbucket(0)
        if px[1] == px[1]:
            if not self._lo1 < mid < self._hi1:
                self._set_bucket(1, mid, now)
        else:
            self._unbucket(1)
        self._set_range()

    def on_quote(self, cols: Columns, i: int) -> None:
        now = self.engine.now
        for side_idx, new in ((0, cols.bid_px[i]), (1, cols.ask_px[i])):
            new = NAN if new is None else new
            old = self._px[side_idx]
            if new == old or (new != new and old != old):
                continue
            if old == old:
                self._exposure_ns[self._bucket[side_idx]] += now - self._seg_t[side_idx]
                self._seg_t[side_idx] = now
                self._n_quoted -= 1
                self._unbucket(side_idx)
                self._end_episode()  # replaced or withdrawn: censored
            self._px[side_idx] = new
            if new == new:
                self._n_quoted += 1
                self._seg_t[side_idx] = now
                m = self.market.mid
                if m == m:
                    self._set_bucket(side_idx, m, now)
                    self._set_range()
                else:  # no valid mid yet: the next valid book buckets this side
                    self._lo0 = self._hi0 = self._lo1 = self._hi1 = NAN
                    self._set_range()

    def on_fill(self, cols: Columns, i: int) -> None:
        side_idx = 0 if cols.side[i] > 0 else 1
        if self._px[side_idx] == self._px[side_idx]:
            b = self._bucket[side_idx]
        else:
            # A fill of a side we no longer quote (an order still in flight): its own depth.
            m, p = self.market.mid, cols.px[i]
            if m != m:
                return
            s = 1.0 if side_idx == 0 else -1.0
            b = self.bucket_of(s * (m - p) / m * 1e4)
        self.fills[b] += 1
        self._end_episode(fill=True)

    def on_timer(self, t: int) -> None:
        # Exposure grows between fills: refit when due, re-check the gate, and journal
        # only on a refit or a flag change.
        if self._dirty or self._n_quoted:
            self._update(force_rows=False)

    def _end_episode(self, fill: bool = False) -> None:
        self.n_obs += 1
        n = self.n_obs
        self._dirty = True
        # The gate is re-checked at every fill (counts and the GLM change), at the
        # documented count (whose rows are always journaled: the flag's flip) and on the
        # timer; a censored episode only adds exposure, which the timer picks up.
        if fill or n == self.min_obs or n == self.min_obs - 1:
            self._update(force_rows=n == self.min_obs or n == self.min_obs - 1)

    # -- estimates ----------------------------------------------------------------------
    def _criteria(self) -> bool:
        exp_ns = self._exposure_ns
        total = sum(exp_ns)
        if total <= 0:
            return False
        cut = self.quoted_share * total
        exposure = 0
        per_bucket = True
        for b, e in enumerate(exp_ns):
            if e >= cut:
                exposure += e
                if self.fills[b] < self.min_fills_bucket:
                    per_bucket = False
        glm = (
            sum(self.fills) >= self.glm_min_fills
            and self.k_f > 0
            and self.se_k / self.k_f <= self.glm_max_rel_se
        )
        return exposure >= self.min_exposure_s * 1e9 and (per_bucket or glm)

    def _update(self, force_rows: bool) -> None:
        self._dirty = False
        now = self.engine.now
        self._flush(now)
        refit = False
        if now >= self._next_glm:
            n_fills = sum(self.fills)
            total = sum(self._exposure_ns)
            if n_fills != self._glm_fills or total > self._glm_exposure_ns * (
                1.0 + self.glm_exposure_growth
            ):
                self._glm_fills, self._glm_exposure_ns = n_fills, total
                self._next_glm = now + self.glm_every_ns
                self.A_f, self.k_f, self.se_ln_A, self.se_k = poisson_glm(
                    self.fills, [e / 1e9 for e in self._exposure_ns], self.depth_mid
                )
                self.glm_fits += 1
                refit = True
        changed = self.set_converged(self._criteria())
        if refit or changed or force_rows:
            self.emit("k_f", self.k_f, self.se_k)
            self.emit("A_f", self.A_f, self.A_f * self.se_ln_A)

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "exposure_s": self.exposure_s,
            "fills": list(self.fills),
            "k_f": self.k_f,
            "A_f": self.A_f,
            "glm_fits": self.glm_fits,
        }
