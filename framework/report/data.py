"""The data behind every plot of the report, collected by DuckDB from a journal.

:func:`collect` runs the ``.sql`` files of this package and returns a
:class:`ReportData`: plain numpy arrays and numbers, one attribute per plot, so the plots
(:mod:`framework.report.plots`) only draw and the tests can check what is drawn.  Time is
the engine clock (``recv_ts``, ns since the epoch, UTC).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import attrs
import duckdb
import numpy as np

from framework.calibration.readiness import Readiness, assess
from framework.config import CalibrationConfig
from framework.journal.manifest import Manifest
from framework.report import queries as q
from framework.report.pnl import PnlDecomposition, decompose

__all__ = [
    "MARKOUT_HORIZONS_S",
    "TRACKS",
    "EstimatorTrack",
    "FillRate",
    "Fills",
    "Markouts",
    "ReportData",
    "RiskEvents",
    "Series",
    "SessionInfo",
    "collect",
]

#: Markout horizons tried, seconds (those no fill has matured at are dropped).
MARKOUT_HORIZONS_S: tuple[float, ...] = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

#: (estimator, parameter, what the value is, scale applied to the journaled value).
TRACKS: tuple[tuple[str, str, str, float], ...] = (
    ("volatility", "sigma", "σ, bps/√s", 1.0),
    ("kappa", "k", "κ, 1/bps", 1.0),
    ("adverse_selection", "as_5s", "adverse selection at 5 s, bps", 1.0),
    ("regime", "state", "most probable state", 1.0),
    ("fill_rate", "k_f", "k_f, 1/bps", 1.0),
    ("kelly", "mu_lcb", "μ_LCB of the net edge, bps per fill", 1e4),
)

#: Points per plotted line at most: 4 per time bucket (M4 downsampling, series_m4.sql).
DEFAULT_BUCKETS = 1000


@attrs.frozen(eq=False)
class Series:
    """A plotted time series: ``t`` (ns) and ``v``."""

    t: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


@attrs.frozen
class SessionInfo:
    """Who and when: from ``session.json`` and the journal's span."""

    path: str
    mode: str
    asset: str
    coin: str
    session_id: str
    code_version: str
    source: dict[str, Any]
    synthetic: bool
    closed: bool
    t0: int | None  # first row's recv_ts (ns)
    t1: int | None  # last row's recv_ts (ns)
    rows: int
    inputs: int
    summary: dict[str, Any] | None  # the session's own summary (stats.summary), if closed
    #: the synthetic market's true regime path ``[(ts_ns, state index), ...]`` when the
    #: journal (or the recording it backtested) is synthetic and its manifest says
    truth_regime: tuple[tuple[int, int], ...] = ()

    @property
    def duration_s(self) -> float:
        return 0.0 if self.t0 is None or self.t1 is None else (self.t1 - self.t0) / 1e9

    @property
    def live(self) -> bool:
        return self.mode == "live"


@attrs.frozen(eq=False)
class Fills:
    """Our fills (``fills.sql``): one entry per fill in every array."""

    seq: np.ndarray
    t: np.ndarray
    side: np.ndarray
    px: np.ndarray
    sz: np.ndarray
    fee: np.ndarray
    mid: np.ndarray
    position_after: np.ndarray
    spread_usd: np.ndarray
    inventory_usd: np.ndarray

    def __len__(self) -> int:
        return len(self.seq)


@attrs.frozen(eq=False)
class Markouts:
    """Markouts per horizon (``markouts.sql``); horizon 0 is the mid just before the fill.

    ``h_s[j]``: the horizon; ``n``, ``mean``, ``ci`` (95 % half-width, normal
    approximation over fills, NaN with fewer than 2), ``mean_buy``, ``mean_sell``
    per horizon; ``per_fill[i, j]`` each fill's markout (NaN where not matured).
    """

    h_s: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    ci: np.ndarray
    mean_buy: np.ndarray
    mean_sell: np.ndarray
    per_fill: np.ndarray

    def at(self, h: float) -> tuple[int, float]:
        """``(n, mean)`` at horizon ``h`` seconds (0, NaN when absent)."""
        hit = np.flatnonzero(self.h_s == h)
        return (0, math.nan) if hit.size == 0 else (int(self.n[hit[0]]), float(self.mean[hit[0]]))


@attrs.frozen(eq=False)
class FillRate:
    """First fills per hour of resting time by depth bucket (``fill_rate.sql``), and the
    fill-rate estimator's last fit ``λ(δ) = A_f·exp(-k_f·δ)`` per second, if any."""

    lo_bps: np.ndarray
    hi_bps: np.ndarray
    exposure_s: np.ndarray
    fills: np.ndarray
    orders: np.ndarray
    mean_depth_bps: np.ndarray
    A_f: float | None
    k_f: float | None

    @property
    def rate_per_h(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.exposure_s > 0, self.fills / self.exposure_s * 3600.0, np.nan)


