"""What a finished sweep shows: the top trials as a table, and ``OUT/report.html``.

The HTML page is one self-contained file (no script, no external style or image): the
sweep's definition, the top trials, and one plot per parameter of the objective against
that parameter's values (matplotlib, embedded as base64 PNG), plus the objective by
trial index with the best so far.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from framework.journal.durable import commit, temp_path
from framework.sweep.objective import Objective
from framework.sweep.space import Choice, Range, Space

__all__ = ["REPORT_NAME", "print_top", "ranked", "write_report"]

REPORT_NAME = "report.html"

#: Figures shown next to the objective in the top-trials table (first recording's, or
#: the mean over recordings).
SHOWN = ("fills", "net_pnl_usd", "max_drawdown", "edge_bps", "verdict")


def ranked(records: dict[int, dict[str, Any]], objective: Objective) -> list[dict[str, Any]]:
    """Records best first; trials without an objective last, in index order."""
    return sorted(
        records.values(), key=lambda r: (*objective.rank_key(r.get("objective")), r["trial"])
    )


def _figure(record: dict[str, Any], key: str) -> Any:
    """A figure of a trial: its mean over recordings (the verdicts joined for text)."""
    values = [row.get(key) for row in record["rows"] if row.get("status") == "ok"]
    if not values or any(v is None for v in values):
        return None
    if all(isinstance(v, str) for v in values):
        return "/".join(dict.fromkeys(values))
    return sum(float(v) for v in values) / len(values)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _rows(records, space: Space, objective: Objective, n: int) -> list[list[str]]:
    rows = []
    for rank, rec in enumerate(ranked(records, objective)[:n], 1):
        status = rec["status"] if rec["status"] != "ok" else ""
        rows.append(
            [
                str(rank),
                rec["id"],
                _fmt(rec.get("objective")),
                *(_fmt(rec["params"].get(k)) for k in space.keys),
                *(_fmt(_figure(rec, k)) for k in SHOWN),
                status or "ok",
            ]
        )
    return rows


def _header(space: Space, objective: Objective, short: bool = False) -> list[str]:
    keys = list(space.keys)
    if short:  # a key's last part when no other parameter ends the same way
        last = [k.rsplit(".", 1)[-1] for k in keys]
        keys = [t if last.count(t) == 1 else k for k, t in zip(keys, last, strict=True)]
    return ["#", "trial", str(objective), *keys, *SHOWN, "status"]


def print_top(console: Any, records, space: Space, objective: Objective, n: int = 10) -> None:
    """Print a rich table of the ``n`` best trials, as wide as it needs (a number or a
    parameter value is never cut, even on a narrow terminal or a pipe)."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    table = Table(title=f"Top trials by {objective}", title_justify="left")
    for i, name in enumerate(_header(space, objective, short=True)):
        table.add_column(name, justify="left" if i == 1 else "right", no_wrap=True)
    for row in _rows(records, space, objective, n):
        table.add_row(*row)
    need = Measurement.get(console, console.options.update(max_width=1 << 20), table).maximum
    if need > console.width:
        console = Console(file=console.file, width=need)
    console.print(table)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(records, space: Space, objective: Objective) -> list[tuple[str, str]]:
    """(caption, base64 PNG) per parameter, and the objective by trial index."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    scored = [r for r in records.values() if r.get("objective") is not None]
    scored.sort(key=lambda r: r["trial"])
    ys = [r["objective"] for r in scored]
    out = []
    for p in space.params:
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        values = [r["params"].get(p.key) for r in scored]
        if isinstance(p, Choice):
            labels = [str(v) for v in p.values]
            ax.scatter([labels.index(str(v)) for v in values], ys, alpha=0.7)
            ax.set_xticks(range(len(labels)), labels, rotation=20)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:
            ax.scatter(values, ys, alpha=0.7)
            if isinstance(p, Range) and p.log:
                ax.set_xscale("log")
        ax.set_xlabel(p.key)
        ax.set_ylabel(str(objective))
        ax.grid(alpha=0.3)
        out.append((f"{objective} against {p.key}", _png(fig)))
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    best: list[float] = []
    for y in ys:
        best.append(y if not best or objective.better(y, best[-1]) else best[-1])
    ax.scatter([r["trial"] for r in scored], ys, alpha=0.7, label="trial")
    ax.step([r["trial"] for r in scored], best, where="post", color="C1", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(str(objective))
    ax.legend()
    ax.grid(alpha=0.3)
    out.append((f"{objective} by trial", _png(fig)))
    plt.close(fig)
    return out


def write_report(
    out: Path | str,
    records: dict[int, dict[str, Any]],
    space: Space,
    objective: Objective,
    definition: dict[str, Any],
) -> Path:
    """Write ``OUT/report.html`` atomically; returns its path."""
    esc = html.escape
    failed = sum(1 for r in records.values() if r["status"] != "ok")
    head = "".join(f"<th>{esc(h)}</th>" for h in _header(space, objective))
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
        for row in _rows(records, space, objective, 20)
    )
    shown = {k: definition[k] for k in ("recordings", "search", "trials", "seed", "objective")}
    plots = "".join(
        f'<figure><img alt="{esc(cap)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{esc(cap)}</figcaption></figure>"
        for cap, png in _plots(records, space, objective)
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; }}
td {{ text-align: right; }} figure {{ display: inline-block; margin: 0.5em; }}
</style></head><body>
<h1>Sweep report</h1>
<p>{len(records)} trials, {failed} failed. Space: {esc(space.source)}.</p>
<pre>{esc(_pairs(shown))}</pre>
<h2>Top trials</h2>
<table><tr>{head}</tr>{body}</table>
<h2>Objective against each parameter</h2>
<p>Each point is one trial (trials without an objective are left out).</p>
{plots}
</body></html>
"""
    path = Path(out) / REPORT_NAME
    tmp = temp_path(path)
    tmp.write_text(page, encoding="utf-8")
    return commit(tmp, path)


def _pairs(d: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in d.items())
