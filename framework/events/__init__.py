"""Event kinds: one Arrow schema per journal table, defined once in :mod:`.schema`.

Everything else (journal tables, DuckDB views, attrs event classes, the engine's
kind ids) derives from :data:`TABLES`.
"""

from typing import Any

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

# The attrs event classes are for the edges (importers, clients, tests, notebooks) and
# take ~50 ms to generate: imported on first use, not by every engine process.
_CLASSES = ("EVENT_CLASSES", "Event", "event_class", "from_row", "to_row")


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        from framework.events import classes

        return getattr(classes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
