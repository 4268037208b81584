"""``paper --dashboard`` against the local exchange simulator, as a user runs it: the
page in headless Chromium shows numbers that change, ``--capture`` writes PNGs, the
terminal falls back to plain lines on a pipe, the log goes to session.log, and the
session still replays bit for bit."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from framework.dashboard.capture import CHROMIUM_ARGS, chromium
from framework.environments.replay import replay_command
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"

needs_chromium = pytest.mark.skipif(
    not os.access(chromium(), os.X_OK),
    reason=f"no Chromium at {chromium()} (Debian: apt-get install chromium; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    from framework.hyperliquid.simulator import SimConfig, SimulatorThread

    with SimulatorThread(SimConfig(port=0, recording=SAMPLE, speed=20.0)) as h:
        yield h.base_url


class Paper:
    """A ``paper`` session in a subprocess (stdout a pipe), its lines read as they come."""

    def __init__(self, base_url: str, tmp: Path, *extra: str, duration: float = 10) -> None:
        self.out = tmp / "p"
        cmd = [sys.executable, str(REPO / "cli.py"), "paper", "--asset", "HYPE",
               "--base-url", base_url, "--duration", str(duration), "--out", str(self.out),
               "--spread-profile", "aggressive", "--dashboard", "--dashboard-port", "0",
               *extra]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self.readers:
            t.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)
            self.lines.put(line)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def url(self) -> str:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.stderr)
                continue
            if line.startswith("dashboard: "):
                return line.split()[1]
        raise AssertionError("paper never said where its dashboard is")

    def wait(self) -> tuple[int, str, str]:
        self.proc.wait(timeout=90)
        for t in self.readers:  # both pipes read to their end
            t.join(10)
        return self.proc.returncode, "".join(self.stdout), "".join(self.stderr)


@pytest.mark.simulator
def test_the_dashboard_state_moves_and_the_terminal_falls_back_to_lines(sim, tmp_path):
    p = Paper(sim, tmp_path, duration=8)
    try:
        url = p.url()
        assert url.startswith("http://127.0.0.1:")
        seen = []
        end = time.monotonic() + 30
        while time.monotonic() < end and len({s["events"] for s in seen}) < 3:
            try:
                s = httpx.get(url + "state").json()
            except httpx.ConnectError:
                break  # the session ended (a loaded machine): judged below
            if s is not None:
                seen.append(s)
            time.sleep(0.3)
        code, out, err = p.wait()
    finally:
        p.proc.kill()
    assert code == 0, err
    events = [s["events"] for s in seen]
    assert len(set(events)) >= 3 and events == sorted(events)
    assert seen[-1]["mode"] == "paper" and seen[-1]["market"]["mid"] > 0
    # stdout is a pipe: plain status lines (here the last one), then the summary
    status = [x for x in out.splitlines() if x.startswith("paper HYPE ")]
    assert status and " | PnL net " in status[-1] and "| ready " in status[-1]
    assert "Session summary" in out
    log = (p.out / "session.log").read_text()
    assert f"dashboard: {url}" in log and "paper HYPE " in log
    assert replay_command(p.out, verify=True, until=None) == 0


@pytest.mark.simulator
@needs_chromium
def test_headless_chromium_shows_numbers_that_change_and_capture_writes_pngs(sim, tmp_path):
    from playwright.sync_api import sync_playwright

    captures = tmp_path / "captures"
    p = Paper(sim, tmp_path, "--capture", str(captures), duration=10)
    read = """() => ({
        events: document.getElementById('events').textContent,
        session: document.getElementById('session-time').textContent,
        bid: document.getElementById('book-bid').textContent,
        ask: document.getElementById('book-ask').textContent,
        net: document.getElementById('pnl-net').textContent,
        position: document.getElementById('position').textContent,
        volatility: document.getElementById('estimators').textContent,
        quoting: document.getElementById('risk-quoting').textContent,
        updates: window.__mm.updates,
    })"""
    try:
        url = p.url()
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                tempfile.mkdtemp(prefix="mm-test-chromium-"),
                executable_path=chromium(),
                headless=True,
                args=list(CHROMIUM_ARGS),
            )
            try:
                page = ctx.new_page()
                page.goto(url)
                page.wait_for_function("() => window.__mm && window.__mm.updates > 0")
                first = page.evaluate(read)
                # A later pushed state, a session second on (not a fixed sleep: on a
                # loaded machine a second can pass without a push, and two pushes can
                # fall in the same displayed second).
                page.wait_for_function(
                    """([n, s]) => window.__mm.updates > n
                        && document.getElementById('session-time').textContent !== s""",
                    arg=[first["updates"], first["session"]],
                    timeout=20_000,
                )
                second = page.evaluate(read)
            finally:
                ctx.close()
        code, _out, err = p.wait()
    finally:
        p.proc.kill()
    assert code == 0, err
    assert second["updates"] > first["updates"]
    assert int(second["events"].replace(",", "")) > int(first["events"].replace(",", ""))
    assert second["session"] != first["session"]
    for v in (second["bid"], second["ask"]):
        assert float(v) > 0  # the book's prices, as numbers
    assert float(second["net"]) == float(second["net"])  # a signed number, e.g. +0.00
    assert second["position"].endswith(" HYPE") and "volatility" in second["volatility"]
    assert second["quoting"] in ("quoting", "stopped")
    pngs = sorted(captures.glob("dashboard-*.png"))
    assert len(pngs) >= 2  # once the page had a state, and at the end
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert replay_command(p.out, verify=True, until=None) == 0


@pytest.mark.simulator
def test_a_browser_that_fails_is_a_warning_and_the_session_goes_on(sim, tmp_path):
    env = {**os.environ, "MARKET_MAKER_CHROMIUM": "/bin/false"}  # runs, is no browser
    cmd = [sys.executable, str(REPO / "cli.py"), "paper", "--asset", "HYPE", "--base-url", sim,
           "--duration", "3", "--out", str(tmp_path / "p"), "--capture", str(tmp_path / "png"),
           "--dashboard-port", "0"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=90)
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stderr.splitlines() if "screenshots stopped" in x]
    assert line.startswith(f"warning: --capture {tmp_path / 'png'}: screenshots stopped: ")
    assert "Session summary" in r.stdout and not list((tmp_path / "png").glob("*.png"))
    assert "screenshots stopped" in (tmp_path / "p" / "session.log").read_text()
