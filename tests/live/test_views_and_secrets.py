"""``run`` as an operator watches it: --list-dexs as the seed writes it, the dashboard of a
live session, and the key absent from everything a live session writes or prints."""

from __future__ import annotations

import re
import subprocess
import time

import httpx
import pytest

from framework.hyperliquid.keys import Signer
from tests.live.conftest import Account, env_for, run, run_args, verify
from tests.test_secrets import KEY, key_leaks, scan_for_key

pytestmark = pytest.mark.simulator


def test_run_list_dexs_prints_what_list_dexs_prints(sim, tmp_path):
    from tests.conftest import REPO

    listed = subprocess.run(
        [run_args(sim, tmp_path)[0], str(REPO / "cli.py"), "list-dexs", "--base-url", sim.base_url],
        capture_output=True,
        text=True,
    )
    done = subprocess.run(
        [*run_args(sim, tmp_path), "--list-dexs"],
        capture_output=True,
        text=True,
        env=env_for(Account("", "")) | {"HL_PRIVATE_KEY": ""},  # no key needed
    )
    assert listed.returncode == done.returncode == 0, done.stderr
    assert done.stdout == listed.stdout and "hyena" in done.stdout


def test_a_live_session_serves_its_dashboard_and_never_shows_the_key(sim, tmp_path):
    acct = Account(KEY, Signer.from_private_key(KEY).address)
    sim.deposit(acct.address, 100_000.0)
    out = tmp_path / "live"
    p = subprocess.Popen(
        [
            *run_args(
                sim,
                tmp_path,
                "--force",
                "--duration",
                "6",
                "--out",
                str(out),
                "--dashboard",
                "--dashboard-port",
                "0",
            )
        ],
        env=env_for(acct),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url, seen = None, []
        end = time.monotonic() + 40
        while time.monotonic() < end and p.poll() is None and url is None:
            log = out / "session.log"
            if log.exists():
                m = re.search(r"dashboard: (http://127\.0\.0\.1:\d+/)", log.read_text())
                url = m.group(1) if m else None
            time.sleep(0.1)
        assert url is not None, "no dashboard URL in session.log"
        while time.monotonic() < end and p.poll() is None and len(seen) < 6:
            try:
                s = httpx.get(url + "state").json()
            except httpx.ConnectError:
                break
            if s:
                seen.append(s)
            time.sleep(0.25)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 0, stderr
    assert seen and seen[-1]["mode"] == "live" and seen[-1]["coin"] == "HYPE"
    assert len({s["events"] for s in seen}) >= 2  # it moves
    verify(out)
    # the key: not in anything printed, not in any file of the session (journal, log,
    # checkpoints, nonces)
    assert not key_leaks(stdout.encode()) and not key_leaks(stderr.encode())
    assert scan_for_key(tmp_path) == {}


def test_a_live_run_refuses_a_bad_key_without_echoing_it(sim, tmp_path):
    bad = KEY[:-3] + "xyz"
    done = run(sim, tmp_path, Account(bad, ""), "--force", "--duration", "1")
    assert done.returncode == 2
    assert "HL_PRIVATE_KEY" in done.stderr
    assert not key_leaks(done.stderr.encode()) and KEY[2:40] not in done.stderr
