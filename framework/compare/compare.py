"""``market-maker compare A B``: two sessions side by side.

Typical use: a live (or paper) session against a backtest of its own recorded market
data, to see whether the paper venue flatters the strategy.  Everything is DuckDB SQL
over the two journals, in this package:

* ``fills.sql``: each session's fills (one row per order and engine time) with the
  mids at the fill, 1, 5 and 30 s later and at the end;
* ``pnl.sql``: the PnL decomposition (spread capture, adverse selection, inventory,
  fees, funding; they add up to the net PnL marked to the last mid) and the mean
  markouts at 1, 5 and 30 s;
* ``activity.sql``: duration, quotes, orders, fill ratio and fills per hour;
* ``candidates.sql`` and :mod:`framework.compare.match`: fills matched one to one;
* ``quotes.sql``: the first quote that differs.

Differences are always B - A.  Where the sessions diverge first: the earliest fill
that is in no pair, the first quote that differs, and the first matched pair whose
size, price or fill rule differ.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from framework.compare.match import MatchRule, greedy_pairs

__all__ = ["compare_command", "compare_sessions", "render", "sql_text"]

HORIZONS = ("1s", "5s", "30s")
PNL_TERMS = ("spread_capture", "adverse_selection", "inventory", "fees", "funding", "net")


def sql_text(name: str) -> str:
    """The text of ``framework/compare/<name>.sql``."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _rows(rel: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, (_num(v) for v in r), strict=True)) for r in rel.fetchall()]


def _label(manifest: Any) -> dict[str, Any]:
    cfg = manifest.config or {}
    fills = cfg.get("fills") or {}
    opts = fills.get("options", fills) if isinstance(fills, dict) else {}
    strategy = cfg.get("strategy") or {}
    return {
        "mode": manifest.mode,
        "coin": manifest.coin or manifest.asset,
        "queue_model": opts.get("queue", "conservative") if manifest.mode != "live" else None,
        "spread_profile": strategy.get("spread_profile"),
        "seed": manifest.seed,
    }


def session_figures(path: Path) -> tuple[dict[str, Any], Any, Any, list[str]]:
    """One session's figures, its fills and quotes (Arrow tables), and the warnings
    about its completeness.

    Raises
    ------
    JournalError
        ``path`` is not a readable journal.
    """
    from framework.journal.completeness import check_completeness
    from framework.journal.duck import connect
    from framework.journal.reader import JournalReader

    reader = JournalReader(path, warn=False)
    problems = [f"{path} is incomplete: {p}" for p in check_completeness(reader).problems]
    con = connect(path, reader=reader)
    con.execute(f"CREATE TEMP TABLE own_fills AS {sql_text('fills')}")
    pnl = _rows(con.execute(sql_text("pnl")))[0]
    activity = _rows(con.execute(sql_text("activity")))[0]
    fills = con.sql("SELECT * FROM own_fills ORDER BY recv_ts, seq").to_arrow_table()
    quotes = con.sql(
        "SELECT seq, recv_ts, bid_px, bid_sz, ask_px, ask_sz FROM quotes ORDER BY seq"
    ).to_arrow_table()
    by_rule = dict(
        con.execute(
            "SELECT how, count(*) FROM (SELECT rule AS how FROM sim_fills UNION ALL "
            "SELECT CASE WHEN crossed THEN 'taker' ELSE 'maker' END FROM fills) "
            "GROUP BY how ORDER BY how"
        ).fetchall()
    )
    con.close()
    figures = {
        "path": str(path),
        **_label(reader.manifest),
        **activity,
        "fills": pnl["fills"],
        "fill_rows_by_rule": by_rule,
        "size": pnl["size"],
        "volume_usd": pnl["volume_usd"],
        "markout_bps": {h: pnl[f"markout_{h}"] for h in HORIZONS},
        "markout_n": {h: pnl[f"matured_{h}"] for h in HORIZONS},
        "pnl": {k: pnl[k] for k in PNL_TERMS},
    }
    return figures, fills, quotes, problems


def _diff(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _diff(a.get(k), b.get(k)) for k in a if k in b}
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return b - a
    return None


def _fill(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "seq": row["seq"],
        "recv_ts": row["recv_ts"],
        "time": _utc(row["recv_ts"]),
        "side": row["side"],
        "px": row["px"],
        "sz": row["sz"],
        "how": row["how"],
        "cloid": row["cloid"],
    }


