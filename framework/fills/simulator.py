"""The paper venue: turns order commands and public market data into fills.

:class:`FillSimulator` is an engine component (name ``"fills"``) for paper and backtest
modes.  It consumes ``order_commands`` (emitted by the strategy) and the market inputs
(``trades``, ``book``, ``bbo``, ``asset_ctx``), and emits ``sim_orders``, ``sim_fills``
and ``sim_funding``.  Rules (mm_math.md §8; buy side shown, sells mirror):

Time (mm_math.md §8.1, §8 "Determinism")
    Two clocks: engine time (``recv_ts``, when we hear of something) and exchange time
    (the ``ts`` of market rows).  We assume our host's clock and the venue's agree (no
    offset is estimated: in paper mode a host clock ahead of the venue's delays every
    arrival by the offset, one behind advances it), so a request sent at engine time
    ``t`` reaches the venue at exchange time ``T = t + L``: ``L_place`` for a place or
    modify, ``L_cancel`` for a cancel; with ``fifo`` (default) never before the
    previous request's ``T``, as on one connection.  The venue works in exchange time:

    * pending requests whose ``T`` <= a market event's ``ts`` are processed before that
      event, in (``T``, send order); so a ``trades``/``book``/``bbo`` row stamped before
      an order's ``T`` (``SimOrder.t_arrive``) never fills it, moves its queue or
      crosses it, even when it is received after the order was processed, and one
      stamped at or after ``T`` can.  ``asset_ctx`` rows carry their receive time, not
      an exchange time, so they do not advance the venue;
    * a cancel effective at ``T_c`` loses to prints stamped before ``T_c`` that are
      received before it is processed, even after engine time ``T_c`` (fills while the
      cancel is in flight);
    * a quiet market must not hold a request forever: when no market row stamped at
      or after ``T`` has come by engine time ``T + L_response`` (the smallest response
      latency the model draws), a timer processes it then, the latest time that does
      not delay its ack;
    * an arrival sees the book as it was just before the market event that triggered
      it (the simulator keeps a copy of the market state while requests are pending,
      because ``MarketState`` has already applied the event when our handler runs).

    Every outcome (``sim_orders`` and ``sim_fills`` rows) is decided at an exchange
    time ``τ`` (an arrival's ``T``, a print's or update's ``ts``) and reaches the engine
    at engine time ``max(now, τ + L_response)``, in the order decided (a later outcome
    never overtakes an earlier one).  The venue's own state (position, so reduce-only
    checks; the request budget) changes at ``τ``.  Default latencies (place 100,
    cancel 50, response 50 ms) are :data:`~framework.fills.latency.DEFAULT_LATENCY_MS`:
    chosen values, not measured ones.
Arrival
    Checks (tif, size, $10 minimum, reduce-only), then: ``Alo`` crossing the book is
    rejected with the venue's text; ``Gtc``/``Ioc`` take liquidity by walking the
    current book levels at the taker fee; an ``Ioc`` remainder is canceled, a ``Gtc``
    remainder rests.  A resting order joins the back of the queue: ``q`` = displayed
    size at its price (plus our own earlier orders there).
Resting fills (maker fee, at our price)
    * ``trade_at``: a sell print at our bid advances ``q`` by its size; the excess fills us.
    * ``trade_through``: a sell print below our bid fills the rest, capped by that print's
      size (a sweep prints once per level, so the cap is the sweep's volume beyond us).
    Each print's size is spent once across all our orders, so the sum of our resting
    fills never exceeds the traded volume that could have filled us.  Replay has no
    impact: our fills do not consume displayed liquidity.
    * ``cross`` (opt-in, ``cross_fills=True``; off by default under every queue model):
      after a book/bbo update, best ask <= our bid fills us from the displayed ask size
      at prices <= our bid, cheapest level first, best order first (a book and a bbo of
      the same exchange time count once).  Optimistic: no trade stands behind such a
      fill (crossed books are often feed artefacts and the liquidity may have gone to
      others), so with it on our fills can exceed traded volume.  Each crossing level's
      displayed size is spent once while the cross lasts: per side the simulator
      remembers ``price -> size used`` (by cross fills, and by our taker fills on that
      side), and a later update showing that price fills only the size beyond what was
      used.  "The same level" is the same side and price within one cross; a cross
      lasts until a book/bbo update whose best opposite price no longer reaches our
      best resting order on that side (or we have none there), which clears the
      memory.  With the rule off a crossed book changes nothing, queue positions
      included.
Queue
    Depth changes go to the queue model (:mod:`framework.fills.queue`); the default
    ``conservative`` model ignores them: only trades at our price advance us.
Modify
    Cancel + place under the new cloid, at place latency: the queue position is lost.
Funding
    At each hour boundary of event time (armed by the first ``asset_ctx``), the position
    pays ``position * oracle_px * rate`` from the latest ``asset_ctx`` (longs pay a
    positive rate); one ``sim_funding`` row when the position is not zero.
Budget
    Every place, cancel and modify the venue processes consumes one address request
    (:mod:`framework.fills.budget`); exhausted budgets reject with the venue's text.

Known biases and simplifications (report paper metrics under both ``conservative``
and ``prob``; live is the arbiter):

* no market impact: our fills take nothing from the displayed book (two takers before
  the next update walk the same levels); only the opt-in cross rule remembers what it
  (and our taking) used of a crossing level;
* taking walks the last ``book`` snapshot (top of book from ``bbo`` only when no
  snapshot exists); depth changes for the queue models come from ``book`` snapshots
  only, and an order priced beyond the displayed levels keeps its queue;
* a buy-aggressor print never fills our bids (only the opt-in cross rule covers asks
  that come down to our bid); no margin, leverage or open-interest checks;
* a request processed by the quiet-market timer (engine time ``T + L_response``)
  cannot see market rows stamped before ``T`` that are received later still (feed
  latency above the response latency): such a print can no longer fill an order
  whose cancel was processed (in-flight cancels win a little too often, which flatters
  us: prints racing a cancel are mostly adverse), and an arrival's post-only check
  and queue position miss such book updates;
* funding settles on engine-time hour boundaries and its rows are emitted at once.

One coin per engine: market rows are not filtered by coin.
"""

