"""The terminal view of a trading session, and its log file.

:class:`TerminalView` renders the sampled session state
(:class:`framework.dashboard.state.StateSampler`) in one of three ways:

* ``live``: a compact status panel redrawn in place (rich ``Live``) on a terminal:
  position, PnL, the book against our quotes, fills, gate and kill switches,
  readiness, the last log line;
* ``lines``: one plain status line every ``lines_every_s`` when stdout is not a
  terminal (a pipe, a file, a service manager's journal);
* ``off``: nothing (``--quiet``).

:class:`SessionLog` sends what the session logs (``warning: ...`` lines on stderr and
the ``framework`` loggers, INFO and up) to ``session.log`` in the journal directory,
one timestamped line each; on stderr too unless the live panel owns the terminal (a
warning printed under it would scroll it away), where the panel shows the last line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

__all__ = ["LOG_NAME", "SessionLog", "TerminalView", "status_line", "terminal_mode"]

#: The session's log file, in its journal directory.
LOG_NAME = "session.log"


# -- formatting ---------------------------------------------------------------------------
def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _px(x: float | None) -> str:
    """A price with the venue's 5 significant figures (at least the integer digits)."""
    if x is None:
        return "-"
    a = abs(x)
    digits = len(str(int(a))) if a >= 1 else 0
    decimals = max(0, 5 - digits) if a >= 1 else 6
    return f"{x:.{decimals}f}"


def _signed(x: float | None, d: int = 2) -> str:
    if x is None:
        return "-"
    s = f"{x:+.{d}f}"
    return f"{0:.{d}f}" if float(s) == 0 else s


