"""`market-maker sql`: real DuckDB queries over the journal's Parquet parts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from framework.events.schema import SEQ_STRIDE
from framework.journal.duck import connect
from tests.stubs import run_cli, write_market_session


def test_views_per_table_and_timeline(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=50)
    con = connect(root)
    assert con.execute("SELECT count(*) FROM book").fetchone()[0] == 50
    assert con.execute("SELECT count(*) FROM fills").fetchone()[0] == 0  # empty view, right columns
    assert "closed_pnl" in [d[0] for d in con.execute("SELECT * FROM fills").description]
    n, distinct, first = con.execute(
        "SELECT count(*), count(DISTINCT seq), min(seq) FROM timeline"
    ).fetchone()
    assert distinct == n and first == SEQ_STRIDE  # one seq counter across all tables
    # inputs at multiples of SEQ_STRIDE; each output within its cause's stride
    strided = con.execute(
        f"SELECT count(*) FROM (SELECT seq FROM book UNION ALL SELECT seq FROM trades) "
        f"WHERE seq % {SEQ_STRIDE} <> 0"
    ).fetchone()[0]
    assert strided == 0
    outside = con.execute(
        f"SELECT count(*) FROM order_commands "
        f"WHERE seq // {SEQ_STRIDE} <> cause_seq // {SEQ_STRIDE}"
    ).fetchone()[0]
    assert outside == 0
    # A fill-analysis style join: every command's cause is a journaled book event.
    orphans = con.execute(
        "SELECT count(*) FROM order_commands c LEFT JOIN book b ON b.seq = c.cause_seq "
        "WHERE b.seq IS NULL"
    ).fetchone()[0]
    assert orphans == 0


def _cli(*args: str) -> subprocess.CompletedProcess:
    return run_cli("sql", *args)


def test_cli_formats(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=20)
    q = "SELECT count(*) AS n FROM trades"
    assert _cli(str(root), q, "--format", "csv").stdout.splitlines() == ["n", "20"]
    assert json.loads(_cli(str(root), q, "--format", "json").stdout) == {"n": 20}
    assert "20" in _cli(str(root), q).stdout


def test_cli_bad_query_and_bad_format_fail_clearly(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=5)
    bad = _cli(str(root), "SELECT nope FROM trades")
    assert bad.returncode == 1 and "nope" in bad.stderr
    fmt = _cli(str(root), "SELECT 1", "--format", "xml")
    assert fmt.returncode == 2 and "table, csv or json" in fmt.stderr


def test_an_empty_query_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=5)
    for q in ("", ";", "  \n "):
        out = _cli(str(root), q)
        assert out.returncode == 2, (q, out.stderr)
        assert "is empty; pass a statement" in out.stderr and "Error" not in out.stderr


def test_interactive_prompt_runs_statements(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=7)
    out = run_cli(
        "sql",
        str(root),
        "--format",
        "csv",
        stdin=";\nSELECT count(*) AS n\nFROM book;\n.quit\n",  # a lone ';' runs nothing
    )
    assert out.returncode == 0 and "n\n7" in out.stdout.replace("\r", "")


def test_the_table_view_never_cuts_a_number(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=3)
    cols = {
        "seq": "seq",
        "ts": "ts",
        "recv_ts": "recv_ts",
        "third": "bid_px[1] / 3",
        "seventh": "ask_px[1] / 7",
        "big": "123456789.123456789::DECIMAL(18, 9)",
        "tiny": "1e-12 * seq",
        "prod": "bid_px[1] * ask_px[1] * 1000003",
        "ns": "ts * 1.0",
        "note": "'a text column that is rather long' || seq",
    }
    select = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    query = f"SELECT {select} FROM book ORDER BY seq"
    csv_rows = _cli(str(root), query, "--format", "csv").stdout.splitlines()[1:]
    table = _cli(str(root), query)  # a pipe: rich would assume 80 columns
    assert table.returncode == 0 and "…" not in table.stdout
    assert max(len(x) for x in table.stdout.splitlines()) > 80  # wider than 80, not cut
    for row in csv_rows:
        for value in row.split(","):
            assert value in table.stdout, value  # every digit of every value is shown
