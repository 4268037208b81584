"""The report page: one self-contained HTML file (inline CSS, images as base64 PNG).

Nothing is fetched when the page opens (no script, font, stylesheet or image from
elsewhere), so it can be mailed, archived with the journal or opened offline.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from framework.report.data import ReportData
from framework.report.plots import Plot, bucket_label, clock, horizon_label, poisson_ci
from framework.report.pnl import PnlDecomposition

__all__ = ["render"]

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #222; max-width: 1160px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.num, th.num { text-align: right; }
.meta td:first-child { color: #666; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; }
.warn { background: #fdecea; border-left: 4px solid #d73027; padding: 8px 12px; }
.caption { color: #444; max-width: 1100px; }
.verdict { font-weight: 600; padding: 2px 8px; border-radius: 4px; color: white; }
.Ready { background: #1a9850; } .Marginal { background: #f0a000; }
.Insufficient { background: #d73027; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0; }
code { background: #f4f4f4; padding: 0 3px; border-radius: 3px; }
footer { color: #777; margin-top: 40px; font-size: 12px; }
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _utc(ns: int | None) -> str:
    if ns is None:
        return "–"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(x: float | None, fmt: str = "{:+,.4f}") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return fmt.format(x)


def _usd(x: float, sign: bool = False) -> str:
    """Cents, or three significant figures for amounts below a cent."""
    if x == 0:
        return "0.00"
    if abs(x) < 0.01:
        return f"{x:+.3g}" if sign else f"{x:.3g}"
    return f"{x:+,.2f}" if sign else f"{x:,.2f}"


_NUM = ' class="num"'


def _table(
    head: Sequence[str], rows: Iterable[Sequence[Any]], num: Sequence[bool] | None = None
) -> str:
    num = num or [False] * len(head)
    th = "".join(f"<th{_NUM if n else ''}>{_e(h)}</th>" for h, n in zip(head, num, strict=True))
    body = "".join(
        "<tr>"
        + "".join(f"<td{_NUM if n else ''}>{c}</td>" for c, n in zip(r, num, strict=True))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _meta(rows: Iterable[tuple[str, str]]) -> str:
    return (
        '<table class="meta">'
        + "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in rows)
        + "</table>"
    )


# -- sections -------------------------------------------------------------------------------
def _header(d: ReportData, problems: Sequence[str]) -> str:
    s = d.session
    src = s.source.get("recording") if s.source else None
    rows = [
        ("journal", f"<code>{_e(s.path)}</code>"),
        ("mode", _e(s.mode + (" (synthetic market)" if s.synthetic else ""))),
        ("coin", _e(s.coin)),
        ("from", _e(_utc(s.t0))),
        ("to", _e(_utc(s.t1))),
        ("duration (event time)", _e(clock(s.duration_s))),
        ("journal rows", f"{s.rows:,} ({s.inputs:,} inputs)"),
        ("closed", "yes" if s.closed else "no: the session did not end cleanly"),
        ("code version", _e(s.code_version)),
    ]
    if src:
        rows.insert(2, ("recording", f"<code>{_e(src)}</code>"))
    if s.session_id:
        rows.append(("session id", _e(s.session_id)))
    out = f"<h1>Session report: {_e(s.coin)} · {_e(s.mode)}</h1>" + _meta(rows)
    if problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in problems)
        out += (
            '<div class="warn">The journal is not whole; this report reads what there is:'
            f"<ul>{items}</ul></div>"
        )
    if s.rows == 0:
        out += '<p class="note">This journal holds no rows: an empty session.</p>'
    return out


def _summary(d: ReportData) -> str:
    f, p, s = d.fills, d.pnl, d.session.summary or {}
    volume = float((f.px * f.sz).sum()) if len(f) else 0.0
    rows = [
        ("fills", f"{len(f):,} ({int((f.side > 0).sum())} buys, {int((f.side < 0).sum())} sells)"),
        ("volume", f"{volume:,.2f} USD"),
        ("fees", f"{_usd(-p.fees_usd)} USD"),
        ("funding paid", f"{_usd(-p.funding_usd)} USD"),
        ("net PnL", f"{_usd(p.net_usd, sign=True)} USD"),
        (
            "final position",
            f"{float(f.position_after[-1]) if len(f) else 0.0:g} {_e(d.session.coin)}",
        ),
    ]
    if s:
        rows += [
            ("quotes / order commands", f"{s.get('quotes', 0):,} / {s.get('orders', 0):,}"),
            (
                "max drawdown",
                f"{s.get('max_drawdown', 0):.2%} ({s.get('max_drawdown_usd', 0):,.2f} USD)",
            ),
        ]
        if s.get("stopped_by"):
            rows.append(("stopped by", _e(s["stopped_by"])))
    return "<h2>Summary</h2>" + _meta(rows)


def _readiness(d: ReportData) -> str:
    r = d.readiness
    th = r.thresholds
    rows = [
        (
            _e(e.name),
            f"{e.n_obs:,}",
            f"{e.min_obs:,}",
            "yes" if e.converged else "no",
            _latest(e.name, e.value, d.regime_labels),
        )
        for e in r.estimators
    ]
    table = _table(
        ("estimator", "observations", "minimum", "converged", "latest value"),
        rows,
        (False, True, True, False, True),
    )
    edge = "no fill has matured yet"
    if r.edge_bps is not None:
        ci = "" if r.edge_lo is None else f", 95 % [{r.edge_lo:+.2f}, {r.edge_hi:+.2f}]"
        edge = f"{r.edge_bps:+.2f} bps per fill over {r.edge_fills} fills{ci}"
    facts = _meta(
        [
            ("session", f"{clock(r.duration_s)} (needs {clock(th.min_session_s)})"),
            ("converged", f"{r.converged} of {len(r.estimators)}"),
            ("Kelly fills", f"{r.kelly_fills} (needs {th.min_kelly_fills})"),
            (f"gross edge at {th.edge_horizon_s:g} s", _e(edge)),
        ]
    )
    lacking = r.lacking()
    lack = (
        "<p>What each unmet criterion still lacks:</p><ul>"
        + "".join(f"<li>{_e(x)}</li>" for x in lacking)
        + "</ul>"
        if lacking
        else "<p>Nothing is lacking.</p>"
    )
    return (
        "<h2>Calibration readiness</h2>"
        f'<p>Verdict: <span class="verdict {_e(r.verdict)}">{_e(r.verdict)}</span> '
        f"(up to seq {r.up_to_seq:,}; the SQL of <code>market-maker readiness</code>, "
        "<code>framework/calibration/*.sql</code>)</p>" + table + facts + lack
    )


def _latest(name: str, value: float | None, labels: Sequence[str]) -> str:
    if name == "regime" and value is not None and 0 <= value < len(labels):
        return _e(labels[int(value)])
    return _num(value, "{:.4g}")


def _pnl_text(d: ReportData) -> str:
    p = d.pnl
    rows = [
        (_e(PnlDecomposition.LABELS[k]), _usd(getattr(p, k), sign=True), _e(defn))
        for k, defn in (
            ("spread_usd", "Σ side·(mid at fill − price)·size"),
            (
                "inventory_usd",
                "Σ side·size·(final mark − mid at fill): the inventory's "
                "mark-to-market change from each fill to the end",
            ),
            ("fees_usd", "−Σ fee (a rebate counts positive)"),
            ("funding_usd", "−Σ funding payments (positive payment = we paid)"),
        )
    ]
    rows.append(("<b>net PnL</b>", f"<b>{_usd(p.net_usd, sign=True)}</b>", "the sum of the four"))
    table = _table(("part", "USD", "definition"), rows, (False, True, False))
    mark = _num(p.mark_px, "{:,.6g}")
    check = (
        f"Check: computed straight from the fills, cash + position·mark − fees − funding = "
        f"{_num(p.direct_net_usd)} USD"
    )
    if p.summary_net_usd is not None:
        check += (
            f"; the session's own summary says {_num(p.summary_net_usd)} USD "
            f"(difference {p.residual_usd:+.2e} USD)."
        )
    else:
        check += "; the journal has no session summary to compare with."
    ok = "" if p.adds_up() else '<p class="warn">The parts do not add up to the net PnL.</p>'
    live = (
        ""
        if p.funding_journaled
        else '<p class="note">Live journals carry no funding rows yet: funding shows 0.</p>'
    )
    return (
        '<p class="caption">The mid at a fill is the last valid book/bbo mid before it; the '
        f"final mark ({mark}) is the price the engine marks the position to at the end. "
        "Over time (left), each part is accumulated up to that moment, adverse selection "
        "marked at the mid of the moment.</p>" + table + f"<p>{_e(check)}</p>" + ok + live
    )


def _risk_table(d: ReportData, limit: int = 40) -> str:
    r = d.risk
    if len(r) == 0:
        return "<p>No risk or quote-gate change in this session.</p>"
    rows = [
        (_e(_utc(int(r.t[i]))), _e(r.rule[i]), _e(r.state[i]), _e(r.reason[i]))
        for i in range(min(len(r), limit))
    ]
    more = f" (the first {limit} of {len(r):,})" if len(r) > limit else ""
    return f"<p>Risk and quote-gate changes{more}, the dash-dotted lines above:</p>" + _table(
        ("time", "rule", "state", "reason"), rows
    )


def _markout_table(d: ReportData) -> str:
    m = d.markouts
    if len(m.h_s) == 0:
        return ""
    rows = [
        (
            horizon_label(h),
            f"{n}",
            _num(mu, "{:+.2f}"),
            _num(ci, "±{:.2f}"),
            _num(b, "{:+.2f}"),
            _num(s, "{:+.2f}"),
        )
        for h, n, mu, ci, b, s in zip(
            m.h_s, m.n, m.mean, m.ci, m.mean_buy, m.mean_sell, strict=True
        )
    ]
    return _table(
        ("horizon", "fills", "mean bps", "95 %", "buys", "sells"),
        rows,
        (False, True, True, True, True, True),
    )


def _fill_rate_table(d: ReportData) -> str:
    fr = d.fill_rate
    if not (fr.exposure_s > 0).any():
        return ""
    rows = []
    for lo, hi, e, f, n, r in zip(
        fr.lo_bps, fr.hi_bps, fr.exposure_s, fr.fills, fr.orders, fr.rate_per_h, strict=True
    ):
        a, b = poisson_ci(int(f), float(e))
        rng = bucket_label(lo, hi)
        rows.append(
            (
                rng,
                f"{n:,}",
                f"{e / 60:,.1f}",
                f"{f}",
                _num(r, "{:.3g}"),
                "–" if e <= 0 else f"[{a * 3600:.3g}, {b * 3600:.3g}]",
            )
        )
    return _table(
        ("depth, bps", "orders", "resting, min", "first fills", "fills / h", "95 %"),
        rows,
        (False, True, True, True, True, False),
    )


CAPTIONS: dict[str, str] = {
    "market": (
        "The mid (the last valid book or bbo mid), the bid and ask the strategy wanted "
        "(the <code>quotes</code> table; a gap is a side not quoted) and our fills at their "
        "prices. Long sessions are drawn from at most four points per time bucket (the "
        "first, last, lowest and highest), so every spike survives."
    ),
    "inventory": "Our position after each fill, from the start of the session to its end.",
    "pnl": "",
    "estimators": (
        "Left: each estimator's journaled value (its headline parameter); the band is its "
        "<code>std_err</code> column (a standard error or an interval half-width). Right: "
        "its observation count against the minimum the readiness verdict requires "
        "(<code>[calibration]</code> thresholds; Kelly: fills with a measured markout). "
        "Green: converged (its own criteria and the minimum count, the readiness rule); "
        "dotted line: the first time it converged."
    ),
    "markouts": (
        "MO(h) = side·(mid(t+h) − price)/price·1e4 bps before fees, for every fill that has "
        "matured at h (the journal goes on past t+h); h = 0 is the mid just before the "
        "fill, so MO(0) is the spread captured and the fall from there is adverse "
        "selection. Grey: each fill; the interval is 1.96·sd/√n over fills (fills close in "
        "time share price paths, so it is optimistic)."
    ),
    "fill_rate": (
        "First fills per hour an order rested at each depth, as the fill-rate estimator "
        "counts them (mm_math §6): an order's time counts in the depth bucket it sat in "
        "(its depth recomputed at every mid), its first fill ends it; bars are measured "
        "rates, labels fills / hours resting."
    ),
    "regime": (
        "The regime estimator's most probable state per bucket, shaded over the mid "
        "(grey: before its first fit). For a synthetic market the strip below it is the "
        "truth: the regime path the generator recorded in its manifest."
    ),
}


def _plot_section(p: Plot, png: bytes | None, d: ReportData) -> str:
    out = f'<h2 id="{p.name}">{_e(p.title)}</h2>'
    if p.name == "pnl" and p.figure is not None:
        out += _pnl_text(d)
    elif CAPTIONS.get(p.name) and p.figure is not None:
        out += f'<p class="caption">{CAPTIONS[p.name]}</p>'
    if png is not None:
        b64 = base64.b64encode(png).decode("ascii")
        out += f'<img data-plot="{p.name}" alt="{_e(p.title)}" src="data:image/png;base64,{b64}">'
    if p.note:
        out += f'<p class="note" data-note="{p.name}">{_e(p.note)}</p>'
    if p.name == "market":
        out += _risk_table(d)
    if p.name == "markouts":
        out += _markout_table(d)
    if p.name == "fill_rate":
        out += _fill_rate_table(d)
    return out


def render(
    d: ReportData,
    plots: Sequence[tuple[Plot, bytes | None]],
    *,
    problems: Sequence[str] = (),
    timings: dict[str, float] | None = None,
) -> str:
    """The whole page."""
    body = _header(d, problems) + _summary(d) + _readiness(d)
    body += "".join(_plot_section(p, png, d) for p, png in plots)
    total = sum((timings or {}).values())
    body += (
        f"<footer>Written by <code>market-maker report</code> in {total:.2f} s. "
        "Every number comes from DuckDB over the journal: the queries are "
        "<code>framework/report/*.sql</code> and <code>framework/calibration/*.sql</code>."
        "</footer>"
    )
    title = f"{d.session.coin} {d.session.mode} report"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