def _utc(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def compare_sessions(a: Path, b: Path, rule: MatchRule | None = None) -> dict[str, Any]:
    """Everything ``compare`` reports, as a JSON-serialisable dict (see the module
    docstring; ``diff`` holds B - A of every number of ``a`` and ``b``)."""
    import duckdb

    rule = rule or MatchRule()
    fa, fills_a, quotes_a, wa = session_figures(Path(a))
    fb, fills_b, quotes_b, wb = session_figures(Path(b))
    con = duckdb.connect(":memory:")
    con.register("fills_a", fills_a)
    con.register("fills_b", fills_b)
    con.register("quotes_a", quotes_a)
    con.register("quotes_b", quotes_b)
    cand = con.execute(
        sql_text("candidates"),
        {
            "time_tol_ns": round(rule.time_tolerance_s * 1e9),
            "price_tol_bps": float(rule.price_tolerance_bps),
        },
    ).fetchall()
    pairs = greedy_pairs((r[0], r[1]) for r in cand)
    rows_a = {r["seq"]: r for r in fills_a.to_pylist()}
    rows_b = {r["seq"]: r for r in fills_b.to_pylist()}
    pairs.sort(key=lambda p: (rows_a[p[0]]["recv_ts"], p[0]))
    matched_a = {p[0] for p in pairs}
    matched_b = {p[1] for p in pairs}
    unmatched_a = [r for s, r in rows_a.items() if s not in matched_a]
    unmatched_b = [r for s, r in rows_b.items() if s not in matched_b]

    pair_rows = []
    for sa, sb in pairs:
        ra, rb = rows_a[sa], rows_b[sb]
        pair_rows.append(
            {
                "a_seq": sa,
                "b_seq": sb,
                "side": ra["side"],
                "dt_ms": (rb["recv_ts"] - ra["recv_ts"]) / 1e6,
                # > 0: B's price is better for us (bought lower / sold higher)
                "price_advantage_bps": ra["side"] * (ra["px"] - rb["px"]) / ra["px"] * 1e4,
                "a_px": ra["px"],
                "b_px": rb["px"],
                "a_sz": ra["sz"],
                "b_sz": rb["sz"],
                "a_how": ra["how"],
                "b_how": rb["how"],
            }
        )
    n = len(pair_rows)
    matching = {
        "rule": rule.describe(),
        "time_tolerance_s": rule.time_tolerance_s,
        "price_tolerance_bps": rule.price_tolerance_bps,
        "matched": n,
        "unmatched_a": len(unmatched_a),
        "unmatched_b": len(unmatched_b),
        "matched_share_a": n / len(rows_a) if rows_a else None,
        "matched_share_b": n / len(rows_b) if rows_b else None,
        "mean_abs_dt_ms": math.fsum(abs(p["dt_ms"]) for p in pair_rows) / n if n else None,
        "mean_price_advantage_bps": (
            math.fsum(p["price_advantage_bps"] for p in pair_rows) / n if n else None
        ),
        "matched_size_diff": (
            math.fsum(p["b_sz"] for p in pair_rows) - math.fsum(p["a_sz"] for p in pair_rows)
        ),
    }

    first_a = min(unmatched_a, key=lambda r: (r["recv_ts"], r["seq"]), default=None)
    first_b = min(unmatched_b, key=lambda r: (r["recv_ts"], r["seq"]), default=None)
    first_unmatched = None
    if first_a is not None or first_b is not None:
        a_first = first_b is None or (
            first_a is not None and (first_a["recv_ts"], 0) <= (first_b["recv_ts"], 1)
        )
        first_unmatched = {
            "session": "a" if a_first else "b",
            **(_fill(first_a if a_first else first_b) or {}),
        }
    differing = next(
        (
            p
            for p in pair_rows
            if p["a_px"] != p["b_px"]
            or abs(p["a_sz"] - p["b_sz"]) > 1e-9
            or p["a_how"] != p["b_how"]
            or p["dt_ms"] != 0
        ),
        None,
    )
    q = con.execute(sql_text("quotes")).fetchall()
    first_quote = None
    if q:
        cols = [d[0] for d in con.description]
        first_quote = dict(zip(cols, (_num(v) for v in q[0]), strict=True))
        first_quote["a_time"] = _utc(first_quote["a_recv_ts"])
        first_quote["b_time"] = _utc(first_quote["b_recv_ts"])
    con.close()
    if differing is not None:
        differing = {**differing, "time": _utc(rows_a[differing["a_seq"]]["recv_ts"])}
    return {
        "a": fa,
        "b": fb,
        "diff": _diff(fa, fb),
        "matching": matching,
        "divergence": {
            "first_unmatched_fill": first_unmatched,
            "first_unmatched_a": _fill(first_a),
            "first_unmatched_b": _fill(first_b),
            "first_quote_difference": first_quote,
            "first_matched_fill_difference": differing,
        },
        "pairs": pair_rows,
        "warnings": wa + wb,
    }


# -- rendering ------------------------------------------------------------------------------
def _f(x: Any, fmt: str = "{:,.2f}") -> str:
    if x is None:
        return "-"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return fmt.format(x)


def _d(x: Any, fmt: str = "{:+,.2f}") -> str:
    if x is None:
        return "-"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:+,}"
    s = fmt.format(x)
    return s.replace("-", "+", 1) if s.lstrip("+-").strip("0.,") == "" else s


