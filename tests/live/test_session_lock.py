"""One live session per account on a machine (framework.live.lock)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from framework.exits import UsageError
from framework.live.lock import SessionLock
from tests.live.conftest import make_account, run, start, stop, table, wait_quoting

ADDR = "0x" + "ab" * 20


def test_a_second_lock_on_an_address_is_refused_naming_the_holder(tmp_path):
    first = SessionLock([ADDR, ADDR.upper()], tmp_path).acquire()  # one lock per address
    try:
        with pytest.raises(UsageError, match=r"another live session trades it .*pid \d+"):
            SessionLock([ADDR], tmp_path).acquire()
        other = SessionLock(["0x" + "cd" * 20], tmp_path).acquire()  # another account: fine
        other.release()
    finally:
        first.release()
    SessionLock([ADDR], tmp_path).acquire().release()  # released: free again


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    code = (
        "import time; from pathlib import Path; from framework.live.lock import SessionLock; "
        f"held = SessionLock([{ADDR!r}], Path({str(tmp_path)!r})).acquire(); "
        "print('held', flush=True); time.sleep(60)"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(UsageError):
            SessionLock([ADDR], tmp_path).acquire()
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    SessionLock([ADDR], tmp_path).acquire().release()  # the kernel released it


def test_a_second_run_on_the_same_account_is_refused_before_it_connects(sim, tmp_path):
    # Two sessions on one account cancelled each other's orders as orphans and each
    # journaled the other's fills.
    acct = make_account(sim, "twice")
    first = start(sim, tmp_path, acct, "--force", "--out", "a")
    try:
        wait_quoting(sim, acct)
        second = run(sim, tmp_path, acct, "--force", "--duration", "2", "--out", "b")
        assert second.returncode == 2, second.stderr
        assert f"account {acct.address.lower()}: another live session trades it" in second.stderr
        assert not (tmp_path / "b").exists()
        # the first still quotes (its own requotes replace its orders: compare no oids)
        assert sim.open_orders(acct.address)
        code, _out, err = stop(first, signal.SIGINT)
        assert code == 0, err
        # nothing but the first session touched the account: no orphan cancels in it
        control = table(tmp_path / "a", "control").to_pylist()
        assert not [r for r in control if r["action"] == "cancel_orphan"]
    finally:
        if first.poll() is None:
            first.kill()
