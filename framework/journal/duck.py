"""DuckDB over a journal: one view per table, plus ``timeline`` (every event by seq).

Views read the journal's Parquet parts directly; parts the reader rejects (corrupt,
drifted, superseded by compaction) are left out, so queries see exactly what replay
sees.  Tables without parts get an empty view with the right columns.  ``sql`` warns,
one line per problem, when the journal is not whole (see
:mod:`framework.journal.completeness`) and answers from what there is.
"""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from framework.events.derived import sources
from framework.events.schema import TABLES, Kind, arrow_schema
from framework.journal.completeness import check_completeness
from framework.journal.errors import JournalError
from framework.journal.reader import JournalReader


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


#: A sweep directory's table (market-maker sweep): ``sql OUT`` gets a ``results`` view.
SWEEP_RESULTS = "results.parquet"


def is_sweep(root: Path | str) -> bool:
    """Whether ``root`` is a sweep's directory (results, no journal manifest)."""
    return (Path(root) / SWEEP_RESULTS).is_file() and not (Path(root) / "session.json").exists()


def _select_parts(reader: JournalReader, kind: Kind, parts: list, files: str) -> str:
    """The SELECT of a table's view: its parts as they are, with the derived columns
    computed for parts written before them (DuckDB lists count from 1; an empty
    list's first element is NULL, as the column holds it)."""
    lacking = sum(1 for p in parts if reader.lacks(p))
    if not lacking:
        return f"SELECT * FROM read_parquet([{files}])"
    derived = {d: f'"{src}"[1]' for d, src in sources(kind).items()}
    if lacking == len(parts):
        extra = ", ".join(f'{expr} AS "{d}"' for d, expr in derived.items())
        return f"SELECT *, {extra} FROM read_parquet([{files}])"
    filled = ", ".join(f'coalesce("{d}", {expr}) AS "{d}"' for d, expr in derived.items())
    return f"SELECT * REPLACE ({filled}) FROM read_parquet([{files}], union_by_name = true)"


def connect(root: Path | str, *, reader: JournalReader | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per journal table (for a sweep
    directory: one ``results`` view)."""
    con = duckdb.connect(":memory:")
    if reader is None and is_sweep(root):
        results = _quote(Path(root) / SWEEP_RESULTS)
        con.execute(f"CREATE VIEW results AS SELECT * FROM read_parquet({results})")
        return con
    reader = reader or JournalReader(root)
    for kind, t in TABLES.items():
        parts = reader.parts(kind)
        if parts:
            files = ", ".join(_quote(p.path) for p in parts)
            con.execute(f'CREATE VIEW "{t.name}" AS {_select_parts(reader, kind, parts, files)}')
        else:
            con.register(f"_empty_{t.name}", arrow_schema(kind).empty_table())
            con.execute(f'CREATE VIEW "{t.name}" AS SELECT * FROM "_empty_{t.name}"')
    union = " UNION ALL ".join(
        f"SELECT seq, ts, recv_ts, '{t.name}' AS tbl FROM \"{t.name}\"" for t in TABLES.values()
    )
    con.execute(f"CREATE VIEW timeline AS {union}")
    return con


FORMATS = ("table", "csv", "json")


def check_format(fmt: str) -> None:
    """Raise ``ValueError`` unless ``fmt`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be table, csv or json, not {fmt!r}")


def run_query(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple]]:
    rel = con.execute(query)
    if rel.description is None:
        return [], []
    return [d[0] for d in rel.description], rel.fetchall()


def print_result(columns: list[str], rows: list[tuple], fmt: str, out: Any = None) -> None:
    """Print a result as a rich table, CSV or JSON lines."""
    check_format(fmt)
    out = out or sys.stdout
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(columns)
        w.writerows(rows)
    elif fmt == "json":
        for r in rows:
            out.write(json.dumps(dict(zip(columns, r, strict=True)), default=str) + "\n")
    else:
        print_table(columns, rows, out)


def _cell(v: Any) -> str:
    # str() of a float is its shortest round-trip repr: every digit the value has
    return "NULL" if v is None else str(v)


def print_table(columns: list[str], rows: list[tuple], out: Any) -> None:
    """A rich table whose numbers are never cut: number columns are right-aligned and
    never wrapped, and the table gets the width it needs even when that is wider than
    the terminal (or the 80 columns rich assumes for a pipe)."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    numeric = [
        bool(rows) and all(isinstance(r[i], int | float | Decimal) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]
    table = Table(show_lines=False)
    for name, num in zip(columns, numeric, strict=True):
        if num:
            table.add_column(name, justify="right", no_wrap=True)
        else:
            table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(v) for v in r))
    console = Console(file=out)
    unbounded = console.options.update(max_width=1 << 20)
    need = Measurement.get(console, unbounded, table).maximum
    if need > console.width:
        console = Console(file=out, width=need)
    console.print(table)


def sql_command(root: Path, query: str | None, *, fmt: str = "table") -> int:
    """CLI body of ``market-maker sql``; returns the exit code."""
    try:
        check_format(fmt)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if is_sweep(root):
            return _answer(connect(root), query, fmt)
        reader = JournalReader(root, warn=False)
        for line in check_completeness(reader).problems:
            print(f"warning: {root} is incomplete: {line}", file=sys.stderr)
        con = connect(root, reader=reader)
    except JournalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _answer(con, query, fmt)


def _empty(query: str) -> bool:
    """Nothing to run: blanks and semicolons only."""
    return not query.strip(" \t\r\n;")


def _answer(con: duckdb.DuckDBPyConnection, query: str | None, fmt: str) -> int:
    if query is not None:
        if _empty(query):
            print(
                f"error: the query {query!r} is empty; pass a statement, e.g. "
                "'SELECT count(*) FROM fills', or no query for the interactive prompt",
                file=sys.stderr,
            )
            return 2
        try:
            cols, rows = run_query(con, query)
        except duckdb.Error as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print_result(cols, rows, fmt)
        return 0
    return _interactive(con, fmt)


def _interactive(con: duckdb.DuckDBPyConnection, fmt: str) -> int:
    tables = ", ".join(t.name for t in TABLES.values())
    print(f"DuckDB over the journal. Views: {tables}, timeline. End statements with ';'.")
    print("Type .quit (or Ctrl+D) to leave.")
    buf: list[str] = []
    while True:
        try:
            line = input("sql> " if not buf else "...> ")
        except EOFError:
            print()
            return 0
        if line.strip() in (".quit", ".exit", "\\q"):
            return 0
        buf.append(line)
        if not line.rstrip().endswith(";"):
            continue
        query, buf = "\n".join(buf), []
        if _empty(query):
            continue  # a lone ';': nothing to run
        try:
            cols, rows = run_query(con, query)
            print_result(cols, rows, fmt)
        except duckdb.Error as exc:
            print(f"error: {exc}")