def _usd(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def _sz(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _gate(r: dict[str, Any]) -> list[str]:
    if not r:
        return ["no risk component"]
    return [
        "quoting" if r["quoting_allowed"] else "NOT QUOTING",
        "gate paused (stale data)" if r["gate_paused"] else "gate open",
        "KILL SWITCH TRIPPED"
        if r["killed"]
        else "stopping"
        if r.get("stopping")
        else "kill switch armed",
        "DAILY LOSS TRIPPED" if r["daily_tripped"] else "daily loss ok",
        "sides "
        + ("bid" if r["bid_allowed"] else "-")
        + "/"
        + ("ask" if r["ask_allowed"] else "-")
        + (" forcing" if r["forcing"] else ""),
    ]


def status_line(s: dict[str, Any]) -> str:
    """The sampled state as one plain line (non-terminal stdout and ``session.log``)."""
    p, pnl, m, q, rd = s["position"], s["pnl"], s["market"], s["quotes"], s["readiness"]
    return (
        f"{s['mode']} {s['coin']} {_hms(s['session_s'])} | pos {_signed(p['position'], 4)} | "
        f"PnL net {_signed(pnl.get('net'))} (realized {_signed(pnl.get('realized'))}, "
        f"unrealized {_signed(pnl.get('unrealized'))}, fees {_usd(pnl.get('fees'))}, "
        f"funding {_usd(pnl.get('funding'))}) | book {_px(m['best_bid'])}/{_px(m['best_ask'])}"
        f" | ours {_px(q['bid_px'])}/{_px(q['ask_px'])} | fills {s['fills']['count']} | "
        + ", ".join(_gate(s["risk"]))
        + f" | ready {rd['converged']}/{rd['gating']}, session {_hms(rd['session_s'])}/"
        f"{_hms(rd['min_session_s'])}, Kelly {rd['kelly_fills']}/{rd['min_kelly_fills']}"
    )


def _style(x: float | None) -> str:
    if x is None or abs(x) < 5e-3:
        return ""
    return "green" if x > 0 else "red"


def render_panel(
    s: dict[str, Any], *, url: str | None = None, log_line: str | None = None, log: str = ""
) -> Panel:
    """The live panel for one sampled state."""
    p, pnl, m, q, r, rd = (
        s["position"],
        s["pnl"],
        s["market"],
        s["quotes"],
        s["risk"],
        s["readiness"],
    )
    coin = s["coin"].split(":")[-1]
    g = Table.grid(padding=(0, 2))
    g.add_column(style="bold", no_wrap=True)
    g.add_column()

    pos = Text()
    pos.append(f"{_signed(p['position'], 4)} {coin}", style="bold")
    if p.get("notional_usd") is not None:
        pos.append(f"   {_usd(p['notional_usd'])} USD", style="dim")
    if p.get("avg_entry"):
        pos.append(f"   entry {_px(p['avg_entry'])}", style="dim")
    g.add_row("position", pos)

    line = Text("net ")
    line.append(_signed(pnl.get("net")), style="bold " + _style(pnl.get("net")))
    line.append(
        f"   realized {_signed(pnl.get('realized'))}   unrealized "
        f"{_signed(pnl.get('unrealized'))}   fees {_usd(pnl.get('fees'))}   funding "
        f"{_usd(pnl.get('funding'))}   max dd {_usd(pnl.get('max_drawdown_usd'))}",
        style="",
    )
    g.add_row("PnL (USD)", line)

    book = Text(f"{_px(m['best_bid'])} / {_px(m['best_ask'])}")
    if m.get("spread_bps") is not None:
        book.append(f" ({m['spread_bps']:.2f} bps)", style="dim")
    book.append("    ours ")
    book.append(f"{_px(q['bid_px'])} x {_sz(q['bid_sz'])}", style="green")
    book.append(" / ")
    book.append(f"{_px(q['ask_px'])} x {_sz(q['ask_sz'])}", style="red")
    mid = m.get("mid")
    if mid and (q["bid_px"] is not None or q["ask_px"] is not None):
        b = f"{(mid - q['bid_px']) / mid * 1e4:.1f}" if q["bid_px"] is not None else "-"
        a = f"{(q['ask_px'] - mid) / mid * 1e4:.1f}" if q["ask_px"] is not None else "-"
        book.append(f"  ({b} / {a} bps from mid)", style="dim")
    g.add_row("book", book)

    fills = s["fills"]
    ft = Text(f"{fills['count']:,}")
    if fills["recent"]:
        f = fills["recent"][0]
        t = datetime.fromtimestamp(f["t_ns"] / 1e9, UTC).strftime("%H:%M:%S")
        ft.append("   last: ")
        ft.append("buy" if f["side"] > 0 else "sell", style="green" if f["side"] > 0 else "red")
        ft.append(f" {_sz(f['sz'])} @ {_px(f['px'])} ({f['how']}, {t} UTC)")
    g.add_row("fills", ft)

    gate = Text()
    for i, part in enumerate(_gate(r)):
        if i:
            gate.append(" · ", style="dim")
        bad = part.isupper() or part.startswith("NOT") or "paused" in part
        gate.append(part, style="bold red" if part.isupper() else ("yellow" if bad else "green"))
    g.add_row("risk", gate)

    rt = Text(
        f"{rd['converged']} of {rd['gating']} converged · session {_hms(rd['session_s'])} of "
        f"{_hms(rd['min_session_s'])} · Kelly fills {rd['kelly_fills']} of "
        f"{rd['min_kelly_fills']}\n"
    )
    shown = [e for e in rd["estimators"] if e["name"] != "kelly"]  # Kelly: counted above
    for i, e in enumerate(shown):
        if i:
            rt.append("  ")
        rt.append(
            f"{e['name']} {e['n_obs']:,}/{e['min_obs']:,}" + (" ✓" if e["converged"] else ""),
            style="green" if e["converged"] else "",
        )
    g.add_row("readiness", rt)

    if log_line:
        g.add_row("log", Text(log_line, style="yellow", overflow="ellipsis", no_wrap=True))
    title = f"{s['mode']} {s['coin']} · {_hms(s['session_s'])} · {s['events']:,} events" + (
        f" · data {m['data_age_s']:.1f} s old"
        if m.get("data_age_s") is not None and m["data_age_s"] >= 2
        else ""
    )
    footer = Text(f"journal {s['journal']}" + (f" · log {log}" if log else ""), style="dim")
    if url:
        footer.append(f" · dashboard {url}", style="dim")
    return Panel(Group(g, footer), title=title, title_align="left", expand=False)


# -- the view -----------------------------------------------------------------------------
def terminal_mode(console: Console, enabled: bool) -> str:
    """``live`` on an interactive terminal, ``lines`` on anything else, ``off`` if not
    ``enabled``."""
    if not enabled:
        return "off"
    return "live" if console.is_terminal and not console.is_dumb_terminal else "lines"


class TerminalView:
    """Renders sampled states on ``console`` (see the module docstring).

    Parameters
    ----------
    console : Console
    mode : str
        ``live``, ``lines`` or ``off`` (:func:`terminal_mode`).
    lines_every_s : float
        Seconds between plain lines in ``lines`` mode.
    refresh_hz : float
        Redraws per second of the live panel.
    """

    def __init__(
        self,
        console: Console,
        mode: str,
        *,
        lines_every_s: float = 10.0,
        refresh_hz: float = 2.0,
        url: str | None = None,
        log: SessionLog | None = None,
    ) -> None:
        if mode not in ("live", "lines", "off"):
            raise ValueError(f"terminal mode must be live, lines or off, not {mode!r}")
        self.console = console
        self.mode = mode
        self.lines_every_s = lines_every_s
        self.refresh_hz = refresh_hz
        self.url = url
        self.log = log
        self.lines = 0
        self._live: Live | None = None
        self._next_line = 0.0

    def start(self) -> None:
        if self.mode == "live":
            # rich's own thread draws the panel (about 10 ms a frame, GIL shared in 5 ms
            # slices): the session's loop only swaps in a new panel (about 0.4 ms)
            self._live = Live(
                Text("waiting for the first sample ..."),
                console=self.console,
                auto_refresh=True,
                refresh_per_second=self.refresh_hz,
                transient=False,
                redirect_stdout=True,
                redirect_stderr=False,  # stderr goes to the session log (SessionLog)
            )
            self._live.start()
        self._next_line = time.monotonic() + self.lines_every_s

    def update(self, state: dict[str, Any], *, final: bool = False) -> None:
        if self.mode == "live" and self._live is not None:
            last = self.log.recent[-1] if self.log is not None and self.log.recent else None
            where = str(self.log.path) if self.log is not None else ""
            self._live.update(
                render_panel(state, url=self.url, log_line=last, log=where), refresh=final
            )
        elif self.mode == "lines":
            now = time.monotonic()
            if final or now >= self._next_line:
                self._next_line = now + self.lines_every_s
                self.console.print(
                    status_line(state), markup=False, highlight=False, soft_wrap=True
                )
                self.lines += 1

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


# -- the log file -------------------------------------------------------------------------
def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Tee:
    """``sys.stderr`` while a session runs: every line to the log, and to the real
    stderr when echoing."""

    def __init__(self, log: SessionLog, original: TextIO, echo: bool) -> None:
        self._log = log
        self._original = original
        self._echo = echo
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        with self._lock:  # the capture thread warns too
            if self._echo:
                self._original.write(s)
            text = self._partial + s
            *lines, self._partial = text.split("\n")
        for line in lines:
            if line.strip():
                self._log.write(line)
        return len(s)

    def flush(self) -> None:
        if self._echo:
            self._original.flush()

    def isatty(self) -> bool:
        return self._echo and self._original.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _LogHandler(logging.Handler):
    """``framework`` log records into the session log; WARNING and up also on stderr
    when echoing (what Python's last-resort handler printed before)."""

    def __init__(self, log: SessionLog, original: TextIO, echo: bool) -> None:
        super().__init__(logging.INFO)
        self._log = log
        self._original = original
        self._echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
            self._log.write(f"{record.levelname.lower()} {record.name}: {msg}")
            if self._echo and record.levelno >= logging.WARNING:
                self._original.write(msg + "\n")
                self._original.flush()
        except Exception:
            self.handleError(record)


class SessionLog:
    """``session.log`` in the journal directory, fed while the ``with`` block runs.

    Parameters
    ----------
    directory : Path
        The session's journal directory.
    echo : bool
        Also write stderr lines (and framework warnings) to the terminal.
    """

    LOGGER = "framework"

    def __init__(self, directory: Path | str, *, echo: bool) -> None:
        self.path = Path(directory) / LOG_NAME
        self.echo = echo
        self.recent: deque[str] = deque(maxlen=5)
        self.lines = 0
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._saved: Any = None
        self._handler: _LogHandler | None = None
        self._level = logging.NOTSET

    def write(self, line: str, *, show: bool = True) -> None:
        """One timestamped line (thread-safe); ``show``: also the panel's last log line
        (not for the session's own status lines)."""
        line = line.rstrip("\n")
        with self._lock:
            if show:
                self.recent.append(line)
            self.lines += 1
            if self._file is not None:
                self._file.write(f"{_stamp()} {line}\n")
                self._file.flush()

    def __enter__(self) -> SessionLog:
        self._file = self.path.open("a", encoding="utf-8")
        self._saved = sys.stderr
        sys.stderr = _Tee(self, self._saved, self.echo)
        logger = logging.getLogger(self.LOGGER)
        self._level = logger.level
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        self._handler = _LogHandler(self, self._saved, self.echo)
        logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger(self.LOGGER)
        if self._handler is not None:
            logger.removeHandler(self._handler)
            self._handler = None
        logger.setLevel(self._level)
        if self._saved is not None:
            tee = sys.stderr
            sys.stderr = self._saved
            if isinstance(tee, _Tee) and tee._partial.strip():
                self.write(tee._partial)
            self._saved = None
        with self._lock, contextlib.suppress(OSError):
            if self._file is not None:
                self._file.close()
            self._file = None
