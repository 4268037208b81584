"""Fill rate of our resting orders: a piecewise-constant hazard per depth bucket (mm_math.md §6).

Each order resting at the venue is exposed to a hazard that depends on its depth
bucket, ``δ = s·(m - p)/m·1e4`` bps (its price ``p`` against the current mid ``m``),
recomputed at every book event.  Exposure time goes to the bucket the order sat in;
a fill counts in the bucket the order was in just before it.

Exposure comes from orders resting as the engine knows them, never from the
strategy's targets (``quotes``): an order's episode starts at its resting ack
(``sim_orders`` ``resting``; live ``order_responses`` ``resting`` or ``order_updates``
``open``, whichever comes first) and ends at its first fill (the event) or its
terminal row (``canceled``, ``filled``, ``rejected`` and the live ``*Canceled`` /
``*Rejected`` statuses: right-censored).  A modify is a cancel plus a new order: the
replaced order's episode ends (censored) when the new one rests, or at its own
terminal row if that comes first.  Time in flight (sent, not yet acked), rejected
orders and reject back-off are not exposure.  Only orders this engine sent count
(``order_commands`` ``place``/``modify``; their side and price fill in the live
``order_responses``, which carry neither).

One fill per order **[ours]**: an episode ends at the order's *first* fill, partial
or not, and the order contributes nothing afterwards (later fills of the same order
are not events, the remainder's resting time is not exposure).  So ``λ̂_b = F_b /
E_b`` is the MLE of the hazard of an order's first fill, and ``P̂_fill(b, τ)`` the
probability that an order resting ``τ`` in bucket ``b`` gets filled at all within
``τ``; counting each partial fill, or keeping exposure after the first fill without
counting later fills, would both break the censoring model of §6.  A fill of an order
not resting (taking on arrival, an order the engine never saw rest) is not counted.
An order that rests before there is a valid mid accrues no exposure until the first
valid mid buckets it; a fill before that ends its episode as censored.

Observation **[ours]** (the unit of the minimum count, ``n_obs``): one completed
episode, ended by a fill or censored.

Cost: one float range test per book / bbo event (an order's bucket can only change
when the mid leaves the range that keeps every resting order's depth bucket);
exposure is accrued in integer ns only when a bucket or an order changes and before
any read.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Any

from framework.book import WakeField
from framework.engine.core import Engine
from framework.estimators.base import (
    NAN,
    EstimatorBase,
    chi2_quantile,
    on_checkpoint,
    require_positive,
)
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.kernel.fpmath import exp, log
from framework.kernel.market import FillEpisodes
from framework.orders import _TERMINAL as LIVE_TERMINAL  # the live statuses ending an order
from framework.orders import venue_says_gone

DEFAULT_EDGES_BPS: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0)

# A resting order's record (a plain list: hot path): side (0 bid, 1 ask), price, depth
# bucket (-1: not bucketed yet, no valid mid), start of the exposure not yet accrued
# (ns), and the open mid range (lo, hi) in which its bucket cannot change.
SIDE, PX, BUCKET, SEG_T, LO, HI = 0, 1, 2, 3, 4, 5


def _live_terminal(status: str) -> bool:
    return status in LIVE_TERMINAL or status.endswith(("Canceled", "Rejected"))


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
    b0 = log(f_sum / sum(r[1] for r in rows))
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
    return exp(b0), b1, math.sqrt(s2 / det), math.sqrt(s0 / det)


class FillRateEstimator(EstimatorBase):
    """``λ̂_b = F_b / E_b`` per depth bucket, a Poisson GLM across buckets, and the §6 gate.

    Parameters
    ----------
    edges_bps : tuple of float
        Bucket lower edges in bps (the last bucket is open); depths below the first
        edge go to the first bucket.
    min_fills_bucket : int
        §6: ``F_b >= 20`` in every bucket our orders rest in.
    quoted_share : float
        A bucket counts as one our orders rest in with at least this share of the
        exposure **[ours]**.
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
        # accrued lazily (when an order's bucket changes, it ends, and before any read).
        self._exposure_ns = [0] * nb
        self.fills = [0] * nb
        # Resting orders by cloid (insertion order: deterministic), see SIDE ... HI.
        self._orders: dict[str, list[Any]] = {}
        # Orders sent and not yet ended: cloid -> (side index, price) from the command.
        self._sent: dict[str, tuple[int, float]] = {}
        self._replaces: dict[str, str] = {}  # modify: new cloid -> the cloid it replaces
        self._filled: set[str] = set()  # episode ended by a fill, order not ended yet
        # The open mid range in which no resting order's bucket can change, times two
        # (compared with bid + ask, so a book event costs one test, in the kernel):
        # everything when none rests, NaN while one waits for a valid mid (test every
        # book).  Kept on the wake condition, read and set as _lo2 / _hi2.  The wake
        # also runs the episodes (rest, fill, end) on the containers above, in C.
        state = (self._orders, self._sent, self._replaces, self._filled)
        self._wake = FillEpisodes(self._end_episode, (*state, self._exposure_ns, self.fills, edges))
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
        self._wake.bind(engine)
        commands, sim_orders = self._wake.routes()  # on_command, on_sim_order in C
        engine.subscribe(Kind.ORDER_COMMANDS, commands)
        engine.subscribe(Kind.SIM_ORDERS, sim_orders)
        engine.subscribe(Kind.ORDER_RESPONSES, self.on_response)
        engine.subscribe(Kind.ORDER_UPDATES, self.on_update)
        engine.subscribe(Kind.SIM_FILLS, self.on_fill)
        engine.subscribe(Kind.FILLS, self.on_fill)
        on_checkpoint(engine, self.publish)
        engine.call_every(self.emit_ns, self.on_timer)

    _lo2 = WakeField("lo2")  # the range, kept on the wake condition
    _hi2 = WakeField("hi2")

    # -- public -------------------------------------------------------------------------
    @property
    def exposure_s(self) -> list[float]:
        """Seconds of resting-order exposure per bucket, up to the engine's current time."""
        if self.engine is not None:
            self._flush(self.engine.now)
        return [e / 1e9 for e in self._exposure_ns]

    @property
    def resting(self) -> int:
        """Orders whose episode is open (resting, not yet filled)."""
        return len(self._orders)

    def bucket_of(self, depth_bps: float) -> int:
        """Index of the bucket holding ``depth_bps``."""
        if depth_bps != depth_bps:
            return 0
        return max(0, bisect.bisect_right(self.edges, depth_bps) - 1)

    def hazard(self, depth_bps: float) -> float:
        """``λ̂_b`` (first fills per second of exposure) of the bucket holding ``depth_bps``."""
        b = self.bucket_of(depth_bps)
        e = self.exposure_s[b]
        return self.fills[b] / e if e > 0 else NAN

    def p_fill(self, depth_bps: float, tau_s: float) -> float:
        """``P(fill within τ) = 1 - exp(-λ̂_b τ)``."""
        return 1.0 - exp(-self.hazard(depth_bps) * tau_s)

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
        """Accrue every resting order's open exposure up to ``now``."""
        exp = self._exposure_ns
        for rec in self._orders.values():
            b = rec[BUCKET]
            if b >= 0:
                exp[b] += now - rec[SEG_T]
                rec[SEG_T] = now

    # The per-order bookkeeping runs in the kernel, called directly (no Python wrapper:
    # 60,000 calls a day): ``self._wake.set_bucket(rec, mid, now, edges, exposure)`` puts
    # ``rec`` in the depth bucket of ``mid`` and sets the mids that keep it there,
    # ``self._wake.set_range(self._orders)`` the mid range in which no bucket changes
    # (:class:`framework.kernel.market.SumRangeWake`).

    # -- episodes (in the kernel: framework.kernel.market.FillEpisodes) ------------------
    def _gone(self, cloid: str | None, fill: bool, rejected: bool = False) -> None:
        """``cloid`` ended at the venue (a terminal row); ``fill``: it ended filled, which
        is its first fill if none was counted yet (a live ``filled`` status can come
        before the fill row)."""
        self._wake.gone(cloid, fill, rejected)

    # -- handlers -----------------------------------------------------------------------
    def on_book(self, cols: Columns, i: int) -> None:
        """A book or bbo event: an order's bucket depends only on its price and the mid,
        so nothing changes while bid + ask stays inside every resting order's range;
        else the orders whose range the mid left are bucketed again.  The engine runs
        this in the kernel (the wake, :meth:`FillEpisodes.on_event`), per event."""
        self._wake.on_event(cols, i)

    def on_response(self, cols: Columns, i: int) -> None:
        status, action = cols.status[i], cols.action[i]
        if status == "resting":
            self._wake.rest(cols.cloid[i], None, None)
        elif status == "error":
            gone = venue_says_gone(cols.error[i])  # the order is not on the venue
            if action == "cancel":
                if gone:
                    self._gone(cols.cloid[i], fill=False)
            else:
                old = self._replaces.get(cols.cloid[i]) if gone else None
                self._gone(cols.cloid[i], fill=False, rejected=True)
                if old is not None:
                    self._gone(old, fill=False)
        elif status == "filled" or status == "canceled":
            # A place filled on arrival (taker) never rested: nothing counts.
            self._gone(cols.cloid[i], fill=False)
        elif status == "success" and action == "cancel":
            self._gone(cols.cloid[i], fill=False)

    def on_update(self, cols: Columns, i: int) -> None:
        status = cols.status[i]
        if status == "open":
            self._wake.rest(cols.cloid[i], cols.side[i], cols.limit_px[i])
        elif _live_terminal(status):
            self._gone(
                cols.cloid[i],
                fill=status == "filled",
                rejected=status == "rejected" or status.endswith("Rejected"),
            )

    def on_fill(self, cols: Columns, i: int) -> None:
        self._wake.first_fill(cols.cloid[i])

    def on_timer(self, t: int) -> None:
        # Exposure grows between fills: refit when due, re-check the gate, and journal
        # only on a refit or a flag change.
        if self._dirty or self._orders:
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

    def publish(self) -> None:
        self._update(force_rows=True)

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "exposure_s": self.exposure_s,
            "fills": list(self.fills),
            "k_f": self.k_f,
            "A_f": self.A_f,
            "glm_fits": self.glm_fits,
            "resting": len(self._orders),
        }
