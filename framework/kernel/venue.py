"""The paper venue's order path, typed: requests, arrivals, the resting book, fills and
the outcomes' delivery.

:class:`VenueCore` is the base of :class:`framework.fills.simulator.FillSimulator`,
whose module doc states the rules (exchange time, arrival checks, queue, fills,
modify, budget); this module holds the same methods, moved here unchanged in what
they compute, so that the venue's counters and clocks are C fields and its internal
calls C calls.  The simulator keeps its configuration, wiring, funding and
inspection.  :class:`SimOrder` is the order record, with C fields.

Values a request may carry wrong (side, price, size, time in force) stay Python
objects on the order: the arrival check reports them as the venue would, whatever
they are.  Everything else a method computes is the expression the interpreted
source evaluates, in the same order: money on C doubles is IEEE arithmetic like
Python's floats (the build forbids contraction), sizes are rounded by Python's
``round``, and times are 64-bit integers far from overflow (event times in ns plus
latencies of at most a day).

The venue's texts come from the simulator (:mod:`framework.fills.texts`): this module
imports nothing from :mod:`framework.fills`, whose package imports it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Any

import cython

if cython.compiled:  # the engine's clock, read as a C field
    from cython.cimports.framework.kernel.handler import Clock
else:
    from framework.kernel.handler import Clock

from framework.events.schema import Kind
from framework.grid import POSITION_DECIMALS
from framework.kernel.engine_loop import NEVER

if cython.compiled:  # the market state's and the gate's fields read in C
    from cython.cimports.framework.kernel.market import MarketState, VenueGate
else:
    from framework.kernel.market import MarketState, VenueGate

#: Sizes below this are zero (sizes have at most 5 decimals on the venue).
EPS = 1e-9
#: Fill sizes and remainders are rounded to this many decimals to shed float noise.
SZ_DECIMALS = POSITION_DECIMALS
TIFS = ("Alo", "Gtc", "Ioc")
#: Every fill rule, the keys of ``fills_by_rule``.
RULES = ("trade_at", "trade_through", "cross", "taker")
INF = math.inf
NAN = math.nan
# The output tables, bound once (an enum member read costs 0.12 µs on Python 3.11).
SIM_ORDERS, SIM_FILLS = Kind.SIM_ORDERS, Kind.SIM_FILLS
# Request codes in the pending heap.
PLACE: cython.int = 0
CANCEL: cython.int = 1
MODIFY: cython.int = 2


@cython.cclass
class SimOrder:
    """One order: its terms, remaining size and queue state.

    ``q`` is the public size ahead of us at our price; ``depth`` the displayed size
    at our price last seen; ``cum_trade`` the size traded at our price since then
    (the probabilistic queue model nets it out of depth decreases).  ``t_arrive`` is
    the exchange time (ns) the order reached the venue: market events stamped
    earlier happened before it existed there and never touch it.
    """

    cloid = cython.declare(object, visibility="public")
    coin = cython.declare(object, visibility="public")
    side = cython.declare(object, visibility="public")
    px = cython.declare(object, visibility="public")
    sz = cython.declare(object, visibility="public")
    orig_sz = cython.declare(object, visibility="public")
    tif = cython.declare(object, visibility="public")
    reduce_only = cython.declare(cython.bint, visibility="public")
    cmd_seq = cython.declare(cython.longlong, visibility="public")
    q = cython.declare(cython.double, visibility="public")
    depth = cython.declare(cython.double, visibility="public")
    cum_trade = cython.declare(cython.double, visibility="public")
    t_arrive = cython.declare(cython.longlong, visibility="public")

    def __init__(
        self,
        cloid: object,
        coin: object,
        side: object,
        px: object,
        sz: object,
        tif: object,
        reduce_only: cython.bint,
        cmd_seq: cython.longlong,
    ) -> None:
        self.cloid = cloid
        self.coin = coin
        self.side = side
        self.px = px
        self.sz = sz
        self.orig_sz = sz
        self.tif = tif
        self.reduce_only = reduce_only
        self.cmd_seq = cmd_seq
        self.q = 0.0
        self.depth = 0.0
        self.cum_trade = 0.0
        self.t_arrive = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "cloid": self.cloid,
            "side": self.side,
            "px": self.px,
            "sz": self.sz,
            "orig_sz": self.orig_sz,
            "tif": self.tif,
            "queue_ahead": self.q,
        }


#: The venue's initial request buffer (hyperliquid_protocol.md §6.2).
BASE_REQUESTS = 10_000
#: Once the budget is exhausted, one request per this many ns still passes.
THROTTLED_INTERVAL_NS = 10_000_000_000


@cython.cclass
class RequestBudget:
    """Requests used against the cap ``base + cum_vlm`` (see
    :mod:`framework.fills.budget`).

    Parameters
    ----------
    used : int, default 0
        Requests already used when the session starts (to exercise low headroom).
    cum_vlm : float, default 0.0
        Cumulative traded volume in USDC when the session starts.
    base : int, default 10000
        The venue's initial buffer.

    The counts are C integers and the volume a C double: the cap ``base + int(cum_vlm)``
    and ``headroom = 1 - used / cap`` are Python's values for a finite volume >= 0
    (truncation; integers below 2**53 divide exactly as Python's ``int / int``).
    """

    base = cython.declare(cython.longlong, visibility="readonly")
    _used = cython.declare(cython.longlong)
    _cum_vlm = cython.declare(cython.double)
    #: ``1 - used / cap`` (negative once cancels run past the order cap); kept current
    #: as used and cum_vlm change: the risk check reads it every second of event time.
    headroom = cython.declare(cython.double, visibility="public")
    rejected = cython.declare(cython.longlong, visibility="public")
    _last_throttled_ns = cython.declare(cython.longlong)

    def __init__(self, used: object = 0, cum_vlm: object = 0.0, base: object = BASE_REQUESTS):
        if used < 0 or not math.isfinite(cum_vlm) or cum_vlm < 0 or base <= 0:
            raise ValueError(
                f"budget used={used!r}, cum_vlm={cum_vlm!r}, base={base!r}: used and cum_vlm "
                "must be >= 0 and base > 0"
            )
        self.base = int(base)
        self._cum_vlm = float(cum_vlm)
        self._set_used(int(used))
        self.rejected = 0
        self._last_throttled_ns = -THROTTLED_INTERVAL_NS

    @cython.cfunc
    def _cap(self) -> cython.longlong:
        return self.base + cython.cast(cython.longlong, self._cum_vlm)

    @cython.cfunc
    def _set_used(self, value: cython.longlong) -> cython.void:
        self._used = value
        self.headroom = 1.0 - cython.cast(cython.double, value) / self._cap()

    @property
    def used(self) -> int:
        """Requests used so far."""
        return self._used

    @used.setter
    def used(self, value: int) -> None:
        self._set_used(value)

    @property
    def cum_vlm(self) -> float:
        """Cumulative traded volume, USDC."""
        return self._cum_vlm

    @cum_vlm.setter
    def cum_vlm(self, value: float) -> None:
        self._set_vlm(value)

    @cython.cfunc
    def _set_vlm(self, value: cython.double) -> cython.void:
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"budget cum_vlm={value!r}: must be a finite volume >= 0 (USDC)")
        self._cum_vlm = value
        self._set_used(self._used)

    @property
    def cap(self) -> int:
        """``base + floor(cum_vlm)``, as ``nRequestsCap`` reports it."""
        return self._cap()

    @cython.ccall
    def add_volume(self, notional: cython.double) -> cython.void:
        """Traded notional raises the cap one request per USDC."""
        self._set_vlm(self._cum_vlm + notional)

    @cython.ccall
    def take(self, now_ns: cython.longlong, cancel: cython.bint = False) -> cython.bint:
        """Consume one request if the budget allows it at ``now_ns``; False = rate limited."""
        cap: cython.longlong = self._cap()
        if cancel:
            cap = cap + 100_000 if cap + 100_000 < 2 * cap else 2 * cap  # min(...)
        if self._used < cap:
            self._set_used(self._used + 1)
            return True
        if now_ns - self._last_throttled_ns >= THROTTLED_INTERVAL_NS:
            self._last_throttled_ns = now_ns
            self._set_used(self._used + 1)
            return True
        self.rejected += 1
        return False

    def snapshot(self) -> dict[str, Any]:
        return {
            "used": self.used,
            "cap": self.cap,
            "cum_vlm": self.cum_vlm,
            "headroom": self.headroom,
            "rejected": self.rejected,
        }


@cython.cclass
class VenueCore:
    """The simulator's state and order path (see the module doc)."""

    # account (exchange time)
    position = cython.declare(cython.double, visibility="public")
    cash = cython.declare(cython.double, visibility="public")
    fees_paid = cython.declare(cython.double, visibility="public")
    funding_paid = cython.declare(cython.double, visibility="public")
    volume = cython.declare(cython.double, visibility="public")
    n_fills = cython.declare(cython.longlong, visibility="public")
    fills_by_rule = cython.declare(dict, visibility="public")
    # settings
    # read-only: the venue reads fixed latencies and the queue's needs once, at the start
    latency = cython.declare(object, visibility="readonly")
    queue = cython.declare(object, visibility="readonly")
    budget = cython.declare(RequestBudget, visibility="public")
    engine = cython.declare(object, visibility="public")
    clock = cython.declare(Clock, visibility="public")  # the engine's (set at binding)
    market = cython.declare(MarketState, visibility="public")
    _texts = cython.declare(dict)
    _bad_alo = cython.declare(object)
    _maker_rate = cython.declare(cython.double)
    _taker_rate = cython.declare(cython.double)
    _min_notional = cython.declare(cython.double)
    _fifo = cython.declare(cython.bint)
    _depth_model = cython.declare(cython.bint, visibility="readonly")
    _cross_on = cython.declare(cython.bint, visibility="readonly")
    _resp_min = cython.declare(cython.longlong)
    # A latency model that draws nothing gives its values once (`fixed_ns`).
    _fixed = cython.declare(cython.bint)
    _place_ns = cython.declare(cython.longlong)
    _cancel_ns = cython.declare(cython.longlong)
    _response_ns = cython.declare(cython.longlong)
    # orders and requests
    _live = cython.declare(dict, visibility="readonly")
    _bids = cython.declare(list, visibility="readonly")  # best (highest) first, then time
    _asks = cython.declare(list, visibility="readonly")  # best (lowest) first
    _pending = cython.declare(list, visibility="readonly")
    _bid_used = cython.declare(dict, visibility="readonly")
    _ask_used = cython.declare(dict, visibility="readonly")
    _gate = cython.declare(VenueGate, visibility="readonly")
    _view = cython.declare(MarketState, visibility="readonly")
    _outbox = cython.declare(object, visibility="readonly")
    # clocks (ns)
    _last_arrival = cython.declare(cython.longlong)
    _sent = cython.declare(cython.longlong)
    _clock = cython.declare(cython.longlong)
    _deadline_at = cython.declare(cython.longlong)
    _deliver_at = cython.declare(cython.longlong)
    _last_response = cython.declare(cython.longlong)
    _bid_cross_ts = cython.declare(cython.longlong)
    _ask_cross_ts = cython.declare(cython.longlong)

    def __init__(
        self,
        *,
        latency: object,
        queue: object,
        budget: RequestBudget,
        maker_rate: cython.double,
        taker_rate: cython.double,
        min_notional: cython.double,
        fifo: cython.bint,
        cross: cython.bint,
        texts: dict,
        bad_alo: object,
    ) -> None:
        self.latency = latency
        self.queue = queue
        self.budget = budget
        self._maker_rate = maker_rate
        self._taker_rate = taker_rate
        self._min_notional = min_notional
        self._fifo = fifo
        self._cross_on = cross
        self._depth_model = queue.uses_depth
        self._resp_min = latency.response_min_ns
        fixed = getattr(latency, "fixed_ns", None)
        self._fixed = fixed is not None
        self._place_ns, self._cancel_ns, self._response_ns = fixed or (0, 0, 0)
        self._texts = texts
        self._bad_alo = bad_alo
        self.position = 0.0
        self.cash = 0.0
        self.fees_paid = 0.0
        self.funding_paid = 0.0
        self.volume = 0.0
        self.n_fills = 0
        self.fills_by_rule = dict.fromkeys(RULES, 0)
        self.engine = None
        self.clock = Clock()
        self.market = None
        self._live = {}
        self._bids = []
        self._asks = []
        # Requests sent, not yet processed: a heap of (exchange arrival time, send order,
        # request code, args); the gate's `due` is the earliest arrival time (NEVER when
        # none).  (time, order) is unique: the heap never compares the rest.
        self._pending = []
        # Per side, during one cross: crossing level price -> size of it already used.
        self._bid_used = {}  # ask levels our bids took
        self._ask_used = {}  # bid levels our asks took
        # The market-data gate (typed kernel): a market event reaches on_trade, on_book
        # and on_bbo only when it can act on a pending request or a resting order.  It
        # keeps the earliest arrival (`due`) and our best resting prices (`bid_max`,
        # `ask_min`) as C fields, and reads the containers above in place.
        gate = VenueGate(self._pending, self._bid_used, self._ask_used)
        gate.cross = cross
        gate.depth = self._depth_model
        gate.on_trade = self.on_trade
        gate.on_book = self.on_book
        gate.on_bbo = self.on_bbo
        self._gate = gate
        # The market state as the venue saw it before the event being handled; synced
        # from MarketState while requests are pending (arrivals read it, not `market`).
        self._view = MarketState()
        self._last_arrival = 0
        self._sent = 0
        self._clock = 0
        # Outcomes decided, not yet delivered: (engine due time, kind, payload), due
        # times non-decreasing.
        self._outbox = deque()
        self._deadline_at = NEVER
        self._deliver_at = NEVER
        self._last_response = 0
        self._bid_cross_ts = -1  # exchange time of the last update that crossed our bids
        self._ask_cross_ts = -1

    # -- commands -------------------------------------------------------------------------
    def on_command(self, cols: object, i: cython.Py_ssize_t) -> None:
        e = self.engine
        action = cols.action[i]
        seq = cols.seq[i]
        delay: cython.longlong
        code: cython.int
        if action == "cancel":
            delay = self._cancel_ns if self._fixed else self.latency.cancel_ns(e.rng)
            code, args = CANCEL, (cols.cloid[i], cols.coin[i], cols.side[i], seq)
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
            delay = self._place_ns if self._fixed else self.latency.place_ns(e.rng)
            if action == "place":
                code, args = PLACE, (o,)
            else:
                code, args = MODIFY, (o, cols.target_cloid[i])
        else:
            raise ValueError(
                f"order_commands row seq {seq}: action={action!r}; expected place, cancel or modify"
            )
        # Exchange arrival time: our clock and the venue's are assumed to agree.
        due: cython.longlong = self.clock.now + delay
        if self._fifo and due < self._last_arrival:
            due = self._last_arrival
        if due > self._last_arrival:
            self._last_arrival = due
        if not self._pending:
            self._sync_view()
        self._sent += 1
        heapq.heappush(self._pending, (due, self._sent, code, args))
        gate: VenueGate = self._gate
        if due < gate.due:
            gate.due = due
        # Quiet market: processed by engine time T + L_response at the latest.
        if due + self._resp_min < self._deadline_at:
            self._deadline_at = due + self._resp_min
            e.call_at(self._deadline_at, self._on_deadline)

    @cython.cfunc
    def _arrivals(self, until: cython.longlong) -> cython.void:
        """Process the pending requests that reach the venue by exchange time ``until``,
        in (arrival time, send order)."""
        pending = self._pending
        code: cython.int
        while pending and pending[0][0] <= until:
            t_arrive, _, code, args = heapq.heappop(pending)
            self._clock = t_arrive
            if code == MODIFY:
                self._arrive_modify(args[0], args[1])
            elif code == PLACE:
                self._arrive_place(args[0])
            else:
                self._arrive_cancel(args[0], args[1], args[2], args[3])
        self._gate.due = pending[0][0] if pending else NEVER

    def _on_deadline(self, t: cython.longlong) -> None:
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

    @cython.cfunc
    def _sync_view(self) -> cython.void:
        """Copy what arrivals read of the market state (top of book, the book row) into
        the venue's view; per book/bbo only while requests are pending.

        Field by field, on purpose: reading ``market.__dict__`` would turn the shared
        MarketState's inline attribute storage into a real dict and slow every
        component's attribute reads on it (measured: +4.7 % instructions per backtest).
        ``_book``/``_row`` are MarketState's private book reference: it has no public
        accessor for the row it answers ``depth_at``/``*_levels`` from.
        """
        v: MarketState = self._view
        m: MarketState = self.market
        v.best_bid = m.best_bid
        v.best_ask = m.best_ask
        v.bid_sz = m.bid_sz
        v.ask_sz = m.ask_sz
        v._book = m._book
        v._row = m._row

    @cython.cfunc
    def _arrive_place(self, o: SimOrder) -> cython.void:
        if not self.budget.take(self._clock):
            self._reject(o, self._rate_limited_text())
            return
        if o.tif is None:
            o.tif = "Gtc"
        self._accept(o)

    @cython.cfunc
    def _arrive_cancel(
        self, cloid: object, coin: object, side: object, cmd_seq: object
    ) -> cython.void:
        if not self.budget.take(self._clock, cancel=True):
            row = (cloid, coin, side, None, None, "cancel_rejected", self._rate_limited_text())
            self._out(SIM_ORDERS, (*row, None, cmd_seq))
            return
        o = self._live.get(cloid)
        if o is None:
            text = self._texts["cancel_missing"]
            self._out(
                SIM_ORDERS,
                (cloid, coin, side, None, None, "cancel_rejected", text, None, cmd_seq),
            )
            return
        self._remove(o)
        self._status(o, "canceled", self._texts["canceled"], cmd_seq)

    @cython.cfunc
    def _arrive_modify(self, o: SimOrder, target: object) -> cython.void:
        if not self.budget.take(self._clock):
            self._reject(o, self._rate_limited_text())
            return
        old: SimOrder = self._live.get(target) if target is not None else None
        if old is None:
            self._reject(o, self._texts["modify_missing"])
            return
        self._remove(old)
        self._status(old, "canceled", self._texts["modified"], o.cmd_seq)
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

    @cython.cfunc
    def _accept(self, o: SimOrder) -> cython.void:
        o.t_arrive = self._clock
        problem = self._check(o)
        if problem is not None:
            self._reject(o, problem)
            return
        m: MarketState = self._view
        if o.tif == "Alo":
            if (o.side > 0 and m.best_ask <= o.px) or (o.side < 0 and m.best_bid >= o.px):
                self._reject(o, self._bad_alo(m.best_bid, m.best_ask))
            else:
                self._rest(o)
            return
        self._take(o)
        if o.sz <= EPS:
            self._status(o, "filled", None, o.cmd_seq)
        elif o.tif == "Ioc":
            if o.sz == o.orig_sz:
                self._reject(o, self._texts["ioc_cancel"])
            else:
                self._status(o, "canceled", self._texts["ioc_remainder"], o.cmd_seq)
        elif o.reduce_only and self.position * o.side >= 0:
            self._status(o, "canceled", self._texts["reduce_only_canceled"], o.cmd_seq)
        else:
            self._rest(o)

    @cython.cfunc
    def _check(self, o: SimOrder) -> object:
        """The reason the venue would refuse ``o`` on arrival, or None."""
        px, sz = o.px, o.sz
        texts = self._texts
        if o.side not in (1, -1):
            return texts["bad_order"].format(detail=f"side={o.side!r} (use +1 or -1)")
        if px is None or not (math.isfinite(px) and px > 0):
            return texts["bad_order"].format(detail=f"px={px!r}")
        if sz is None or not (math.isfinite(sz) and sz > 0):
            return texts["bad_order"].format(detail=f"sz={sz!r}")
        if o.tif not in TIFS:
            return texts["bad_order"].format(detail=f"tif={o.tif!r} (use Alo, Gtc or Ioc)")
        if o.reduce_only:
            if self.position * o.side >= 0:
                return texts["reduce_only"]
        elif px * sz < self._min_notional:
            return texts["min_notional"]
        return None

    @cython.cfunc
    def _take(self, o: SimOrder) -> cython.void:
        """Walk the opposite side of the book (as the venue saw it) as a taker, up to the
        limit price."""
        m: MarketState = self._view
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

    @cython.cfunc
    def _rest(self, o: SimOrder) -> cython.void:
        side_book = self._bids if o.side > 0 else self._asks
        depth = self._view.depth_at(o.side, o.px)
        own = 0.0
        k = len(side_book)
        x: SimOrder
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
    def on_trade(self, cols: object, i: cython.Py_ssize_t) -> None:
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

    @cython.cfunc
    def _match_trade(
        self, side_book: list, side: object, px: object, v: object, ts: cython.longlong
    ) -> cython.void:
        """Apply one print of size ``v`` at ``px`` (exchange time ``ts``) to our orders it
        reaches, best first; orders that reached the venue after ``ts`` are not there."""
        cause = self.engine.input_seq
        self._clock = ts
        left = v
        own_ahead = 0.0
        done: list = []
        o: SimOrder
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

    def on_book(self, cols: object, i: cython.Py_ssize_t) -> None:
        if self._pending:
            self._before_update(cols.ts[i])
        if self._cross_on:
            ts = cols.ts[i]
            # bound first: its best prices are this row's (NaN if empty)
            m: MarketState = self.market
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

    def on_bbo(self, cols: object, i: cython.Py_ssize_t) -> None:
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

    @cython.cfunc
    def _before_update(self, ts: cython.longlong) -> cython.void:
        """With requests pending, before a book/bbo row stamped ``ts`` acts on our orders:
        process the arrivals due by ``ts`` (they see the view: the book before this row),
        then take this row into the view for the arrivals still pending."""
        if ts >= self._gate.due:
            self._arrivals(ts)
        if self._pending:
            self._sync_view()

    @cython.cfunc
    def _cross(
        self, side_book: list, side: object, prices: object, sizes: object, ts: cython.longlong
    ) -> cython.void:
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
        done: list = []
        o: SimOrder
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

    @cython.cfunc
    def _update_depths(
        self, side_book: list, side: object, prices: object, sizes: object, ts: cython.longlong
    ) -> cython.void:
        """Feed the displayed size at each order's price to the queue model (orders
        that reached the venue after the update's exchange time ``ts`` skip it)."""
        on_depth = self.queue.on_depth
        o: SimOrder
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

    # -- fills and bookkeeping ------------------------------------------------------------
    @cython.cfunc
    def _fill(
        self, o: SimOrder, px: object, sz: object, maker: cython.bint, rule: str, cause: object
    ) -> object:
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

    @cython.cfunc
    def _finish(self, o: SimOrder, cause: object) -> cython.void:
        """Take a resting order off the book once filled (or a flat reduce-only one)."""
        self._remove(o)
        if o.sz <= EPS:
            self._status(o, "filled", None, cause)
        else:
            self._status(o, "canceled", self._texts["reduce_only_canceled"], cause)

    @cython.cfunc
    def _remove(self, o: SimOrder) -> cython.void:
        del self._live[o.cloid]
        (self._bids if o.side > 0 else self._asks).remove(o)
        self._refresh_extremes()

    @cython.cfunc
    def _refresh_extremes(self) -> cython.void:
        gate: VenueGate = self._gate
        gate.bid_max = self._bids[0].px if self._bids else -INF
        gate.ask_min = self._asks[0].px if self._asks else INF

    @cython.cfunc
    def _reject(self, o: SimOrder, reason: object) -> cython.void:
        self._status(o, "rejected", reason, o.cmd_seq)

    @cython.cfunc
    def _status(self, o: SimOrder, status: str, reason: object, cause: object) -> cython.void:
        sz = 0.0 if status == "filled" else o.sz
        self._out(SIM_ORDERS, (o.cloid, o.coin, o.side, o.px, sz, status, reason, None, cause))

    @cython.cfunc
    def _rate_limited_text(self) -> str:
        b: RequestBudget = self.budget
        return self._texts["rate_limited"].format(used=b.used, cap=b.cap, vlm=f"{b.cum_vlm:.2f}")

    @cython.cfunc
    def _out(self, kind: object, payload: tuple) -> cython.void:
        """Send an outcome decided at exchange time ``_clock``: it reaches the engine at
        ``max(now, _clock + L_response)``, never before an earlier outcome."""
        e = self.engine
        due: cython.longlong = self._clock + (
            self._response_ns if self._fixed else self.latency.response_ns(e.rng)
        )
        if due < self._last_response:
            due = self._last_response
        self._last_response = due
        # Undelivered outcomes are due after `now` (their timer fires before anything
        # else when time reaches them), so one due by now goes out at once.
        if due <= self.clock.now and not self._outbox:
            e.emit(kind, payload)
        else:
            self._outbox.append((due, kind, payload))
            if self._deliver_at == NEVER:
                self._deliver_at = due
                e.call_at(due, self._deliver)

    def _deliver(self, t: cython.longlong) -> None:
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


def _spend(used: dict, prices: object, sizes: object, sz: object) -> None:
    """Record ``sz`` as used from the crossing levels, best (first) level first."""
    for p, s in zip(prices, sizes, strict=False):
        if sz <= EPS:
            return
        u = used.get(p, 0.0)
        take = s - u if s - u < sz else sz
        if take > EPS:
            used[p] = round(u + take, SZ_DECIMALS)
            sz -= take