def render(result: dict[str, Any], console: Any = None) -> None:
    """The comparison as rich tables, the definitions, and where the sessions diverge."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(soft_wrap=True)
    a, b, d, m = result["a"], result["b"], result["diff"], result["matching"]

    for name, x in (("A", a), ("B", b)):
        queue = f", queue model {x['queue_model']}" if x["queue_model"] else ""
        console.print(
            f"[bold]{name}[/] {x['path']}  [dim]({x['mode']}{queue}, spread profile "
            f"{x['spread_profile']}, {x['duration_s']:,.0f} s)[/]",
            highlight=False,
        )
    t = Table(title="Differences (B - A)", title_justify="left")
    t.add_column("", no_wrap=True)
    t.add_column("A", justify="right", no_wrap=True)
    t.add_column("B", justify="right", no_wrap=True)
    t.add_column("B - A", justify="right", no_wrap=True)

    def section(name: str) -> None:
        t.add_row(f"[bold]{name}[/]", "", "", "")

    def row(label: str, va: Any, vb: Any, dv: Any, fmt: str = "{:,.2f}") -> None:
        t.add_row(label, _f(va, fmt), _f(vb, fmt), _d(dv, fmt.replace("{:", "{:+")))

    section("activity")
    row("quotes", a["quotes"], b["quotes"], d["quotes"])
    row("orders sent", a["orders"], b["orders"], d["orders"])
    row("fills", a["fills"], b["fills"], d["fills"])
    row("fills per hour", a["fills_per_hour"], b["fills_per_hour"], d["fills_per_hour"])
    row("fill ratio", a["fill_ratio"], b["fill_ratio"], d["fill_ratio"], "{:.2%}")
    row("filled size", a["size"], b["size"], d["size"], "{:,.4f}")
    row("volume (USD)", a["volume_usd"], b["volume_usd"], d["volume_usd"])
    rules = sorted(set(a["fill_rows_by_rule"]) | set(b["fill_rows_by_rule"]))
    for r in rules:
        va, vb = a["fill_rows_by_rule"].get(r, 0), b["fill_rows_by_rule"].get(r, 0)
        row(f"  fill rows: {r}", va, vb, vb - va)
    t.add_section()
    section("markout (bps)")
    for h in HORIZONS:
        label = f"  {h}  (fills {a['markout_n'][h]} / {b['markout_n'][h]})"
        row(label, a["markout_bps"][h], b["markout_bps"][h], d["markout_bps"][h])
    t.add_section()
    section("PnL (USD)")
    names = {
        "spread_capture": "  spread capture",
        "adverse_selection": "  - adverse selection (5 s)",
        "inventory": "  + inventory (after 5 s)",
        "fees": "  - fees",
        "funding": "  - funding",
        "net": "  = net",
    }
    for k in PNL_TERMS:
        row(names[k], a["pnl"][k], b["pnl"][k], d["pnl"][k], "{:,.4f}")
    t.add_section()
    section("fills matched")
    t.add_row("  pairs", _f(m["matched"]), _f(m["matched"]), "")
    t.add_row(
        "  unmatched", _f(m["unmatched_a"]), _f(m["unmatched_b"]),
        _d(m["unmatched_b"] - m["unmatched_a"]),
    )  # fmt: skip
    t.add_row("  mean |time apart|", "", "", _f(m["mean_abs_dt_ms"], "{:,.1f} ms"))
    t.add_row("  mean price advantage", "", "", _f(m["mean_price_advantage_bps"], "{:+,.3f} bps"))
    t.add_row("  size in pairs", "", "", _d(m["matched_size_diff"], "{:+,.4f}"))
    console.print(t)
    console.print(
        "[dim]Fills: one per order and engine time.  Matched: "
        + m["rule"]
        + ".  Price advantage > 0: B bought lower or sold higher.  Fill ratio: filled "
        "orders / orders sent (place + modify).  Markout: s (mid(t+h) - p) / p, mean over "
        "fills matured at h.  PnL: spread capture s q (mid - p), adverse selection s q "
        "(mid - mid(5 s)), inventory s q (last mid - mid(5 s)); net is the PnL marked to "
        "the last mid.  framework/compare/*.sql has the definitions.[/]"
    )

    dv = result["divergence"]
    console.print("[bold]Where they diverge first[/]")
    u = dv["first_unmatched_fill"]
    if u is None:
        console.print("  unmatched fill: none (every fill of each session has a pair)")
    else:
        side = "buy" if u["side"] > 0 else "sell"
        console.print(
            f"  first unmatched fill: session {u['session'].upper()} at {u['time']} (seq "
            f"{u['seq']}): {side} {u['sz']:g} @ {u['px']:g} ({u['how']})",
            markup=False,
        )
    qd = dv["first_quote_difference"]
    if qd is None:
        console.print("  quotes: identical (same times, prices and sizes)")
    else:

        def q(side: str) -> str:
            if qd[f"{side}_seq"] is None:
                return "none"
            return (
                f"{qd[f'{side}_time']} bid {_f(qd[f'{side}_bid_px'], '{:g}')} x "
                f"{_f(qd[f'{side}_bid_sz'], '{:g}')} / ask {_f(qd[f'{side}_ask_px'], '{:g}')} x "
                f"{_f(qd[f'{side}_ask_sz'], '{:g}')}"
            )

        console.print(
            f"  first quote that differs (quote #{qd['n']:,}): A {q('a')}; B {q('b')}",
            markup=False,
        )
    fd = dv["first_matched_fill_difference"]
    if fd is None and not m["matched"]:
        console.print("  matched fills: none to compare (no fill of A has a pair in B)")
    elif fd is None:
        console.print("  matched fills: identical in time, price, size and fill rule")
    else:
        console.print(
            f"  first matched pair that differs: {fd['time']}: A {fd['a_sz']:g} @ "
            f"{fd['a_px']:g} ({fd['a_how']}), B {fd['b_sz']:g} @ {fd['b_px']:g} "
            f"({fd['b_how']}), {fd['dt_ms']:+,.0f} ms",
            markup=False,
        )


def compare_command(
    a: Path,
    b: Path,
    *,
    as_json: bool = False,
    time_tolerance_s: float = 1.0,
    price_tolerance_bps: float = 2.0,
) -> int:
    """CLI body of ``market-maker compare``; returns the exit code.

    Raises
    ------
    UsageError
        A journal or a tolerance cannot be used.
    """
    from framework import flags
    from framework.exits import UsageError, warn

    ma = flags.journal_dir("A", a)
    mb = flags.journal_dir("B", b)
    for flag, v in (("--time-tolerance", time_tolerance_s),
                    ("--price-tolerance-bps", price_tolerance_bps)):  # fmt: skip
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise UsageError(f"{flag} {v}: must be a number >= 0")
    ca, cb = ma.coin or ma.asset, mb.coin or mb.asset
    if ca != cb:
        warn(f"A trades {ca} and B trades {cb}: fills and quotes compare across coins")
    result = compare_sessions(a, b, MatchRule(time_tolerance_s, price_tolerance_bps))
    for line in result["warnings"]:
        warn(line)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=1, default=str) + "\n")
    else:
        render(result)
    return 0
