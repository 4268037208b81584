"""``PriorReadiness``: the calibration verdict, computed by DuckDB from a session journal.

The verdict is SQL anyone can read and re-run: ``estimators.sql`` (the five gating
estimators), ``edge.sql`` (the gross edge of each fill) and ``verdict.sql`` (the
seed's Ready / Marginal / Insufficient plus the negative-edge rule), all in this
package, with the thresholds of :class:`framework.config.CalibrationConfig` as query
parameters.  ``market-maker readiness DIR`` prints them; prior checkpoints carry the
same result as their stamp (:mod:`framework.calibration.prior`).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from framework.config import CalibrationConfig

__all__ = [
    "ESTIMATORS",
    "EstimatorReadiness",
    "Readiness",
    "assess",
    "sql_text",
]

#: The five gating estimators, in the seed's order.
ESTIMATORS: tuple[str, ...] = ("volatility", "kappa", "adverse_selection", "regime", "fill_rate")

#: What one observation of each estimator is (for the "still lacks" lines).
UNITS: dict[str, str] = {
    "volatility": "clock returns",
    "kappa": "aggressor events",
    "adverse_selection": "samples",
    "regime": "buckets",
    "fill_rate": "resting-order episodes",
}

VERDICTS: tuple[str, ...] = ("Insufficient", "Marginal", "Ready")


def sql_text(name: str) -> str:
    """The text of ``framework/calibration/<name>.sql``."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


@attrs.frozen
class EstimatorReadiness:
    """One gating estimator as the journal last saw it."""

    name: str
    n_obs: int
    min_obs: int
    converged: bool
    value: float | None = None


@attrs.frozen
class Readiness:
    """The verdict and everything it was computed from.

    ``up_to_seq`` is the last seq the query looked at (every row with a larger seq was
    ignored); ``seed_verdict`` is the seed's rule alone, ``verdict`` after the
    negative-edge downgrade.  Edge figures are bps; ``edge_lo``/``edge_hi`` bound the
    95 % interval (None with fewer than two blocks of fills).
    """

    verdict: str
    seed_verdict: str
    estimators: tuple[EstimatorReadiness, ...]
    converged: int
    duration_s: float
    kelly_fills: int
    edge_bps: float | None
    edge_lo: float | None
    edge_hi: float | None
    edge_fills: int
    up_to_seq: int
    thresholds: CalibrationConfig

    @property
    def ready(self) -> bool:
        return self.verdict == "Ready"

    def meets(self, required: str) -> bool:
        """Whether the verdict is ``required`` (``ready`` / ``marginal``) or better."""
        return VERDICTS.index(self.verdict) >= VERDICTS.index(required.capitalize())

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Readiness:
        d = dict(data)
        d["estimators"] = tuple(EstimatorReadiness(**e) for e in d["estimators"])
        d["thresholds"] = CalibrationConfig(**d["thresholds"])
        return cls(**d)

    def lacking(self) -> list[str]:
        """One line per unmet criterion of the verdict above this one, with what it
        still lacks and, at this session's pace, about how long that takes."""
        th = self.thresholds
        lines = []
        if self.duration_s < th.min_session_s:
            more = th.min_session_s - self.duration_s
            lines.append(
                f"session: {_clock(self.duration_s)} of {_clock(th.min_session_s)}; "
                f"{_clock(more)} more"
            )
        for e in self.estimators:
            if e.converged:
                continue
            unit = UNITS.get(e.name, "observations")
            if e.n_obs < e.min_obs:
                lines.append(
                    f"{e.name}: {e.n_obs} of {e.min_obs} {unit}; "
                    f"{self._pace(e.min_obs - e.n_obs, e.n_obs)}"
                )
            else:
                lines.append(
                    f"{e.name}: {e.n_obs} of {e.min_obs} {unit}, but its convergence "
                    "criteria (mm_math §11: precision, stability) do not hold yet"
                )
        if self.kelly_fills < th.min_kelly_fills:
            lines.append(
                f"kelly: {self.kelly_fills} of {th.min_kelly_fills} fills with a measured "
                f"markout; {self._pace(th.min_kelly_fills - self.kelly_fills, self.kelly_fills)}"
            )
        if self.verdict != self.seed_verdict:
            lines.append(
                f"edge: {self.edge_bps:+.2f} bps per fill, 95 % interval "
                f"[{self.edge_lo:+.2f}, {self.edge_hi:+.2f}] below zero: Ready downgraded "
                "to Marginal ([calibration] downgrade_negative_edge)"
            )
        return lines

    def _pace(self, missing: int, have: int) -> str:
        """How long ``missing`` more observations take at this session's rate."""
        if have <= 0 or self.duration_s <= 0:
            return "none yet in this session, so no estimate of how long"
        secs = missing * self.duration_s / have
        return f"at this session's rate about {_human(secs)} more"