@attrs.frozen(eq=False)
class EstimatorTrack:
    """One estimator over time against its minimum count.

    ``converged`` is the readiness rule (its own flag AND ``n_obs >= min_obs``);
    ``first_converged`` the first time it held (ns), None if never.
    """

    name: str
    param: str
    label: str
    min_obs: int
    t: np.ndarray
    value: np.ndarray
    std_err: np.ndarray
    n_obs: np.ndarray
    converged: np.ndarray

    @property
    def first_converged(self) -> int | None:
        hit = np.flatnonzero(self.converged)
        return None if hit.size == 0 else int(self.t[hit[0]])

    def __len__(self) -> int:
        return len(self.t)


@attrs.frozen(eq=False)
class RiskEvents:
    """Risk and quote-gate changes (``risk.sql``), one entry per row."""

    t: np.ndarray
    rule: np.ndarray
    state: np.ndarray
    reason: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


@attrs.frozen(eq=False)
class ReportData:
    """Everything the report shows."""

    session: SessionInfo
    readiness: Readiness
    mid: Series
    bid: Series
    ask: Series
    fills: Fills
    risk: RiskEvents
    pnl: PnlDecomposition
    pnl_t: np.ndarray
    pnl_parts: dict[str, np.ndarray]  # cumulative parts at pnl_t (USD)
    markouts: Markouts
    fill_rate: FillRate
    estimators: tuple[EstimatorTrack, ...]
    regime: Series  # value = state index, NaN = unknown (before the first fit)
    regime_labels: tuple[str, ...]
    timings: dict[str, float]


def _session(con: duckdb.DuckDBPyConnection, root: Path, man: Manifest) -> SessionInfo:
    s = q.run(con, "session")
    t0, t1 = s["t0"][0], s["t1"][0]
    ok = not (isinstance(t0, float) and math.isnan(t0))
    summary = man.stats.get("summary") if isinstance(man.stats, dict) else None
    return SessionInfo(
        path=str(root),
        mode=man.mode,
        asset=man.asset,
        coin=man.coin or man.asset,
        session_id=str(getattr(man, "session_id", "") or ""),
        code_version=man.code_version,
        source=dict(man.source or {}),
        synthetic=bool(man.synthetic),
        closed=bool(man.closed),
        t0=int(t0) if ok else None,
        t1=int(t1) if ok else None,
        rows=int(s["rows"][0]),
        inputs=int(s["inputs"][0]),
        summary=summary if isinstance(summary, dict) else None,
        truth_regime=_truth_regime(root, man),
    )


def _truth_regime(root: Path, man: Manifest) -> tuple[tuple[int, int], ...]:
    """The synthetic generator's regime path, from this journal's manifest or from the
    recording it backtested (when that is still where the manifest says); () if none."""
    from framework.estimators.regime import LABELS
    from framework.journal.manifest import read_manifest

    gen = man.generator or {}
    rec = (man.source or {}).get("recording")
    if not gen.get("truth") and rec:
        for cand in (Path(rec), root.parent / rec):
            try:
                gen = read_manifest(cand).generator or {}
                break
            except Exception:  # not there any more, or not a journal: no truth to show
                continue
    truth = gen.get("truth") or {}
    names, path = truth.get("regimes"), truth.get("regime_path")
    if not names or not path:
        return ()
    try:
        return tuple((int(t), LABELS.index(names[int(s)])) for t, s in path)
    except (ValueError, IndexError, TypeError):
        return ()


def _m4(
    con: duckdb.DuckDBPyConnection, source: str, info: SessionInfo, buckets: int
) -> dict[str, np.ndarray]:
    return q.run(
        con,
        "series_m4",
        fmt={"source": source},
        t0=info.t0 or 0,
        t1=info.t1 or 0,
        buckets=buckets,
    )


