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

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from framework.book import TOP_COLUMNS, MarketState
from framework.engine.core import NEVER, Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.fills.budget import RequestBudget
from framework.fills.config import FillSimConfig
from framework.fills.fees import HOUR_NS, funding_payment, next_hour_ns
from framework.fills.order import SimOrder
from framework.fills.texts import VENUE_TEXT, bad_alo_text
from framework.grid import POSITION_DECIMALS
from framework.kernel.handler import Route
from framework.kernel.market import VenueGate

#: Sizes below this are zero (sizes have at most 5 decimals on the venue).
EPS = 1e-9
#: Fill sizes and remainders are rounded to this many decimals to shed float noise.
SZ_DECIMALS = POSITION_DECIMALS
TIFS = ("Alo", "Gtc", "Ioc")
#: Every fill rule, the keys of :attr:`FillSimulator.fills_by_rule`.
RULES = ("trade_at", "trade_through", "cross", "taker")
INF = math.inf
NAN = math.nan

PATH = "framework.fills.simulator:FillSimulator"
# The output tables, bound once: an enum member read (Kind.X) costs 0.12 µs on
# Python 3.11, and every venue outcome names its table.
SIM_ORDERS, SIM_FILLS = Kind.SIM_ORDERS, Kind.SIM_FILLS


