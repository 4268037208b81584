"""The terminal view (live panel, plain lines, off) and the session log."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from rich.console import Console

from framework.environments.console import (
    SessionLog,
    TerminalView,
    render_panel,
    status_line,
    terminal_mode,
)

STATE = {
    "v": 1,
    "mode": "paper",
    "coin": "HYPE",
    "journal": "out/paper-HYPE-x",
    "wall_ns": 1_767_225_600_000_000_000,
    "event_ns": 1_767_225_600_000_000_000,
    "session_s": 75.4,
    "events": 12345,
    "market": {
        "best_bid": 37.051,
        "best_ask": 37.053,
        "mid": 37.052,
        "spread_bps": 0.54,
        "last_trade_px": 37.05,
        "mark_px": 37.06,
        "funding": 1e-5,
        "data_age_s": 0.2,
    },
    "quotes": {
        "bid_px": 37.021,
        "bid_sz": 2.7,
        "ask_px": 37.094,
        "ask_sz": 2.69,
        "open_orders": 2,
        "half_spread_bps": 9.9,
    },
    "position": {"position": -2.65, "avg_entry": 37.1, "notional_usd": -98.19},
    "pnl": {
        "realized": 0.5,
        "unrealized": -0.25,
        "fees": 0.03,
        "funding": 0.0,
        "net": 0.22,
        "equity": 10000.22,
        "max_drawdown_usd": 0.4,
        "volume_usd": 300.0,
    },
    "fills": {
        "count": 3,
        "recent": [
            {
                "seq": 9,
                "t_ns": 1_767_225_601_000_000_000,
                "side": -1,
                "px": 37.1,
                "sz": 2.65,
                "fee": 0.015,
                "how": "trade_through",
            },
        ],
    },
    "risk": {
        "quoting_allowed": False,
        "gate_paused": True,
        "killed": False,
        "daily_tripped": False,
        "forcing": False,
        "bid_allowed": True,
        "ask_allowed": True,
        "spread_mult": 1.0,
        "size_mult": 1.0,
        "headroom": 0.99,
        "states": {"quote_gate": "paused"},
        "changes": 1,
    },
    "readiness": {
        "estimators": [
            {"name": "volatility", "n_obs": 250, "min_obs": 200, "converged": True, "gating": True},
            {"name": "kappa", "n_obs": 12, "min_obs": 50, "converged": False, "gating": True},
            {"name": "kelly", "n_obs": 1, "min_obs": 20, "converged": False, "gating": False},
        ],
        "converged": 1,
        "gating": 5,
        "session_s": 75.4,
        "min_session_s": 1800.0,
        "kelly_fills": 1,
        "min_kelly_fills": 20,
    },
    "point": None,
}


def test_the_status_line_has_every_number_an_operator_needs():
    line = status_line(STATE)
    for words in (
        "paper HYPE 0:01:15",
        "pos -2.6500",
        "PnL net +0.22 (realized +0.50, unrealized -0.25, fees 0.03, funding 0.00)",
        "book 37.051/37.053",
        "ours 37.021/37.094",
        "fills 3",
        "NOT QUOTING, gate paused (stale data), kill switch armed",
        "ready 1/5, session 0:01:15/0:30:00, Kelly 1/20",
    ):
        assert words in line, words


def test_the_live_panel_renders_the_state():
    out = io.StringIO()
    console = Console(file=out, width=130, force_terminal=False, color_system=None)
    console.print(render_panel(STATE, url="http://127.0.0.1:3000/", log_line="warning: x"))
    text = out.getvalue()
    for words in (
        "paper HYPE · 0:01:15 · 12,345 events",
        "-2.6500 HYPE",
        "net +0.22",
        "ours 37.021 x 2.7 / 37.094 x 2.69",
        "last: sell 2.65 @ 37.100 (trade_through, 00:00:01 UTC)",
        "NOT QUOTING · gate paused (stale data)",
        "volatility 250/200 ✓",
        "warning: x",
        "dashboard http://127.0.0.1:3000/",
    ):
        assert words in text, words
    assert "kelly 1/20" not in text  # counted once, as "Kelly fills 1 of 20"


def test_the_mode_follows_the_terminal():
    tty = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert terminal_mode(tty, True) == "live"
    assert terminal_mode(pipe, True) == "lines"
    assert terminal_mode(tty, False) == "off"


def test_plain_lines_come_at_their_interval_and_once_at_the_end():
    out = io.StringIO()
    view = TerminalView(Console(file=out, force_terminal=False), "lines", lines_every_s=3600)
    view.start()
    for _ in range(5):
        view.update(STATE)
    assert out.getvalue() == ""
    view.update(STATE, final=True)
    view.stop()
    assert out.getvalue().splitlines() == [status_line(STATE)]


def test_the_live_view_redraws_in_place():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140)
    view = TerminalView(console, "live")
    view.start()
    view.update(STATE)
    view.update({**STATE, "events": 99999})
    view.stop()
    text = out.getvalue()
    assert "99,999 events" in text and "\x1b[" in text  # cursor moves: redrawn, not scrolled


def test_off_prints_nothing():
    out = io.StringIO()
    view = TerminalView(Console(file=out), "off")
    view.start()
    view.update(STATE, final=True)
    view.stop()
    assert out.getvalue() == ""


@pytest.mark.parametrize("echo", [True, False])
def test_the_session_log_takes_stderr_and_framework_logs(tmp_path, capsys, echo):
    with SessionLog(tmp_path, echo=echo) as log:
        print("warning: no market data", file=sys.stderr)
        logging.getLogger("framework.hyperliquid.ws").info("ws reconnecting in 1.00s")
        logging.getLogger("framework.hyperliquid.ws").warning("ws non-JSON frame")
        assert log.recent[-1] == "warning framework.hyperliquid.ws: ws non-JSON frame"
    lines = (tmp_path / "session.log").read_text().splitlines()
    assert [x.split(" ", 1)[1] for x in lines] == [
        "warning: no market data",
        "info framework.hyperliquid.ws: ws reconnecting in 1.00s",
        "warning framework.hyperliquid.ws: ws non-JSON frame",
    ]
    assert lines[0][:2] == "20" and lines[0][23] == "Z"  # UTC time stamp, ms
    err = capsys.readouterr().err
    if echo:  # as before the log existed: warnings on stderr, info not
        assert err == "warning: no market data\nws non-JSON frame\n"
    else:  # the live panel owns the terminal
        assert err == ""
    assert not isinstance(sys.stderr, type(log)) and "Tee" not in type(sys.stderr).__name__
    assert logging.getLogger("framework").handlers == []


def test_status_lines_in_the_log_are_not_shown_as_the_last_log_line(tmp_path):
    with SessionLog(tmp_path, echo=False) as log:
        log.write("warning: something")
        log.write(status_line(STATE), show=False)
    assert list(log.recent) == ["warning: something"]
    assert len((tmp_path / "session.log").read_text().splitlines()) == 2
