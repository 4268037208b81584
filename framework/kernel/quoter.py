"""The reference market maker's per-event paths, typed: the base of
:class:`strategies.market_maker.MarketMaker`, which keeps its configuration, wiring,
warm start and snapshot in plain Python (read the strategy there first).

What a backtest day calls most: the three 5 s timers (parameters, re-evaluation,
Q-learning step; 17,280 each), an order outcome per venue answer (22,000) and a
quote evaluation per wake (7,000).  Interpreted, each is tens of Python frames and
boxed floats; here the strategy's own figures are C fields and its methods C calls.
The arithmetic is the former Python's, operation for operation and in the same order,
so compiled and interpreted write the same journal.  Every method is ``ccall``: a
Python subclass that overrides one (``_size``, ``_quote``, ``on_params`` ...) is
called in its place, as before.

It calls the strategy's maths where it lives (:mod:`strategies.glft`,
:mod:`strategies.sizing`, :mod:`strategies.profiles`, :mod:`strategies.qlearning`)
and reads the other components (market, orders, risk, estimators) by attribute.
"""

from __future__ import annotations

import math

import cython

from framework.events.schema import Kind
from framework.grid import decade, round_price, tick_size
from framework.kernel.fpmath import round_digits, square
from framework.kernel.qtable import regime_proxy, state_index
from framework.orders import PX, RESTING, STATUS, SZ
from strategies.glft import glft_coefficients
from strategies.qlearning import ACTIONS

if cython.compiled:  # C calls; interpreted, the Python functions (the same bits)
    from cython.cimports.framework.kernel.handler import Clock
    from cython.cimports.framework.kernel.market import MarketState, RiskCore, TrackerCore
    from cython.cimports.framework.kernel.quotemath import (
        clamp_half_spread,
        microprice,
        order_size,
        quote_prices,
        round_size_down,
    )
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

    from framework.kernel.handler import Clock
    from framework.kernel.market import MarketState, RiskCore, TrackerCore
    from framework.kernel.quotemath import (
        clamp_half_spread,
        microprice,
        order_size,
        quote_prices,
        round_size_down,
    )

INF = cython.declare(cython.double, math.inf)
NAN = cython.declare(cython.double, math.nan)
# The order record's fields (framework.orders), as C integers, and the status of a
# resting order.
_PX = cython.declare(cython.Py_ssize_t, PX)
_SZ = cython.declare(cython.Py_ssize_t, SZ)
_STATUS = cython.declare(cython.Py_ssize_t, STATUS)
_RESTING = cython.declare(str, RESTING)
# math.floor as a Python call: an int, and ValueError on NaN, as the key always had.
_floor = math.floor
# The output tables, bound once.
_QUOTES = cython.declare(object, Kind.QUOTES)
_ORDER_COMMANDS = cython.declare(object, Kind.ORDER_COMMANDS)


@cython.cfunc
def _usable(est: object, attr: str) -> cython.double:
    """An estimator's value once it has converged, else NaN (cold start)."""
    if est is None or not getattr(est, "converged", False):
        return NAN
    v: cython.double = getattr(est, attr, NAN)
    return v if v == v and v > 0 else NAN


