"""Market state every component shares, typed: top of book, last trade, the book row.

:class:`MarketState` is what :mod:`framework.book` exports (manifests name it
``framework.book:MarketState``); it lives in the kernel because every book, bbo and
trade event runs its handlers, and every component reads its fields.  Compiled, the
fields are C doubles and integers that Python reads as ordinary attributes.

:class:`QuoteWake` is a strategy's market wake condition evaluated here, next to the
fields it reads: a book or bbo event calls the strategy only when the mid has left a
band around the price its quotes were computed from, or the touch crosses a quote
(or always, while it follows the touch).  Most book events change the best price but
not the quotes (a few % requote), so the strategy's Python runs only when it decides.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

import cython

if cython.compiled:  # a C call; interpreted, the Python module (the same bits)
    from cython.cimports.framework.kernel.fpmath import exp, log, log1p
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

    from framework.kernel.fpmath import exp, log, log1p
from cython.cimports.libc.math import ceil

from framework.events.schema import Kind
from framework.kernel.engine_loop import NEVER

if cython.compiled:  # the engine calls these components' handlers in C
    from cython.cimports.framework.kernel.handler import Clock, Handler, Route, Tick
else:
    from framework.kernel.handler import Clock, Handler, Route, Tick

# Route codes: the kind of the event a component's handle() is given.
_BOOK = cython.declare(cython.int, int(Kind.BOOK))
_BBO = cython.declare(cython.int, int(Kind.BBO))
_TRADES = cython.declare(cython.int, int(Kind.TRADES))
_COMMANDS = cython.declare(cython.int, int(Kind.ORDER_COMMANDS))
_SIM_ORDERS = cython.declare(cython.int, int(Kind.SIM_ORDERS))

NAN = float("nan")
INF = float("inf")
#: An order's status in the order tracker's records (framework.orders re-exports them).
PENDING, RESTING, CANCELING, CANCELED = "pending", "resting", "canceling", "canceled"
#: Closed orders the tracker remembers for its ``state`` (oldest forgotten first).
CLOSED_KEEP = 4096
#: The columns of a book or bbo row that give the top of book (and, for a book, its depth).
TOP_COLUMNS = ("bid_px", "bid_sz", "ask_px", "ask_sz")
#: A book row's top of book alone (:mod:`framework.events.derived`): what MarketState
#: reads, so a reader for it alone never decodes the level lists.
BOOK_TOP_COLUMNS = ("best_bid_px", "best_bid_sz", "best_ask_px", "best_ask_sz")


@cython.cfunc
def _typed(cols: object) -> cython.bint:
    """Whether ``cols`` is read through typed views: compiled, over an Arrow batch."""
    return cython.compiled and getattr(cols, "_batch", None) is not None


@cython.cclass
class _Top:
    """The top-of-book columns (bid price and size, ask price and size) of the batch the
    last book or bbo row came from, taken once per batch, and the top of row ``i``.

    Compiled, over an Arrow batch: typed views (NaN for a null), read in place with no
    Python float per event; otherwise (rows the engine built, live; the interpreted
    path) the column values, None read as NaN.  An empty book side is NaN either way.
    """

    # The C fields and methods are declared in market.pxd (other kernel modules read
    # them in C).

    def __init__(self, names: tuple) -> None:
        self.names = names
        self.src = None
        self.typed = False

    @cython.cfunc
    def read(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        """Set ``bid``, ``bsz``, ``ask``, ``asz`` to row ``i`` of ``cols``."""
        if cols is not self.src:
            self._take(cols)
        if self.typed:
            self.bid = self.v_bid[i]
            self.bsz = self.v_bsz[i]
            self.ask = self.v_ask[i]
            self.asz = self.v_asz[i]
            return
        b, bs, a, az = self.o_bid[i], self.o_bsz[i], self.o_ask[i], self.o_asz[i]
        self.bid = NAN if b is None else b
        self.bsz = NAN if bs is None else bs
        self.ask = NAN if a is None else a
        self.asz = NAN if az is None else az

    @cython.cfunc
    def _take(self, cols: object) -> cython.void:
        self.src = cols
        self.typed = _typed(cols)
        bid, bsz, ask, asz = self.names
        if self.typed:
            self.v_bid = cols.floats(bid)
            self.v_bsz = cols.floats(bsz)
            self.v_ask = cols.floats(ask)
            self.v_asz = cols.floats(asz)
        else:
            self.o_bid = getattr(cols, bid)
            self.o_bsz = getattr(cols, bsz)
            self.o_ask = getattr(cols, ask)
            self.o_asz = getattr(cols, asz)


@cython.cclass
class MarketState(Handler):
    """Top of book, mid, last trade and staleness, from book / bbo / trades / asset_ctx.

    The top comes from the book's top-of-book columns; depth is read from the current
    book row's level lists on demand (``bid_levels()``, ``depth_at``), so nothing is
    copied per event.  A component that asks for depth subscribes the level lists
    itself (the fill simulator does); without one, a journal read for the engine does
    not decode them.  Bind it first so later components see the updated state in
    their own handlers for the same event.
    """

    # The C fields and methods are declared in market.pxd (other kernel modules read
    # them in C).

    name = "market"

    def __init__(self) -> None:
        self.best_bid = NAN
        self.best_ask = NAN
        self.bid_sz = NAN
        self.ask_sz = NAN
        self.last_trade_px = NAN
        self.last_book_ts = 0
        self.last_trade_ts = 0
        self.last_market_ts = 0
        self.mark_px = NAN
        self.oracle_px = NAN
        self.funding = 0.0
        self.books = 0
        self.trades = 0
        self.engine = None
        self.clock = Clock()
        self._book = None
        self._row = 0
        self._book_top = _Top(BOOK_TOP_COLUMNS)
        self._bbo_top = _Top(TOP_COLUMNS)
        self._trade_src = None
        self._t_src = None
        self._t_typed = False
        self._tr_typed = False

    def bind(self, engine: Any) -> None:
        self.engine = engine
        self.clock = engine.clock
        engine.subscribe(Kind.BOOK, Route(self, _BOOK), columns=BOOK_TOP_COLUMNS)
        engine.subscribe(Kind.BBO, Route(self, _BBO), columns=TOP_COLUMNS)
        engine.subscribe(Kind.TRADES, Route(self, _TRADES), columns=("px",))
        engine.subscribe(Kind.ASSET_CTX, self.on_ctx, columns=("mark_px", "oracle_px", "funding"))

    # -- handlers -----------------------------------------------------------------------
    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if route == _BOOK:
            self.on_book(cols, i)
        elif route == _BBO:
            self.on_bbo(cols, i)
        else:
            self.on_trade(cols, i)

    @cython.ccall
    def on_book(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        self._book = cols
        self._row = i
        self._set_top(self._book_top, cols, i)
        self.books += 1
        now: cython.longlong = self.clock.now
        self.last_book_ts = now
        self.last_market_ts = now

    @cython.ccall
    def on_bbo(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        self._set_top(self._bbo_top, cols, i)
        self.last_market_ts = self.clock.now

    @cython.cfunc
    def _set_top(self, top: _Top, cols: object, i: cython.Py_ssize_t) -> cython.void:
        top.read(cols, i)
        self.best_bid = top.bid
        self.bid_sz = top.bsz
        self.best_ask = top.ask
        self.ask_sz = top.asz

    @cython.cfunc
    def _typed_views(self, cols: object) -> cython.void:
        """Typed views of a book batch's level values and offsets, taken once per batch
        (compiled only): depth_at reads the level at a price in place, where a numpy
        slice, ``tolist`` or a numpy scalar costs a microsecond or more.  Columns that
        are not float64 (rows built by hand from integers) are left to the generic
        path."""
        self._t_src = cols
        self._t_typed = False
        if not cython.compiled:
            return
        try:
            c = cols.bid_px
            self._t_bpx, self._t_bpx_o = c.values, c.offs
            c = cols.bid_sz
            self._t_bsz, self._t_bsz_o = c.values, c.offs
            c = cols.ask_px
            self._t_apx, self._t_apx_o = c.values, c.offs
            c = cols.ask_sz
            self._t_asz, self._t_asz_o = c.values, c.offs
            self._t_typed = True
        except (ValueError, TypeError):
            pass

    @cython.ccall
    def on_trade(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if cols is not self._trade_src:
            self._trade_src = cols
            self._tr_typed = _typed(cols)
            if self._tr_typed:
                self._vt_px = cols.floats("px")
            else:
                self._tr_px = cols.px
        if self._tr_typed:
            self.last_trade_px = self._vt_px[i]
        else:
            self.last_trade_px = self._tr_px[i]
        self.trades += 1
        now: cython.longlong = self.clock.now
        self.last_trade_ts = now
        self.last_market_ts = now

    def on_ctx(self, cols: Any, i: cython.Py_ssize_t) -> None:
        self.mark_px = cols.mark_px[i]
        self.oracle_px = cols.oracle_px[i]
        self.funding = cols.funding[i]

    # -- queries ------------------------------------------------------------------------
    @property
    def mid(self) -> float:
        """Mid of a valid (two-sided, uncrossed) top of book, else NaN."""
        b: cython.double = self.best_bid
        a: cython.double = self.best_ask
        return (b + a) * 0.5 if b < a else NAN

    @property
    def spread(self) -> float:
        return self.best_ask - self.best_bid

    def bid_levels(self) -> tuple[list[float], list[float]]:
        """Prices and sizes of the current book's bids, best first."""
        if self._book is None:
            return [], []
        return self._book.bid_px[self._row], self._book.bid_sz[self._row]

    def ask_levels(self) -> tuple[list[float], list[float]]:
        if self._book is None:
            return [], []
        return self._book.ask_px[self._row], self._book.ask_sz[self._row]

    def depth_at(self, side: int, px: float) -> float:
        """Displayed size at price ``px`` on our side (+1 bids, -1 asks); 0 if absent."""
        book = self._book
        if book is None:
            return 0.0
        if (px > self.best_bid) if side > 0 else (px < self.best_ask):
            return 0.0  # inside the spread: nothing displayed there (the common quote)
        if book is not self._t_src:
            self._typed_views(book)
        j: cython.Py_ssize_t
        lo: cython.Py_ssize_t
        hi: cython.Py_ssize_t
        if cython.compiled and self._t_typed:
            # Sizes are read at the price column's offsets, as the generic path does.
            if side > 0:
                lo, hi = self._t_bpx_o[self._row], self._t_bpx_o[self._row + 1]
                for j in range(lo, hi):
                    if self._t_bpx[j] == px:
                        return self._t_bsz[j]
            else:
                lo, hi = self._t_apx_o[self._row], self._t_apx_o[self._row + 1]
                for j in range(lo, hi):
                    if self._t_apx[j] == px:
                        return self._t_asz[j]
            return 0.0
        col, sizes = (book.bid_px, book.bid_sz) if side > 0 else (book.ask_px, book.ask_sz)
        lo, hi = col.offsets[self._row], col.offsets[self._row + 1]
        try:
            j = col.values[lo:hi].tolist().index(px)
        except ValueError:
            return 0.0
        return float(sizes.values[lo + j])

    def snapshot(self) -> dict[str, Any]:
        return {
            "best_bid": self.best_bid,
            "best_ask": self.best_ask,
            "mid": self.mid,
            "last_trade_px": self.last_trade_px,
            "mark_px": self.mark_px,
            "funding": self.funding,
            "books": self.books,
            "trades": self.trades,
            "last_book_ts": self.last_book_ts,
            "last_trade_ts": self.last_trade_ts,
        }


