"""The report's figures, drawn with matplotlib from :class:`~framework.report.data.ReportData`.

Each function returns a :class:`Plot`: a figure, or ``None`` and a note saying why there
is nothing to draw (an empty or short session is a note, never an error).  Figures are
built with :class:`matplotlib.figure.Figure` directly (no pyplot, no global state), so
the report can be written from any thread and leaves no figure open.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import attrs
import numpy as np
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from framework.estimators.base import chi2_quantile
from framework.report.data import EstimatorTrack, ReportData
from framework.report.pnl import PnlDecomposition

__all__ = ["PLOTS", "Plot", "png_bytes"]

WIDTH_IN = 11.0
DPI = 100
LEFT, RIGHT = 0.075, 0.985  # figure fractions: the time axes of every plot line up
BUY, SELL = "#1a9850", "#d73027"
BID, ASK, MID = "#2166ac", "#b2182b", "#404040"
PART_COLORS = {
    "spread_usd": "#1b9e77",
    "inventory_usd": "#d95f02",
    "fees_usd": "#7570b3",
    "funding_usd": "#e7298a",
}
REGIME_COLORS = ("#a6dba0", "#fdae61", "#c2a5cf")  # calm, volatile, trending
UNKNOWN = "#e0e0e0"


@attrs.frozen
class Plot:
    """One figure of the report (``figure`` None: ``note`` says why not)."""

    name: str
    title: str
    figure: Figure | None
    note: str | None = None


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# -- helpers ------------------------------------------------------------------------------
def _dt(t: np.ndarray) -> np.ndarray:
    return np.asarray(t, dtype=np.int64).astype("datetime64[ns]")


def _time_axis(ax, d: ReportData, label: bool = True) -> None:
    """UTC time on x, over the whole session (padded when it is a single instant)."""
    t0, t1 = d.session.t0, d.session.t1
    if t0 is not None and t1 is not None:
        if t1 - t0 < 2_000_000_000:
            mid = (t0 + t1) // 2
            t0, t1 = mid - 1_000_000_000, mid + 1_000_000_000
        ax.set_xlim(_dt(np.array([t0]))[0], _dt(np.array([t1]))[0])
    loc = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    if label:
        ax.set_xlabel("time (UTC)")


def _fig(height_in: float, *, bottom_in: float = 0.55, top_in: float = 0.15) -> Figure:
    """A figure with the same left and right margins as every other time plot, so the
    time axes of the page line up one under the other."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    fig.subplots_adjust(
        left=LEFT, right=RIGHT, bottom=bottom_in / height_in, top=1 - top_in / height_in
    )
    return fig


