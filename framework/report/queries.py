"""The report's SQL: ``.sql`` files next to this module, run by DuckDB over a journal.

Every number in the report comes from these files, so a reader can check (or re-run) the
query behind any plot.  ``views.sql`` runs first and defines ``own_fills``,
``own_orders``, ``mids`` and ``tops`` over the views of
:func:`framework.journal.duck.connect`; the other files read those.  To run one by hand::

    market-maker sql DIR -- "$(cat framework/report/views.sql) SELECT * FROM own_fills"

(``--`` because the file starts with a comment, which the flag parser would take for a flag.)
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import duckdb
import numpy as np

__all__ = ["columns", "install_views", "run", "sql_text"]


def sql_text(name: str) -> str:
    """The text of ``framework/report/<name>.sql``."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


def install_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the report's common views (``views.sql``) on a journal connection."""
    con.execute(sql_text("views"))


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement names (DuckDB refuses unused named parameters)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def run(
    con: duckdb.DuckDBPyConnection, name: str, *, fmt: dict[str, str] | None = None, **params: Any
) -> dict[str, np.ndarray]:
    """Run ``<name>.sql`` and return its columns as numpy arrays (see :func:`columns`).

    ``fmt`` fills ``{placeholders}`` in the text (relations, never values: values go
    as DuckDB parameters).
    """
    sql = sql_text(name)
    if fmt:
        sql = sql.format(**fmt)
    return columns(con.execute(sql, _used(sql, params)))


def columns(rel: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """A result's columns as numpy arrays: numbers as float64 with NaN for NULL (or
    int64 when a column has no NULL and is integral), booleans as bool (NULL = False),
    text as object arrays."""
    raw = rel.fetchnumpy()
    out: dict[str, np.ndarray] = {}
    for name, arr in raw.items():
        out[name] = _plain(arr)
    return out


def _plain(arr: Any) -> np.ndarray:
    if isinstance(arr, np.ma.MaskedArray):
        if arr.dtype.kind in "iuf":
            if not np.ma.is_masked(arr):
                return np.asarray(arr.data)
            return np.ma.filled(arr.astype(np.float64), np.nan)
        if arr.dtype.kind == "b":
            return np.ma.filled(arr, False).astype(bool)
        return np.ma.filled(arr.astype(object), None)
    return np.asarray(arr)
