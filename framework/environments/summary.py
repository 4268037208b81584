"""What a trading session reports: a live progress bar and a final summary.

The progress bar shows events, events/s, simulated time and PnL; the summary table
shows duration, events, quotes, orders, fills, volume, fees, funding, realized and
unrealized PnL, max drawdown and final inventory, and the estimator table shows each
estimator's observation count against its minimum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from framework.engine.core import Engine
from framework.events.schema import Kind

__all__ = [
    "SessionProgress",
    "estimator_rows",
    "render_summary",
    "session_command",
    "summarize",
]


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Fields(ProgressColumn):
    def render(self, task: Task) -> Text:
        f = task.fields
        return Text(
            f"{int(task.completed):,} ev  {f.get('rate', 0):,.0f} ev/s  "
            f"sim {f.get('sim', '0:00:00')}  PnL {f.get('pnl', 0.0):+,.2f}"
        )


class SessionProgress:
    """A rich progress bar fed from the engine after each chunk (cheap: once per chunk)."""

    def __init__(
        self,
        engine: Engine,
        total: int | None,
        console: Console | None = None,
        enabled: bool = True,
        label: str = "backtest",
    ) -> None:
        self.engine = engine
        self.enabled = enabled
        self._t0 = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _Fields(),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self._task = self._progress.add_task(label, total=total)

    def __enter__(self) -> SessionProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        orders = _component(self.engine, "orders")
        if orders is not None:
            # The session is over: mark at its end, as the summary does, so the bar's
            # last PnL is the summary's net PnL (it showed the last periodic mark).
            orders.mark(self.engine.now)
        self.update()
        self._progress.__exit__(*exc)

    def update(self, *_: Any) -> None:
        e = self.engine
        wall = max(time.perf_counter() - self._t0, 1e-9)
        orders = _component(e, "orders")
        pnl = orders.equity - orders.initial_equity if orders is not None else 0.0
        self._progress.update(
            self._task,
            completed=e.events,
            rate=e.events / wall,
            sim=_hms((e.now - e.start_ns) / 1e9 if e.start_ns else 0.0),
            pnl=pnl,
        )


def _component(engine: Engine, name: str) -> Any:
    try:
        return engine.component(name)
    except KeyError:
        return None


def estimator_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every component with ``n_obs``/``min_obs``/``converged``: its counts and verdict."""
    rows = []
    for c in engine.components:
        if hasattr(c, "n_obs") and hasattr(c, "min_obs"):
            rows.append(
                {
                    "estimator": c.name,
                    "n_obs": int(c.n_obs),
                    "min_obs": int(c.min_obs),
                    "converged": bool(getattr(c, "converged", False)),
                }
            )
    return rows


def summarize(engine: Engine, wall_s: float, start_ns: int | None = None) -> dict[str, Any]:
    """The session's numbers as a JSON-serialisable dict (also stored in the manifest).

    The market duration counts from ``start_ns``, by default the first event's time.
    """
    counts = engine.counts
    if start_ns is None:
        start_ns = engine.start_ns
    orders = _component(engine, "orders")
    o: dict[str, Any] = {}
    if orders is not None:
        orders.mark(engine.now)
        o = orders.snapshot()
    duration = (engine.now - start_ns) / 1e9 if start_ns else 0.0
    return {
        "duration_s": duration,
        "wall_s": wall_s,
        "events": engine.events,
        "events_per_s": engine.events / wall_s if wall_s > 0 else math.nan,
        "outputs": engine.outputs,
        "quotes": counts[Kind.QUOTES],
        "orders": counts[Kind.ORDER_COMMANDS],
        # The tracker counts paper fills and the venue's (live) alike: both tables' rows.
        "fills": orders.n_fills if orders is not None else counts[Kind.SIM_FILLS],
        "fills_by_rule": dict(getattr(_component(engine, "fills"), "fills_by_rule", {})),
        "risk_changes": counts[Kind.RISK],
        "volume_usd": o.get("volume_usd", 0.0),
        "fees_usd": o.get("fees", 0.0),
        "funding_usd": o.get("funding", 0.0),
        "realized_pnl_usd": o.get("realized_pnl", 0.0),
        "unrealized_pnl_usd": o.get("unrealized_pnl", 0.0),
        "net_pnl_usd": o.get("equity", 0.0) - (orders.initial_equity if orders else 0.0),
        "max_drawdown": o.get("max_drawdown", 0.0),
        "max_drawdown_usd": o.get("max_drawdown_usd", 0.0),
        "final_inventory": o.get("position", 0.0),
        "estimators": estimator_rows(engine),
    }


