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

Where the code is: this class holds the configuration, the wiring, the warm start and
the snapshot; everything above that runs per event (the handlers, the timers, the quote
and the reconciliation) is its base class :class:`framework.kernel.quoter.Quoter`,
plain Python that the build compiles (Cython's pure-Python mode).  Override any of its
methods in a subclass of this one: the compiled paths call the override.
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
from framework.kernel.quoter import Quoter
from strategies.profiles import profile
from strategies.qlearning import ACTIONS, DEFAULT_ACTION, QLearner

__all__ = ["MarketMaker"]

INF = math.inf
NAN = math.nan


def _optional(engine: Engine, name: str) -> Any:
    try:
        return engine.component(name)
    except KeyError:
        return None


class MarketMaker(Quoter):
    """GLFT quoting with profiles, risk and an optional Q-learning layer.

    Parameters
    ----------
    **config
        Fields of :class:`framework.config.StrategyConfig`.
    """

    name = "strategy"

    def __init__(self, **config: Any) -> None:
        self.configure(section_from_kwargs(StrategyConfig, config))  # sets self.cfg
        c: StrategyConfig = self.cfg
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
        self._clock = engine.clock
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
    # Everything from here to warm_start runs in the kernel (framework.kernel.quoter,
    # the Quoter base): the handlers the engine calls (on_fill, on_order, on_risk, the
    # timers on_params, on_requote_timer and on_decision), the quote evaluation
    # (_requote, _quote, _side, _size, _accept, _keep) and the reconciliation of the
    # target into order commands (_reconcile, _command).  Override any of them here.
    def on_market(self, cols: Columns, i: int) -> None:
        """A book or bbo event: requote if the wake condition says so (what the engine
        runs, in the kernel, is :class:`~framework.book.QuoteWake`; this is the same
        test for callers that hold the strategy)."""
        self._wake(cols, i)

    # The wake condition's fields, as the strategy's own attributes: the fair price of
    # the last evaluation and the move that requotes, the accepted target prices
    # (what the quotes row says; -inf / inf when none), and whether the quote follows
    # the touch (forcing out inventory: every event wakes).
    _fair_eval = WakeField("center")
    _move_px = WakeField("band")
    _bid_px = WakeField("bid")
    _ask_px = WakeField("ask")
    _track_touch = WakeField("always")

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