from __future__ import annotations

import math
from typing import Any

from framework.book import TOP_COLUMNS
from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.fills.budget import RequestBudget
from framework.fills.config import FillSimConfig
from framework.fills.fees import HOUR_NS, funding_payment, next_hour_ns
from framework.fills.order import SimOrder
from framework.fills.texts import VENUE_TEXT, bad_alo_text
from framework.kernel.handler import Route
from framework.kernel.venue import EPS, RULES, SZ_DECIMALS, TIFS, VenueCore

__all__ = ["EPS", "PATH", "RULES", "SZ_DECIMALS", "TIFS", "FillSimulator", "SimOrder"]

NAN = math.nan

PATH = "framework.fills.simulator:FillSimulator"


class FillSimulator(VenueCore):
    """The paper fill simulator component (name ``"fills"``).

    The order path (commands, arrivals, the resting book, fills, outcomes) is
    :class:`~framework.kernel.venue.VenueCore`'s, in the typed kernel; this class adds
    the configuration, the wiring, funding and inspection.

    Parameters
    ----------
    config : FillSimConfig, optional
        All settings; or pass them as keywords (``FillSimulator(**config_dict)``, as
        replay does from the manifest).

    Attributes
    ----------
    position : float
        Signed position in coins at the venue (exchange time).
    cash : float
        USDC: minus what was paid for buys, plus sells, minus fees and funding.
    fees_paid, funding_paid, volume : float
        Totals in USDC.
    n_fills : int
        Fill rows emitted.
    fills_by_rule : dict of str to int
        Fill rows per rule (``trade_at``, ``trade_through``, ``cross``, ``taker``).
    budget : RequestBudget
        The simulated address request budget; :attr:`headroom` = ``1 - used / cap``.
    """

    name = "fills"

    def __init__(self, config: FillSimConfig | None = None, **settings: Any) -> None:
        if config is None:
            try:
                config = FillSimConfig(**settings)
            except TypeError as exc:
                known = ", ".join(a.name for a in FillSimConfig.__attrs_attrs__)
                raise TypeError(f"FillSimulator config: {exc}; known settings: {known}") from None
        elif settings:
            raise TypeError("FillSimulator: pass either config= or keyword settings, not both")
        fees = config.fee_schedule()
        super().__init__(
            latency=config.latency_model(),
            queue=config.queue_model(),
            budget=RequestBudget(config.budget_used, config.budget_cum_vlm),
            maker_rate=fees.maker_rate,
            taker_rate=fees.taker_rate,
            min_notional=config.min_notional,
            fifo=config.fifo,
            cross=config.cross_fills,
            texts=VENUE_TEXT,
            bad_alo=bad_alo_text,
        )
        self.config = config
        self.coin = ""
        self._oracle_px = NAN
        self._rate = NAN
        self._funding_armed = False

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = engine.clock
        self.market = engine.component("market")
        if engine.components.index(self.market) > engine.components.index(self):
            raise ValueError(
                "FillSimulator is bound before MarketState ('market'); list "
                "framework.book:MarketState first in the engine's components"
            )
        self._gate.market = self.market
        engine.subscribe(Kind.ORDER_COMMANDS, self.on_command)
        gate = self._gate  # called by the engine in C (a Route per table)
        engine.subscribe(Kind.TRADES, Route(gate, Kind.TRADES), columns=("side", "px", "sz"))
        engine.subscribe(Kind.BOOK, Route(gate, Kind.BOOK), columns=TOP_COLUMNS)
        engine.subscribe(Kind.BBO, Route(gate, Kind.BBO), columns=TOP_COLUMNS)
        engine.subscribe(Kind.ASSET_CTX, self.on_ctx, columns=("oracle_px", "funding", "coin"))

    def manifest_entry(self) -> dict[str, Any]:
        """``{"path": ..., "config": ...}`` for a session manifest's component list."""
        return {"path": PATH, "config": self.config.to_dict()}

    @property
    def headroom(self) -> float:
        """``1 - used / cap`` of the simulated address request budget."""
        return self.budget.headroom

    @property
    def open_orders(self) -> list[SimOrder]:
        """Resting orders, bids (best first) then asks (best first)."""
        return self._bids + self._asks

    # -- funding --------------------------------------------------------------------------
    def on_ctx(self, cols: Columns, i: int) -> None:
        self._oracle_px = cols.oracle_px[i]
        self._rate = cols.funding[i]
        if not self.coin:
            self.coin = cols.coin[i]
        if not self._funding_armed:
            self._funding_armed = True
            self.engine.call_at(next_hour_ns(self.engine.now), self._on_hour)

    def _on_hour(self, t: int) -> None:
        pos, px, rate = self.position, self._oracle_px, self._rate
        if pos != 0.0 and math.isfinite(px) and math.isfinite(rate):
            pay = funding_payment(pos, px, rate)
            self.cash -= pay
            self.funding_paid += pay
            self.engine.emit(Kind.SIM_FUNDING, (self.coin, pos, px, rate, pay))
        self.engine.call_at(t + HOUR_NS, self._on_hour)

    # -- inspection -----------------------------------------------------------------------
    def equity(self, mark_px: float) -> float:
        """Cash plus the position marked at ``mark_px`` (USDC)."""
        return self.cash + self.position * mark_px

    def snapshot(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "cash": self.cash,
            "fees_paid": self.fees_paid,
            "funding_paid": self.funding_paid,
            "volume": self.volume,
            "n_fills": self.n_fills,
            "fills_by_rule": dict(self.fills_by_rule),
            "cross_fills": self._cross_on,
            "budget": self.budget.snapshot(),
            "open_orders": [o.snapshot() for o in self.open_orders],
            "oracle_px": self._oracle_px,
            "funding_rate": self._rate,
            "queue_model": self.queue.name,
            "pending_requests": len(self._pending),
            "undelivered_outcomes": len(self._outbox),
        }