def clock(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _since_start(d: ReportData, t: int) -> str:
    return clock((t - (d.session.t0 or t)) / 1e9)


def _step_through(t: np.ndarray, v: np.ndarray, t0: int, t1: int, v0: float = 0.0):
    """A step series from ``t0`` (value ``v0``) through each change to ``t1``."""
    tt = np.concatenate([[t0], t, [t1]])
    vv = np.concatenate([[v0], v, [v[-1] if len(v) else v0]])
    return tt, vv


# -- the plots ----------------------------------------------------------------------------
def market(d: ReportData) -> Plot:
    title = "Mid, our quotes and fills"
    if len(d.mid) == 0:
        return Plot("market", title, None, "No valid mid in this session (no two-sided book).")
    fig = _fig(4.8, top_in=0.4)
    ax = fig.add_subplot()
    ax.plot(_dt(d.mid.t), d.mid.v, color=MID, lw=0.8, label="mid", zorder=2)
    if len(d.bid):
        ax.step(_dt(d.bid.t), d.bid.v, where="post", color=BID, lw=0.7, alpha=0.8, label="our bid")
    if len(d.ask):
        ax.step(_dt(d.ask.t), d.ask.v, where="post", color=ASK, lw=0.7, alpha=0.8, label="our ask")
    f = d.fills
    for side, marker, color, name in ((1, "^", BUY, "we bought"), (-1, "v", SELL, "we sold")):
        m = f.side == side
        if m.any():
            ax.scatter(
                _dt(f.t[m]),
                f.px[m],
                marker=marker,
                s=46,
                color=color,
                edgecolor="black",
                linewidth=0.5,
                zorder=4,
                label=f"{name} ({int(m.sum())})",
            )
    _risk_marks(ax, d)
    _time_axis(ax, d)
    ax.set_ylabel("price (USD)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=6, fontsize=8, frameon=False)
    note = None
    if not len(d.bid) and not len(d.ask):
        note = "The strategy journaled no quotes in this session."
    return Plot("market", title, fig, note)


RISK_COLORS = {"ok": BUY, "resumed": BUY, "widened": "#f0a000"}  # anything else: red


def _risk_marks(ax, d: ReportData) -> None:
    """A vertical line at each risk / quote-gate change, labelled when there are few."""
    r = d.risk
    if len(r) == 0:
        return
    x = _dt(r.t)
    for i in range(len(r)):
        color = RISK_COLORS.get(str(r.state[i]), SELL)
        ax.axvline(x[i], color=color, lw=0.9, ls="-.", alpha=0.8, zorder=1)
        if len(r) <= 12:
            ax.annotate(
                f"{r.rule[i]}: {r.state[i]}",
                (x[i], 0.02),
                rotation=90,
                fontsize=7,
                xycoords=("data", "axes fraction"),
                ha="right",
                va="bottom",
                color=color,
            )
    ax.plot([], [], color=SELL, lw=0.9, ls="-.", label=f"risk / gate change ({len(r)})")


def inventory(d: ReportData) -> Plot:
    title = "Inventory"
    f = d.fills
    if len(f) == 0 or d.session.t0 is None:
        return Plot("inventory", title, None, "No fills in this session: the position stayed flat.")
    t, pos = _step_through(f.t, f.position_after, d.session.t0, d.session.t1)
    fig = _fig(3.0)
    ax = fig.add_subplot()
    x = _dt(t)
    ax.step(x, pos, where="post", color="black", lw=1.0)
    ax.fill_between(x, pos, 0, step="post", where=pos >= 0, color=BUY, alpha=0.3, label="long")
    ax.fill_between(x, pos, 0, step="post", where=pos <= 0, color=SELL, alpha=0.3, label="short")
    ax.axhline(0, color="grey", lw=0.6)
    _time_axis(ax, d)
    ax.set_ylabel(f"position ({d.session.coin or 'coins'})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return Plot("inventory", title, fig)


def pnl(d: ReportData) -> Plot:
    title = "PnL decomposition"
    p = d.pnl
    if p.fills == 0 and p.funding_usd == 0:
        return Plot("pnl", title, None, "No fills and no funding in this session: PnL is 0.")
    fig = _fig(4.4, bottom_in=1.05, top_in=0.35)
    gs = fig.add_gridspec(1, 2, width_ratios=(3, 1.3), wspace=0.2)
    ax = fig.add_subplot(gs[0, 0])
    x = _dt(d.pnl_t)
    net = np.zeros(len(d.pnl_t))
    for k in PnlDecomposition.PARTS:
        v = d.pnl_parts[k]
        net = net + v
        ax.plot(x, v, color=PART_COLORS[k], lw=1.0, label=PnlDecomposition.LABELS[k])
    ax.plot(x, net, color="black", lw=1.6, label="net PnL")
    ax.axhline(0, color="grey", lw=0.6)
    _time_axis(ax, d)
    ax.set_ylabel("cumulative USD")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, ncols=5, frameon=False)
    ax.set_title("accumulated over the session", fontsize=10)

    bx = fig.add_subplot(gs[0, 1])
    names = ["spread", "adverse\nselection", "fees", "funding", "net"]
    vals = [getattr(p, k) for k in PnlDecomposition.PARTS] + [p.net_usd]
    colors = [PART_COLORS[k] for k in PnlDecomposition.PARTS] + ["black"]
    bx.bar(range(5), vals, color=colors)
    bx.axhline(0, color="grey", lw=0.6)
    bx.set_xticks(range(5), names, fontsize=8)
    for i, v in enumerate(vals):
        bx.annotate(
            _usd(v),
            (i, v),
            ha="center",
            va="bottom" if v >= 0 else "top",
            fontsize=8,
            xytext=(0, 2 if v >= 0 else -2),
            textcoords="offset points",
        )
    lo, hi = min(0.0, *vals), max(0.0, *vals)
    pad = 0.15 * (hi - lo or 1.0)
    bx.set_ylim(lo - pad, hi + pad)
    bx.set_ylabel("USD")
    bx.set_title("at the end", fontsize=10)
    bx.grid(alpha=0.3, axis="y")
    return Plot("pnl", title, fig)


def _usd(v: float) -> str:
    """A signed amount with the digits that matter: cents, or 2 significant figures."""
    if v == 0:
        return "0"
    return f"{v:+.2f}" if abs(v) >= 0.01 else f"{v:+.1e}"


def _runs(t: np.ndarray, v: np.ndarray) -> list[tuple[int, int, float]]:
    """Maximal runs of equal values (NaN equal to NaN): ``(first index, last index, v)``."""
    runs: list[tuple[int, int, float]] = []
    for i, x in enumerate(v):
        if runs and (runs[-1][2] == x or (math.isnan(x) and math.isnan(runs[-1][2]))):
            runs[-1] = (runs[-1][0], i, x)
        else:
            runs.append((i, i, x))
    return runs


def _spans(ax, spans: list[tuple[int, int]], color: str, alpha: float = 1.0) -> None:
    """Shade the time spans ``[(t_a, t_b), ...]`` (ns) over the full height: one
    collection, not a patch each (a day of 30 s regime buckets has thousands)."""
    if not spans:
        return
    a = mdates.date2num(_dt(np.array([s[0] for s in spans])))
    b = mdates.date2num(_dt(np.array([s[1] for s in spans])))
    ax.broken_barh(
        list(zip(a, b - a, strict=True)),
        (0, 1),
        facecolors=color,
        alpha=alpha,
        lw=0,
        transform=ax.get_xaxis_transform(),
        zorder=0,
    )


def _converged_spans(ax, tr: EstimatorTrack, t_end: int) -> None:
    if not tr.converged.any():
        return
    spans = []
    for a, b, flag in _runs(tr.t, tr.converged.astype(float)):
        if flag:
            spans.append((int(tr.t[a]), int(tr.t[b + 1]) if b + 1 < len(tr.t) else t_end))
    _spans(ax, spans, BUY, 0.12)


def estimators(d: ReportData) -> Plot:
    title = "Estimators against their thresholds"
    tracks = [tr for tr in d.estimators if len(tr)]
    if not tracks:
        return Plot("estimators", title, None, "No estimator journaled a row in this session.")
    silent = [tr.name for tr in d.estimators if not len(tr)]
    note = f"No rows yet from: {', '.join(silent)}." if silent else None
    height = 2.0 * len(tracks) + 0.9
    fig = _fig(height, bottom_in=0.9, top_in=0.3)
    axes = fig.subplots(
        len(tracks),
        2,
        sharex=True,
        squeeze=False,
        gridspec_kw={"width_ratios": (3, 2), "hspace": 0.42, "wspace": 0.12},
    )
    t_end = d.session.t1 or 0
    for row, tr in zip(axes, tracks, strict=True):
        vax, nax = row
        for ax in row:
            ax.grid(alpha=0.3)
            _time_axis(ax, d, label=False)
        dots = "." if len(tr) < 60 else ""
        x = _dt(tr.t)
        ok = ~np.isnan(tr.value)
        if tr.name == "regime":
            vax.step(x, tr.value, where="post", color="black", lw=0.8)
            vax.set_yticks(range(len(d.regime_labels)), d.regime_labels, fontsize=8)
            vax.set_ylim(-0.3, len(d.regime_labels) - 0.7)
        else:
            vax.plot(x[ok], tr.value[ok], color="black", lw=0.9, marker=dots)
            se = tr.std_err
            band = ok & ~np.isnan(se)
            if band.any():
                vax.fill_between(
                    x[band],
                    (tr.value - se)[band],
                    (tr.value + se)[band],
                    color="grey",
                    alpha=0.3,
                    lw=0,
                )
        if not ok.any():
            vax.text(
                0.5,
                0.5,
                "no value yet (every row null)",
                ha="center",
                va="center",
                transform=vax.transAxes,
                color="grey",
            )
        _converged_spans(vax, tr, t_end)
        _converged_spans(nax, tr, t_end)
        nax.step(x, tr.n_obs, where="post", color="#2166ac", lw=1.0, marker=dots)
        nax.axhline(tr.min_obs, color=SELL, ls="--", lw=1.0)
        nax.annotate(
            f"minimum {tr.min_obs}",
            (0.01, tr.min_obs),
            va="bottom",
            fontsize=7,
            color=SELL,
            xycoords=("axes fraction", "data"),
        )
        nax.set_ylim(0, max(float(tr.n_obs.max()), tr.min_obs) * 1.18)
        first = tr.first_converged
        if first is not None:
            for ax in row:
                ax.axvline(_dt(np.array([first]))[0], color=BUY, lw=1.3, ls=":")
            status = f"converged {_since_start(d, first)} after the start"
        elif tr.n_obs[-1] >= tr.min_obs:
            status = f"not converged (n {int(tr.n_obs[-1]):,}: criteria unmet)"
        else:
            status = f"not converged (n {int(tr.n_obs[-1]):,} of {tr.min_obs:,})"
        vax.set_title(f"{tr.name}: {tr.label}  ·  {status}", fontsize=9, loc="left")
        nax.set_title("observations against the minimum", fontsize=8, loc="left")
    for ax in axes[-1]:
        ax.set_xlabel("time (UTC)")
    fig.legend(
        handles=[
            Patch(color=BUY, alpha=0.25, label="converged (its criteria and the minimum count)"),
            Patch(
                color="grey",
                alpha=0.4,
                label="± std_err (as journaled: standard error or interval half-width)",
            ),
            Line2D([], [], color=BUY, ls=":", label="first converged"),
            Line2D([], [], color=SELL, ls="--", label="minimum count"),
        ],
        loc="lower center",
        ncols=4,
        fontsize=8,
        frameon=False,
    )
    return Plot("estimators", title, fig, note)


def horizon_label(h: float) -> str:
    if h == 0:
        return "0"
    if h < 60:
        return f"{h:g} s"
    if h < 3600:
        return f"{h / 60:g} min"
    return f"{h / 3600:g} h"


def _markout_panel(ax, m, keep: np.ndarray, many: bool) -> None:
    h = m.h_s[keep]
    if not many:
        for row in m.per_fill[:, keep]:
            ax.plot(h, row, color="grey", lw=0.5, alpha=0.4)
    mean, ci = m.mean[keep], m.ci[keep]
    ok = ~np.isnan(ci)
    ax.fill_between(
        h[ok],
        (mean - ci)[ok],
        (mean + ci)[ok],
        color="black",
        alpha=0.12,
        lw=0,
        label="95 % interval of the mean",
    )
    ax.plot(h, mean, color="black", lw=1.8, marker="o", ms=4, label="mean, all fills")
    ax.plot(h, m.mean_buy[keep], color=BUY, lw=1.0, ls="--", label="mean, buys")
    ax.plot(h, m.mean_sell[keep], color=SELL, lw=1.0, ls="--", label="mean, sells")
    ax.axhline(0, color="grey", lw=0.6)
    for mark in (1, 5, 30):
        if mark in h:
            ax.axvline(mark, color="#2166ac", lw=0.8, ls=":")
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
    ax.set_xlim(0, h[-1] * 1.05)
    # label every horizon up to a minute, then a few (crowded on a log axis)
    shown = [x for x in h if x <= 60 or (len(h) <= 8) or x in (120, 600, 3600)]
    ax.set_xticks(h, [horizon_label(x) if x in shown else "" for x in h], fontsize=8)
    ax.xaxis.set_minor_locator(NullLocator())
    # the y range follows the means and their intervals; single fills may leave it
    lo = np.nanmin(np.concatenate([mean - np.nan_to_num(ci), m.mean_buy[keep], m.mean_sell[keep]]))
    hi = np.nanmax(np.concatenate([mean + np.nan_to_num(ci), m.mean_buy[keep], m.mean_sell[keep]]))
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.1 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.grid(alpha=0.3)


def markouts(d: ReportData) -> Plot:
    title = "Markouts"
    m = d.markouts
    if m.per_fill.shape[0] == 0 or len(m.h_s) == 0:
        return Plot("markouts", title, None, "No fills in this session: no markouts to measure.")
    if len(m.h_s) < 2:
        return Plot(
            "markouts", title, None, "The session is too short for any fill to mature at 1 s."
        )
    many = m.per_fill.shape[0] > 300
    short = m.h_s <= 60
    fig = _fig(4.2, bottom_in=0.95, top_in=0.35)
    if short.all() or short.sum() < 3:
        ax = fig.add_subplot()
        _markout_panel(ax, m, np.ones(len(m.h_s), bool), many)
        axes = [ax]
    else:
        gs = fig.add_gridspec(1, 2, width_ratios=(1, 1), wspace=0.12)
        axes = [fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])]
        _markout_panel(axes[0], m, short, many)
        _markout_panel(axes[1], m, np.ones(len(m.h_s), bool), many)
        axes[0].set_title("the first minute", fontsize=10)
        axes[1].set_title("every horizon a fill matured at", fontsize=10)
    axes[0].set_ylabel("markout, bps (before fees)")
    for ax in axes:
        ax.set_xlabel("horizon after the fill (0: the mid just before it)")
    extra = [] if many else [Line2D([], [], color="grey", lw=0.6, label="one fill")]
    handles, _ = axes[0].get_legend_handles_labels()
    fig.legend(handles=handles + extra, loc="lower center", ncols=5, fontsize=8, frameon=False)
    return Plot("markouts", title, fig)


