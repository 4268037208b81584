"""Market state every component shares: the current book, top of book, last trade.

:class:`MarketState` is a component; bind it first so later components see the
updated state in their own handlers for the same event.  It is implemented in the
typed kernel (:mod:`framework.kernel.market`); manifests name it
``framework.book:MarketState``.
"""

from __future__ import annotations

from framework.kernel.market import TOP_COLUMNS, MarketState, QuoteWake, WakeField

__all__ = ["TOP_COLUMNS", "MarketState", "QuoteWake", "WakeField"]
