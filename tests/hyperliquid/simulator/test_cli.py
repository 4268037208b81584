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
