"""A live session under injected faults keeps running, pauses and resumes quoting as the
gate says, and its journal replays exactly: dropped connections, a book stall longer
than the stale-data gate (``[risk] stale_s`` shortened to 2 s, the 20 s of the issue
scaled down), a burst of HTTP 429 and rejected orders."""

from __future__ import annotations

import time

import pytest

from tests.live.conftest import (
    BASE_CONFIG,
    control,
    make_account,
    start,
    stop,
    table,
    verify,
    wait_quoting,
    write_config,
)

pytestmark = pytest.mark.simulator


def test_a_session_rides_out_drops_a_stall_429s_and_rejects(sim, tmp_path):
    acct = make_account(sim, "faults")
    cfg = write_config(tmp_path, BASE_CONFIG + "[risk]\nstale_s = 2.0\n")
    p = start(sim, tmp_path, acct, "--force", "--config", str(cfg), "--out", "j")
    try:
        wait_quoting(sim, acct)
        sim.fault(kind="reject", n=3)
        time.sleep(1.5)
        sim.fault(kind="drop")
        time.sleep(1.5)
        sim.fault(kind="429", seconds=1.0)
        time.sleep(1.5)
        sim.fault(kind="stall", seconds=4.0)
        time.sleep(5.5)
        wait_quoting(sim, acct)  # quoting again after the stall
        assert p.poll() is None  # still running
        code, _out, err = stop(p)
    finally:
        if p.poll() is None:
            p.kill()
    assert code == 0, err
    assert sim.open_orders(acct.address) == []
    j = tmp_path / "j"
    risk = table(j, "risk")
    gate = [
        s
        for r, s in zip(
            risk.column("rule").to_pylist(), risk.column("state").to_pylist(), strict=False
        )
        if r == "quote_gate"
    ]
    assert gate[:2] == ["paused", "resumed"], gate
    conn = table(j, "connection")
    states = list(
        zip(conn.column("link").to_pylist(), conn.column("state").to_pylist(), strict=False)
    )
    assert ("ws", "disconnected") in states and states.count(("ws", "connected")) >= 2
    resp = table(j, "order_responses")
    errors = [e for e in resp.column("error").to_pylist() if e]
    assert any("injected fault" in e for e in errors), errors
    # a reconnect triggers a resync with the venue, journaled
    assert any(r[:2] == ("reconcile", "resync") for r in control(j))
    # no cloid was placed twice
    cmd = table(j, "order_commands")
    placed = [
        c
        for c, a in zip(
            cmd.column("cloid").to_pylist(), cmd.column("action").to_pylist(), strict=False
        )
        if a != "cancel"
    ]
    assert len(placed) == len(set(placed))
    verify(j)
