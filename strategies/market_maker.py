"""The reference market maker (component name ``"strategy"``).

Per market event it does a few float comparisons: has the fair price moved by the
requote threshold (the largest of ``requote_ticks`` grid steps, ``requote_tolerance_bps``
and ``requote_spread_fraction`` of the quoted half spread) since the last evaluation,
or has the book run through one of our quotes?  Only then does it compute a quote.
Heavy work runs on event-time timers: model parameters from the estimators
(``param_interval_s``; used at the next evaluation), a periodic re-evaluation
(``requote_interval_s``) and the Q-learning decision step (``q_step_s``).

A quote is GLFT (:mod:`strategies.glft`) around the mid or microprice.  Its half spread
is the profile's floor plus the Q-learning multiplier times the GLFT half spread (γ
from the profile), at least the measured adverse selection plus fees (mm_math §4),
clamped into the profile's band as a guard-rail, then widened by risk
(``spread_mult``).  Inventory is counted in reference lots of ``base_notional_usd``
(mm_math §0: ``q = position / reference size``), not in lots of the current order
size, so Kelly sizing never weakens the skew per coin.  The size is fractional Kelly
capped by a top-of-book share and the margin room (§7, §10.4), checked against the
venue minimum at each side's own price.  Sides and sizes obey risk
(``quoting_allowed``, ``sides_allowed``, ``size_mult``).  Below the request budget's
forcing headroom the side that reduces inventory is quoted at the touch (improving it
by a tick when the spread allows), flat both sides at the minimum size, and each
side is modified at most every ``forcing_requote_s``.  The accepted target is
journaled as a ``quotes`` row and reconciled into ``order_commands``: ``place`` (ALO)
when a side has no order, ``modify`` when it rests at another price or size,
``cancel`` when the side is not wanted; an order in flight is left alone until the
venue answers.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from framework.book import QuoteWake, WakeField
from framework.config import StrategyConfig, section_from_kwargs, unstructure
from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.grid import decade, round_price, round_size, tick_size
from framework.kernel.fpmath import round_digits, square
from framework.orders import PX, RESTING, STATUS, SZ
from strategies.glft import glft_coefficients, microprice, quote_prices
from strategies.profiles import clamp_half_spread, profile
from strategies.qlearning import ACTIONS, DEFAULT_ACTION, QLearner, regime_proxy, state_index
from strategies.sizing import order_size

__all__ = ["MarketMaker"]

INF = math.inf
NAN = math.nan
_SIDES = (1, -1)
# The output tables, bound once (an enum member read costs 0.12 µs on Python 3.11).
QUOTES, ORDER_COMMANDS = Kind.QUOTES, Kind.ORDER_COMMANDS


def _optional(engine: Engine, name: str) -> Any:
    try:
        return engine.component(name)
    except KeyError:
        return None


def _usable(est: Any, attr: str) -> float:
    """An estimator's value once it has converged, else NaN (cold start)."""
    if est is None or not getattr(est, "converged", False):
        return NAN
    v = getattr(est, attr, NAN)
    return v if v == v and v > 0 else NAN