@cython.cclass
class BookWake(Handler):
    """A wake condition on the top of book: subscribed to book and bbo events in a
    component's place (after MarketState, whose fields it reads), it calls the
    component's ``fn`` only when its test says the event can matter."""

    market = cython.declare(MarketState, visibility="public")
    fn = cython.declare(object, visibility="public")

    def __init__(self, market: MarketState | None, fn: object) -> None:
        self.market = market
        self.fn = fn

    def bind(self, engine: Any) -> None:
        """Read the engine's MarketState and take book and bbo events (no columns:
        the test reads MarketState only)."""
        self.market = engine.component("market")
        engine.subscribe(Kind.BOOK, Route(self, _BOOK), columns=())
        engine.subscribe(Kind.BBO, Route(self, _BBO), columns=())

    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        self.on_event(cols, i)

    @cython.ccall
    def on_event(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        """The wake test, and ``fn`` when it wakes (each condition's own)."""
        raise NotImplementedError

    def __call__(self, cols: object, i: object) -> None:
        self.on_event(cols, i)


@cython.cclass
class WakeField:
    """A component attribute kept on its wake condition (``obj._wake``): the kernel
    reads it there per event, the component reads and sets it as its own.  A compiled
    descriptor: reading or setting it runs no Python frame (the strategy does either
    60,000 times a day)."""

    field = cython.declare(str, visibility="readonly")

    def __init__(self, field: str) -> None:
        self.field = field

    def __get__(self, obj: object, owner: object) -> object:
        return self if obj is None else getattr(obj._wake, self.field)

    def __set__(self, obj: object, value: object) -> None:
        setattr(obj._wake, self.field, value)


@cython.cclass
class QuoteWake(BookWake):
    """A strategy's market wake condition (see the module doc): subscribed to book and
    bbo in the strategy's place, it calls ``fn()`` after an event unless all of

    * the mid is within ``band`` (exclusive) of ``center``,
    * the best bid is below ``ask`` and the best ask above ``bid`` (no quote crossed),
    * ``always`` is off

    hold.  NaN anywhere (no valid top, no quote evaluated yet) wakes it: every
    comparison with NaN is false, in C as in Python.
    """

    center = cython.declare(cython.double, visibility="public")
    band = cython.declare(cython.double, visibility="public")
    bid = cython.declare(cython.double, visibility="public")
    ask = cython.declare(cython.double, visibility="public")
    always = cython.declare(cython.bint, visibility="public")

    def __init__(self, market: MarketState | None, fn: object) -> None:
        BookWake.__init__(self, market, fn)
        self.center = NAN
        self.band = 0.0
        self.bid = -INF
        self.ask = INF
        self.always = False

    @cython.ccall
    def on_event(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        d: cython.double = (b + a) * 0.5 - self.center
        if -self.band < d < self.band and b < self.ask and a > self.bid and not self.always:
            return
        self.fn()


@cython.cclass
class TrackerCore(Handler):
    """The order tracker's account figures, marks, open orders and its paper order
    paths, typed: the base of :class:`framework.orders.OrderTracker`, which keeps the
    live handlers, fills and the account in plain Python.

    :meth:`mark` runs every second of event time a position is held (the risk check)
    and at every fill and Q-learning step; :meth:`mark_price` a hundred thousand times a
    day.  Compiled, the figures are C doubles that Python reads and sets as ordinary
    attributes; the arithmetic is the former Python's, in the same order.
    """

    # The C fields and methods are declared in market.pxd (other kernel modules read
    # them in C).

    def __init__(self) -> None:
        self.market = None
        self.position = self.cash = self.fees = self.funding = self.avg_entry = 0.0
        self.initial_equity = self.equity = self.peak_equity = 0.0
        self.max_drawdown = self.max_drawdown_usd = 0.0
        self.n_fills = self.n_commands = self.n_rejects = 0
        self.open = {}
        self.closed = OrderedDict()
        self.replaces = {}

    def routes(self) -> tuple[Route, Route]:
        """The ``order_commands`` and ``sim_orders`` handlers, as routes."""
        return Route(self, _COMMANDS), Route(self, _SIM_ORDERS)

    # -- the order paths of a paper session (framework.orders' former Python, typed) ----
    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if route == _COMMANDS:
            self.n_commands += 1
            action, cloid = cols.action[i], cols.cloid[i]
            if action == "place":
                self.open[cloid] = [cols.side[i], cols.px[i], cols.sz[i], PENDING, 0.0]
            elif action == "cancel":
                rec = self.open.get(cloid)
                if rec is not None:
                    rec[3] = CANCELING
            elif action == "modify":
                target = cols.target_cloid[i]
                old = self.open.get(target)
                if old is not None:
                    old[3] = CANCELING
                self.replaces[cloid] = target
                self.open[cloid] = [cols.side[i], cols.px[i], cols.sz[i], PENDING, 0.0]
        elif route == _SIM_ORDERS:
            cloid, status = cols.cloid[i], cols.status[i]
            if status == "resting":
                self.rested(cloid, cols.sz[i])
            elif status == "cancel_rejected":
                rec = self.open.get(cloid)
                if rec is not None and rec[3] == CANCELING:
                    rec[3] = RESTING
            else:  # rejected | canceled | filled
                if status == "rejected":
                    self.n_rejects += 1
                self.gone(cloid, status == "rejected", status)

    @cython.ccall
    def rested(self, cloid: object, sz: object) -> cython.void:
        """``cloid`` rests (its remaining size ``sz``, None when unknown); the order a
        modify replaced with it is canceled."""
        rec = self.open.get(cloid)
        if rec is None:
            return
        if rec[3] == PENDING:
            rec[3] = RESTING
        if sz is not None:
            rec[2] = sz
        old = self.replaces.pop(cloid, None)
        if old is not None and self.open.pop(old, None) is not None:
            self.closed[old] = CANCELED  # a modify replaced it

    @cython.ccall
    def gone(self, cloid: object, rejected: cython.bint, final: object) -> cython.void:
        """``cloid`` ended as ``final``; a rejected modify leaves its original resting."""
        if self.open.pop(cloid, None) is not None or cloid not in self.closed:
            self.closed[cloid] = final
            if len(self.closed) > CLOSED_KEEP:
                self.closed.popitem(last=False)
        old = self.replaces.pop(cloid, None)
        if old is not None and rejected:
            rec = self.open.get(old)
            if rec is not None and rec[3] == CANCELING:
                rec[3] = RESTING

    @cython.cfunc
    def _px(self) -> cython.double:
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        if b < a:  # MarketState.mid: a valid (two-sided, uncrossed) top
            return (b + a) * 0.5
        if m.mark_px == m.mark_px:
            return m.mark_px
        return m.last_trade_px

    def mark_price(self) -> float:
        """The price positions are marked at: book mid, else mark, else last trade."""
        return self._px()

    @cython.ccall
    def mark(self, t: object = 0) -> cython.double:
        """Mark to market: update equity, its peak and the max drawdown; return equity.

        With a position and no price to mark it at (nothing known yet), equity is unknown:
        it stays as it was and so do the peak and the drawdown."""
        return self._mark()

    @cython.ccall
    def on_tick(self, route: cython.int, t: cython.longlong) -> cython.void:
        self.mark(t)  # the mark timer (Tick(tracker, 0))

    @cython.cfunc
    def _mark(self) -> cython.double:
        px: cython.double = self._px()
        pos: cython.double = self.position
        if px != px and pos != 0.0:
            return self.equity
        value: cython.double = pos * px if pos != 0.0 else 0.0
        eq: cython.double = self.initial_equity + self.cash + value - self.fees - self.funding
        self.equity = eq
        if eq > self.peak_equity:
            self.peak_equity = eq
        dd: cython.double = self.peak_equity - eq
        if dd > self.max_drawdown_usd:
            self.max_drawdown_usd = dd
        # The fraction is its own running maximum: a larger USD drawdown from a higher
        # peak can be a smaller fraction, and the reported maximum must never fall.
        frac: cython.double = dd / self.peak_equity
        if frac > self.max_drawdown:
            self.max_drawdown = frac
        return eq


DAY_NS = 86_400 * 1_000_000_000
#: A risk rule's state when it is not tripped (framework.risk.manager's rows say it).
OK = "ok"


@cython.cclass
class RiskCore(Handler):
    """The risk component's state and its per-second check, typed: the base of
    :class:`framework.risk.manager.RiskManager`, which keeps the rules' slow paths (state
    changes, their journaled reasons) and the handlers in plain Python.

    :meth:`check` runs every ``check_interval_s`` of event time (86,400 times a market
    day); with a position it marks the account and tests the loss limits every time.
    Compiled, the common case is a few C comparisons; every rule's slow path is a Python
    method of the subclass (``_readiness``, ``_check_gate``, ``_set_headroom``,
    ``_check_position``, ``_change`` and the two trips), called as before.
    """

    # The C fields and methods are declared in market.pxd (other kernel modules read
    # them in C).

    def __init__(self) -> None:
        self.market = None
        self.orders = None
        self.engine = None
        self.budget = None
        self.states = {}
        self.paused = self.killed = self.daily_tripped = self.forcing = False
        self.cap_long = self.cap_short = False
        self.quoting_allowed = True
        self.sides_allowed = (True, True)
        self.headroom = 1.0
        self._live_headroom = False
        self._t0 = self._stale_ns = self._fills_seen = 0
        self._day = -1
        self._day_start_equity = NAN
        self._max_position = self._max_position_usd = INF
        self._max_drawdown = self._max_daily_loss = INF
        self.spread_mult = self.size_mult = 1.0

    @cython.ccall
    def on_tick(self, route: cython.int, t: cython.longlong) -> cython.void:
        self.check(t)  # the check timer (Tick(risk, 0))

    @cython.ccall
    def check(self, t: cython.longlong) -> cython.void:
        """The periodic check: quote gate, headroom, position, losses (timer).

        The common case (fresh data, nothing tripped, within limits) is a few
        comparisons; every rule's slow path is its own method.
        """
        if "readiness" not in self.states:
            self._readiness()
        last: cython.longlong = self.market.last_market_ts
        ref: cython.longlong = last if last != 0 else (self._t0 if self._t0 != 0 else t)
        if self.paused or t - ref >= self._stale_ns or self._t0 == 0:
            self._check_gate(t)
        h: cython.double
        if self.budget is not None and not self._live_headroom:
            h = self.budget.headroom
            if h != self.headroom:
                self._set_headroom(h)
        o: TrackerCore = self.orders
        day_ns: cython.longlong = DAY_NS
        filled: cython.bint
        # Flat and nothing filled since the last check: equity cannot have moved.
        if o.position != 0.0 or o.n_fills != self._fills_seen or t // day_ns != self._day:
            filled = o.n_fills != self._fills_seen
            self._fills_seen = o.n_fills
            # the rule can only change on a fill, while tripped, or once over a cap
            if filled or self.cap_long or self.cap_short or self._over(o.position):
                self._check_position()
            self._losses()
            self._pub()
        elif self.forcing:
            self._pub()  # the allowed sides follow the position (here: flat)

    # -- position caps ------------------------------------------------------------------
    @cython.cfunc
    def _usd(self, pos: cython.double) -> cython.double:
        px: cython.double = self.orders._px()
        return abs(pos) * px if px == px else 0.0

    @cython.cfunc
    def _over(self, pos: cython.double) -> cython.bint:
        return abs(pos) >= self._max_position or self._usd(pos) >= self._max_position_usd

    def _notional(self, pos: float) -> float:
        """``|pos|`` in USD at the mark price (0 without one)."""
        return self._usd(pos)

    def _over_caps(self, pos: float) -> bool:
        """``pos`` at or over the contracts cap or, at the mark, over the USD cap."""
        return self._over(pos)

    # -- losses -------------------------------------------------------------------------
    def _check_losses(self) -> None:
        """Mark the account; trip the drawdown kill switch or the daily loss limit."""
        self._losses()

    @cython.cfunc
    def _losses(self) -> cython.void:
        o: TrackerCore = self.orders
        now: cython.longlong = self.market.clock.now  # the engine's, read in C
        eq: cython.double = o._mark()
        day_ns: cython.longlong = DAY_NS
        day: cython.longlong = now // day_ns
        if day != self._day:
            self._day = day
            self._day_start_equity = eq
            if self.daily_tripped:
                self.daily_tripped = False
                self._change("daily_loss", OK, 0.0, self._max_daily_loss, "new UTC day")
        if not self.killed and o.max_drawdown >= self._max_drawdown:
            self.killed = True
            self._drawdown_tripped()
        loss: cython.double = self._day_start_equity - eq
        if not self.daily_tripped and loss >= self._max_daily_loss:
            self.daily_tripped = True
            self._daily_loss_tripped(loss)

    # -- outputs ------------------------------------------------------------------------
    def _publish(self) -> None:
        """``quoting_allowed`` and ``sides_allowed`` from the rules' states."""
        self._pub()

    @cython.cfunc
    def _pub(self) -> cython.void:
        self.quoting_allowed = not (self.killed or self.daily_tripped or self.paused)
        bid: cython.bint = not self.cap_long
        ask: cython.bint = not self.cap_short
        pos: cython.double
        if self.forcing:
            pos = self.orders.position
            if pos != 0.0:  # flat: both sides (minimum size; see the module docstring)
                bid, ask = bid and pos < 0, ask and pos > 0
        self.sides_allowed = (bid, ask)


@cython.cclass
class VenueGate(Handler):
    """The fill simulator's market-data gate: subscribed to trade, book and bbo events
    in the simulator's place (after MarketState, whose fields it reads), it calls the
    simulator's handler only when the event can act on it:

    * a request is pending (``pending`` not empty): a trade at or after ``due`` (the
      earliest arrival, exchange time), any book or bbo (the venue's view follows it);
    * a trade at or through a resting order: a sell print at or below ``bid_max``, a
      buy print at or above ``ask_min`` (-inf / inf when that side rests nothing);
    * with the cross rule (``cross``): a top that reaches a resting order, or a cross's
      used-size memory (``bid_used`` / ``ask_used``) still to be cleared;
    * with a depth queue model (``depth``): a book while any order rests.

    Everything else (most of a day's quarter-million market events) costs the
    simulator nothing.  ``pending`` and the used-size memories are the simulator's own
    containers, mutated in place; ``due``, ``bid_max`` and ``ask_min`` live here, and
    the simulator reads and sets them on its gate.  NaN compares false, in C as in
    Python.
    """

    # The C fields and methods are declared in market.pxd (other kernel modules read
    # them in C).

    def __init__(self, pending: list, bid_used: dict, ask_used: dict) -> None:
        self.market = None
        self.due = NEVER
        self.bid_max = -INF
        self.ask_min = INF
        self.cross = False
        self.depth = False
        self.pending = pending
        self.bid_used = bid_used
        self.ask_used = ask_used
        self._src = None

    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if route == _TRADES:
            self.trade(cols, i)
        elif route == _BOOK:
            self.book(cols, i)
        else:
            self.bbo(cols, i)

    @cython.ccall
    def trade(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if cols is not self._src:
            self._src = cols
            self._ts = cols.ts
            self._side = cols.side
        ts: cython.longlong
        if self.pending:
            ts = self._ts[i]
            if ts >= self.due:
                self.on_trade(cols, i)
                return
        px: cython.double = self.market.last_trade_px  # this row's (bound first)
        if px <= self.bid_max or px >= self.ask_min:
            side: cython.longlong = self._side[i]
            if (px <= self.bid_max) if side < 0 else (px >= self.ask_min):
                self.on_trade(cols, i)

    @cython.cfunc
    @cython.inline
    def _top(self) -> cython.bint:
        """The cross rule has something to do at this top of book."""
        m: MarketState = self.market
        return self.cross and (
            m.best_ask <= self.bid_max
            or m.best_bid >= self.ask_min
            or len(self.bid_used) > 0
            or len(self.ask_used) > 0
        )

    @cython.ccall
    def book(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if (
            self.pending
            or self._top()
            or (self.depth and (self.bid_max > -INF or self.ask_min < INF))
        ):
            self.on_book(cols, i)

    @cython.ccall
    def bbo(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if self.pending or self._top():
            self.on_bbo(cols, i)


_round = round  # Python's round (half to even), never C's: the clock's gap count uses it


@cython.cclass
class MidClock(Handler):
    """Samples the market mid on an event-time clock and hands out clock returns.

    One return per tick whose mid is valid and whose previous valid sample exists;
    after invalid ticks the next return spans the gap and carries ``k`` = elapsed
    ticks so users scale ``r^2 / k`` (mm_math.md §3).  A mid is invalid when
    NaN (crossed / one-sided) or when the last market update is older than
    ``stale_ns`` (MarketState's ``last_market_ts``: book, bbo or trade progress).

    One clock can serve several estimators (:meth:`add_listener`): volatility and
    regime sample the same 1 s clock, so the regime estimator listens to the
    volatility estimator's clock when both are configured alike (one timer, one
    mid read per tick) and binds its own otherwise.

    Bits: ``r = log(mid / prev)`` is :func:`framework.kernel.fpmath.log` on both paths
    (the same on every CPU, unlike libm's), and the gap count
    ``round((t - pt) / dt)`` is Python's round of a double quotient of integers
    below 2⁵³, as interpreted.
    """

    dt_ns = cython.declare(cython.longlong, visibility="readonly")
    stale_ns = cython.declare(cython.longlong, visibility="readonly")
    prev_mid = cython.declare(cython.double, visibility="public")
    prev_t = cython.declare(cython.longlong, visibility="public")
    ticks = cython.declare(cython.longlong, visibility="public")
    valid_ticks = cython.declare(cython.longlong, visibility="public")
    market = cython.declare(MarketState, visibility="public")
    listeners = cython.declare(list, visibility="public")
    _bound = cython.declare(cython.bint)

    def __init__(self, dt_s: float, stale_s: float) -> None:
        if not dt_s > 0:
            raise ValueError(f"dt_s={dt_s!r}: the sampling clock must be > 0 s (e.g. 1.0)")
        self.dt_ns = _round(dt_s * 1e9)
        self.stale_ns = _round(stale_s * 1e9)
        self.prev_mid = NAN
        self.prev_t = 0
        self.ticks = 0
        self.valid_ticks = 0
        self.market = None
        self.listeners = []
        self._bound = False

    def same_clock(self, other: MidClock) -> bool:
        """True when ``other`` produces exactly the returns this clock would."""
        return self.dt_ns == other.dt_ns and self.stale_ns == other.stale_ns

    def add_listener(self, fn: object) -> None:
        """Also call ``fn(t, r, k)`` (or a Handler's ``on_return``) for each tick (see
        :meth:`bind`)."""
        self.listeners.append(fn)

    def bind(self, engine: Any, fn: object) -> None:
        """Call ``fn(t, r, k)`` for each clock return; ``fn(t, None, 0)`` on invalid ticks
        (``fn`` a callable, or a :class:`~framework.kernel.handler.Handler`, whose
        ``on_return`` is called in C)."""
        self.listeners.insert(0, fn)
        if self._bound:
            return
        self._bound = True
        self.market = engine.component("market")
        engine.call_every(self.dt_ns, Tick(self, 0))

    @cython.ccall
    def on_tick(self, route: cython.int, t: cython.longlong) -> cython.void:
        self.tick(t)

    @cython.cfunc
    def _tell(self, t: cython.longlong, r: object, k: cython.longlong) -> cython.void:
        """Each listener's ``(t, r, k)``: a Handler's on_return as a C call."""
        h: Handler
        for fn in self.listeners:
            if isinstance(fn, Handler):
                h = fn  # typed: a C call compiled (no cython.cast: interpreted, it is slow)
                h.on_return(t, r, k)
            else:
                fn(t, r, k)

    @cython.ccall
    def tick(self, t: cython.longlong) -> cython.void:
        """One clock tick at event time ``t`` (the engine's timer calls it)."""
        m: MarketState = self.market
        self.ticks += 1
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        # MarketState.mid inlined (a valid, uncrossed top), then the staleness test.
        if not b < a or t - m.last_market_ts > self.stale_ns:
            self._tell(t, None, 0)
            return
        mid: cython.double = (b + a) * 0.5
        self.valid_ticks += 1
        pm: cython.double = self.prev_mid
        self.prev_mid = mid
        pt: cython.longlong = self.prev_t
        self.prev_t = t
        k: cython.longlong
        if pm > 0:
            if t - pt == self.dt_ns:
                k = 1
            else:
                q: cython.double = cython.cast(cython.double, t - pt) / cython.cast(
                    cython.double, self.dt_ns
                )
                k = max(1, _round(q))
            r: cython.double = log(mid / pm)
            self._tell(t, r, k)


@cython.cclass
class BookTape(Handler):
    """The top of book of the last ``size`` book / bbo events, looked up on demand.

    κ needs the last valid mid strictly before a trade's *exchange* ts (a book with the
    trade's own ts is the post-trade book, and feeds can deliver it first), markouts the
    last valid mid strictly before a fill's engine time.  Each book / bbo event
    records its ``ts``, ``recv_ts`` and the top MarketState took from it (bound first,
    it has applied the event: NaN for an empty side) in a ring of ``size``.

    Lookups walk back at most ``size`` events; an answer further back is "no valid
    mid" (a book crossed or one-sided for that many updates has none worth using).
    One tape serves every estimator of an engine
    (:func:`framework.estimators.base.book_tape`).
    """

    size = cython.declare(cython.Py_ssize_t, visibility="readonly")
    market = cython.declare(MarketState, visibility="public")
    _ts = cython.declare(list)
    _recv = cython.declare(list)
    _bid = cython.declare(list)
    _ask = cython.declare(list)
    _head = cython.declare(cython.Py_ssize_t)  # where the next event goes
    _n = cython.declare(cython.Py_ssize_t)  # events held (<= size)
    # Per table (book, bbo), the columns of the batch the last row came from and its
    # time columns: one attribute walk per batch, not two per event.
    _book_src = cython.declare(object)
    _book_ts = cython.declare(list)
    _book_recv = cython.declare(list)
    _bbo_src = cython.declare(object)
    _bbo_ts = cython.declare(list)
    _bbo_recv = cython.declare(list)

    def __init__(self, size: cython.Py_ssize_t = 32) -> None:
        if size < 1:
            raise ValueError(f"size={size}: a book tape holds at least one event")
        self.size = size
        self._ts = [0] * size
        self._recv = [0] * size
        self._bid = [NAN] * size
        self._ask = [NAN] * size
        self._head = 0
        self._n = 0
        self.market = None
        self._book_src = None
        self._bbo_src = None

    def bind(self, engine: Any) -> None:
        self.market = engine.component("market")
        engine.subscribe(Kind.BOOK, Route(self, _BOOK), columns=())  # ts, recv_ts always come
        engine.subscribe(Kind.BBO, Route(self, _BBO), columns=())

    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if route == _BOOK:
            self.on_book(cols, i)
        else:
            self.on_bbo(cols, i)

    @cython.ccall
    def on_book(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if cols is not self._book_src:
            self._book_src = cols
            self._book_ts = list(cols.ts)
            self._book_recv = list(cols.recv_ts)
        self._record(self._book_ts[i], self._book_recv[i])

    @cython.ccall
    def on_bbo(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if cols is not self._bbo_src:
            self._bbo_src = cols
            self._bbo_ts = list(cols.ts)
            self._bbo_recv = list(cols.recv_ts)
        self._record(self._bbo_ts[i], self._bbo_recv[i])

    @cython.cfunc
    def _record(self, ts: object, recv: object) -> cython.void:
        j: cython.Py_ssize_t = self._head
        m: MarketState = self.market
        self._ts[j] = ts
        self._recv[j] = recv
        self._bid[j] = m.best_bid
        self._ask[j] = m.best_ask
        j += 1
        self._head = 0 if j == self.size else j
        if self._n < self.size:
            self._n += 1

    def __len__(self) -> int:
        return self._n

    @cython.ccall
    def before_ts(self, ts: cython.longlong) -> object:
        """``(bid, ask, ts)`` of the newest event with exchange ``ts`` below ``ts`` and a
        valid (two-sided, uncrossed) top, its own exchange ``ts`` last (staleness is
        judged on the clock the event was found by); None if the tape holds none."""
        return self._last_valid(self._ts, ts)

    def mid_before(self, t: cython.longlong) -> float:
        """The last valid mid of an event received strictly before engine time ``t``
        (NaN if the tape holds none)."""
        top = self._last_valid(self._recv, t)
        if top is None:
            return NAN
        b: cython.double = top[0]
        a: cython.double = top[1]
        return (b + a) * 0.5

    @cython.cfunc
    def _last_valid(self, times: list, bound: cython.longlong) -> object:
        j: cython.Py_ssize_t = self._head
        t: cython.longlong
        b: cython.double
        a: cython.double
        for _ in range(self._n):
            j = (j if j > 0 else self.size) - 1
            t = times[j]
            if t < bound:
                b = self._bid[j]
                a = self._ask[j]
                if b < a:
                    return (b, a, t)
        return None


@cython.cclass
class SumRangeWake(BookWake):
    """Calls ``fn(cols, i)`` after a book or bbo event unless ``lo2 < best_bid +
    best_ask < hi2`` (open range; NaN anywhere wakes it): an estimator whose state
    can change only when the mid leaves a range subscribes this in its place."""

    lo2 = cython.declare(cython.double, visibility="public")
    hi2 = cython.declare(cython.double, visibility="public")

    def __init__(self, market: MarketState | None, fn: object) -> None:
        BookWake.__init__(self, market, fn)
        self.lo2 = -INF
        self.hi2 = INF

    @cython.ccall
    def on_event(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        m: MarketState = self.market
        s: cython.double = m.best_bid + m.best_ask
        if self.lo2 < s < self.hi2:
            return
        self.fn(cols, i)

    # -- the fill-rate estimator's per-order bookkeeping (its former Python, typed) ------
    # A resting order's record is the list [side index, price, bucket, segment start ns,
    # lo, hi] of framework.estimators.fill_rate (SIDE ... HI there).

    def set_range(self, orders: dict) -> None:
        """``lo2``/``hi2``: twice the mid range inside every record's ``[lo, hi]`` (all
        of it when none rests; NaN while one has no range yet: every book wakes)."""
        lo: cython.double = -INF
        hi: cython.double = INF
        r_lo: cython.double
        r_hi: cython.double
        for rec in orders.values():
            r_lo = rec[4]
            r_hi = rec[5]
            if r_lo != r_lo:
                self.lo2 = NAN
                self.hi2 = NAN
                return
            if r_lo > lo:
                lo = r_lo
            if r_hi < hi:
                hi = r_hi
        self.lo2 = 2.0 * lo
        self.hi2 = 2.0 * hi

    def set_bucket(
        self, rec: list, m: cython.double, now: object, edges: list, exposure: list
    ) -> None:
        """Put ``rec`` in the depth bucket of mid ``m`` (accruing its exposure to the
        bucket it leaves) and set its ``[lo, hi]``: the mids that keep it there."""
        p: cython.double = rec[1]
        bid: cython.bint = rec[0] == 0
        depth: cython.double = ((m - p) if bid else (p - m)) / m * 1e4
        n: cython.Py_ssize_t = len(edges)
        a: cython.Py_ssize_t = 0
        z: cython.Py_ssize_t = n
        mid: cython.Py_ssize_t
        while a < z:  # bisect.bisect_right(edges, depth)
            mid = (a + z) // 2
            if depth < cython.cast(cython.double, edges[mid]):
                z = mid
            else:
                a = mid + 1
        b: cython.Py_ssize_t = a - 1 if a > 0 else 0
        old: cython.Py_ssize_t = rec[2]
        if b != old:
            if old >= 0:
                exposure[old] += now - rec[3]
            rec[3] = now  # exposure starts when the order is first bucketed
            rec[2] = b
        # Mids that keep depth in [edges[b], edges[b+1]) (shrunk by a relative 1e-12 so
        # float rounding at an edge is decided by the exact formula): the bid's depth
        # (1 - p/m)·1e4 grows with m, the ask's (p/m - 1)·1e4 falls.
        e_lo: cython.double = edges[b] if b > 0 else -INF
        e_hi: cython.double = edges[b + 1] if b + 1 < n else INF
        lo: cython.double
        hi: cython.double
        if bid:
            lo = p / (1.0 - e_lo / 1e4) if e_lo > -INF else 0.0
            hi = p / (1.0 - e_hi / 1e4) if e_hi < 1e4 else INF
        else:
            lo = p / (1.0 + e_hi / 1e4) if e_hi < INF else 0.0
            hi = p / (1.0 + e_lo / 1e4) if e_lo > -1e4 else INF
        rec[4] = lo * (1.0 + 1e-12)
        rec[5] = hi * (1.0 - 1e-12)


#: ``sim_orders`` statuses that end an order (for the fill-rate episodes).
_SIM_TERMINAL = frozenset({"canceled", "filled", "rejected"})


@cython.cclass
class FillEpisodes(SumRangeWake):
    """The fill-rate estimator's order episodes, typed: what
    :class:`framework.estimators.fill_rate.FillRateEstimator` did per command and per
    simulated order outcome in Python (two of each per order: 60,000 calls a backtest
    day).  Subscribed to ``order_commands`` and ``sim_orders`` in the estimator's
    place (routes), and the estimator's live handlers call :meth:`rest`,
    :meth:`first_fill` and :meth:`gone` directly.

    The containers are the estimator's own (shared, never rebound): resting records by
    cloid (see SIDE ... HI there), orders sent and not ended (cloid -> (side index,
    price)), modifies in flight (new cloid -> the cloid it replaces), orders whose
    episode a fill ended, exposure ns and first fills per bucket, the bucket edges.
    ``on_episode(fill)`` is the estimator's own (an episode's end: counts and gate).
    """

    clock = cython.declare(Clock, visibility="public")  # the engine's (set at binding)
    orders = cython.declare(dict, visibility="public")
    sent = cython.declare(dict, visibility="public")
    replaces = cython.declare(dict, visibility="public")
    filled = cython.declare(set, visibility="public")
    exposure = cython.declare(list, visibility="public")
    fills = cython.declare(list, visibility="public")
    edges = cython.declare(list, visibility="public")
    on_episode = cython.declare(object, visibility="public")

    def __init__(self, on_episode: object, state: tuple) -> None:
        SumRangeWake.__init__(self, None, None)  # its own on_event: no fn to call
        self.clock = Clock()
        self.on_episode = on_episode
        self.orders, self.sent, self.replaces, self.filled = state[0:4]
        self.exposure, self.fills, self.edges = state[4:7]

    def bind(self, engine: Any) -> None:
        """The book wake (:class:`SumRangeWake`) and the engine's clock; the estimator
        subscribes the order routes (:meth:`routes`) where it subscribed its handlers."""
        SumRangeWake.bind(self, engine)
        self.clock = engine.clock

    def routes(self) -> tuple[Route, Route]:
        """The ``order_commands`` and ``sim_orders`` handlers, as routes."""
        return Route(self, _COMMANDS), Route(self, _SIM_ORDERS)

    @cython.ccall
    def on_event(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        """A book or bbo event (the estimator's former ``on_book``, typed): unless the
        mid stays inside every resting order's range, each order whose own range it
        left moves to the bucket of the new mid, and the range is set again.  An
        invalid top keeps the buckets at their last depth."""
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        if self.lo2 < b + a < self.hi2 or not self.orders:
            return
        if not b < a:
            return  # invalid (MarketState.mid is NaN)
        mid: cython.double = (b + a) * 0.5
        now: object = self.clock.now
        r_lo: cython.double
        r_hi: cython.double
        for rec in self.orders.values():
            r_lo = rec[4]
            r_hi = rec[5]
            if not r_lo < mid < r_hi:
                self.set_bucket(rec, mid, now, self.edges, self.exposure)
        self.set_range(self.orders)

    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        if route == _COMMANDS:
            action = cols.action[i]
            if action == "place" or action == "modify":
                cloid = cols.cloid[i]
                self.sent[cloid] = (0 if cols.side[i] > 0 else 1, cols.px[i])
                if action == "modify" and cols.target_cloid[i] is not None:
                    self.replaces[cloid] = cols.target_cloid[i]
        elif route == _SIM_ORDERS:
            status = cols.status[i]
            if status == "resting":
                self.rest(cols.cloid[i], cols.side[i], cols.px[i])
            elif status in _SIM_TERMINAL:
                self.gone(cols.cloid[i], status == "filled", status == "rejected")
        else:
            self.on_event(cols, i)

    @cython.ccall
    def rest(self, cloid: object, side: object, px: object) -> cython.void:
        """``cloid`` rests at the venue (as the engine now knows): its episode starts."""
        if cloid is None or cloid in self.orders or cloid in self.filled:
            return
        sent = self.sent.get(cloid)
        if sent is None:
            return  # not an order this engine sent, or one already ended
        s_idx, s_px = sent
        if px is None or px != px:
            px = s_px
        if side is not None:
            s_idx = 0 if side > 0 else 1
        now: object = self.clock.now
        rec = [s_idx, px, -1, now, NAN, NAN]
        self.orders[cloid] = rec
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        if b < a:  # a valid mid (MarketState.mid)
            self.set_bucket(rec, (b + a) * 0.5, now, self.edges, self.exposure)
        old = self.replaces.pop(cloid, None)
        if old is not None:
            self.gone(old, False, False)  # a modify replaced it
        self.set_range(self.orders)

    @cython.ccall
    def first_fill(self, cloid: object) -> cython.void:
        """A fill of ``cloid``: the end of its episode, if it is resting and unfilled."""
        rec = self.orders.get(cloid) if cloid is not None else None
        if rec is None:
            return  # not resting: taking on arrival, already filled once, or unknown
        self.filled.add(cloid)
        self.end(cloid, rec, rec[2] >= 0)

    @cython.ccall
    def gone(self, cloid: object, fill: cython.bint, rejected: cython.bint) -> cython.void:
        """``cloid`` ended at the venue (a terminal row); ``fill``: it ended filled, which
        is its first fill if none was counted yet (a live ``filled`` status can come
        before the fill row)."""
        if cloid is None:
            return
        self.sent.pop(cloid, None)
        self.filled.discard(cloid)
        old = self.replaces.pop(cloid, None)
        if old is not None and not rejected:
            self.gone(old, False, False)  # the modify went through: the old order is gone
        rec = self.orders.get(cloid)
        if rec is not None:
            self.end(cloid, rec, fill and rec[2] >= 0)

    @cython.ccall
    def end(self, cloid: object, rec: list, fill: cython.bint) -> cython.void:
        """The episode of resting ``cloid`` ends: its exposure accrued, a fill counted."""
        del self.orders[cloid]
        b = rec[2]
        if b >= 0:
            self.exposure[b] += self.clock.now - rec[3]
            if fill:
                self.fills[b] += 1
        self.set_range(self.orders)
        self.on_episode(fill)


@cython.cclass
class SweepDepths(Handler):
    """κ's per-trade work (:class:`framework.estimators.kappa.KappaEstimator`), typed.

    Subscribed to trades in the estimator's place.  Prints with the same exchange
    ``ts``, ``hash`` and side are one aggressor sweep; its worst price is kept.  At a
    sweep's first print the pre-trade book is resolved on the :class:`BookTape` (the
    newest valid top with an exchange ts below the trade's, unless older than
    ``stale_ns`` on that clock); when the sweep closes (the next sweep's first print,
    or :meth:`close`) its depth beyond the touch, in grid steps above the event's
    floor, joins the window of kept sweeps (:meth:`keep`), or nowhere when it is
    below the floor or there was no valid mid.  The window is ``events``, a deque of
    ``(recv_ns, j, floor_bps, step_bps)``, with its running sums (``sum_j``,
    ``sum_floor``, ``sum_step``: a refit is O(1)) and the count of sweeps per ``j``
    (``bin_n``); :meth:`evict` drops what fell out of it.  The maths and the reasons
    are the estimator's module doc; the expressions are its former Python, in the same
    order (``ceil`` and Python's ``round`` of the same doubles; the sums add and
    subtract in the order the sweeps came and left).
    """

    tape = cython.declare(BookTape, visibility="public")
    clock = cython.declare(Clock, visibility="public")  # the engine's (set at binding)
    events = cython.declare(object, visibility="readonly")  # the window (a deque)
    bin_n = cython.declare(dict, visibility="readonly")  # j -> sweeps in the window
    sum_j = cython.declare(cython.longlong, visibility="readonly")
    sum_floor = cython.declare(cython.double, visibility="readonly")
    sum_step = cython.declare(cython.double, visibility="readonly")
    kept = cython.declare(cython.longlong, visibility="readonly")  # ever kept
    first_recv = cython.declare(cython.longlong, visibility="readonly")  # the first's time
    tick_of = cython.declare(object)  # fn(px) -> the price grid's step at px
    delta0_bps = cython.declare(cython.double, visibility="readonly")
    stale_ns = cython.declare(cython.longlong, visibility="readonly")
    pending = cython.declare(cython.bint, visibility="readonly")  # a sweep is open
    pend_recv = cython.declare(cython.longlong, visibility="readonly")  # its engine time
    events_seen = cython.declare(cython.longlong, visibility="public")
    _ts = cython.declare(cython.longlong)
    _hash = cython.declare(object)
    _side = cython.declare(cython.longlong)
    _worst = cython.declare(cython.double)
    _bid = cython.declare(cython.double)
    _ask = cython.declare(cython.double)
    _tick_px = cython.declare(cython.double)
    _tick = cython.declare(cython.double)
    # The trades batch the last print came from (_src) and its columns.
    _src = cython.declare(object)
    # (lists for a batch read from a journal, 1-tuples for a live row: any sequence)
    _c_ts = cython.declare(object)
    _c_side = cython.declare(object)
    _c_hash = cython.declare(object)
    _c_px = cython.declare(object)

    def __init__(self, tick_of: object, delta0_bps: float, stale_ns: cython.longlong) -> None:
        self.tape = None
        self.clock = Clock()
        self.events = deque()
        self.bin_n = {}
        self.sum_j = 0
        self.sum_floor = 0.0
        self.sum_step = 0.0
        self.kept = 0
        self.first_recv = 0
        self.tick_of = tick_of
        self.delta0_bps = delta0_bps
        self.stale_ns = stale_ns
        self.pending = False
        self.pend_recv = 0
        self.events_seen = 0
        self._ts = 0
        self._hash = None
        self._side = 0
        self._worst = NAN
        self._bid = NAN
        self._ask = NAN
        self._tick_px = NAN
        self._tick = NAN
        self._src = None

    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        self.on_event(cols, i)

    @cython.ccall
    def on_event(self, cols: object, i: cython.Py_ssize_t) -> cython.void:
        """One print."""
        if cols is not self._src:
            # One attribute walk per trades batch, not four per print.
            self._src = cols
            self._c_ts, self._c_side = cols.ts, cols.side
            self._c_hash, self._c_px = cols.hash, cols.px
        ts: cython.longlong = self._c_ts[i]
        side: cython.longlong = self._c_side[i]
        px: cython.double
        if self.pending and ts == self._ts and side == self._side and self._c_hash[i] == self._hash:
            px = self._c_px[i]  # another print of the same sweep: keep the worst price
            if (px > self._worst) if side > 0 else (px < self._worst):
                self._worst = px
            return
        self.close()
        self.pending = True
        self._ts = ts
        self._hash = self._c_hash[i]
        self._side = side
        self._worst = self._c_px[i]
        self.pend_recv = self.clock.now
        # The book is resolved now: a later book may arrive before the sweep closes.  It
        # is stale when it is older than the trade on the exchange's clock (found by
        # exchange ts, judged by it: feed delays on our side do not age it).
        found = self.tape.before_ts(ts)
        if found is None:
            self._bid = self._ask = NAN
            return
        found_ts: cython.longlong = found[2]
        if ts - found_ts > self.stale_ns:
            self._bid = self._ask = NAN
        else:
            self._bid = found[0]
            self._ask = found[1]

    @cython.ccall
    def close(self) -> cython.void:
        """Close the open sweep, if any (it joins the window when it counts)."""
        if not self.pending:
            return
        self.pending = False
        self._hash = None
        self.events_seen += 1
        bid: cython.double = self._bid
        ask: cython.double = self._ask
        if not bid < ask:
            return  # no valid mid strictly before the event
        mid: cython.double = 0.5 * (bid + ask)
        depth: cython.double = (self._worst - mid) if self._side > 0 else (mid - self._worst)
        if depth < 0:
            return  # stale mid (§2)
        tick: cython.double = self._tick_at(mid)
        hs: cython.double = 0.5 * (ask - bid)
        to_bps: cython.double = 1e4 / mid
        # First grid point beyond the touch at or above δ0 (see the estimator's doc).
        j0: cython.longlong = cython.cast(
            cython.longlong, ceil((self.delta0_bps / to_bps - hs) / tick - 1e-9)
        )
        if j0 < 1:
            j0 = 1
        q: cython.double = (depth - hs) / tick
        jr: cython.longlong = _round(q)
        j: cython.longlong = jr - j0
        if j < 0:
            return
        floor_bps: cython.double = (hs + j0 * tick) * to_bps
        g_bps: cython.double = tick * to_bps
        self.keep(self.pend_recv, j, floor_bps, g_bps)

    @cython.ccall
    def keep(
        self,
        recv: cython.longlong,
        j: cython.longlong,
        floor_bps: cython.double,
        g_bps: cython.double,
    ) -> cython.void:
        """A sweep that counts: ``j`` grid steps beyond its floor, into the window."""
        if self.kept == 0:
            self.first_recv = recv
        self.events.append((recv, j, floor_bps, g_bps))
        self.sum_j += j
        self.sum_floor += floor_bps
        self.sum_step += g_bps
        self.bin_n[j] = self.bin_n.get(j, 0) + 1
        self.kept += 1

    @cython.ccall
    def evict(self, cutoff: cython.longlong) -> cython.void:
        """Drop the sweeps received before ``cutoff`` from the window and its sums."""
        ev = self.events
        bins: dict = self.bin_n
        j_old: cython.longlong
        f_old: cython.double
        g_old: cython.double
        left: cython.longlong
        while ev and ev[0][0] < cutoff:
            _, j_old, f_old, g_old = ev.popleft()
            self.sum_j -= j_old
            self.sum_floor -= f_old
            self.sum_step -= g_old
            left = bins[j_old] - 1
            if left:
                bins[j_old] = left
            else:
                del bins[j_old]

    @cython.cfunc
    def _tick_at(self, px: cython.double) -> cython.double:
        # The tick only changes across powers of ten: cache it per magnitude.
        if not (self._tick_px * 0.5 < px < self._tick_px * 2.0) or self._tick != self._tick:
            self._tick_px = px
            self._tick = self.tick_of(px)
        return self._tick


def geometric_k(j_sum: cython.double, n: cython.longlong, g: cython.double) -> tuple:
    """Geometric MLE ``k̂_g = ln(1 + n/Σj)/g`` and its SE (Fisher information).

    ``j`` are exceedances in grid steps, ``g`` the step in bps.  With
    ``q = exp(-k g)``: ``SE(k̂) = (1 - q) / (g sqrt(q n))`` (→ ``k/√n`` as g → 0).
    """
    if n <= 0 or j_sum <= 0:
        return NAN, NAN
    k: cython.double = log1p(n / j_sum) / g
    q: cython.double = exp(-k * g)
    return k, (1.0 - q) / (g * sqrt(q * n))


@cython.cclass
class KappaCore:
    """κ's refit, typed: the base of :class:`framework.estimators.kappa.KappaEstimator`,
    which keeps its configuration and its rows in Python (``_emit``).  Every
    ``refit_s`` of event time (2,880 a day at 30 s) the window of kept sweeps
    (:class:`SweepDepths`) loses what fell out of it and k, A and their errors are
    refitted from its running sums; the expressions are the estimator's former Python,
    in the same order."""

    _sweeps = cython.declare(SweepDepths, visibility="public")
    window_ns = cython.declare(cython.longlong, visibility="public")
    refit_ns = cython.declare(cython.longlong, visibility="public")
    publish_ns = cython.declare(cython.longlong, visibility="public")
    _next_pub = cython.declare(cython.longlong, visibility="public")
    max_rel_se = cython.declare(cython.double, visibility="public")
    max_refit_change = cython.declare(cython.double, visibility="public")
    min_bins = cython.declare(cython.longlong, visibility="public")
    k_per_bps = cython.declare(cython.double, visibility="public")
    A_per_s = cython.declare(cython.double, visibility="public")
    k_se = cython.declare(cython.double, visibility="public")
    lnA_se = cython.declare(cython.double, visibility="public")
    bins = cython.declare(cython.longlong, visibility="public")
    _history = cython.declare(object, visibility="public")  # deque: the last 3 k
    # EstimatorBase's figures (it sets them; set_converged and emit read them)
    n_obs = cython.declare(cython.longlong, visibility="public")
    converged = cython.declare(cython.bint, visibility="public")
    engine = cython.declare(object, visibility="public")

    @cython.ccall
    def refit(self, t: cython.longlong) -> cython.void:
        sweeps: SweepDepths = self._sweeps
        if sweeps.pending and t - sweeps.pend_recv >= 1_000_000_000:
            sweeps.close()
        cutoff: cython.longlong = t - self.window_ns
        sweeps.evict(cutoff)
        n: cython.longlong = len(sweeps.events)
        self.n_obs = n
        if n == 0:
            if self.set_converged(False):
                self._emit(t)  # every flag change is journaled
            return
        g: cython.double = sweeps.sum_step / n
        j_sum: cython.double = sweeps.sum_j
        k: cython.double
        se: cython.double
        k, se = geometric_k(j_sum, n, g)
        if k != k or k == INF or k == -INF:  # not math.isfinite(k)
            if self.set_converged(False):
                self._emit(t)
            return
        # The window starts at the first event ever kept, not before it.
        start: cython.longlong = sweeps.first_recv if sweeps.first_recv > cutoff else cutoff
        span_s: cython.double = (t - start) / 1e9
        least: cython.double = self.refit_ns / 1e9
        span_s = least if least > span_s else span_s  # max(span, refit): Python's tie rule
        d0: cython.double = sweeps.sum_floor / n
        self.k_per_bps = k
        self.k_se = se
        self.A_per_s = n / span_s * exp(k * d0)
        self.lnA_se = sqrt(1.0 / n + d0 * d0 * se * se)
        self.bins = len(sweeps.bin_n)
        h = self._history
        h.append(k)
        mx: cython.double = self.max_refit_change
        stable: cython.bint = (
            len(h) == 3 and abs(h[1] / h[0] - 1.0) <= mx and abs(h[2] / h[1] - 1.0) <= mx
        )
        ok: cython.bint = se / k <= self.max_rel_se and stable and self.bins >= self.min_bins
        changed = self.set_converged(ok)
        m = self.min_obs
        if changed or t >= self._next_pub or n == m or n == m - 1:
            self._emit(t)