class FillSimulator:
    """The paper fill simulator component (name ``"fills"``).

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
        self.config = config
        self.latency = config.latency_model()
        self.queue = config.queue_model()
        fees = config.fee_schedule()
        self._maker_rate = fees.maker_rate
        self._taker_rate = fees.taker_rate
        self._depth_model = self.queue.uses_depth
        self._resp_min = self.latency.response_min_ns
        self._cross_on = config.cross_fills
        self.budget = RequestBudget(config.budget_used, config.budget_cum_vlm)
        self.position = 0.0
        self.cash = 0.0
        self.fees_paid = 0.0
        self.funding_paid = 0.0
        self.volume = 0.0
        self.n_fills = 0
        self.fills_by_rule: dict[str, int] = dict.fromkeys(RULES, 0)
        self.coin = ""
        self._live: dict[str, SimOrder] = {}
        self._bids: list[SimOrder] = []  # best (highest) first, then time priority
        self._asks: list[SimOrder] = []  # best (lowest) first
        # Requests sent, not yet processed: a heap of (exchange arrival time, send order,
        # handler, args); the gate's `due` is the earliest arrival time (NEVER when none).
        self._pending: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        # Per side, during one cross: crossing level price -> size of it already used.
        self._bid_used: dict[float, float] = {}  # ask levels our bids took
        self._ask_used: dict[float, float] = {}  # bid levels our asks took
        # The market-data gate (typed kernel): a market event reaches the handlers below
        # only when it can act on a pending request or a resting order.  It keeps the
        # earliest arrival (`due`) and our best resting prices (`bid_max`, `ask_min`) as C
        # fields, and reads the containers above in place.
        self._gate = VenueGate(self._pending, self._bid_used, self._ask_used)
        self._gate.cross = self._cross_on
        self._gate.depth = self._depth_model
        self._gate.on_trade = self.on_trade
        self._gate.on_book = self.on_book
        self._gate.on_bbo = self.on_bbo
        self._last_arrival = 0
        self._sent = 0
        # The market state as the venue saw it before the event being handled; synced
        # from MarketState while requests are pending (arrivals read it, not `market`).
        self._view = MarketState()
        # Exchange time of what the venue is deciding now (tau of its outcomes).
        self._clock = 0
        # Outcomes decided, not yet delivered: (engine due time, kind, payload), due
        # times non-decreasing.
        self._outbox: deque[tuple[int, Kind, tuple[Any, ...]]] = deque()
        # One engine timer at a time for each queue (the earliest deadline, the outbox
        # head): the due time of the armed one, NEVER when none.
        self._deadline_at = NEVER
        self._deliver_at = NEVER
        self._last_response = 0
        self._oracle_px = NAN
        self._rate = NAN
        self._funding_armed = False
        self._bid_cross_ts = -1  # exchange time of the last update that crossed our bids
        self._ask_cross_ts = -1

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, engine: Engine) -> None:
        self.engine = engine
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

    # -- commands -------------------------------------------------------------------------
    def on_command(self, cols: Columns, i: int) -> None:
        e = self.engine
        action = cols.action[i]
        seq = cols.seq[i]
        fn: Callable[..., None]
        if action == "cancel":
            delay = self.latency.cancel_ns(e.rng)
            fn, args = self._arrive_cancel, (cols.cloid[i], cols.coin[i], cols.side[i], seq)
        elif action == "place" or action == "modify":
            o = SimOrder(
                cols.cloid[i],
                cols.coin[i],
                cols.side[i],
                cols.px[i],
                cols.sz[i],
                cols.tif[i],
                bool(cols.reduce_only[i]),
                seq,
            )
            delay = self.latency.place_ns(e.rng)
            if action == "place":
                fn, args = self._arrive_place, (o,)
            else:
                fn, args = self._arrive_modify, (o, cols.target_cloid[i])
        else:
            raise ValueError(
                f"order_commands row seq {seq}: action={action!r}; expected place, cancel or modify"
            )
        # Exchange arrival time: our clock and the venue's are assumed to agree.
        due = e.now + delay
        if self.config.fifo and due < self._last_arrival:
            due = self._last_arrival
        if due > self._last_arrival:
            self._last_arrival = due
        if not self._pending:
            self._sync_view()
        self._sent += 1
        heapq.heappush(self._pending, (due, self._sent, fn, args))
        if due < self._gate.due:
            self._gate.due = due
        # Quiet market: processed by engine time T + L_response at the latest.
        if due + self._resp_min < self._deadline_at:
            self._deadline_at = due + self._resp_min
            e.call_at(self._deadline_at, self._on_deadline)

    def _arrivals(self, until: int) -> None:
        """Process the pending requests that reach the venue by exchange time ``until``,
        in (arrival time, send order)."""
        pending = self._pending
        pop = heapq.heappop
        while pending and pending[0][0] <= until:
            t_arrive, _, fn, args = pop(pending)
            self._clock = t_arrive
            fn(*args)
        self._gate.due = pending[0][0] if pending else NEVER

    def _on_deadline(self, t: int) -> None:
        # No market row stamped at or after these arrivals came in time: process them
        # now, then arm the timer for the next one (a timer armed for requests a market
        # row already processed finds nothing due and just re-arms).
        if t == self._deadline_at:
            self._deadline_at = NEVER
        if t - self._resp_min >= self._gate.due:
            self._arrivals(t - self._resp_min)
        if self._pending and self._deadline_at == NEVER:
            self._deadline_at = self._gate.due + self._resp_min
            self.engine.call_at(self._deadline_at, self._on_deadline)

    def _sync_view(self) -> None:
        """Copy what arrivals read of the market state (top of book, the book row) into
        the venue's view; per book/bbo only while requests are pending.

        Field by field, on purpose: reading ``market.__dict__`` would turn the shared
        MarketState's inline attribute storage into a real dict and slow every
        component's attribute reads on it (measured: +4.7 % instructions per backtest).
        ``_book``/``_row`` are MarketState's private book reference: it has no public
        accessor for the row it answers ``depth_at``/``*_levels`` from.
        """
        v, m = self._view, self.market
        v.best_bid = m.best_bid
        v.best_ask = m.best_ask
        v.bid_sz = m.bid_sz
        v.ask_sz = m.ask_sz
        v._book = m._book
        v._row = m._row

    def _arrive_place(self, o: SimOrder) -> None:
        if not self.budget.take(self._clock):
            self._reject(o, self._rate_limited_text())
            return
        if o.tif is None:
            o.tif = "Gtc"
        self._accept(o)

    def _arrive_cancel(self, cloid: str, coin: str, side: int, cmd_seq: int) -> None:
        if not self.budget.take(self._clock, cancel=True):
            row = (cloid, coin, side, None, None, "cancel_rejected", self._rate_limited_text())
            self._out(SIM_ORDERS, (*row, None, cmd_seq))
            return
        o = self._live.get(cloid)
        if o is None:
            text = VENUE_TEXT["cancel_missing"]
            self._out(
                SIM_ORDERS,
                (cloid, coin, side, None, None, "cancel_rejected", text, None, cmd_seq),
            )
            return
        self._remove(o)
        self._status(o, "canceled", VENUE_TEXT["canceled"], cmd_seq)

    def _arrive_modify(self, o: SimOrder, target: str | None) -> None:
        if not self.budget.take(self._clock):
            self._reject(o, self._rate_limited_text())
            return
        old = self._live.get(target) if target is not None else None
        if old is None:
            self._reject(o, VENUE_TEXT["modify_missing"])
            return
        self._remove(old)
        self._status(old, "canceled", VENUE_TEXT["modified"], o.cmd_seq)
        # The replacement is a new order at the back of the queue (queue position lost).
        if o.px is None:
            o.px = old.px
        if o.sz is None:
            o.sz = o.orig_sz = old.sz
        if o.side is None:
            o.side = old.side
        if o.tif is None:
            o.tif = old.tif
        self._accept(o)

    def _accept(self, o: SimOrder) -> None:
        o.t_arrive = self._clock
        problem = self._check(o)
        if problem is not None:
            self._reject(o, problem)
            return
        m = self._view
        if o.tif == "Alo":
            if (o.side > 0 and m.best_ask <= o.px) or (o.side < 0 and m.best_bid >= o.px):
                self._reject(o, bad_alo_text(m.best_bid, m.best_ask))
            else:
                self._rest(o)
            return
        self._take(o)
        if o.sz <= EPS:
            self._status(o, "filled", None, o.cmd_seq)
        elif o.tif == "Ioc":
            if o.sz == o.orig_sz:
                self._reject(o, VENUE_TEXT["ioc_cancel"])
            else:
                self._status(o, "canceled", VENUE_TEXT["ioc_remainder"], o.cmd_seq)
        elif o.reduce_only and self.position * o.side >= 0:
            self._status(o, "canceled", VENUE_TEXT["reduce_only_canceled"], o.cmd_seq)
        else:
            self._rest(o)

    def _check(self, o: SimOrder) -> str | None:
        """The reason the venue would refuse ``o`` on arrival, or None."""
        px, sz = o.px, o.sz
        if o.side not in (1, -1):
            return VENUE_TEXT["bad_order"].format(detail=f"side={o.side!r} (use +1 or -1)")
        if px is None or not (math.isfinite(px) and px > 0):
            return VENUE_TEXT["bad_order"].format(detail=f"px={px!r}")
        if sz is None or not (math.isfinite(sz) and sz > 0):
            return VENUE_TEXT["bad_order"].format(detail=f"sz={sz!r}")
        if o.tif not in TIFS:
            return VENUE_TEXT["bad_order"].format(detail=f"tif={o.tif!r} (use Alo, Gtc or Ioc)")
        if o.reduce_only:
            if self.position * o.side >= 0:
                return VENUE_TEXT["reduce_only"]
        elif px * sz < self.config.min_notional:
            return VENUE_TEXT["min_notional"]
        return None

    def _take(self, o: SimOrder) -> None:
        """Walk the opposite side of the book (as the venue saw it) as a taker, up to the
        limit price."""
        m = self._view
        if o.side > 0:
            prices, sizes = m.ask_levels()
            if not prices and m.best_ask == m.best_ask:
                prices, sizes = [m.best_ask], [m.ask_sz]
        else:
            prices, sizes = m.bid_levels()
            if not prices and m.best_bid == m.best_bid:
                prices, sizes = [m.best_bid], [m.bid_sz]
        used = self._bid_used if o.side > 0 else self._ask_used
        for p, s in zip(prices, sizes, strict=False):
            if (p - o.px) * o.side > 0 or o.sz <= EPS:
                break
            got = self._fill(o, p, min(o.sz, s), False, "taker", o.cmd_seq)
            if got <= 0.0:
                break  # reduce-only order already flat
            if self._cross_on:
                # What we took is gone for the cross rule while this cross lasts.
                used[p] = round(used.get(p, 0.0) + got, SZ_DECIMALS)

    def _rest(self, o: SimOrder) -> None:
        side_book = self._bids if o.side > 0 else self._asks
        depth = self._view.depth_at(o.side, o.px)
        own = 0.0
        k = len(side_book)
        for j, x in enumerate(side_book):
            if x.px == o.px:
                own += x.sz
            elif (x.px - o.px) * o.side < 0:
                k = j  # first order at a worse price: insert before it
                break
        side_book.insert(k, o)
        o.q = o.depth = depth
        o.cum_trade = 0.0
        self._live[o.cloid] = o
        self._refresh_extremes()
        self._out(
            SIM_ORDERS,
            (o.cloid, o.coin, o.side, o.px, o.sz, "resting", None, depth + own, o.cmd_seq),
        )

    # -- market data ----------------------------------------------------------------------
    # Called through the gate (VenueGate), which skips the events these would ignore;
    # each handler still makes every test itself, so calling it directly is the same.
    def on_trade(self, cols: Columns, i: int) -> None:
        if self._pending and cols.ts[i] >= self._gate.due:
            self._arrivals(cols.ts[i])
        if not self._live:
            return
        px = cols.px[i]
        if cols.side[i] < 0:
            if px <= self._gate.bid_max:
                self._match_trade(self._bids, 1, px, cols.sz[i], cols.ts[i])
        elif px >= self._gate.ask_min:
            self._match_trade(self._asks, -1, px, cols.sz[i], cols.ts[i])

    def _match_trade(
        self, side_book: list[SimOrder], side: int, px: float, v: float, ts: int
    ) -> None:
        """Apply one print of size ``v`` at ``px`` (exchange time ``ts``) to our orders it
        reaches, best first; orders that reached the venue after ``ts`` are not there."""
        cause = self.engine.input_seq
        self._clock = ts
        left = v
        own_ahead = 0.0
        done: list[SimOrder] = []
        for o in side_book:
            if (o.px - px) * side < 0:
                break
            if o.t_arrive > ts:
                continue
            if o.px == px:
                ahead = o.q + own_ahead
                own_ahead += o.sz
                o.q = o.q - v if o.q > v else 0.0
                o.cum_trade += v
                excess = v - ahead
                if excess > EPS and left > EPS:
                    left -= self._fill(o, px, min(excess, o.sz, left), True, "trade_at", cause)
            elif left > EPS:
                o.q = 0.0
                left -= self._fill(o, o.px, min(o.sz, left), True, "trade_through", cause)
            if o.sz <= EPS or (o.reduce_only and self.position * o.side >= 0):
                done.append(o)
        for o in done:
            self._finish(o, cause)

    def on_book(self, cols: Columns, i: int) -> None:
        if self._pending:
            self._before_update(cols.ts[i])
        if self._cross_on:
            ts = cols.ts[i]
            m = self.market  # bound first: its best prices are this row's (NaN if empty)
            if m.best_ask <= self._gate.bid_max:
                self._cross(self._bids, 1, cols.ask_px[i], cols.ask_sz[i], ts)
            elif self._bid_used:
                self._bid_used.clear()  # the cross ended: a later one starts afresh
            if m.best_bid >= self._gate.ask_min:
                self._cross(self._asks, -1, cols.bid_px[i], cols.bid_sz[i], ts)
            elif self._ask_used:
                self._ask_used.clear()
        if self._depth_model:
            if self._bids:
                self._update_depths(self._bids, 1, cols.bid_px[i], cols.bid_sz[i], cols.ts[i])
            if self._asks:
                self._update_depths(self._asks, -1, cols.ask_px[i], cols.ask_sz[i], cols.ts[i])

    def on_bbo(self, cols: Columns, i: int) -> None:
        if self._pending:
            self._before_update(cols.ts[i])
        if self._cross_on:
            ts = cols.ts[i]
            ask = cols.ask_px[i]
            if ask is not None and ask <= self._gate.bid_max:
                self._cross(self._bids, 1, [ask], [cols.ask_sz[i] or 0.0], ts)
            elif self._bid_used:
                self._bid_used.clear()
            bid = cols.bid_px[i]
            if bid is not None and bid >= self._gate.ask_min:
                self._cross(self._asks, -1, [bid], [cols.bid_sz[i] or 0.0], ts)
            elif self._ask_used:
                self._ask_used.clear()

    def _before_update(self, ts: int) -> None:
        """With requests pending, before a book/bbo row stamped ``ts`` acts on our orders:
        process the arrivals due by ``ts`` (they see the view: the book before this row),
        then take this row into the view for the arrivals still pending."""
        if ts >= self._gate.due:
            self._arrivals(ts)
        if self._pending:
            self._sync_view()

    def _cross(
        self,
        side_book: list[SimOrder],
        side: int,
        prices: list[float],
        sizes: list[float],
        ts: int,
    ) -> None:
        """Fill orders the opposite best crossed, from the crossing size not yet used.

        ``prices``/``sizes`` are the opposite levels, best first.  Each order (best
        first) takes the unused size of the levels it reaches, cheapest first; what it
        takes is recorded in the side's ``price -> used`` memory, so a cross that
        persists over updates fills again only from size beyond what was used.  A
        ``book`` and a ``bbo`` with the same exchange time show the same liquidity:
        only the first of them fills.
        """
        if side > 0:
            if ts == self._bid_cross_ts:
                return
            self._bid_cross_ts = ts
            used = self._bid_used
        else:
            if ts == self._ask_cross_ts:
                return
            self._ask_cross_ts = ts
            used = self._ask_used
        cause = self.engine.input_seq
        self._clock = ts
        done: list[SimOrder] = []
        for o in side_book:
            if (prices[0] - o.px) * side > 0:
                break
            if o.t_arrive > ts:
                continue  # the update predates the order at the venue
            o.q = 0.0  # the opposite side reached our price: nobody public is left ahead
            avail = 0.0
            for p, s in zip(prices, sizes, strict=False):
                if (p - o.px) * side > 0:
                    break
                left = s - used.get(p, 0.0)
                if left > 0.0:
                    avail += left
            if avail > EPS:
                got = self._fill(o, o.px, min(o.sz, avail), True, "cross", cause)
                _spend(used, prices, sizes, got)
            if o.sz <= EPS or (o.reduce_only and self.position * o.side >= 0):
                done.append(o)
        for o in done:
            self._finish(o, cause)

    def _update_depths(
        self,
        side_book: list[SimOrder],
        side: int,
        prices: list[float],
        sizes: list[float],
        ts: int,
    ) -> None:
        """Feed the displayed size at each order's price to the queue model (orders
        that reached the venue after the update's exchange time ``ts`` skip it)."""
        on_depth = self.queue.on_depth
        for o in side_book:
            if o.t_arrive > ts:
                continue
            px = o.px
            d = -1.0  # not visible: beyond the displayed levels
            for p, s in zip(prices, sizes, strict=False):
                if p == px:
                    d = s
                    break
                if (p - px) * side < 0:
                    d = 0.0  # passed our price: the level is empty
                    break
            if d >= 0.0 and (d != o.depth or o.cum_trade):
                on_depth(o, d)

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

    # -- fills and bookkeeping ------------------------------------------------------------
    def _fill(self, o: SimOrder, px: float, sz: float, maker: bool, rule: str, cause: int) -> float:
        """Fill ``sz`` of ``o`` at ``px``; returns the size filled (reduce-only may cap it)."""
        side = o.side
        if o.reduce_only:
            closable = -self.position * side
            if closable < sz:
                sz = closable
        sz = round(sz, SZ_DECIMALS)
        if sz <= EPS:
            return 0.0
        notional = px * sz
        fee = notional * (self._maker_rate if maker else self._taker_rate)
        self.position = round(self.position + side * sz, SZ_DECIMALS)
        self.cash -= side * notional + fee
        self.fees_paid += fee
        self.volume += notional
        self.budget.add_volume(notional)
        self.n_fills += 1
        self.fills_by_rule[rule] += 1
        o.sz = round(o.sz - sz, SZ_DECIMALS)
        liquidity = "maker" if maker else "taker"
        self._out(
            SIM_FILLS,
            (o.cloid, o.coin, side, px, sz, fee, liquidity, rule, self.position, cause),
        )
        return sz

    def _finish(self, o: SimOrder, cause: int) -> None:
        """Take a resting order off the book once filled (or a flat reduce-only one)."""
        self._remove(o)
        if o.sz <= EPS:
            self._status(o, "filled", None, cause)
        else:
            self._status(o, "canceled", VENUE_TEXT["reduce_only_canceled"], cause)

    def _remove(self, o: SimOrder) -> None:
        del self._live[o.cloid]
        (self._bids if o.side > 0 else self._asks).remove(o)
        self._refresh_extremes()

    def _refresh_extremes(self) -> None:
        self._gate.bid_max = self._bids[0].px if self._bids else -INF
        self._gate.ask_min = self._asks[0].px if self._asks else INF

    def _reject(self, o: SimOrder, reason: str) -> None:
        self._status(o, "rejected", reason, o.cmd_seq)

    def _status(self, o: SimOrder, status: str, reason: str | None, cause: int) -> None:
        sz = 0.0 if status == "filled" else o.sz
        self._out(SIM_ORDERS, (o.cloid, o.coin, o.side, o.px, sz, status, reason, None, cause))

    def _rate_limited_text(self) -> str:
        b = self.budget
        return VENUE_TEXT["rate_limited"].format(used=b.used, cap=b.cap, vlm=f"{b.cum_vlm:.2f}")

    def _out(self, kind: Kind, payload: tuple[Any, ...]) -> None:
        """Send an outcome decided at exchange time ``_clock``: it reaches the engine at
        ``max(now, _clock + L_response)``, never before an earlier outcome."""
        e = self.engine
        due = self._clock + self.latency.response_ns(e.rng)
        if due < self._last_response:
            due = self._last_response
        self._last_response = due
        # Undelivered outcomes are due after `now` (their timer fires before anything
        # else when time reaches them), so one due by now goes out at once.
        if due <= e.now and not self._outbox:
            e.emit(kind, payload)
        else:
            self._outbox.append((due, kind, payload))
            if self._deliver_at == NEVER:
                self._deliver_at = due
                e.call_at(due, self._deliver)

    def _deliver(self, t: int) -> None:
        """Emit the outcomes due by ``t`` (in order), then arm for the next one."""
        box = self._outbox
        emit = self.engine.emit
        self._deliver_at = NEVER
        while box and box[0][0] <= t:
            _, kind, payload = box.popleft()
            emit(kind, payload)
        if box and self._deliver_at == NEVER:
            self._deliver_at = box[0][0]
            self.engine.call_at(self._deliver_at, self._deliver)

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


def _spend(used: dict[float, float], prices: list[float], sizes: list[float], sz: float) -> None:
    """Record ``sz`` as used from the crossing levels, best (first) level first."""
    for p, s in zip(prices, sizes, strict=False):
        if sz <= EPS:
            return
        u = used.get(p, 0.0)
        take = s - u if s - u < sz else sz
        if take > EPS:
            used[p] = round(u + take, SZ_DECIMALS)
            sz -= take