class MarketMaker:
    """GLFT quoting with profiles, risk and an optional Q-learning layer.

    Parameters
    ----------
    **config
        Fields of :class:`framework.config.StrategyConfig`.
    """

    name = "strategy"

    def __init__(self, **config: Any) -> None:
        self.cfg: StrategyConfig = section_from_kwargs(StrategyConfig, config)
        c = self.cfg
        prof = profile(c.spread_profile)
        self.band = prof.band_bps
        self.gamma = c.gamma_per_bps if c.gamma_per_bps is not None else prof.gamma_per_bps
        self.floor_bps = (
            c.half_spread_floor_bps if c.half_spread_floor_bps is not None else prof.floor_bps
        )
        self.skew_scale = c.skew_scale if c.skew_scale is not None else prof.skew_scale
        self.coin = c.coin
        self.min_half_spread = c.maker_fee_bps + c.min_edge_bps
        # model state (refreshed on the parameter timer)
        # cold-start model values (the config's, or a prior's: warm_start)
        self.cold = (c.sigma_bps_default, c.k_per_bps_default, c.A_per_s_default)
        self.sigma_bps, self.k_per_bps, self.A_per_s = self.cold
        # GLFT half spread (bps) and skew per reference lot (bps), and the GLFT
        # coefficients (c1, c2) of the (k, A) they were last computed for
        self._glft = (NAN, NAN, NAN, NAN)
        self._set_half_spread_and_skew()
        self.as_floor_bps = NAN  # AS(5 s) + fee + min edge once adverse selection converged
        self.tob_notional = NAN  # smoothed top-of-book notional (USD, mean of both sides)
        self.q_shift = 0.0
        self.sigma_slow = NAN
        # quoting state
        # The market wake condition (evaluated in the kernel, per book/bbo event): the
        # fair price of the last evaluation and the move that requotes, the accepted
        # target prices, and whether the quote follows the touch.  Read and written
        # through the WakeFields below.
        self._wake = QuoteWake(None, self._on_wake)
        self._key_step = 1e-2  # bps; half the requote tolerance once quoting started
        self._tick_band = (0.0, 0.0, 0.0)
        self._hs_quoted = 0.0  # half spread (bps) of the last evaluation: sets the tolerance
        self._eval_key: tuple[Any, ...] = ()
        self._target: dict[int, tuple[float, float, bool] | None] = {1: None, -1: None}
        self._cloid: dict[int, str | None] = {1: None, -1: None}
        self._replaced: dict[int, str | None] = {1: None, -1: None}  # modify in flight
        self._retry_at: dict[int, int] = {1: 0, -1: 0}
        self._modify_at: dict[int, int] = {1: 0, -1: 0}  # forcing mode: next modify allowed
        self._reject_streak: dict[int, int] = {1: 0, -1: 0}
        self._reconciling = False
        self._again = False
        self._last_quote: tuple[Any, ...] | None = None
        self.quotes = 0
        self.commands = 0
        self.evaluations = 0
        # Q-learning
        self.learner = (
            QLearner(
                epsilon0=c.q_epsilon0,
                epsilon_min=c.q_epsilon_min,
                discount=c.q_discount,
                omega=c.q_omega,
                trust_visits=c.q_trust_visits,
            )
            if c.qlearning
            else None
        )
        self.action = DEFAULT_ACTION
        self.m_hs, self.m_skew = ACTIONS[DEFAULT_ACTION]
        self._q_state = -1
        self._q_equity = NAN
        self._q_lots = 0.0  # inventory (reference lots) held over the decision step

    @property
    def config(self) -> dict[str, Any]:
        """The JSON config that rebuilds this component (``MarketMaker(**config)``)."""
        return unstructure(self.cfg)

    # -- wiring -------------------------------------------------------------------------
    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.market = engine.component("market")
        self.orders = engine.component("orders")
        self.risk = engine.component("risk")
        self.vol = _optional(engine, "volatility")
        self.kappa = _optional(engine, "kappa")
        self.kelly = _optional(engine, "kelly")
        self.regime = _optional(engine, "regime")
        self.adverse = _optional(engine, "adverse_selection")
        self._wake.bind(engine)
        for kind in (Kind.SIM_FILLS, Kind.FILLS):
            engine.subscribe(kind, self.on_fill)
        for kind in (Kind.SIM_ORDERS, Kind.ORDER_RESPONSES, Kind.ORDER_UPDATES):
            engine.subscribe(kind, self.on_order)
        engine.subscribe(Kind.RISK, self.on_risk)
        c = self.cfg
        engine.call_every(int(c.param_interval_s * 1e9), self.on_params)
        engine.call_every(int(c.requote_interval_s * 1e9), self.on_requote_timer)
        if self.learner is not None:
            engine.call_every(int(c.q_step_s * 1e9), self.on_decision)

    # -- the hot path -------------------------------------------------------------------
    def on_market(self, cols: Columns, i: int) -> None:
        """A book or bbo event: requote if the wake condition says so (what the engine
        runs, in the kernel, is :class:`~framework.book.QuoteWake`; this is the same
        test for callers that hold the strategy)."""
        self._wake(cols, i)

    def _on_wake(self) -> None:
        self._requote(False)

    # The wake condition's fields, as the strategy's own attributes: the fair price of
    # the last evaluation and the move that requotes, the accepted target prices
    # (what the quotes row says; -inf / inf when none), and whether the quote follows
    # the touch (forcing out inventory: every event wakes).
    _fair_eval = WakeField("center")
    _move_px = WakeField("band")
    _bid_px = WakeField("bid")
    _ask_px = WakeField("ask")
    _track_touch = WakeField("always")

    # -- other handlers -----------------------------------------------------------------
    def on_fill(self, cols: Columns, i: int) -> None:
        self._requote(True)  # inventory changed: new skew, and the filled side needs refilling

    def on_order(self, cols: Columns, i: int) -> None:
        cloid = cols.cloid[i]
        for s in _SIDES:
            if cloid is not None and cloid == self._cloid[s]:
                status = cols.status[i]
                if status in ("rejected", "error") or status.endswith("Rejected"):
                    # Back off exponentially (1, 2, 4 ... 32 x reject_backoff_s): a venue
                    # that rejects, e.g. for an exhausted request budget, is not hammered.
                    streak = self._reject_streak[s] = self._reject_streak[s] + 1
                    delay = self.cfg.reject_backoff_s * 2.0 ** min(streak - 1, 5)
                    self._retry_at[s] = self.engine.now + int(delay * 1e9)
                    self.engine.call_at(self._retry_at[s], self._retry)
                elif status in ("resting", "open", "filled"):
                    self._reject_streak[s] = 0
                self._reconcile()
                return

    def on_risk(self, cols: Columns, i: int) -> None:
        self._requote(True)

    def _retry(self, t: int) -> None:
        self._requote(True)

    def on_requote_timer(self, t: int) -> None:
        self._sweep_orphans()
        if self._model_key() != self._eval_key or self._missing_orders():
            self._requote(False)

    def _model_key(self) -> tuple[Any, ...]:
        """What a quote depends on besides the fair price, coarsened.

        The half spread and the skew per lot count in steps of half the requote
        tolerance: a model change that moves the quotes by less than the tolerance is
        not worth a modify (mm_math §1.5: requote on a move of >= 1 tick or a
        tolerance), and a finer key made every parameter refresh re-evaluate and
        follow sub-tolerance drift of the fair price.
        """
        r = self.risk
        kelly = self.kelly.fraction if self.kelly is not None and self.kelly.ready else 0.0
        step = self._key_step
        return (
            math.floor(self._model_hs() / step),
            math.floor(self.skew_bps * self.m_skew / step),
            round_digits(self.q_shift, 2),
            round_digits(r.spread_mult, 2),
            r.size_mult,
            r.quoting_allowed,
            r.sides_allowed,
            r.forcing,
            self.orders.position,
            round_digits(kelly, 4),
        )

    def _missing_orders(self) -> bool:
        target, cloid, orders = self._target, self._cloid, self.orders.open
        for s in _SIDES:  # noqa: SIM110 (any() would build a generator per call)
            if target[s] is not None and orders.get(cloid[s]) is None:
                return True
        return False

    def _sweep_orphans(self) -> None:
        """Cancel resting orders the strategy no longer tracks (belt and braces)."""
        cl, rp = self._cloid, self._replaced
        orphans = None  # a list only once one is found (none, nearly always)
        for cloid, rec in self.orders.open.items():
            if (
                cloid != cl[1]
                and cloid != cl[-1]
                and cloid != rp[1]
                and cloid != rp[-1]
                and rec[STATUS] == RESTING
            ):
                if orphans is None:
                    orphans = []
                orphans.append((cloid, rec[0]))
        if orphans is not None:
            for cloid, side in orphans:
                self._command("cancel", side, None, cloid, "orphan")

    # -- parameters (timer) -------------------------------------------------------------
    def on_params(self, t: int) -> None:
        c = self.cfg
        sigma = _usable(self.vol, "sigma_bps")
        self.sigma_bps = sigma if sigma == sigma else self.cold[0]
        k = _usable(self.kappa, "k_per_bps")
        A = _usable(self.kappa, "A_per_s") if k == k else NAN
        if k == k and A == A:
            self.k_per_bps, self.A_per_s = k, A
        else:
            self.k_per_bps, self.A_per_s = self.cold[1], self.cold[2]
        self._set_half_spread_and_skew()
        if c.funding_carry:
            # A long pays funding: a drift mu = -F/3600 per s (bps units) shifts inventory
            # by mu / (gamma sigma^2) lots (mm_math §10.2 via §1.2).
            mu_bps = -self.market.funding * 1e4 / 3600.0
            self.q_shift = mu_bps / (self.gamma * square(self.skew_scale) * square(self.sigma_bps))
        ase = self.adverse
        if c.adverse_selection_floor and ase is not None and ase.converged:
            self.as_floor_bps = ase.mean_bps(ase.gate_h) + self.min_half_spread
        else:
            self.as_floor_bps = NAN
        self._smooth_tob()
        s = self.sigma_bps
        self.sigma_slow = (
            s if self.sigma_slow != self.sigma_slow else 0.99 * self.sigma_slow + 0.01 * s
        )
        # No requote here: the requote timer, fills and risk changes pick the new values up.

    def _set_half_spread_and_skew(self) -> None:
        """:func:`~strategies.glft.half_spread_and_skew` of the current σ, k and A.

        Its coefficients depend on k and A only, which change at κ refits, while σ
        changes every parameter refresh: they are kept for the last (k, A) and the
        half spread and skew computed from them as that function does (same bits).
        """
        k, a = self.k_per_bps, self.A_per_s
        k_was, a_was, c1, c2 = self._glft
        if k != k_was or a != a_was:
            c1, c2 = glft_coefficients(k, a, self.gamma, self.cfg.model)
            self._glft = (k, a, c1, c2)
        sigma = self.sigma_bps
        self.hs_bps, self.skew_bps = c1 + 0.5 * sigma * c2, sigma * c2

    # -- Q-learning decision step (timer) -------------------------------------------------
    def on_decision(self, t: int) -> None:
        """One Q-learning step (mm_math §9): reward the last action, pick the next.

        The reward is in the GLFT units (bps of price times reference lots):
        ``r = ΔPnL - φ q² σ² Δ_d`` with ``φ = ½ γ_eff`` (times ``q_inventory_penalty``;
        ``γ_eff = γ skew_scale²``, see :class:`framework.config.SpreadProfile`),
        ``q`` the inventory held over the step in reference lots and ``ΔPnL`` the
        mark-to-mid equity change (fees and funding included) in those units.
        """
        learner = self.learner
        c = self.cfg
        eq = self.orders.mark(t)
        s_now = self._state()
        if self._q_state >= 0:
            pnl = (eq - self._q_equity) / (c.base_notional_usd * 1e-4)
            q = self._q_lots
            # γ_eff = γ skew_scale²: the inventory aversion the quotes express
            phi = 0.5 * self.gamma * square(self.skew_scale) * c.q_inventory_penalty
            reward = pnl - phi * q * q * square(self.sigma_bps) * c.q_step_s
            learner.update(self._q_state, self.action, reward, s_now)
        a = learner.choose(s_now, self.engine.rng)
        self._q_state, self._q_equity = s_now, eq
        px = self.orders.mark_price()
        self._q_lots = self.orders.position * px / c.base_notional_usd if px == px else 0.0
        if a != self.action:
            self.action = a
            self.m_hs, self.m_skew = ACTIONS[a]
            self._requote(True)

    def _state(self) -> int:
        m = self.market
        cap = self._max_position(self.orders.mark_price())
        inv = self.orders.position / cap if cap > 0 else 0.0
        reg = self.regime
        if reg is not None and reg.state >= 0:
            regime = reg.state  # the HMM's label (hysteresis inside the estimator)
        else:
            regime = regime_proxy(self.sigma_bps / self.sigma_slow if self.sigma_slow > 0 else 1.0)
        qb, qa = m.bid_sz, m.ask_sz
        imb = (qb - qa) / (qb + qa) if qb + qa > 0 else 0.0
        return state_index(inv, regime, imb)

    # -- quoting ------------------------------------------------------------------------
    def _fair(self) -> float:
        m = self.market
        b, a = m.best_bid, m.best_ask
        if not b < a:
            return NAN
        if self.cfg.fair_price == "microprice":
            return microprice(b, a, m.bid_sz, m.ask_sz)
        return (b + a) * 0.5

    def _smooth_tob(self) -> None:
        """EWMA (weight 0.2 per parameter refresh) of the displayed top-of-book notional."""
        m = self.market
        tob = 0.5 * (m.best_bid * m.bid_sz + m.best_ask * m.ask_sz)
        if tob == tob and tob > 0:
            t = self.tob_notional
            self.tob_notional = tob if t != t else 0.8 * t + 0.2 * tob

    def _model_hs(self) -> float:
        """The model's half spread (bps) before the band and risk: the profile floor plus
        the Q multiplier times GLFT, at least the adverse-selection floor (§4)."""
        hs = self.floor_bps + self.m_hs * self.hs_bps
        a = self.as_floor_bps
        return a if a > hs else hs  # NaN compares False: no floor yet

    def _max_position(self, px: float) -> float:
        rc = self.risk.cfg
        cap = rc.max_position
        if px > 0:
            usd_cap = rc.max_position_usd / px
            return usd_cap if usd_cap < cap else cap  # min(cap, usd_cap), without the builtin
        return cap

    def _requote(self, force: bool) -> None:
        """Evaluate the target quote; accept and reconcile it when it moved enough."""
        m = self.market
        mid = (m.best_bid + m.best_ask) * 0.5
        fair = self._fair()
        if fair != fair:
            return  # no valid book: keep what rests; the quote gate handles stale data
        c = self.cfg
        self.evaluations += 1
        self._fair_eval = mid
        lo, hi, tick = self._tick_band
        if not lo <= fair < hi:
            tick = tick_size(fair, c.sz_decimals)
            # the tick only changes at powers of ten: cache the decade
            lo = decade(fair)
            self._tick_band = (lo, lo * 10.0, tick)
        # max(a, b) written out (b if b > a else a: the same value and tie rule)
        tol_bps = c.requote_tolerance_bps
        frac = c.requote_spread_fraction * self._hs_quoted
        tol_bps = frac if frac > tol_bps else tol_bps
        move, tol_px = c.requote_ticks * tick, tol_bps * fair * 1e-4
        self._move_px = tol_px if tol_px > move else move
        self._key_step = 0.5 * self._move_px / fair * 1e4
        self._eval_key = self._model_key()
        risk = self.risk
        if not risk.quoting_allowed:
            self._accept(None, None, fair, 0.0, 0.0, force=True)
            return
        bid, ask, hs, skew = self._quote(fair, tick)
        self._hs_quoted = hs
        self._accept(bid, ask, fair, hs, skew, force=force)

    def _quote(self, fair: float, tick: float) -> tuple[Any, Any, float, float]:
        """The target sides ``(px, sz, reduce_only)`` or None, half spread and skew (bps)."""
        c = self.cfg
        risk = self.risk
        pos = self.orders.position
        bid_ok, ask_ok = risk.sides_allowed
        if risk.forcing and pos != 0.0 and round_size(pos, c.sz_decimals, down=True) == 0.0:
            # A remainder below one lot: no order can reduce it, and forcing would
            # quote only the reducing side, i.e. nothing, for good.  Quote as flat.
            pos = 0.0
            bid_ok, ask_ok = not risk.cap_long, not risk.cap_short
        # Inventory in reference lots (base_notional_usd of the coin), mm_math §0.
        q = pos * fair / c.base_notional_usd
        skew = self.skew_bps * self.m_skew * self.skew_scale * (q - self.q_shift)
        # The grid is coarsest at the highest price quoted (ticks grow with price).
        top = fair * (1.0 + (self.band[1] * 0.5 + abs(skew)) * 1e-4)
        if top >= self._tick_band[1]:  # above the cached decade: the tick grows there
            tick = max(tick, tick_size(top, c.sz_decimals))
        tick_bps = tick / fair * 1e4
        hs = clamp_half_spread(self._model_hs(), self.band, tick_bps)
        hs = max(hs, self.min_half_spread) * risk.spread_mult
        m = self.market
        bid_px, ask_px = quote_prices(fair, hs, skew, m.best_bid, m.best_ask, c.sz_decimals)
        self._track_touch = risk.forcing and pos != 0.0
        if self._track_touch:
            # Forcing: the reducing side must trade, so it goes to the touch (one tick
            # inside when the spread leaves room), not out by the 1/sqrt(h) widening.
            bid_px, ask_px = self._forcing_prices(pos, bid_px, ask_px, tick)
        cap = self._max_position(fair)
        bid = self._side(1, bid_ok, bid_px, pos, cap)
        ask = self._side(-1, ask_ok, ask_px, pos, cap)
        return bid, ask, hs, skew

    def _forcing_prices(
        self, pos: float, bid_px: float, ask_px: float, tick: float
    ) -> tuple[float, float]:
        m = self.market
        b, a = m.best_bid, m.best_ask
        if not b < a:
            return bid_px, ask_px
        inside = a - b >= 2.0 * tick * 0.999
        if pos < 0:  # short: buy back at the best bid (or one tick above it)
            px = round_price(b + tick, self.cfg.sz_decimals) if inside else b
            return (px if px < a else b), ask_px
        px = round_price(a - tick, self.cfg.sz_decimals) if inside else a
        return bid_px, (px if px > b else a)

    def _size(self, side: int, px: float, pos: float) -> float:
        """Order size at ``px`` (mm_math §7): Kelly (or the base notional) capped by a
        top-of-book share and the margin room of this side's worst-case inventory;
        the minimum size while forcing (the request budget is nearly spent)."""
        c = self.cfg
        risk = self.risk
        kelly = self.kelly.fraction if self.kelly is not None and self.kelly.ready else NAN
        if risk.forcing and pos == 0.0:
            kelly = -1.0  # flat while requests are scarce: the venue's minimum size
        cap = self._margin_room(side, pos, px)
        tob = self.tob_notional
        if kelly == kelly and tob == tob:  # §7 caps the Kelly size, not the base size
            cap = min(cap, c.tob_share * tob)
        return order_size(
            px,
            self.orders.equity,
            kelly,
            base_notional=c.base_notional_usd,
            min_notional=c.min_notional_usd,
            max_notional=c.max_order_notional_usd,
            size_mult=risk.size_mult,
            sz_decimals=c.sz_decimals,
            cap_notional=cap,
        )

    def _margin_room(self, side: int, pos: float, px: float) -> float:
        """USD this side may add before its worst-case inventory (position plus this
        order; one order a side) reaches the margin limit of mm_math §10.4:
        ``W / (k σ_T + MMR)`` and ``max_margin_usage · W · leverage``."""
        rc = self.risk.cfg
        w = self.orders.equity
        sigma_t = self.sigma_bps * 1e-4 * math.sqrt(rc.inventory_horizon_s)
        mmr = 0.5 / rc.max_leverage
        limit = w / (rc.inventory_k_sigma * sigma_t + mmr)
        usage = rc.max_margin_usage * w * rc.leverage
        limit = usage if usage < limit else limit  # min(limit, usage)
        return limit - side * pos * px

    def _side(
        self, side: int, ok: bool, px: float, pos: float, cap: float
    ) -> tuple[float, float, bool] | None:
        if not ok:
            return None
        c = self.cfg
        size = self._size(side, px, pos)
        if size <= 0.0:
            return None
        reduces = side * pos < 0
        if self.risk.forcing and reduces:
            # Reduce-only; the whole position when what would be left is below the
            # venue minimum (a remainder that small could not be sold on its own).
            left = abs(pos) - size
            sz = abs(pos) if left * px < c.min_notional_usd else size
            sz = round_size(sz, c.sz_decimals, down=True)
            return (px, sz, True) if sz > 0 else None
        room = cap - side * pos  # what this side may add before the cap
        room = round_size(0.0 if room < 0.0 else room, c.sz_decimals, down=True)  # max(room, 0)
        sz = room if room < size else size  # min(size, room)
        if sz * px < c.min_notional_usd:
            return None  # too close to the cap for a valid order
        return px, sz, False

    def _accept(
        self, bid: Any, ask: Any, fair: float, hs: float, skew: float, *, force: bool
    ) -> None:
        cur_b, cur_a = self._target[1], self._target[-1]
        if not force and self._keep(1, cur_b, bid) is cur_b and self._keep(-1, cur_a, ask) is cur_a:
            bid, ask = cur_b, cur_a  # both sides move together, so the spread stays in band
        if bid != cur_b or ask != cur_a:
            self._target[1], self._target[-1] = bid, ask
            self._bid_px = bid[0] if bid is not None else -INF
            self._ask_px = ask[0] if ask is not None else INF
            self._emit_quote(bid, ask, fair, hs, skew)
        self._reconcile()

    def _keep(self, side: int, cur: Any, new: Any) -> Any:
        """The current side unless the new one differs by the threshold (or in kind)."""
        if cur is None or new is None:
            return new
        tick = self._tick_band[2]
        # Forcing out inventory, the reducing quote follows the touch to the tick (its
        # modifies are throttled by forcing_requote_s instead).
        move = tick if self._track_touch else self._move_px
        if abs(new[0] - cur[0]) >= move - tick * 1.001 or new[2] != cur[2]:
            return new
        if abs(new[1] - cur[1]) > 0.2 * cur[1]:
            return new  # size moved materially (Kelly, caps)
        m = self.market
        if (side > 0 and cur[0] >= m.best_ask) or (side < 0 and cur[0] <= m.best_bid):
            return new  # the book ran through the kept quote: it would not be passive
        return cur

    def _emit_quote(self, bid: Any, ask: Any, fair: float, hs: float, skew: float) -> None:
        self.quotes += 1
        e = self.engine
        e.emit(
            QUOTES,
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
    def _reconcile(self) -> None:
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

    def _reconcile_side(self, s: int) -> None:
        want = self._target[s]
        cloid = self._cloid[s]
        # The tracker's open records by cloid (its order(), without the call: a None
        # cloid is never a key)
        open_orders = self.orders.open
        rec = open_orders.get(cloid)
        if rec is None and self._replaced[s] is not None:
            # the replacement is gone (a rejected modify): the original may still rest
            cloid, self._replaced[s] = self._replaced[s], None
            rec = open_orders.get(cloid)
            self._cloid[s] = cloid
        if rec is None:
            self._cloid[s] = None
            if want is not None and self.engine.now >= self._retry_at[s]:
                self._command("place", s, want, None, "quote")
            return
        if rec[STATUS] != RESTING:
            return  # in flight: decide again when the venue answers
        self._replaced[s] = None
        if want is None:
            self._command("cancel", s, None, cloid, "unquote")
        elif self.engine.now < self._retry_at[s]:
            return  # backing off after a reject: the resting order stays as it is
        elif rec[PX] != want[0] or rec[SZ] < 0.5 * want[1] or rec[SZ] > want[1]:
            if self.risk.forcing:
                # Requests are scarce: modify a side at most every forcing_requote_s.
                now = self.engine.now
                if now < self._modify_at[s]:
                    return
                self._modify_at[s] = now + int(self.cfg.forcing_requote_s * 1e9)
            self._replaced[s] = cloid
            self._command("modify", s, want, cloid, "requote")

    def _command(self, action: str, side: int, want: Any, target: str | None, why: str) -> None:
        """Emit one order command; a place/modify becomes the side's order first."""
        e = self.engine
        self.commands += 1
        if action == "cancel":
            row = (target, "cancel", self.coin, side, None, None, None, False, None)
        else:
            cloid = e.next_cloid()
            self._cloid[side] = cloid
            row = (cloid, action, self.coin, side, want[0], want[1], "Alo", want[2], target)
        e.emit(ORDER_COMMANDS, (*row, e.input_seq, why))

    def warm_start(self, prior: Any) -> dict[str, Any]:
        """Start from a paper prior (:class:`framework.calibration.prior.Prior`).

        σ, κ and A whose estimators had converged in the prior replace the config's
        cold-start values (used until this session's estimators converge; nothing here
        marks them converged).  The Q-table is seeded only in states this learner has
        never visited, with visit counts left at 0 so live experience overrides it
        quickly (mm_math §9).  Returns what was applied.
        """
        m = prior.model
        sigma, k, a = self.cold
        if m.sigma_converged and m.sigma_bps and m.sigma_bps > 0:
            sigma = m.sigma_bps
        if m.kappa_converged and m.k_per_bps and m.A_per_s and m.k_per_bps > 0 < m.A_per_s:
            k, a = m.k_per_bps, m.A_per_s
        self.cold = (sigma, k, a)
        self.sigma_bps, self.k_per_bps, self.A_per_s = self.cold
        self._set_half_spread_and_skew()
        seeded = 0
        if self.learner is not None and prior.qtable is not None:
            seeded = self.learner.seed_from(attrs.asdict(prior.qtable))
        return {"sigma_bps": sigma, "k_per_bps": k, "A_per_s": a, "q_states_seeded": seeded}

    def cancel_all(self) -> None:
        """Cancel every order of ours that rests (used when an environment stops)."""
        self._target[1] = self._target[-1] = None
        self._bid_px, self._ask_px = -INF, INF
        self._reconcile()

    def snapshot(self) -> dict[str, Any]:
        return {
            "sigma_bps": self.sigma_bps,
            "k_per_bps": self.k_per_bps,
            "A_per_s": self.A_per_s,
            "half_spread_bps": self.hs_bps,
            "skew_bps_per_lot": self.skew_bps,
            "action": list(ACTIONS[self.action]),
            "target": {"bid": self._target[1], "ask": self._target[-1]},
            "cloids": {"bid": self._cloid[1], "ask": self._cloid[-1]},
            "quotes": self.quotes,
            "commands": self.commands,
            "evaluations": self.evaluations,
            "qtable": self.learner.to_dict() if self.learner is not None else None,
        }