def poisson_ci(fills: int, exposure_s: float) -> tuple[float, float]:
    """Exact 95 % interval of a Poisson rate ``fills / exposure`` (mm_math §6), per s."""
    if exposure_s <= 0:
        return math.nan, math.nan
    lo = chi2_quantile(0.025, 2 * fills) / (2 * exposure_s) if fills > 0 else 0.0
    hi = chi2_quantile(0.975, 2 * fills + 2) / (2 * exposure_s)
    return lo, hi


def bucket_label(lo: float, hi: float) -> str:
    return f"[{lo:g}, {hi:g})" if math.isfinite(hi) else f"≥ {lo:g}"


def fill_rate(d: ReportData) -> Plot:
    title = "Fill rate by quote depth"
    fr = d.fill_rate
    has = fr.exposure_s > 0
    if not has.any():
        return Plot("fill_rate", title, None, "No order rested in this session: no fill rate.")
    n = len(fr.lo_bps)
    xs = np.arange(n)
    rate = fr.rate_per_h
    ci = [poisson_ci(int(f), float(e)) for f, e in zip(fr.fills, fr.exposure_s, strict=True)]
    ci = np.array(ci) * 3600
    filled = has & (fr.fills > 0)
    # a bucket without fills bounds its rate from above, once it rested long enough for
    # the bound to say something (a minute)
    bound = has & ~filled & (fr.exposure_s >= 60)
    if not filled.any() and not bound.any():
        rested = float(fr.exposure_s.sum())
        return Plot(
            "fill_rate",
            title,
            None,
            f"Orders rested {rested:.0f} s in all without a fill: too little to bound a rate "
            "(a depth bucket needs a fill or a minute of resting time).",
        )
    fig = _fig(4.2, bottom_in=1.2, top_in=0.2)
    ax = fig.add_subplot()
    drawn = [rate[filled], ci[filled, 0], ci[filled, 1], ci[bound, 1]]
    if filled.any():
        ax.bar(
            xs[filled],
            rate[filled],
            color="#74add1",
            edgecolor="white",
            label="first fills per hour resting (measured)",
        )
        ax.errorbar(
            xs[filled],
            rate[filled],
            yerr=[rate[filled] - ci[filled, 0], ci[filled, 1] - rate[filled]],
            fmt="none",
            ecolor="black",
            elinewidth=0.8,
            capsize=3,
            label="95 % interval (exact Poisson)",
        )
    if bound.any():
        ax.scatter(
            xs[bound],
            ci[bound, 1],
            marker="v",
            color="black",
            s=22,
            zorder=3,
            label="no fill: the rate's 95 % upper bound",
        )
    values = np.concatenate(drawn)
    values = values[np.isfinite(values) & (values > 0)]
    lo, hi = (values.min() / 10, values.max() * 3) if values.size else (0.1, 10.0)
    # the fit where orders rested a minute or more (elsewhere it extrapolates)
    fit = has & (fr.exposure_s >= 60)
    if fr.A_f is not None and fr.k_f is not None and fit.any():
        depth = np.where(np.isnan(fr.mean_depth_bps), fr.lo_bps, fr.mean_depth_bps)
        model = fr.A_f * np.exp(-fr.k_f * depth[fit]) * 3600
        hi = max(hi, float(model.max()) * 3)
        ax.plot(
            xs[fit],
            model,
            color=SELL,
            lw=1.4,
            marker="o",
            ms=4,
            label=f"fill-rate estimator's last fit A_f·e^(−k_f·δ) at each bucket's mean "
            f"depth (A_f {fr.A_f:.3g}/s, k_f {fr.k_f:.3g}/bps)",
        )
    # log scale: the model is a straight line there, and rates span decades
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    labels = [
        f"{bucket_label(lo, hi)}\n{int(f)} / {e / 3600:.2g} h" if e > 0 else bucket_label(lo, hi)
        for lo, hi, f, e in zip(fr.lo_bps, fr.hi_bps, fr.fills, fr.exposure_s, strict=True)
    ]
    ax.set_xticks(xs, labels, fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xlabel("depth δ = side·(mid − price)/mid, bps   (below: first fills / hours resting)")
    ax.set_ylabel("first fills per hour")
    ax.grid(alpha=0.3, axis="y", which="major")
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="lower center", ncols=2, fontsize=8, frameon=False)
    return Plot("fill_rate", title, fig)


