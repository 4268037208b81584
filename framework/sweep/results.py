"""``OUT/results.parquet``: one row per trial and recording, and what a sweep prints.

Columns, in order: ``trial`` (index), ``id`` (its directory under ``OUT/trials/``),
``recording``, ``status`` (``ok``; ``error``: the backtest failed; ``lost``: Ray gave
up on the trial's worker, not committed, ``--resume`` runs it again), ``error``,
``seed``, ``objective`` (the trial's, on each of its rows), one column per parameter
named by its config key (``strategy.gamma_per_bps``: quote it in SQL), ``params`` (all
of them as JSON), then every summary figure (``net_pnl_usd``, ``fills``,
``volume_usd``, ``fees_usd``, ``max_drawdown``, ``final_inventory``, ...), the
readiness verdict (``verdict``, ``edge_bps`` with ``edge_lo``/``edge_hi``,
``converged``, ``kelly_fills``, ...), ``journal`` (relative to OUT) and
``host``/``wall_s`` of the worker (the only columns that differ between runs of the
same sweep).  Rows are in trial order, then in the order of ``--recording``.  The file
is replaced atomically, after every finished trial (at most every few seconds) and at
the end, so ``market-maker sql OUT`` reads a whole table even while the sweep runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from framework.journal.durable import commit, temp_path
from framework.sweep.objective import FIGURES

__all__ = ["RESULTS_NAME", "result_rows", "write_results"]

RESULTS_NAME = "results.parquet"

_LEAD = ("trial", "id", "recording", "status", "error", "seed", "objective")
_TAIL = ("journal", "host", "wall_s")


def result_rows(records: dict[int, dict[str, Any]], keys: tuple[str, ...]) -> list[dict]:
    """The rows of ``records`` (trial index -> record), in trial order."""
    rows = []
    for index in sorted(records):
        rec = records[index]
        worker = rec.get("worker") or {}
        for row in rec["rows"]:
            lead = {
                "trial": rec["trial"],
                "id": rec["id"],
                "recording": row["recording"],
                "status": row["status"],
                "error": row.get("error"),
                "seed": rec["seed"],
                "objective": rec.get("objective"),
            }
            params = {k: rec["params"].get(k) for k in keys}
            figures = {k: v for k, v in row.items() if k not in (*_LEAD, "journal")}
            rows.append(
                {
                    **lead,
                    **params,
                    "params": json.dumps(rec["params"], sort_keys=True),
                    **figures,
                    "journal": row.get("journal"),
                    "host": worker.get("host"),
                    "wall_s": worker.get("wall_s"),
                }
            )
    return rows


def _column(name: str, values: list[Any]) -> Any:
    """An Arrow array for one column: numbers as float64 (int64 when all are ints),
    text as string, anything mixed or nested as its JSON text; a column with no value
    at all is float64 when it is a figure, else string."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if not present:
        numeric = name in FIGURES or name in ("objective", "wall_s")
        return pa.nulls(len(values), pa.float64() if numeric else pa.string())
    if all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, pa.int64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if all(isinstance(v, str) for v in present):
        return pa.array(values, pa.string())
    return pa.array([None if v is None else json.dumps(v) for v in values], pa.string())


def write_results(out: Path | str, records: dict[int, dict[str, Any]], keys: tuple[str, ...]):
    """Write ``OUT/results.parquet`` atomically (temp file + rename); returns its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = result_rows(records, keys)
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    if not rows:
        names = [*_LEAD, *keys, "params", *_TAIL]
    tail = [n for n in _TAIL if n in names]
    names = [n for n in names if n not in _TAIL] + tail
    table = pa.table({n: _column(n, [r.get(n) for r in rows]) for n in names})
    path = Path(out) / RESULTS_NAME
    tmp = temp_path(path)
    pq.write_table(table, tmp)
    return commit(tmp, path)
