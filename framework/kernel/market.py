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

from typing import Any

import cython

from framework.events.schema import Kind

NAN = float("nan")
INF = float("inf")


@cython.cclass
class MarketState:
    """Top of book, mid, last trade and staleness, from book / bbo / trades / asset_ctx.

    Depth is read from the current book row on demand (``bid_levels()``), so nothing
    is copied per event.  Bind it first so later components see the updated state in
    their own handlers for the same event.
    """

    best_bid = cython.declare(cython.double, visibility="public")
    best_ask = cython.declare(cython.double, visibility="public")
    bid_sz = cython.declare(cython.double, visibility="public")
    ask_sz = cython.declare(cython.double, visibility="public")
    last_trade_px = cython.declare(cython.double, visibility="public")
    mark_px = cython.declare(cython.double, visibility="public")
    oracle_px = cython.declare(cython.double, visibility="public")
    funding = cython.declare(cython.double, visibility="public")
    last_book_ts = cython.declare(cython.longlong, visibility="public")
    last_trade_ts = cython.declare(cython.longlong, visibility="public")
    last_market_ts = cython.declare(cython.longlong, visibility="public")  # book/bbo/trade
    books = cython.declare(cython.longlong, visibility="public")
    trades = cython.declare(cython.longlong, visibility="public")
    engine = cython.declare(object, visibility="public")
    # The current book row (Columns, row): what depth_at / *_levels answer from.
    _book = cython.declare(object, visibility="public")
    _row = cython.declare(cython.Py_ssize_t, visibility="public")

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
        self._book = None
        self._row = 0

    def bind(self, engine: Any) -> None:
        self.engine = engine
        engine.subscribe(Kind.BOOK, self.on_book)
        engine.subscribe(Kind.BBO, self.on_bbo)
        engine.subscribe(Kind.TRADES, self.on_trade)
        engine.subscribe(Kind.ASSET_CTX, self.on_ctx)

    # -- handlers -----------------------------------------------------------------------
    def on_book(self, cols: Any, i: cython.Py_ssize_t) -> None:
        self._book = cols
        self._row = i
        self._set_top(
            cols.bid_px.firsts[i],
            cols.bid_sz.firsts[i],
            cols.ask_px.firsts[i],
            cols.ask_sz.firsts[i],
        )
        self.books += 1
        now: cython.longlong = self.engine.now
        self.last_book_ts = now
        self.last_market_ts = now

    def on_bbo(self, cols: Any, i: cython.Py_ssize_t) -> None:
        self._set_top(cols.bid_px[i], cols.bid_sz[i], cols.ask_px[i], cols.ask_sz[i])
        self.last_market_ts = self.engine.now

    @cython.cfunc
    def _set_top(self, bid: object, bid_sz: object, ask: object, ask_sz: object) -> cython.void:
        # An empty book side (thin books) or a null bbo side has no price: NaN.
        self.best_bid = NAN if bid is None else bid
        self.best_ask = NAN if ask is None else ask
        self.bid_sz = NAN if bid_sz is None else bid_sz
        self.ask_sz = NAN if ask_sz is None else ask_sz

    def on_trade(self, cols: Any, i: cython.Py_ssize_t) -> None:
        self.last_trade_px = cols.px[i]
        self.trades += 1
        now: cython.longlong = self.engine.now
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
        if side > 0:
            col, sizes, better = book.bid_px, book.bid_sz, px > self.best_bid
        else:
            col, sizes, better = book.ask_px, book.ask_sz, px < self.best_ask
        if better:
            return 0.0  # inside the spread: nothing displayed there (the common quote)
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
class QuoteWake:
    """A strategy's market wake condition (see the module doc): subscribed to book and
    bbo in the strategy's place, it calls ``fn()`` after an event unless all of

    * the mid is within ``band`` (exclusive) of ``center``,
    * the best bid is below ``ask`` and the best ask above ``bid`` (no quote crossed),
    * ``always`` is off

    hold.  NaN anywhere (no valid top, no quote evaluated yet) wakes it: every
    comparison with NaN is false, in C as in Python.
    """

    market = cython.declare(MarketState, visibility="public")
    fn = cython.declare(object, visibility="public")
    center = cython.declare(cython.double, visibility="public")
    band = cython.declare(cython.double, visibility="public")
    bid = cython.declare(cython.double, visibility="public")
    ask = cython.declare(cython.double, visibility="public")
    always = cython.declare(cython.bint, visibility="public")

    def __init__(self, market: MarketState | None, fn: object) -> None:
        self.market = market
        self.fn = fn
        self.center = NAN
        self.band = 0.0
        self.bid = -INF
        self.ask = INF
        self.always = False

    def __call__(self, cols: object, i: object) -> None:
        m: MarketState = self.market
        b: cython.double = m.best_bid
        a: cython.double = m.best_ask
        d: cython.double = (b + a) * 0.5 - self.center
        if -self.band < d < self.band and b < self.ask and a > self.bid and not self.always:
            return
        self.fn()
