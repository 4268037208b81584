"""Market state every component shares: the current book, top of book, last trade.

:class:`MarketState` is a component; bind it first so later components see the
updated state in their own handlers for the same event.  It is implemented in the
typed kernel (:mod:`framework.kernel.market`); manifests name it
``framework.book:MarketState``.
"""

from __future__ import annotations

from typing import Any

from framework.kernel.market import TOP_COLUMNS, MarketState, QuoteWake

__all__ = ["TOP_COLUMNS", "MarketState", "QuoteWake", "WakeField"]


class WakeField:
    """A component attribute kept on its wake condition (``obj._wake``): the kernel
    reads it there per event, the component reads and sets it as its own."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj._wake, self.field)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj._wake, self.field, value)
