"""The dashboard server: loopback only, read-only, a busy port refused before a session."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cli import app
from framework.dashboard.server import HOST, DashboardServer
from framework.exits import UsageError


@pytest.fixture
def server() -> Iterator[DashboardServer]:
    s = DashboardServer(0)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def busy() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen()
        yield s.getsockname()[1]


def _state(n: int) -> str:
    return json.dumps({"events": n})


def test_it_listens_on_loopback_only_and_serves_the_page(server):
    assert server.url == f"http://127.0.0.1:{server.port}/"
    assert server._sock.getsockname()[0] == "127.0.0.1"
    r = httpx.get(server.url)
    assert r.status_code == 200 and "market-maker" in r.text
    assert "<script" in r.text and "http" not in r.text.split("<script", 1)[1].split("ws://")[0]
    assert httpx.get(server.url + "state").json() is None  # nothing published yet


def test_the_websocket_says_hello_with_the_history_then_pushes_each_sample(server):
    server.publish(_state(1), [1000, 1.0, 2.0, None, None], 300_000)
    with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello" and hello["state"] == {"events": 1}
        assert hello["history"] == [[1000, 1.0, 2.0, None, None]]
        server.publish(_state(2), None, 300_000)
        msg = json.loads(ws.recv(timeout=5))
        assert msg == {"type": "state", "state": {"events": 2}}
    assert httpx.get(server.url + "state").json() == {"events": 2}


def test_the_stream_ends_with_going_away_when_the_server_stops():
    s = DashboardServer(0)
    s.start()
    with connect(f"ws://127.0.0.1:{s.port}/ws") as ws:
        ws.recv(timeout=5)
        s.stop()
        with pytest.raises(Exception) as exc:
            ws.recv(timeout=5)
    assert "1001" in str(exc.value)
    with pytest.raises(httpx.ConnectError):
        httpx.get(s.url, timeout=2)  # and the port is released


def test_other_hosts_and_origins_are_refused(server):
    # DNS rebinding: a page of evil.example resolving to 127.0.0.1
    r = httpx.get(server.url, headers={"Host": "evil.example"})
    assert r.status_code == 400
    # a page of another site opening a WebSocket to loopback
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{server.port}/ws", origin="http://evil.example").recv(timeout=5)
    with connect(
        f"ws://127.0.0.1:{server.port}/ws", origin=f"http://localhost:{server.port}"
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"


def test_it_is_read_only(server):
    assert httpx.post(server.url + "state", json={}).status_code == 405
    assert httpx.get(server.url + "admin").status_code == 404


def test_a_busy_port_is_a_usage_error(busy):
    with pytest.raises(UsageError, match=f"--dashboard-port {busy}: 127.0.0.1:{busy} is already"):
        DashboardServer(busy)


def test_paper_with_a_busy_dashboard_port_exits_2_before_anything(busy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as venue:
        venue.bind((HOST, 0))
        venue.listen()
        venue.setblocking(False)
        url = f"http://127.0.0.1:{venue.getsockname()[1]}"
        r = CliRunner().invoke(
            app,
            ["paper", "--asset", "HYPE", "--base-url", url, "--out", str(tmp_path / "p"),
             "--dashboard", "--dashboard-port", str(busy), "--quiet"],
        )  # fmt: skip
        with pytest.raises(BlockingIOError):
            venue.accept()  # the venue was never contacted
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line == (
        f"error: --dashboard-port {busy}: 127.0.0.1:{busy} is already in use (another "
        f"dashboard or program listens there); pass a free port, e.g. --dashboard-port "
        f"{busy + 1}"
    )
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--dashboard-port", "3001"], "--dashboard-port 3001: given without --dashboard"),
        (["--dashboard", "--dashboard-port", "70000"], "--dashboard-port 70000: not a TCP port"),
    ],
)
def test_dashboard_flags_are_checked(args, words, tmp_path):
    r = CliRunner().invoke(
        app, ["paper", "--asset", "HYPE", "--base-url", "http://127.0.0.1:9", *args]
    )
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: {words}"), line


def test_a_capture_without_chromium_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKET_MAKER_CHROMIUM", str(tmp_path / "no-chromium"))
    r = CliRunner().invoke(
        app,
        ["paper", "--asset", "HYPE", "--base-url", "http://127.0.0.1:9", "--out",
         str(tmp_path / "p"), "--capture", str(tmp_path / "png")],
    )  # fmt: skip
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line == (
        f"error: --capture {tmp_path / 'png'}: needs Chromium at {tmp_path / 'no-chromium'}; "
        "install it (Debian: apt-get install chromium) or set MARKET_MAKER_CHROMIUM to its path"
    )
    assert not (tmp_path / "p").exists() and not (tmp_path / "png").exists()