def _by_rule(counts: dict[str, int]) -> str:
    """`` (trade_at 10, trade_through 32)``: the paper venue's fill rules that fired."""
    used = [f"{rule} {n:,}" for rule, n in counts.items() if n]
    return f" ({', '.join(used)})" if used else ""


def render_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print the summary table and the estimator table."""
    console = console or Console(soft_wrap=True)
    t = Table(title="Session summary", show_header=False)
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    s = summary
    lines = [
        ("duration (market time)", _hms(s["duration_s"])),
        ("events", f"{s['events']:,}"),
        ("events/s (wall)", f"{s['events_per_s']:,.0f}"),
        ("quotes", f"{s['quotes']:,}"),
        ("orders (commands)", f"{s['orders']:,}"),
        ("fills", f"{s['fills']:,}{_by_rule(s.get('fills_by_rule') or {})}"),
        ("volume", f"{s['volume_usd']:,.2f} USD"),
        ("fees", f"{s['fees_usd']:,.2f} USD"),
        ("funding", f"{s['funding_usd']:,.2f} USD"),
        ("realized PnL (gross)", f"{s['realized_pnl_usd']:+,.2f} USD"),
        ("unrealized PnL", f"{s['unrealized_pnl_usd']:+,.2f} USD"),
        ("net PnL", f"{s['net_pnl_usd']:+,.2f} USD"),
        ("max drawdown", f"{s['max_drawdown']:.2%} ({s['max_drawdown_usd']:,.2f} USD)"),
        ("final inventory", f"{s['final_inventory']:g}"),
        ("risk state changes", f"{s['risk_changes']:,}"),
    ]
    if s.get("stopped_by"):
        lines.insert(0, ("stopped by", f"{s['stopped_by']} (journal closed)"))
    for name, value in lines:
        t.add_row(name, value)
    console.print(t)
    est = Table(title="Estimators")
    for col in ("estimator", "n_obs", "min_obs", "converged"):
        est.add_column(col, justify="left" if col == "estimator" else "right")
    for r in s["estimators"]:
        mark = "[green]yes[/]" if r["converged"] else "[yellow]no[/]"
        est.add_row(r["estimator"], f"{r['n_obs']:,}", f"{r['min_obs']:,}", mark)
    if not s["estimators"]:
        est.add_row("(none in this session)", "", "", "")
    console.print(est)


def session_command(
    run: Callable[[Any, Console], Any],
    config: Path | None,
    errors: tuple[type[Exception], ...],
) -> int:
    """A session command's body: load the config, run, print the summary; the exit code.

    Parameters
    ----------
    run : callable
        ``run(session_config, console)`` -> a result with ``.summary`` and ``.out``.
    config : Path or None
        The TOML config file (None = defaults).
    errors : tuple of exception types
        The session's own failures, reported as one ``error: ...`` line on stderr
        (besides :class:`framework.config.ConfigError` and
        :class:`framework.engine.drive.ComponentError`) with the exit code of
        :func:`framework.exits.exit_code` (2 usage/config, 1 runtime; 2 when unmapped).
        Anything else propagates to the command line's error boundary.
    """
    from framework.config import ConfigError, resolve_config
    from framework.engine.drive import ComponentError
    from framework.exits import EXIT_USAGE, UsageError, exit_code, report

    console = Console(soft_wrap=True)
    try:
        # MM_<SECTION>_<KEY> environment variables over the --config file (the command
        # line's own flags are applied by the session, over both)
        result = run(resolve_config(config), console)
    except ComponentError as exc:
        # The components' configs come from the session config: point there, not
        # at a manifest the user never wrote (none was kept: the start failed).
        where = f"--config {config}" if config else "the default config"
        return report(
            UsageError(
                f"the session's engine could not be built: {exc}.  Its settings come "
                f"from {where} ([fills], [estimators.<name>], [strategy], [risk], [orders]); "
                "fix the named setting there"
            )
        )
    except (ConfigError, *errors) as exc:
        return report(exc, exit_code(exc) or EXIT_USAGE)
    render_summary(result.summary, console)
    console.print(f"journal: {result.out}")
    prior = result.summary.get("prior")
    if prior:
        console.print(f"prior: {prior['path']} (verdict {prior['verdict']})")
    return 0
