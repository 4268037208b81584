"""What a running session shows: the terminal view, the dashboard, captures, the log.

The one interface an environment (``paper`` now, ``run`` for live trading) uses to
attach them to its session::

    views = SessionViews(view_options(quiet=quiet, dashboard=dashboard,
                                      dashboard_port=dashboard_port, capture=capture),
                         console)       # binds the port: a busy port (or a capture that
    try:                                # cannot work) is a UsageError before anything starts
        ...open the journal, build the engine...
        async with views.attach(engine, out, mode="live", coin=coin,
                                calibration=cfg.calibration):
            ...the session's loop (steps the engine from the same event loop)...
        ...a next session may attach the same views (one page, one port)...
    finally:
        views.close()                   # stops the dashboard, releases the port

``attach`` must be entered from the event loop that steps the engine: it samples the
engine from a task of that loop every ``1 / sample_hz`` seconds of wall time, between
steps, never inside one (:class:`framework.dashboard.state.StateSampler` only reads),
so the session journals the same outputs with or without it.  Each sample goes to the
dashboard's WebSocket and to the terminal view; ``session.log`` in the journal
directory receives the session's log lines and a status line every
``log_every_s``.  On exit it takes a last sample (the final state reaches the page,
the terminal and the last capture), then stops the capture and the panel; the server
stays up until :meth:`SessionViews.close`, so the page keeps the final state and can
follow the next session attached to the same views.

The sampled state (:meth:`framework.dashboard.state.StateSampler.sample`) reads the
components every mode has: ``market``, ``orders`` (position, PnL, open orders),
``risk``, ``strategy`` (half spread) and every component with ``n_obs``/``min_obs``
(readiness), and fills from the journal's ``sim_fills`` and ``fills`` parts, so a live
session needs nothing more than its journal directory and engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console

from framework.config import CalibrationConfig
from framework.dashboard.capture import CAPTURE_EVERY_S
from framework.engine.core import Engine
from framework.environments.console import SessionLog, TerminalView, status_line, terminal_mode
from framework.jsonsafe import finite

__all__ = ["DEFAULT_DASHBOARD_PORT", "SessionViews", "ViewOptions", "view_options"]

#: ``--dashboard`` without ``--dashboard-port``.
DEFAULT_DASHBOARD_PORT = 3000


@attrs.frozen
class ViewOptions:
    """What a session shows.

    Attributes
    ----------
    terminal : bool
        The terminal view (a live panel on a terminal, plain lines otherwise); False
        is ``--quiet``.
    dashboard_port : int or None
        Serve the dashboard on ``127.0.0.1:<port>`` (0: any free port); None: no
        dashboard.  ``capture_dir`` serves it too (on :data:`DEFAULT_DASHBOARD_PORT`
        when this is None).
    capture_dir : Path or None
        Save a PNG of the dashboard every ``capture_every_s`` into this directory.
    sample_hz : float
        Samples per second of wall time.
    lines_every_s : float
        Plain status lines on a non-terminal stdout, this often.
    log_every_s : float
        A status line into ``session.log`` this often.
    """

    terminal: bool = True
    dashboard_port: int | None = None
    capture_dir: Path | None = None
    capture_every_s: float = CAPTURE_EVERY_S
    sample_hz: float = 4.0
    lines_every_s: float = 10.0
    log_every_s: float = 60.0

    @property
    def serves(self) -> bool:
        return self.dashboard_port is not None or self.capture_dir is not None


def view_options(
    *,
    quiet: bool = False,
    dashboard: bool = False,
    dashboard_port: int | None = None,
    capture: Path | None = None,
) -> ViewOptions:
    """The views of the command-line flags ``--quiet``, ``--dashboard``,
    ``--dashboard-port`` and ``--capture`` (a session command's, ``paper`` or ``run``).

    ``--capture`` serves the dashboard too (it photographs the page).

    Raises
    ------
    UsageError
        ``--dashboard-port`` without ``--dashboard`` or ``--capture``, or not a port.
    """
    from framework import flags
    from framework.exits import UsageError

    if dashboard_port is not None:
        if not (dashboard or capture is not None):
            raise UsageError(
                f"--dashboard-port {dashboard_port}: given without --dashboard; add "
                "--dashboard to serve the page"
            )
        flags.port("--dashboard-port", dashboard_port)
    port = None
    if dashboard or capture is not None:
        port = DEFAULT_DASHBOARD_PORT if dashboard_port is None else dashboard_port
    return ViewOptions(terminal=not quiet, dashboard_port=port, capture_dir=capture)


def to_json(state: dict[str, Any]) -> str:
    try:
        return json.dumps(state, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(finite(state), separators=(",", ":"), allow_nan=False)


class SessionViews:
    """The views of one session (see the module docstring).

    Raises
    ------
    UsageError
        From the constructor: the dashboard port is in use or invalid, or a capture
        cannot work (no Chromium, no Playwright, ``capture_dir`` is a file).
    """

    def __init__(self, options: ViewOptions, console: Console | None = None) -> None:
        from framework.dashboard.capture import check_capture
        from framework.dashboard.server import DashboardServer

        self.options = options
        self.console = console or Console(soft_wrap=True)
        self.server: DashboardServer | None = None
        self.capture: Any = None
        self.samples = 0
        self.last_state: dict[str, Any] | None = None
        if options.capture_dir is not None:
            check_capture(options.capture_dir)
        if options.serves:
            port = options.dashboard_port
            self.server = DashboardServer(DEFAULT_DASHBOARD_PORT if port is None else port)

    @property
    def url(self) -> str | None:
        """The dashboard's address (None without one)."""
        return self.server.url if self.server is not None else None

    def close(self) -> None:
        """Stop the dashboard (pages see "session ended") and release the port
        (idempotent).  ``attach`` stops everything else itself and leaves the server
        up, so one page follows several sessions in turn (``run``'s auto-paper
        session, then the live one)."""
        if self.server is not None:
            self.server.stop()

    @contextlib.asynccontextmanager
    async def attach(
        self,
        engine: Engine,
        journal: Path | str,
        *,
        mode: str,
        coin: str,
        calibration: CalibrationConfig | None = None,
    ) -> AsyncIterator[SessionViews]:
        """Show ``engine``'s session while the block runs (see the module docstring)."""
        from framework.dashboard.capture import Capture
        from framework.dashboard.state import CHART_WINDOW_S, StateSampler

        o = self.options
        tmode = terminal_mode(self.console, o.terminal)
        sampler = StateSampler(engine, journal, mode=mode, coin=coin, calibration=calibration)
        window_ms = CHART_WINDOW_S * 1000
        with SessionLog(journal, echo=tmode != "live") as log:
            _log_events(engine, log)
            view = TerminalView(
                self.console, tmode, lines_every_s=o.lines_every_s, url=self.url, log=log
            )
            if self.server is not None:
                self.server.start()
                if self.server.error is not None:
                    log.write(f"warning: dashboard server failed: {self.server.error!r}")
                if tmode != "live":
                    self.console.print(
                        f"dashboard: {self.server.url} (read-only)", markup=False, highlight=False
                    )
                log.write(f"dashboard: {self.server.url}", show=False)
            if o.capture_dir is not None and self.server is not None:
                self.capture = Capture(self.server.url, o.capture_dir, o.capture_every_s)
                self.capture.start()
            next_log = time.monotonic() + o.log_every_s

            def sample(final: bool = False) -> None:
                nonlocal next_log
                state = sampler.sample(time.time_ns())
                self.samples += 1
                self.last_state = state
                if self.server is not None:
                    self.server.publish(to_json(state), state["point"], window_ms)
                view.update(state, final=final)
                if final or time.monotonic() >= next_log:
                    next_log = time.monotonic() + o.log_every_s
                    log.write(status_line(state), show=False)

            async def sampling() -> None:
                period = 1.0 / o.sample_hz
                said: tuple[str, float] = ("", 0.0)
                while True:
                    t = time.monotonic()
                    try:
                        sample()
                    except Exception as exc:  # a view never stops the session
                        # said once, then at most once a minute while it lasts
                        if repr(exc) != said[0] or t - said[1] >= 60:
                            said = (repr(exc), t)
                            log.write(f"warning: dashboard sample failed: {exc!r}")
                    await asyncio.sleep(max(0.0, period - (time.monotonic() - t)))

            task = (
                asyncio.get_running_loop().create_task(sampling())
                if tmode != "off" or self.server is not None
                else None
            )
            view.start()
            try:
                yield self
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                    try:
                        sample(final=True)
                    except Exception as exc:
                        log.write(f"warning: last dashboard sample failed: {exc!r}")
                view.stop()
                if self.capture is not None:
                    self.capture.stop()


def _log_events(engine: Engine, log: SessionLog) -> None:
    """Risk state changes and connection changes as session log lines (the journal has
    them as rows; a kill switch or a stale feed left no line in ``session.log``).  A
    tripped limit is a warning on stderr too (the log gets stderr's lines)."""
    from framework.events.schema import Kind

    def on_risk(cols: Any, i: int) -> None:
        rule, state = cols.rule[i], cols.state[i]
        line = f"risk {rule} {state}: {cols.reason[i]}"
        if state == "tripped" and rule != "shutdown":
            print(f"warning: {line}", file=sys.stderr, flush=True)
        else:
            log.write(line)

    def on_connection(cols: Any, i: int) -> None:
        detail = cols.detail[i]
        log.write(f"connection {cols.link[i]} {cols.state[i]}" + (f": {detail}" if detail else ""))

    engine.subscribe(Kind.RISK, on_risk)
    engine.subscribe(Kind.CONNECTION, on_connection)