def _markouts(con: duckdb.DuckDBPyConnection, fills: Fills, duration_s: float) -> Markouts:
    hs = [h for h in MARKOUT_HORIZONS_S if h <= max(duration_s, 0.0)]
    n_f = len(fills)
    per: dict[float, np.ndarray] = {}
    if n_f:
        with np.errstate(divide="ignore", invalid="ignore"):
            per[0.0] = fills.side * (fills.mid - fills.px) / fills.px * 1e4
    if n_f and hs:
        r = q.run(con, "markouts", horizons_ns=[round(h * 1e9) for h in hs])
        index = {int(s): i for i, s in enumerate(fills.seq)}
        for h in hs:
            hit = r["h_ns"] == round(h * 1e9)
            if not hit.any():
                continue
            col = np.full(n_f, np.nan)
            col[[index[int(s)] for s in r["seq"][hit]]] = r["markout_bps"][hit]
            per[float(h)] = col
    h_s = np.array(sorted(per), dtype=float)
    mat = np.column_stack([per[h] for h in h_s]) if per else np.zeros((n_f, 0))
    buy = fills.side > 0 if n_f else np.zeros(0, bool)

    def stats(m: np.ndarray) -> tuple[float, float, int]:
        x = m[~np.isnan(m)]
        if x.size == 0:
            return math.nan, math.nan, 0
        ci = 1.96 * float(np.std(x, ddof=1)) / math.sqrt(x.size) if x.size >= 2 else math.nan
        return float(np.mean(x)), ci, int(x.size)

    cols = [mat[:, j] for j in range(mat.shape[1])]
    mean, ci, n = zip(*(stats(c) for c in cols), strict=True) if cols else ((), (), ())
    mb = [stats(c[buy])[0] for c in cols]
    ms = [stats(c[~buy])[0] for c in cols]
    return Markouts(
        h_s=h_s,
        n=np.array(n, dtype=np.int64),
        mean=np.array(mean, dtype=float),
        ci=np.array(ci, dtype=float),
        mean_buy=np.array(mb, dtype=float),
        mean_sell=np.array(ms, dtype=float),
        per_fill=mat,
    )


def _fill_rate_edges(man: Manifest) -> tuple[float, ...]:
    from framework.estimators.fill_rate import DEFAULT_EDGES_BPS

    for c in man.components or []:
        if str(c.get("path", "")).endswith(":FillRateEstimator"):
            edges = (c.get("config") or {}).get("edges_bps")
            if edges:
                return tuple(float(e) for e in edges)
    return DEFAULT_EDGES_BPS


def _last_value(con: duckdb.DuckDBPyConnection, estimator: str, param: str) -> float | None:
    v = q.run(con, "last_value", estimator=estimator, param=param)["value"]
    return float(v[0]) if len(v) else None


def _fill_rate(con: duckdb.DuckDBPyConnection, man: Manifest, info: SessionInfo) -> FillRate:
    r = q.run(con, "fill_rate", edges=list(_fill_rate_edges(man)), t_end=info.t1 or 0)
    return FillRate(
        lo_bps=r["lo_bps"].astype(float),
        hi_bps=r["hi_bps"].astype(float),
        exposure_s=r["exposure_s"].astype(float),
        fills=r["fills"].astype(np.int64),
        orders=r["orders"].astype(np.int64),
        mean_depth_bps=r["mean_depth_bps"].astype(float),
        A_f=_last_value(con, "fill_rate", "A_f"),
        k_f=_last_value(con, "fill_rate", "k_f"),
    )


def _min_obs(cfg: CalibrationConfig, name: str) -> int:
    if name == "kelly":
        return int(cfg.min_kelly_fills)
    return int(getattr(cfg, f"{name}_min_obs"))


def _estimators(
    con: duckdb.DuckDBPyConnection, cfg: CalibrationConfig, max_points: int
) -> tuple[EstimatorTrack, ...]:
    r = q.run(con, "estimates", params=[f"{e}/{p}" for e, p, _, _ in TRACKS])
    tracks = []
    for name, param, label, scale in TRACKS:
        hit = np.flatnonzero(r["estimator"] == name) if len(r["estimator"]) else np.zeros(0, int)
        mo = _min_obs(cfg, name)
        n_obs = r["n_obs"][hit].astype(np.int64)
        conv = r["converged"][hit].astype(bool) & (n_obs >= mo)
        keep = _thin(len(hit), conv, max_points)
        tracks.append(
            EstimatorTrack(
                name=name,
                param=param,
                label=label,
                min_obs=mo,
                t=r["recv_ts"][hit][keep].astype(np.int64),
                value=r["value"][hit][keep].astype(float) * scale,
                std_err=r["std_err"][hit][keep].astype(float) * scale,
                n_obs=n_obs[keep],
                converged=conv[keep],
            )
        )
    return tuple(tracks)


