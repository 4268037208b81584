"""Market state every component shares: the current book, top of book, last trade.

:class:`MarketState` is a component; bind it first so later components see the
updated state in their own handlers for the same event.
"""

from __future__ import annotations

import math
from typing import Any

from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind

NAN = math.nan


class MarketState:
    """Top of book, mid, last trade and staleness, from book / bbo / trades / asset_ctx.

    Depth is read from the current book row on demand (``bid_levels()``), so nothing
    is copied per event.
    """

    name = "market"

    def __init__(self) -> None:
        self.best_bid = NAN
        self.best_ask = NAN
        self.bid_sz = NAN
        self.ask_sz = NAN
        self.last_trade_px = NAN
        self.last_book_ts = 0
        self.last_trade_ts = 0
        self.last_market_ts = 0  # any book, bbo or trade progress
        self.mark_px = NAN
        self.oracle_px = NAN
        self.funding = 0.0
        self.books = 0
        self.trades = 0
        self._book: Columns | None = None
        self._row = 0

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        engine.subscribe(Kind.BOOK, self.on_book)
        engine.subscribe(Kind.BBO, self.on_bbo)
        engine.subscribe(Kind.TRADES, self.on_trade)
        engine.subscribe(Kind.ASSET_CTX, self.on_ctx)

    # -- handlers -----------------------------------------------------------------------
    def on_book(self, cols: Columns, i: int) -> None:
        self._book, self._row = cols, i
        self._set_top(
            cols.bid_px.firsts[i],
            cols.bid_sz.firsts[i],
            cols.ask_px.firsts[i],
            cols.ask_sz.firsts[i],
        )
        self.books += 1
        self.last_book_ts = self.last_market_ts = self.engine.now

    def on_bbo(self, cols: Columns, i: int) -> None:
        self._set_top(cols.bid_px[i], cols.bid_sz[i], cols.ask_px[i], cols.ask_sz[i])
        self.last_market_ts = self.engine.now

    def _set_top(self, bid: Any, bid_sz: Any, ask: Any, ask_sz: Any) -> None:
        # An empty book side (thin books) or a null bbo side has no price: NaN.
        self.best_bid = NAN if bid is None else bid
        self.best_ask = NAN if ask is None else ask
        self.bid_sz = NAN if bid_sz is None else bid_sz
        self.ask_sz = NAN if ask_sz is None else ask_sz

    def on_trade(self, cols: Columns, i: int) -> None:
        self.last_trade_px = cols.px[i]
        self.trades += 1
        self.last_trade_ts = self.last_market_ts = self.engine.now

    def on_ctx(self, cols: Columns, i: int) -> None:
        self.mark_px = cols.mark_px[i]
        self.oracle_px = cols.oracle_px[i]
        self.funding = cols.funding[i]

    # -- queries ------------------------------------------------------------------------
    @property
    def mid(self) -> float:
        """Mid of a valid (two-sided, uncrossed) top of book, else NaN."""
        b, a = self.best_bid, self.best_ask
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
