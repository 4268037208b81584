"""Frozen attrs classes, one per table, generated from the schema.

These are for the edges (importers, clients, tests, notebooks): the hot path uses
:class:`~framework.events.columns.Columns`.  Field names and order are the table's
columns; list columns become tuples so events stay hashable.
"""

from __future__ import annotations

from typing import Any

import attrs
import pyarrow as pa

from framework.events.schema import COMMON_FIELDS, TABLES, Kind, spec

#: Class name of each table's event (past-tense facts for inputs, nouns for outputs).
_CLASS_NAMES: dict[Kind, str] = {
    Kind.BOOK: "BookSnapshot",
    Kind.TRADES: "Trade",
    Kind.BBO: "Bbo",
    Kind.ASSET_CTX: "AssetCtx",
    Kind.ORDER_RESPONSES: "OrderResponse",
    Kind.ORDER_UPDATES: "OrderUpdated",
    Kind.FILLS: "FillReceived",
    Kind.ACCOUNT: "AccountSnapshot",
    Kind.RATE_LIMIT: "RateLimitSnapshot",
    Kind.CONNECTION: "ConnectionChanged",
    Kind.CLOCK: "ClockTick",
    Kind.ORDER_COMMANDS: "OrderCommand",
    Kind.QUOTES: "Quote",
    Kind.ESTIMATES: "Estimate",
    Kind.RISK: "RiskChanged",
    Kind.SIM_FILLS: "SimFill",
    Kind.SIM_ORDERS: "SimOrderUpdated",
    Kind.SIM_FUNDING: "SimFundingPaid",
    Kind.CONTROL: "ControlDecided",
}


class Event:
    """Base of the generated event classes; ``KIND`` names the table."""

    __slots__ = ()
    KIND: Kind


def _to_tuple(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _make(kind: Kind) -> type[Event]:
    ts = TABLES[kind]
    fields = {}
    for f in COMMON_FIELDS + ts.fields:
        conv = _to_tuple if pa.types.is_list(f.type) else None
        fields[f.name] = attrs.field(converter=conv) if conv else attrs.field()
    cls = attrs.make_class(
        _CLASS_NAMES[kind], fields, bases=(Event,), frozen=True, slots=True, eq=True
    )
    cls.KIND = kind
    cls.__doc__ = ts.doc
    cls.__module__ = __name__
    return cls


EVENT_CLASSES: dict[Kind, type[Event]] = {k: _make(k) for k in Kind}
globals().update({c.__name__: c for c in EVENT_CLASSES.values()})


def event_class(kind: Kind | str) -> type[Event]:
    """The event class of a table."""
    return EVENT_CLASSES[spec(kind).kind]


def to_row(event: Event) -> tuple[Any, ...]:
    """The event as a row tuple in schema order (list columns as lists)."""
    return tuple(
        list(v) if isinstance(v, tuple) else v
        for v in (getattr(event, n) for n in spec(event.KIND).columns)
    )


def from_row(kind: Kind | str, row: tuple[Any, ...] | list[Any]) -> Event:
    """Build an event from a full row tuple in schema order."""
    return event_class(kind)(*row)