def _state_color(s: float) -> str:
    return UNKNOWN if math.isnan(s) else REGIME_COLORS[int(s) % len(REGIME_COLORS)]


def regime(d: ReportData) -> Plot:
    title = "Regime timeline"
    r = d.regime
    if len(r) == 0:
        return Plot(
            "regime", title, None, "The regime estimator journaled no state in this session."
        )
    if np.isnan(r.v).all():
        return Plot(
            "regime",
            title,
            None,
            f"The regime estimator journaled {len(r)} buckets but had not fitted its model "
            "yet: every state is unknown.",
        )
    truth = d.session.truth_regime
    fig = _fig(4.0 if truth else 3.6, bottom_in=0.55, top_in=0.15)
    gs = fig.add_gridspec(
        3 if truth else 2, 1, height_ratios=(4, 0.6, 0.6)[: 3 if truth else 2], hspace=0.08
    )
    ax = fig.add_subplot(gs[0])
    strip = fig.add_subplot(gs[1], sharex=ax)
    # each state covers the bucket that ended at its row: (previous row, this row]
    gaps = np.diff(r.t)
    first = r.t[0] - (int(np.median(gaps)) if len(gaps) else 0)
    starts = np.concatenate([[first], r.t[:-1]])
    share = dict.fromkeys(range(len(d.regime_labels)), 0)
    unknown = 0
    by_color: dict[str, list[tuple[int, int]]] = {}
    for a, b, s in _runs(r.t, r.v):
        t_a, t_b = int(starts[a]), int(r.t[b])
        by_color.setdefault(_state_color(s), []).append((t_a, t_b))
        if math.isnan(s):
            unknown += t_b - t_a
        else:
            share[int(s)] += t_b - t_a
    for color, spans in by_color.items():
        _spans(ax, spans, color, 0.55)
        _spans(strip, spans, color)
    if len(d.mid):
        ax.plot(_dt(d.mid.t), d.mid.v, color=MID, lw=0.8)
    total = max(sum(share.values()) + unknown, 1)
    handles = [
        Patch(color=REGIME_COLORS[i], label=f"{name} {share[i] / total:.0%}")
        for i, name in enumerate(d.regime_labels)
    ]
    if unknown:
        handles.append(
            Patch(color=UNKNOWN, label=f"unknown (before the first fit) {unknown / total:.0%}")
        )
    ax.legend(handles=handles, loc="upper left", ncols=4, fontsize=8, framealpha=0.9)
    ax.set_ylabel("mid (USD)")
    ax.grid(alpha=0.3)
    ax.tick_params(labelbottom=False)
    strip.set_yticks([])
    strip.set_ylabel("estimate", rotation=0, ha="right", va="center", fontsize=8)
    last = strip
    if truth:
        strip.tick_params(labelbottom=False)
        tx = fig.add_subplot(gs[2], sharex=ax)
        t_end = d.session.t1 or truth[-1][0]
        truth_spans: dict[str, list[tuple[int, int]]] = {}
        for (ta, s), nxt in zip(truth, [*truth[1:], (t_end, None)], strict=True):
            truth_spans.setdefault(_state_color(float(s)), []).append((ta, max(nxt[0], ta)))
        for color, spans in truth_spans.items():
            _spans(tx, spans, color)
        tx.set_yticks([])
        tx.set_ylabel("truth", rotation=0, ha="right", va="center", fontsize=8)
        last = tx
    _time_axis(last, d)
    return Plot("regime", title, fig)


#: Every plot of the report, in page order.
PLOTS: tuple[Callable[[ReportData], Plot], ...] = (
    market,
    inventory,
    pnl,
    estimators,
    markouts,
    fill_rate,
    regime,
)