def _thin(n: int, flags: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most about ``max_points`` rows evenly spread, plus every row where
    ``flags`` changes (so a convergence is never thinned away)."""
    if n <= max_points:
        return np.arange(n)
    keep = np.zeros(n, bool)
    keep[np.linspace(0, n - 1, max_points).astype(int)] = True
    change = np.flatnonzero(np.diff(flags.astype(np.int8)) != 0)
    keep[change] = True
    keep[change + 1] = True
    return np.flatnonzero(keep)


def collect(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    manifest: Manifest,
    cfg: CalibrationConfig | None = None,
    *,
    buckets: int = DEFAULT_BUCKETS,
) -> ReportData:
    """Run every report query on ``con`` (a :func:`framework.journal.duck.connect`
    connection of the journal at ``root``) and gather the results."""
    from framework.estimators.regime import LABELS

    cfg = cfg or CalibrationConfig()
    timings: dict[str, float] = {}
    t_start = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t_start
        now = time.perf_counter()
        timings[name] = now - t_start
        t_start = now

    q.install_views(con)
    # DuckDB runs an ASOF join with a small left side as a nested loop over every mid
    # (markouts: 500 fill-horizons x 300k mids of a day = 20 M rows); the sort-merge
    # ASOF join it otherwise uses gives the same rows in a fraction of the time.
    con.execute("SET asof_loop_join_threshold = 0")
    info = _session(con, root, manifest)
    readiness = assess(con, cfg)
    lap("readiness")

    mid = _m4(con, "SELECT seq, recv_ts, mid AS v FROM mids", info, buckets)
    con.execute("DROP TABLE IF EXISTS mid_plot")
    con.register("_mid_plot", {"seq": mid["seq"], "recv_ts": mid["recv_ts"], "mid": mid["v"]})
    con.execute("CREATE TEMP TABLE mid_plot AS SELECT * FROM _mid_plot")
    con.unregister("_mid_plot")
    quotes = "SELECT seq, recv_ts, {side}_px AS v FROM quotes"
    bid = _m4(con, quotes.format(side="bid"), info, buckets)
    ask = _m4(con, quotes.format(side="ask"), info, buckets)
    rk = q.run(con, "risk")
    risk = RiskEvents(rk["recv_ts"].astype(np.int64), rk["rule"], rk["state"], rk["reason"])
    lap("market")

    mark = q.run(con, "final_mark")["mark_px"]
    mark_px = float(mark[0]) if len(mark) and not math.isnan(float(mark[0])) else None
    con.execute("DROP TABLE IF EXISTS report_fills")
    sql = q.sql_text("fills")
    con.execute(f"CREATE TEMP TABLE report_fills AS {sql}", {"mark_px": mark_px})
    f = q.columns(con.execute("SELECT * FROM report_fills"))
    fills = Fills(
        seq=f["seq"].astype(np.int64),
        t=f["recv_ts"].astype(np.int64),
        side=f["side"].astype(np.int64),
        px=f["px"].astype(float),
        sz=f["sz"].astype(float),
        fee=f["fee"].astype(float),
        mid=f["mid"].astype(float),
        position_after=f["position_after"].astype(float),
        spread_usd=f["spread_usd"].astype(float),
        inventory_usd=f["inventory_usd"].astype(float),
    )
    funding = q.run(con, "funding")["paid"][0]
    pnl = decompose(fills, float(funding), mark_px, info.summary, live=info.live)
    series = q.run(con, "pnl_series")
    pnl_t = series["recv_ts"].astype(np.int64)
    parts = {k: series[k].astype(float) for k in PnlDecomposition.PARTS}
    if info.t1 is not None and len(fills):
        # the last point is the session's end, marked as the summary marks it
        pnl_t = np.append(pnl_t, info.t1)
        for k in parts:
            parts[k] = np.append(parts[k], getattr(pnl, k))
    lap("fills_pnl")

    markouts = _markouts(con, fills, info.duration_s)
    lap("markouts")
    fill_rate = _fill_rate(con, manifest, info)
    lap("fill_rate")
    estimators = _estimators(con, cfg, 4 * buckets)
    reg = q.run(con, "regime")
    regime = Series(reg["recv_ts"].astype(np.int64), reg["state"].astype(float))
    lap("estimators")

    return ReportData(
        session=info,
        readiness=readiness,
        mid=Series(mid["recv_ts"].astype(np.int64), mid["v"].astype(float)),
        bid=Series(bid["recv_ts"].astype(np.int64), bid["v"].astype(float)),
        ask=Series(ask["recv_ts"].astype(np.int64), ask["v"].astype(float)),
        fills=fills,
        risk=risk,
        pnl=pnl,
        pnl_t=pnl_t,
        pnl_parts=parts,
        markouts=markouts,
        fill_rate=fill_rate,
        estimators=estimators,
        regime=regime,
        regime_labels=tuple(LABELS),
        timings=timings,
    )