@cython.cclass
class Quoter:
    """The market maker's state and hot paths (see the module doc and
    :class:`strategies.market_maker.MarketMaker`, which sets every field)."""

    # -- configuration and components (set by MarketMaker) ---------------------------
    # The strategy's config (frozen), set once by configure(): the hot paths read its
    # figures from the C fields below, so it is read-only (the cfg property).
    _cfg = cython.declare(object)
    _sz_decimals = cython.declare(cython.int)
    _base_notional = cython.declare(cython.double)
    _min_notional = cython.declare(cython.double)
    _max_notional = cython.declare(cython.double)
    _tob_share = cython.declare(cython.double)
    _tolerance_bps = cython.declare(cython.double)
    _spread_fraction = cython.declare(cython.double)
    _requote_ticks = cython.declare(cython.double)
    _forcing_requote_ns = cython.declare(cython.longlong)
    _q_step_s = cython.declare(cython.double)
    _q_penalty = cython.declare(cython.double)
    _funding_carry = cython.declare(cython.bint)
    _as_floor = cython.declare(cython.bint)
    _microprice = cython.declare(cython.bint)
    engine = cython.declare(object, visibility="public")
    _clock = cython.declare(Clock, visibility="public")  # the engine's: now as a C field
    # The components whose state the hot paths read as C fields (None until wired).
    market = cython.declare(MarketState, visibility="public")
    orders = cython.declare(TrackerCore, visibility="public")
    risk = cython.declare(RiskCore, visibility="public")
    vol = cython.declare(object, visibility="public")
    kappa = cython.declare(object, visibility="public")
    kelly = cython.declare(object, visibility="public")
    regime = cython.declare(object, visibility="public")
    adverse = cython.declare(object, visibility="public")
    learner = cython.declare(object, visibility="public")
    coin = cython.declare(object, visibility="public")
    band = cython.declare(object, visibility="public")
    gamma = cython.declare(cython.double, visibility="public")
    floor_bps = cython.declare(cython.double, visibility="public")
    skew_scale = cython.declare(cython.double, visibility="public")
    min_half_spread = cython.declare(cython.double, visibility="public")
    # -- model (refreshed on the parameter timer) -------------------------------------
    cold = cython.declare(tuple, visibility="public")
    sigma_bps = cython.declare(cython.double, visibility="public")
    k_per_bps = cython.declare(cython.double, visibility="public")
    A_per_s = cython.declare(cython.double, visibility="public")
    hs_bps = cython.declare(cython.double, visibility="public")
    skew_bps = cython.declare(cython.double, visibility="public")
    _glft = cython.declare(tuple, visibility="public")
    as_floor_bps = cython.declare(cython.double, visibility="public")
    tob_notional = cython.declare(cython.double, visibility="public")
    q_shift = cython.declare(cython.double, visibility="public")
    sigma_slow = cython.declare(cython.double, visibility="public")
    # -- quoting ------------------------------------------------------------------------
    _wake = cython.declare(object, visibility="public")
    _key_step = cython.declare(cython.double, visibility="public")
    _tick_band = cython.declare(tuple, visibility="public")
    _hs_quoted = cython.declare(cython.double, visibility="public")
    _eval_key = cython.declare(tuple, visibility="public")
    _target = cython.declare(dict, visibility="public")
    _cloid = cython.declare(dict, visibility="public")
    _replaced = cython.declare(dict, visibility="public")
    _retry_at = cython.declare(dict, visibility="public")
    _modify_at = cython.declare(dict, visibility="public")
    _reject_streak = cython.declare(dict, visibility="public")
    _reconciling = cython.declare(cython.bint, visibility="public")
    _again = cython.declare(cython.bint, visibility="public")
    quotes = cython.declare(cython.longlong, visibility="public")
    commands = cython.declare(cython.longlong, visibility="public")
    evaluations = cython.declare(cython.longlong, visibility="public")
    # -- Q-learning -----------------------------------------------------------------------
    action = cython.declare(cython.int, visibility="public")
    m_hs = cython.declare(cython.double, visibility="public")
    m_skew = cython.declare(cython.double, visibility="public")
    _q_state = cython.declare(cython.int, visibility="public")
    _q_equity = cython.declare(cython.double, visibility="public")
    _q_lots = cython.declare(cython.double, visibility="public")

    @property
    def cfg(self) -> object:
        """The strategy's config (:class:`framework.config.StrategyConfig`, frozen)."""
        return self._cfg

    def configure(self, cfg: object) -> None:
        """Take the strategy's config (a frozen :class:`framework.config.StrategyConfig`)."""
        self._cfg = cfg
        self._sz_decimals = cfg.sz_decimals
        self._base_notional = cfg.base_notional_usd
        self._min_notional = cfg.min_notional_usd
        self._max_notional = cfg.max_order_notional_usd
        self._tob_share = cfg.tob_share
        self._tolerance_bps = cfg.requote_tolerance_bps
        self._spread_fraction = cfg.requote_spread_fraction
        self._requote_ticks = cfg.requote_ticks
        self._forcing_requote_ns = int(cfg.forcing_requote_s * 1e9)
        self._q_step_s = cfg.q_step_s
        self._q_penalty = cfg.q_inventory_penalty
        self._funding_carry = cfg.funding_carry
        self._as_floor = cfg.adverse_selection_floor
        self._microprice = cfg.fair_price == "microprice"

    # -- handlers (the decision points the strategy subscribes) -------------------------
    def _on_wake(self) -> None:
        self._requote(False)

    @cython.ccall
    def on_fill(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        self._requote(True)  # inventory changed: new skew, and the filled side needs refilling

    @cython.ccall
    def on_order(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        cloid = cols.cloid[i]
        s: cython.int
        for s in (1, -1):
            if cloid is not None and cloid == self._cloid[s]:
                status = cols.status[i]
                if status in ("rejected", "error") or status.endswith("Rejected"):
                    # Back off exponentially (1, 2, 4 ... 32 x reject_backoff_s): a venue
                    # that rejects, e.g. for an exhausted request budget, is not hammered.
                    streak = self._reject_streak[s] = self._reject_streak[s] + 1
                    delay = self._cfg.reject_backoff_s * 2.0 ** min(streak - 1, 5)
                    self._retry_at[s] = self._clock.now + int(delay * 1e9)
                    self.engine.call_at(self._retry_at[s], self._retry)
                elif status in ("resting", "open", "filled"):
                    self._reject_streak[s] = 0
                self._reconcile()
                return

    @cython.ccall
    def on_risk(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        self._requote(True)

    @cython.ccall
    def _retry(self, t: cython.longlong) -> cython.void:
        self._requote(True)

    @cython.ccall
    def on_requote_timer(self, t: cython.longlong) -> cython.void:
        self._sweep_orphans()
        if self._model_key() != self._eval_key or self._missing_orders():
            self._requote(False)

    @cython.ccall
    def _model_key(self) -> tuple:
        """What a quote depends on besides the fair price, coarsened.

        The half spread and the skew per lot count in steps of half the requote
        tolerance: a model change that moves the quotes by less than the tolerance is
        not worth a modify (mm_math §1.5: requote on a move of >= 1 tick or a
        tolerance), and a finer key made every parameter refresh re-evaluate and
        follow sub-tolerance drift of the fair price.
        """
        r: RiskCore = self.risk
        kelly = self.kelly
        kf = kelly.fraction if kelly is not None and kelly.ready else 0.0
        step: cython.double = self._key_step
        return (
            _floor(self._model_hs() / step),
            _floor(self.skew_bps * self.m_skew / step),
            round_digits(self.q_shift, 2),
            round_digits(r.spread_mult, 2),
            r.size_mult,
            r.quoting_allowed,
            r.sides_allowed,
            r.forcing,
            self.orders.position,
            round_digits(kf, 4),
        )

    @cython.ccall
    def _missing_orders(self) -> cython.bint:
        orders: dict = self.orders.open
        s: cython.int
        for s in (1, -1):
            if self._target[s] is not None and orders.get(self._cloid[s]) is None:
                return True
        return False

    @cython.ccall
    def _sweep_orphans(self) -> cython.void:
        """Cancel resting orders the strategy no longer tracks (belt and braces)."""
        cl, rp = self._cloid, self._replaced
        b, a, rb, ra = cl[1], cl[-1], rp[1], rp[-1]
        orphans = None  # a list only once one is found (none, nearly always)
        orders: dict = self.orders.open
        for cloid, rec in orders.items():
            if (
                cloid != b
                and cloid != a
                and cloid != rb
                and cloid != ra
                and rec[_STATUS] == _RESTING
            ):
                if orphans is None:
                    orphans = []
                orphans.append((cloid, rec[0]))
        if orphans is not None:
            for cloid, side in orphans:
                self._command("cancel", side, None, cloid, "orphan")

    # -- parameters (timer) -------------------------------------------------------------
    @cython.ccall
    def on_params(self, t: cython.longlong) -> cython.void:
        sigma: cython.double = _usable(self.vol, "sigma_bps")
        self.sigma_bps = sigma if sigma == sigma else self.cold[0]
        k: cython.double = _usable(self.kappa, "k_per_bps")
        A: cython.double = _usable(self.kappa, "A_per_s") if k == k else NAN
        if k == k and A == A:
            self.k_per_bps, self.A_per_s = k, A
        else:
            self.k_per_bps, self.A_per_s = self.cold[1], self.cold[2]
        self._set_half_spread_and_skew()
        if self._funding_carry:
            # A long pays funding: a drift mu = -F/3600 per s (bps units) shifts inventory
            # by mu / (gamma sigma^2) lots (mm_math §10.2 via §1.2).
            mu_bps: cython.double = -self.market.funding * 1e4 / 3600.0
            self.q_shift = mu_bps / (self.gamma * square(self.skew_scale) * square(self.sigma_bps))
        ase = self.adverse
        if self._as_floor and ase is not None and ase.converged:
            self.as_floor_bps = ase.mean_bps(ase.gate_h) + self.min_half_spread
        else:
            self.as_floor_bps = NAN
        self._smooth_tob()
        s: cython.double = self.sigma_bps
        self.sigma_slow = (
            s if self.sigma_slow != self.sigma_slow else 0.99 * self.sigma_slow + 0.01 * s
        )
        # No requote here: the requote timer, fills and risk changes pick the new values up.

    @cython.ccall
    def _set_half_spread_and_skew(self) -> cython.void:
        """:func:`~strategies.glft.half_spread_and_skew` of the current σ, k and A.

        Its coefficients depend on k and A only, which change at κ refits, while σ
        changes every parameter refresh: they are kept for the last (k, A) and the
        half spread and skew computed from them as that function does (same bits).
        """
        k: cython.double = self.k_per_bps
        a: cython.double = self.A_per_s
        k_was: cython.double
        a_was: cython.double
        c1: cython.double
        c2: cython.double
        k_was, a_was, c1, c2 = self._glft
        if k != k_was or a != a_was:
            c1, c2 = glft_coefficients(k, a, self.gamma, self._cfg.model)
            self._glft = (k, a, c1, c2)
        sigma: cython.double = self.sigma_bps
        self.hs_bps, self.skew_bps = c1 + 0.5 * sigma * c2, sigma * c2

    # -- Q-learning decision step (timer) -------------------------------------------------
    @cython.ccall
    def on_decision(self, t: cython.longlong) -> cython.void:
        """One Q-learning step (mm_math §9): reward the last action, pick the next.

        The reward is in the GLFT units (bps of price times reference lots):
        ``r = ΔPnL - φ q² σ² Δ_d`` with ``φ = ½ γ_eff`` (times ``q_inventory_penalty``;
        ``γ_eff = γ skew_scale²``, see :class:`framework.config.SpreadProfile`),
        ``q`` the inventory held over the step in reference lots and ``ΔPnL`` the
        mark-to-mid equity change (fees and funding included) in those units.
        """
        learner = self.learner
        eq: cython.double = self.orders.mark(t)
        s_now: cython.int = self._state()
        pnl: cython.double
        q: cython.double
        phi: cython.double
        reward: cython.double
        if self._q_state >= 0:
            pnl = (eq - self._q_equity) / (self._base_notional * 1e-4)
            q = self._q_lots
            # γ_eff = γ skew_scale²: the inventory aversion the quotes express
            phi = 0.5 * self.gamma * square(self.skew_scale) * self._q_penalty
            reward = pnl - phi * q * q * square(self.sigma_bps) * self._q_step_s
            learner.update(self._q_state, self.action, reward, s_now)
        a: cython.int = learner.choose(s_now, self.engine.rng)
        self._q_state, self._q_equity = s_now, eq
        px: cython.double = self.orders._px()
        self._q_lots = self.orders.position * px / self._base_notional if px == px else 0.0
        if a != self.action:
            self.action = a
            self.m_hs, self.m_skew = ACTIONS[a]
            self._requote(True)

    @cython.ccall
    def _state(self) -> cython.int:
        m: MarketState = self.market
        cap: cython.double = self._max_position(self.orders._px())
        pos: cython.double = self.orders.position
        inv: cython.double = pos / cap if cap > 0 else 0.0
        reg = self.regime
        regime: cython.int
        if reg is not None and reg.state >= 0:
            regime = reg.state  # the HMM's label (hysteresis inside the estimator)
        else:
            regime = regime_proxy(self.sigma_bps / self.sigma_slow if self.sigma_slow > 0 else 1.0)
        qb: cython.double = m.bid_sz
        qa: cython.double = m.ask_sz
        imb: cython.double = (qb - qa) / (qb + qa) if qb + qa > 0 else 0.0
        return state_index(inv, regime, imb)

    # -- quoting ------------------------------------------------------------------------
    @cython.ccall
    def _fair(self) -> cython.double:
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        if not b < a:
            return NAN
        if self._microprice:
            return microprice(b, a, m.bid_sz, m.ask_sz)
        return (b + a) * 0.5

    @cython.ccall
    def _smooth_tob(self) -> cython.void:
        """EWMA (weight 0.2 per parameter refresh) of the displayed top-of-book notional."""
        m: MarketState = self.market
        tob: cython.double = 0.5 * (m.best_bid * m.bid_sz + m.best_ask * m.ask_sz)
        t: cython.double
        if tob == tob and tob > 0:
            t = self.tob_notional
            self.tob_notional = tob if t != t else 0.8 * t + 0.2 * tob

    @cython.ccall
    def _model_hs(self) -> cython.double:
        """The model's half spread (bps) before the band and risk: the profile floor plus
        the Q multiplier times GLFT, at least the adverse-selection floor (§4)."""
        hs: cython.double = self.floor_bps + self.m_hs * self.hs_bps
        a: cython.double = self.as_floor_bps
        return a if a > hs else hs  # NaN compares False: no floor yet

    @cython.ccall
    def _max_position(self, px: cython.double) -> cython.double:
        risk: RiskCore = self.risk
        cap: cython.double = risk._max_position  # its config's max_position, as a C field
        usd_cap: cython.double
        if px > 0:
            usd_cap = risk._max_position_usd / px
            return usd_cap if usd_cap < cap else cap  # min(cap, usd_cap), without the builtin
        return cap

    @cython.ccall
    def _requote(self, force: cython.bint) -> cython.void:
        """Evaluate the target quote; accept and reconcile it when it moved enough."""
        m: MarketState = self.market
        mid: cython.double = (m.best_bid + m.best_ask) * 0.5
        fair: cython.double = self._fair()
        if fair != fair:
            return  # no valid book: keep what rests; the quote gate handles stale data
        wake = self._wake
        self.evaluations += 1
        wake.center = mid
        lo: cython.double
        hi: cython.double
        tick: cython.double
        lo, hi, tick = self._tick_band
        if not lo <= fair < hi:
            tick = tick_size(fair, self._sz_decimals)
            # the tick only changes at powers of ten: cache the decade
            lo = decade(fair)
            self._tick_band = (lo, lo * 10.0, tick)
        # max(a, b) written out (b if b > a else a: the same value and tie rule)
        tol_bps: cython.double = self._tolerance_bps
        frac: cython.double = self._spread_fraction * self._hs_quoted
        tol_bps = frac if frac > tol_bps else tol_bps
        move: cython.double = self._requote_ticks * tick
        tol_px: cython.double = tol_bps * fair * 1e-4
        move_px: cython.double = tol_px if tol_px > move else move
        wake.band = move_px
        self._key_step = 0.5 * move_px / fair * 1e4
        self._eval_key = self._model_key()
        risk: RiskCore = self.risk
        if not risk.quoting_allowed:
            self._accept(None, None, fair, 0.0, 0.0, True)
            return
        bid, ask, hs, skew = self._quote(fair, tick)
        self._hs_quoted = hs
        self._accept(bid, ask, fair, hs, skew, force)

    @cython.ccall
    def _quote(self, fair: cython.double, tick: cython.double) -> tuple:
        """The target sides ``(px, sz, reduce_only)`` or None, half spread and skew (bps)."""
        risk: RiskCore = self.risk
        sz_decimals: cython.int = self._sz_decimals
        pos: cython.double = self.orders.position
        bid_ok, ask_ok = risk.sides_allowed
        forcing: cython.bint = risk.forcing
        if forcing and pos != 0.0 and round_size_down(pos, sz_decimals) == 0.0:
            # A remainder below one lot: no order can reduce it, and forcing would
            # quote only the reducing side, i.e. nothing, for good.  Quote as flat.
            pos = 0.0
            bid_ok, ask_ok = not risk.cap_long, not risk.cap_short
        # Inventory in reference lots (base_notional_usd of the coin), mm_math §0.
        q: cython.double = pos * fair / self._base_notional
        skew: cython.double = self.skew_bps * self.m_skew * self.skew_scale * (q - self.q_shift)
        # The grid is coarsest at the highest price quoted (ticks grow with price).
        band_hi: cython.double = self.band[1]
        top: cython.double = fair * (1.0 + (band_hi * 0.5 + abs(skew)) * 1e-4)
        top_tick: cython.double
        if top >= self._tick_band[1]:  # above the cached decade: the tick grows there
            top_tick = tick_size(top, sz_decimals)
            tick = top_tick if top_tick > tick else tick  # max(tick, top_tick)
        tick_bps: cython.double = tick / fair * 1e4
        hs: cython.double = clamp_half_spread(self._model_hs(), self.band, tick_bps)
        mhs: cython.double = self.min_half_spread
        hs = (mhs if mhs > hs else hs) * risk.spread_mult  # max(hs, min_half_spread)
        m: MarketState = self.market
        bid_px: cython.double
        ask_px: cython.double
        bid_px, ask_px = quote_prices(fair, hs, skew, m.best_bid, m.best_ask, sz_decimals)
        track: cython.bint = forcing and pos != 0.0
        self._wake.always = track
        if track:
            # Forcing: the reducing side must trade, so it goes to the touch (one tick
            # inside when the spread leaves room), not out by the 1/sqrt(h) widening.
            bid_px, ask_px = self._forcing_prices(pos, bid_px, ask_px, tick)
        cap: cython.double = self._max_position(fair)
        bid = self._side(1, bid_ok, bid_px, pos, cap)
        ask = self._side(-1, ask_ok, ask_px, pos, cap)
        return bid, ask, hs, skew

    @cython.ccall
    def _forcing_prices(
        self, pos: cython.double, bid_px: cython.double, ask_px: cython.double, tick: cython.double
    ) -> tuple:
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        if not b < a:
            return bid_px, ask_px
        inside: cython.bint = a - b >= 2.0 * tick * 0.999
        px: cython.double
        if pos < 0:  # short: buy back at the best bid (or one tick above it)
            px = round_price(b + tick, self._sz_decimals) if inside else b
            return (px if px < a else b), ask_px
        px = round_price(a - tick, self._sz_decimals) if inside else a
        return bid_px, (px if px > b else a)

    @cython.ccall
    def _size(self, side: cython.int, px: cython.double, pos: cython.double) -> cython.double:
        """Order size at ``px`` (mm_math §7): Kelly (or the base notional) capped by a
        top-of-book share and the margin room of this side's worst-case inventory;
        the minimum size while forcing (the request budget is nearly spent)."""
        risk: RiskCore = self.risk
        k = self.kelly
        kelly: cython.double = k.fraction if k is not None and k.ready else NAN
        if risk.forcing and pos == 0.0:
            kelly = -1.0  # flat while requests are scarce: the venue's minimum size
        cap: cython.double = self._margin_room(side, pos, px)
        tob: cython.double = self.tob_notional
        share: cython.double
        if kelly == kelly and tob == tob:  # §7 caps the Kelly size, not the base size
            share = self._tob_share * tob
            cap = share if share < cap else cap  # min(cap, share)
        return order_size(
            px,
            self.orders.equity,
            kelly,
            self._base_notional,
            self._min_notional,
            self._max_notional,
            risk.size_mult,
            self._sz_decimals,
            cap,
        )

    @cython.ccall
    def _margin_room(
        self, side: cython.int, pos: cython.double, px: cython.double
    ) -> cython.double:
        """USD this side may add before its worst-case inventory (position plus this
        order; one order a side) reaches the margin limit of mm_math §10.4:
        ``W / (k σ_T + MMR)`` and ``max_margin_usage · W · leverage``."""
        rc = self.risk.cfg
        w: cython.double = self.orders.equity
        horizon: cython.double = rc.inventory_horizon_s
        sigma_t: cython.double = self.sigma_bps * 1e-4 * sqrt(horizon)
        max_leverage: cython.double = rc.max_leverage
        mmr: cython.double = 0.5 / max_leverage
        k_sigma: cython.double = rc.inventory_k_sigma
        limit: cython.double = w / (k_sigma * sigma_t + mmr)
        max_usage: cython.double = rc.max_margin_usage
        leverage: cython.double = rc.leverage
        usage: cython.double = max_usage * w * leverage
        limit = usage if usage < limit else limit  # min(limit, usage)
        return limit - side * pos * px

    @cython.ccall
    def _side(
        self,
        side: cython.int,
        ok: cython.bint,
        px: cython.double,
        pos: cython.double,
        cap: cython.double,
    ) -> object:
        if not ok:
            return None
        size: cython.double = self._size(side, px, pos)
        if size <= 0.0:
            return None
        reduces: cython.bint = side * pos < 0
        sz: cython.double
        min_notional: cython.double = self._min_notional
        if self.risk.forcing and reduces:
            # Reduce-only; the whole position when what would be left is below the
            # venue minimum (a remainder that small could not be sold on its own).
            left: cython.double = abs(pos) - size
            sz = abs(pos) if left * px < min_notional else size
            sz = round_size_down(sz, self._sz_decimals)
            return (px, sz, True) if sz > 0 else None
        room: cython.double = cap - side * pos  # what this side may add before the cap
        room = round_size_down(0.0 if room < 0.0 else room, self._sz_decimals)  # max(room, 0)
        sz = room if room < size else size  # min(size, room)
        if sz * px < min_notional:
            return None  # too close to the cap for a valid order
        return px, sz, False

    @cython.ccall
    def _accept(
        self,
        bid: object,
        ask: object,
        fair: cython.double,
        hs: cython.double,
        skew: cython.double,
        force: cython.bint,
    ) -> cython.void:
        cur_b, cur_a = self._target[1], self._target[-1]
        if not force and self._keep(1, cur_b, bid) is cur_b and self._keep(-1, cur_a, ask) is cur_a:
            bid, ask = cur_b, cur_a  # both sides move together, so the spread stays in band
        if bid != cur_b or ask != cur_a:
            self._target[1], self._target[-1] = bid, ask
            self._wake.bid = bid[0] if bid is not None else -INF
            self._wake.ask = ask[0] if ask is not None else INF
            self._emit_quote(bid, ask, fair, hs, skew)
        self._reconcile()

    @cython.ccall
    def _keep(self, side: cython.int, cur: object, new: object) -> object:
        """The current side unless the new one differs by the threshold (or in kind)."""
        if cur is None or new is None:
            return new
        wake = self._wake
        tick: cython.double = self._tick_band[2]
        # Forcing out inventory, the reducing quote follows the touch to the tick (its
        # modifies are throttled by forcing_requote_s instead).
        move: cython.double = tick if wake.always else wake.band
        new_px: cython.double = new[0]
        cur_px: cython.double = cur[0]
        if abs(new_px - cur_px) >= move - tick * 1.001 or new[2] != cur[2]:
            return new
        new_sz: cython.double = new[1]
        cur_sz: cython.double = cur[1]
        if abs(new_sz - cur_sz) > 0.2 * cur_sz:
            return new  # size moved materially (Kelly, caps)
        m: MarketState = self.market
        if (side > 0 and cur_px >= m.best_ask) or (side < 0 and cur_px <= m.best_bid):
            return new  # the book ran through the kept quote: it would not be passive
        return cur

    @cython.ccall
    def _emit_quote(
        self, bid: object, ask: object, fair: cython.double, hs: cython.double, skew: cython.double
    ) -> cython.void:
        self.quotes += 1
        e = self.engine
        e.emit(
            _QUOTES,
            (
                self.coin,
                bid[0] if bid else None,
                bid[1] if bid else None,
                ask[0] if ask else None,
                ask[1] if ask else None,
                fair,
                hs,
                skew,
                self.orders.position,
                e.input_seq,
            ),
        )

    # -- reconciliation -------------------------------------------------------------------
    @cython.ccall
    def _reconcile(self) -> cython.void:
        # Re-entrant safe: an instant venue answers inside our emit; that answer asks for
        # another pass instead of reconciling half-updated state.
        if self._reconciling:
            self._again = True
            return
        self._reconciling = True
        try:
            for _ in range(3):
                self._again = False
                self._reconcile_side(1)
                self._reconcile_side(-1)
                if not self._again:
                    break
        finally:
            self._reconciling = False

    @cython.ccall
    def _reconcile_side(self, s: cython.int) -> cython.void:
        want = self._target[s]
        cloid = self._cloid[s]
        # The tracker's open records by cloid (its order(), without the call: a None
        # cloid is never a key)
        open_orders: dict = self.orders.open
        rec = open_orders.get(cloid)
        if rec is None and self._replaced[s] is not None:
            # the replacement is gone (a rejected modify): the original may still rest
            cloid = self._replaced[s]
            self._replaced[s] = None
            rec = open_orders.get(cloid)
            self._cloid[s] = cloid
        if rec is None:
            self._cloid[s] = None
            if want is not None and self._clock.now >= self._retry_at[s]:
                self._command("place", s, want, None, "quote")
            return
        if rec[_STATUS] != _RESTING:
            return  # in flight: decide again when the venue answers
        self._replaced[s] = None
        if want is None:
            self._command("cancel", s, None, cloid, "unquote")
            return
        now: cython.longlong = self._clock.now
        if now < self._retry_at[s]:
            return  # backing off after a reject: the resting order stays as it is
        if rec[_PX] != want[0] or rec[_SZ] < 0.5 * want[1] or rec[_SZ] > want[1]:
            if self.risk.forcing:
                # Requests are scarce: modify a side at most every forcing_requote_s.
                if now < self._modify_at[s]:
                    return
                self._modify_at[s] = now + self._forcing_requote_ns
            self._replaced[s] = cloid
            self._command("modify", s, want, cloid, "requote")

    @cython.ccall
    def _command(
        self, action: str, side: cython.int, want: object, target: object, why: str
    ) -> cython.void:
        """Emit one order command; a place/modify becomes the side's order first."""
        e = self.engine
        self.commands += 1
        row: tuple
        if action == "cancel":
            row = (target, "cancel", self.coin, side, None, None, None, False, None)
        else:
            cloid = e.next_cloid()
            self._cloid[side] = cloid
            row = (cloid, action, self.coin, side, want[0], want[1], "Alo", want[2], target)
        e.emit(_ORDER_COMMANDS, (*row, e.input_seq, why))
