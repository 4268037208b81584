"""The risk component (name ``"risk"``): limits, kill switches, the quote gate.

It owns four answers the strategy reads before every quote:

* :attr:`RiskManager.quoting_allowed` - False after the drawdown kill switch, while the
  daily loss limit is tripped, or while the quote gate is paused (no book or trade
  progress for ``stale_s`` of event time);
* :attr:`RiskManager.sides_allowed` - ``(bid, ask)``: a position cap (contracts or USD)
  blocks the side that would grow the position, from the cap until the position is
  back under ``position_release`` of it (hysteresis: a position hovering at the cap
  does not flap the quotes); below ``forcing_headroom`` of the request budget only the
  side that reduces inventory is quoted (the seed's "inventory-forcing mode").  Flat,
  both sides stay allowed: the strategy quotes them at the minimum size with throttled
  requotes, because the venue's budget grows only with traded volume and a flat
  session that quoted nothing would never earn its way out (a HIP-3 market whose
  headroom sits near 7 % could not be made at all);
* :attr:`RiskManager.spread_mult` - ``sqrt(widen_headroom / h)`` for request-budget
  headroom ``h`` below ``widen_headroom`` (1 above it: continuous, the seed's
  ``1/sqrt(headroom)`` scaled to start at the threshold), times the Marginal-readiness
  spread multiplier; the strategy does not apply it to the reducing side while forcing;
* :attr:`RiskManager.size_mult` - the Marginal-readiness size multiplier.

Every state change is emitted as a ``risk`` row (rule, state, value, limit, reason);
the strategy subscribes to them and requotes.  Checks run on fills and on an
event-time timer, never per market event.
"""

from __future__ import annotations

import math
from typing import Any

from framework.config import RiskConfig, section_from_kwargs
from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.kernel.handler import Tick
from framework.kernel.market import DAY_NS, OK, RiskCore

__all__ = ["RiskManager"]


#: ``connection`` rows that pause the quote gate at once (the state that says the link is
#: down) and the states that say it is back (framework.hyperliquid.ws reports them).
LINK_DOWN = {"ws": "disconnected", "feed:l2Book": "stale"}
LINK_UP = {"ws": ("connected", "resubscribed"), "feed:l2Book": ("fresh",)}