def _clock(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d} min" if s < 3600 else f"{s // 3600}:{s % 3600 // 60:02d} h"


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _params(cfg: CalibrationConfig, max_seq: int) -> dict[str, Any]:
    return {
        "max_seq": max_seq,
        "min_volatility": cfg.volatility_min_obs,
        "min_kappa": cfg.kappa_min_obs,
        "min_adverse_selection": cfg.adverse_selection_min_obs,
        "min_regime": cfg.regime_min_obs,
        "min_fill_rate": cfg.fill_rate_min_obs,
        "min_session_s": cfg.min_session_s,
        "min_kelly_fills": cfg.min_kelly_fills,
        "marginal_min_converged": cfg.marginal_min_converged,
        "horizon_ns": round(cfg.edge_horizon_s * 1e9),
        "downgrade_negative_edge": cfg.downgrade_negative_edge,
    }


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement names (DuckDB refuses unused named parameters)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def assess(
    journal: Path | str | Any,
    cfg: CalibrationConfig | None = None,
    *,
    up_to_seq: int | None = None,
) -> Readiness:
    """The readiness of the session journal at ``journal`` (a path or an open DuckDB
    connection from :func:`framework.journal.duck.connect`), up to ``up_to_seq``.

    Raises
    ------
    framework.journal.errors.JournalError
        When ``journal`` is not a readable journal.
    """
    from framework.journal.duck import connect

    cfg = cfg or CalibrationConfig()
    con = connect(journal) if isinstance(journal, Path | str) else journal
    max_seq = up_to_seq if up_to_seq is not None else 2**62
    params = _params(cfg, max_seq)
    est_sql, edge_sql, verdict_sql = (sql_text(n) for n in ("estimators", "edge", "verdict"))
    con.execute("DROP TABLE IF EXISTS readiness_estimators")
    con.execute("DROP TABLE IF EXISTS readiness_edge")
    con.execute(f"CREATE TEMP TABLE readiness_estimators AS {est_sql}", _used(est_sql, params))
    con.execute(f"CREATE TEMP TABLE readiness_edge AS {edge_sql}", _used(edge_sql, params))
    rows = con.execute("SELECT * FROM readiness_estimators").fetchall()
    estimators = tuple(
        EstimatorReadiness(name, int(n), int(m), bool(c), None if v is None else float(v))
        for name, n, m, c, v, _seq in rows
    )
    rel = con.execute(verdict_sql, _used(verdict_sql, params))
    cols = [d[0] for d in rel.description]
    v = dict(zip(cols, rel.fetchone(), strict=True))
    return Readiness(
        verdict=v["verdict"],
        seed_verdict=v["seed_verdict"],
        estimators=estimators,
        converged=int(v["converged"]),
        duration_s=float(v["duration_s"]),
        kelly_fills=int(v["kelly_fills"]),
        edge_bps=_num(v["edge_bps"]),
        edge_lo=_num(v["edge_lo"]),
        edge_hi=_num(v["edge_hi"]),
        edge_fills=int(v["edge_fills"] or 0),
        up_to_seq=int(v["last_seq"] or 0) if up_to_seq is None else int(up_to_seq),
        thresholds=cfg,
    )


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def render(r: Readiness, console: Any = None) -> None:
    """Print the readiness table, the verdict and what is lacking (rich)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(soft_wrap=True)
    table = Table(title="Calibration readiness", title_justify="left")
    for col, just in (
        ("estimator", "left"),
        ("n_obs", "right"),
        ("min", "right"),
        ("converged", "center"),
    ):
        table.add_column(col, justify=just)
    for e in r.estimators:
        table.add_row(e.name, f"{e.n_obs:,}", f"{e.min_obs:,}", "yes" if e.converged else "no")
    console.print(table)
    th = r.thresholds
    edge = "no fills measured"
    if r.edge_bps is not None:
        ci = "" if r.edge_lo is None else f", 95 % [{r.edge_lo:+.2f}, {r.edge_hi:+.2f}]"
        edge = f"{r.edge_bps:+.2f} bps per fill over {r.edge_fills} fills{ci}"
    console.print(
        f"session {_clock(r.duration_s)} (needs {_clock(th.min_session_s)}) · "
        f"converged {r.converged} of {len(r.estimators)} · "
        f"kelly fills {r.kelly_fills} (needs {th.min_kelly_fills}) · "
        f"gross edge at {th.edge_horizon_s:g} s: {edge}"
    )
    console.print(f"verdict: [bold]{r.verdict}[/bold] (up to seq {r.up_to_seq})")
    for line in r.lacking():
        console.print(f"  lacking: {line}")


def readiness_command(
    journal: Path,
    *,
    as_json: bool = False,
    require: str | None = None,
    config: Path | None = None,
    up_to_seq: int | None = None,
) -> int:
    """``market-maker readiness``: 0, or 1 when ``require`` is not met; 2 on bad input."""
    import json
    import sys

    from framework.config import ConfigError, load_config
    from framework.journal import JournalReader, check_completeness
    from framework.journal.duck import connect
    from framework.journal.errors import JournalError

    if require is not None and require.lower() not in ("ready", "marginal"):
        print(f"error: --require {require!r}: use ready or marginal", file=sys.stderr)
        return 2
    try:
        cfg = load_config(config).calibration
        # A verdict over a journal with a table missing or cut short counts what is left
        # ("0 of 200 ... none yet"): say so, as sql, report and compare do.
        reader = JournalReader(journal, warn=False)
        for line in check_completeness(reader).problems:
            print(f"warning: {journal} is incomplete: {line}", file=sys.stderr)
        r = assess(connect(journal, reader=reader), cfg, up_to_seq=up_to_seq)
    except (ConfigError, JournalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps({**r.to_dict(), "lacking": r.lacking()}, indent=2))
    else:
        render(r)
    if require is not None and not r.meets(require):
        if not as_json:
            print(f"error: verdict {r.verdict} does not meet --require {require}", file=sys.stderr)
        return 1
    return 0
