"""``market-maker sim-exchange`` as a process: prints its port, serves, takes flags."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.simulator


def test_sim_exchange_command(tmp_path):
    addr = "0x" + "ab" * 20
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "cli.py"),
            "sim-exchange",
            "--port",
            "0",
            "--synthetic",
            "--seed",
            "3",
            "--speed",
            "20",
            "--deposit",
            f"{addr}=1234.5",
            "--fault",
            "reject:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("sim-exchange listening on http://127.0.0.1:"), line
        base = line.split()[3]
        assert "testnet" in line
        st = httpx.post(base + "/info", json={"type": "clearinghouseState", "user": addr}).json()
        assert st["marginSummary"]["accountValue"] == "1234.5"
        end = time.monotonic() + 5
        while time.monotonic() < end:
            mids = httpx.post(base + "/info", json={"type": "allMids"}).json()
            if "HYPE" in mids:
                break
            time.sleep(0.1)
        assert "HYPE" in mids
    finally:
        proc.terminate()
        proc.wait(10)


def test_sim_exchange_bad_deposit():
    r = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "sim-exchange", "--port", "0", "--deposit", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert r.returncode == 2 and "--deposit" in r.stderr


# -- every mistake: one line naming the flag and the fix, exit 2, nothing served ----------
def _sim_exchange(*args: str):
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, ["sim-exchange", *args])


@pytest.fixture
def corrupt_journal(tmp_path):
    root = tmp_path / "rec"
    root.mkdir()
    (root / "session.json").write_text("{not json")
    return root


@pytest.mark.parametrize(
    "args, words",
    [
        (["--port", "99999"], ["--port 99999: not a TCP port", "0 for a free one"]),
        (["--port", "-1"], ["--port -1: not a TCP port"]),
        (["--fault", "stall"], ["--fault 'stall': stall needs a number of seconds", "stall:5"]),
        (["--fault", "stall:-1"], ["--fault 'stall:-1': seconds must be a number >= 0"]),
        (["--fault", "reject:2.5"], ["--fault 'reject:2.5': orders must be a whole number"]),
        (["--fault", "drop:3"], ["--fault 'drop:3': drop takes no argument"]),
        (["--fault", "explode"], ["--fault 'explode': kind must be one of"]),
        (["--recording", "/nonexistent"], ["--recording /nonexistent: no such directory"]),
        (["--synthetic", "--asset", "FOO"], ["--asset FOO: no synthetic model", "HYPE"]),
        (["--asset", "BTC"], ["--asset BTC: only a --synthetic market takes an asset"]),
        (["--synthetic", "--recording", "."], ["--recording and --synthetic: pass one"]),
        (["--speed", "-1"], ["--speed -1: must be >= 0"]),
        (["--deposit", "nope"], ["--deposit 'nope': expected ADDRESS=USDC"]),
    ],
)
def test_sim_exchange_refuses_a_bad_flag_in_one_line(args, words):
    r = _sim_exchange("--port", "0", *args) if "--port" not in args else _sim_exchange(*args)
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and all(w in line for w in words), line
    assert "listening" not in r.stdout


def test_sim_exchange_names_a_corrupt_recording(corrupt_journal):
    r = _sim_exchange("--port", "0", "--recording", str(corrupt_journal))
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: --recording {corrupt_journal}: ")
    assert "session.json is unreadable" in line and "re-create the journal" in line
    assert (corrupt_journal / "session.json").read_text() == "{not json"  # left as it was


def test_sim_exchange_on_a_busy_port_says_so():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _sim_exchange("--port", str(port))
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: --port {port}: already in use") and "--port 0" in line


def test_sim_exchange_without_flags_serves_the_bundled_sample():
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "sim-exchange", "--port", "0", "--speed", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = proc.stdout.readline()
        assert "market: recordings/sample-hype (the bundled sample" in line, line
        base = line.split()[3]
        end = time.monotonic() + 10
        book: dict = {}
        while time.monotonic() < end and not book:
            book = httpx.post(base + "/info", json={"type": "l2Book", "coin": "HYPE"}).json() or {}
            time.sleep(0.1)
        assert book["coin"] == "HYPE" and book["levels"][0] and book["levels"][1]
    finally:
        proc.terminate()
        proc.wait(10)