class RiskManager(RiskCore):
    """Position caps, drawdown and daily-loss kill switches, quote gate, rate limits.

    The state the strategy reads and the per-second check are the typed kernel's
    (:class:`~framework.kernel.market.RiskCore`); the rules' slow paths are here.

    Parameters
    ----------
    **config
        Fields of :class:`framework.config.RiskConfig`.
    """

    name = "risk"

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.cfg: RiskConfig = section_from_kwargs(RiskConfig, config)
        c = self.cfg
        self.readiness_spread = c.marginal_spread_mult if c.readiness == "marginal" else 1.0
        self.size_mult = c.marginal_size_mult if c.readiness == "marginal" else 1.0
        self.spread_mult = self.readiness_spread
        self.changes = 0
        self._stale_ns = int(c.stale_s * 1e9)
        # the limits the kernel's check compares with (the config is frozen)
        self._max_position = c.max_position
        self._max_position_usd = c.max_position_usd
        self._max_drawdown = c.max_drawdown
        self._max_daily_loss = c.max_daily_loss_usd
        self._links_down: set[str] = set()  # "ws" disconnected, "feed:l2Book" stale

    # -- wiring -------------------------------------------------------------------------
    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.market = engine.component("market")
        self.orders = engine.component("orders")
        try:
            self.fills = engine.component("fills")
        except KeyError:
            self.fills = None
        # paper: what every check reads the address budget's headroom from (the fill
        # simulator's RequestBudget, where it is a plain attribute; else the component)
        self.budget = getattr(self.fills, "budget", self.fills)
        engine.subscribe(Kind.SIM_FILLS, self.on_fill)
        engine.subscribe(Kind.FILLS, self.on_fill)
        engine.subscribe(Kind.RATE_LIMIT, self.on_rate_limit)
        engine.subscribe(Kind.ACCOUNT, self.on_account)
        engine.subscribe(Kind.CONTROL, self.on_control)
        engine.subscribe(Kind.CONNECTION, self.on_connection)
        # immediate: the budget, readiness and gate are known before the first quote
        # check() as a C call from the timer (a Tick: no Python call per second)
        engine.call_every(int(self.cfg.check_interval_s * 1e9), Tick(self, 0), immediate=True)

    # -- handlers -----------------------------------------------------------------------
    def on_fill(self, cols: Columns, i: int) -> None:
        self._check_position()
        self._check_losses()
        self._publish()

    def on_rate_limit(self, cols: Columns, i: int) -> None:
        cap = cols.n_requests_cap[i]
        self._live_headroom = True
        self._set_headroom(1.0 - cols.n_requests_used[i] / cap if cap > 0 else 0.0)
        self._publish()

    def on_account(self, cols: Columns, i: int) -> None:
        """Live: when the order tracker adopted the venue's account on this row, the
        day's loss counts from the adopted equity (not from the config's)."""
        o = self.orders
        if o.adopted and o.adopted_seq == self.engine.input_seq:
            self._day = self.engine.now // DAY_NS
            self._day_start_equity = o.equity

    def _carry_day(self, equity: float | None, day: str | None) -> None:
        """Live: an earlier session today counted the daily loss from ``equity``: so does
        this one (a restart used to start the day afresh, a tripped limit with it)."""
        if equity is None or day is None or not day.isdigit():
            return
        if int(day) == self._day and equity == equity:
            self._day_start_equity = float(equity)
            self._check_losses()  # flat, the periodic check would not look again
            self._publish()

    @property
    def day_start(self) -> tuple[int, float]:
        """``(UTC day, its start equity)`` the daily loss counts from (live state file)."""
        return self._day, self._day_start_equity

    def on_connection(self, cols: Columns, i: int) -> None:
        """Live: the socket dropped or the book feed went stale: pause the quote gate now.

        The venue keeps matching while our book is frozen; waiting for ``stale_s`` of
        no data (15 s) quoted into a stale book and was filled at old prices.  The gate
        resumes once every link is back and the data is fresh again.
        """
        link, state = cols.link[i], cols.state[i]
        if link not in LINK_DOWN:
            return
        if state == LINK_DOWN[link]:
            self._links_down.add(link)
            if not self.paused:
                self.paused = True
                detail = cols.detail[i] or state
                self._change(
                    "quote_gate",
                    "paused",
                    0.0,
                    self.cfg.stale_s,
                    f"{link} {state} ({detail}); quotes cancelled",
                )
        elif state in LINK_UP[link]:
            self._links_down.discard(link)

    def on_control(self, cols: Columns, i: int) -> None:
        """Live: ``kill`` (the environment's kill switch) and ``shutdown`` (SIGINT,
        SIGTERM) stop quoting for the rest of the session; the strategy cancels."""
        topic = cols.topic[i]
        if topic == "risk" and cols.action[i] == "day_start":
            self._carry_day(cols.value[i], cols.detail[i])
            return
        if topic not in ("kill", "shutdown") or self.killed:
            return
        self.killed = True
        self._change(topic, "tripped", 0.0, 0.0, cols.detail[i] or topic)

    # -- rules --------------------------------------------------------------------------
    def _readiness(self) -> None:
        if self.cfg.readiness == "marginal":
            self._change(
                "readiness",
                "widened",
                self.readiness_spread,
                self.size_mult,
                "Marginal calibration: spread x"
                f"{self.readiness_spread:g}, size x{self.size_mult:g}",
            )
        else:
            self.states["readiness"] = OK

    def _check_gate(self, t: int) -> None:
        last = self.market.last_market_ts
        if not self._t0:
            self._t0 = t  # before any market data, staleness counts from the first check
        age = t - (last or self._t0)
        stale = age >= self._stale_ns or bool(self._links_down)
        if stale and not self.paused:
            self.paused = True
            self._change(
                "quote_gate",
                "paused",
                age / 1e9,
                self.cfg.stale_s,
                f"no book or trade progress for {age / 1e9:.1f} s; quotes cancelled",
            )
        elif not stale and self.paused:
            self.paused = False
            self._change(
                "quote_gate", "resumed", age / 1e9, self.cfg.stale_s, "market data fresh again"
            )

    def _set_headroom(self, h: float) -> None:
        c = self.cfg
        self.headroom = h
        # 1/sqrt(h) only once h is below widen_headroom: above it the budget is healthy
        # and spreads stay as modelled, so every widening is a journaled "widened" state
        # (the seed widens "when headroom drops"; the threshold is ours).
        # Continuous in h: 1 at the threshold, then the seed's 1/sqrt(h) shape below it.
        widen = (
            math.sqrt(c.widen_headroom / max(h, c.min_headroom)) if h < c.widen_headroom else 1.0
        )
        self.spread_mult = self.readiness_spread * widen
        prev = self.states.get("rate_limit", OK)
        # Hysteresis: leave a state only once h is headroom_hysteresis past its threshold,
        # so fills that earn a few requests do not flip forcing / widened every second.
        forcing_at = c.forcing_headroom + (c.headroom_hysteresis if prev == "forcing" else 0.0)
        widen_at = c.widen_headroom + (c.headroom_hysteresis if prev != OK else 0.0)
        if h < forcing_at:
            state = "forcing"
        elif h < widen_at:
            state = "widened"
        else:
            state = OK
        self.forcing = state == "forcing"
        if prev == state:
            return  # the common case (checked every second): no message to write
        if state == "forcing":
            limit = c.forcing_headroom
            why = (
                "request budget nearly spent: only the side that reduces inventory, at the "
                "touch (flat: both sides at the minimum size), modifies throttled"
            )
        elif state == "widened":
            limit = c.widen_headroom
            why = f"request budget low: spreads x{widen:.2f} (sqrt({c.widen_headroom:g}/headroom))"
        else:
            limit, why = c.widen_headroom, "request budget healthy"
        self._change("rate_limit", state, h, limit, why)

    def _check_position(self) -> None:
        c = self.cfg
        pos = self.orders.position
        over = self._over_caps(pos)
        if not over and (self.cap_long or self.cap_short):
            # Tripped caps hold until the position is back under position_release of them.
            over = self._over_caps(pos / c.position_release)
        self.cap_long = over and pos > 0
        self.cap_short = over and pos < 0
        state = "tripped" if over else OK
        if self.states.get("position", OK) != state:
            if over:
                why = (
                    f"position {pos:g} ({self._notional(pos):.0f} USD) at the cap "
                    f"{c.max_position:g} / {c.max_position_usd:g} USD: only the reducing side"
                )
            else:
                why = f"position back under {c.position_release:.0%} of the caps"
            self._change("position", state, pos, math.copysign(c.max_position, pos or 1.0), why)

    # _check_losses (mark, new UTC day, the two trips below) is RiskCore's.
    def _drawdown_tripped(self) -> None:
        o = self.orders
        self._change(
            "drawdown",
            "tripped",
            o.max_drawdown,
            self.cfg.max_drawdown,
            f"drawdown {o.max_drawdown:.2%} from peak {o.peak_equity:.2f}: kill switch, "
            "all quotes cancelled for the rest of the session",
        )

    def _daily_loss_tripped(self, loss: float) -> None:
        self._change(
            "daily_loss",
            "tripped",
            loss,
            self.cfg.max_daily_loss_usd,
            f"lost {loss:.2f} USD today: quoting stops until the next UTC day",
        )

    # -- outputs ------------------------------------------------------------------------
    def _change(self, rule: str, state: str, value: float, limit: float, reason: str) -> None:
        self.states[rule] = state
        self.changes += 1
        self._publish()
        self.engine.emit(Kind.RISK, (rule, state, float(value), float(limit), reason))

    def snapshot(self) -> dict[str, Any]:
        return {
            "quoting_allowed": self.quoting_allowed,
            "sides_allowed": list(self.sides_allowed),
            "spread_mult": self.spread_mult,
            "size_mult": self.size_mult,
            "headroom": self.headroom,
            "states": dict(sorted(self.states.items())),
            "changes": self.changes,
        }
