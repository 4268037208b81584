"""Event kinds: one Arrow schema per journal table, defined once in :mod:`.schema`.

Everything else (journal tables, DuckDB views, attrs event classes, the engine's
kind ids) derives from :data:`TABLES`.
"""

from framework.events.classes import EVENT_CLASSES, Event, event_class, from_row, to_row
from framework.events.columns import Columns, ListColumn
from framework.events.schema import (
    COMMON_FIELDS,
    INPUT_KINDS,
    KIND_BY_NAME,
    OUTPUT_KINDS,
    TABLES,
    Field,
    Kind,
    TableSpec,
    arrow_schema,
    spec,
)

__all__ = [
    "COMMON_FIELDS",
    "EVENT_CLASSES",
    "INPUT_KINDS",
    "KIND_BY_NAME",
    "OUTPUT_KINDS",
    "TABLES",
    "Columns",
    "Event",
    "Field",
    "Kind",
    "ListColumn",
    "TableSpec",
    "arrow_schema",
    "event_class",
    "from_row",
    "spec",
    "to_row",
]
