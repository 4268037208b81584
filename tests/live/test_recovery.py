"""Crash and recovery, shutdown, the dead-man switch: real processes, real signals.

* SIGKILL mid-session, a fill and resting orders while it is down, then a restart:
  reconciliation journals the missed fill and the orphans, cancels the orphans, no
  cloid is used twice, nonces only go up; SIGINT then leaves nothing open.
* SIGSTOP (a frozen process): the venue's scheduleCancel kills its orders.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from framework.hyperliquid.dexes import AssetDirectory
from framework.hyperliquid.executor import Executor, OrderRequest
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.rest import RestClient
from framework.journal.manifest import read_manifest
from tests.live.conftest import (
    BASE_CONFIG,
    control,
    make_account,
    start,
    stop,
    table,
    verify,
    wait_for,
    wait_quoting,
    write_config,
)

pytestmark = pytest.mark.simulator


def _take(sim, taker, order: dict) -> dict:
    """The taker account sells (or buys) IOC through one of our resting orders: a size
    large enough to take every level down to (and all of) ours, whatever rests ahead."""

    async def go() -> dict:
        rest = RestClient(sim.base_url)
        try:
            d = await AssetDirectory.load(InfoClient(rest=rest))
            ex = Executor(
                signer=Signer.from_private_key(taker.key),
                nonces=NonceStore(None),
                directory=d,
                is_mainnet=False,
                rest=rest,
            )
            buy = order["side"] == "A"  # lift our ask, or hit our bid
            res = await ex.place([OrderRequest("HYPE", buy, order["limitPx"], "50000", tif="Ioc")])
            return {"ok": res.ok, "status": res.statuses[0]}
        finally:
            await rest.aclose()

    return asyncio.run(go())


def _nonce(tmp, acct) -> int:
    return json.loads((tmp / "ck" / "live" / "nonces.json").read_text())[acct.address]


def test_sigkill_then_restart_reconciles_and_sigint_leaves_nothing_open(sim, tmp_path):
    acct = make_account(sim, "crash")
    taker = make_account(sim, "crash-taker", 1e9)
    # the default profile (40-50 bps wide): the market itself rarely reaches its quotes
    cfg = write_config(tmp_path, '[strategy]\nspread_profile = "default"\n')
    a = start(sim, tmp_path, acct, "--force", "--config", str(cfg), "--out", "a")
    try:
        resting = wait_quoting(sim, acct)
    finally:
        a.kill()  # SIGKILL: no shutdown, orders stay on the venue
        a.communicate(timeout=10)
    nonce_a = _nonce(tmp_path, acct)
    # While it is down: one of its orders fills, the others keep resting.
    hit = _take(sim, taker, resting[0])
    assert hit["ok"] and hit["status"].status == "filled", hit
    fills = sim.info({"type": "userFills", "user": acct.address})
    tid = fills[0]["tid"]
    left = {o["oid"] for o in sim.open_orders(acct.address)}
    assert left, "some orders of the killed process still rest"

    b = start(sim, tmp_path, acct, "--force", "--config", str(cfg), "--out", "b")
    try:
        wait_for(lambda: (tmp_path / "b" / "session.json").exists(), 20, "journal b")
        wait_for(
            lambda: not (left & {o["oid"] for o in sim.open_orders(acct.address)}),
            20,
            "orphans cancelled",
        )
        wait_quoting(sim, acct)  # then it quotes again
        code, _out, err = stop(b, signal.SIGINT)
    finally:
        if b.poll() is None:
            b.kill()
    assert code == 0, err
    assert sim.open_orders(acct.address) == []  # SIGINT leaves no order open

    rows = control(tmp_path / "b")
    missed = [r for r in rows if r[:2] == ("reconcile", "fills_missed")]
    assert missed and missed[0][2] >= 1.0 and "crashed" in missed[0][3]
    orphans = [r for r in rows if r[:2] == ("reconcile", "orphans")]
    cancelled = {int(r[2]) for r in rows if r[1] == "cancel_orphan"}
    assert orphans[0][2] == len(cancelled)
    # the fills made while it was down are journaled inputs of the new session ...
    fb = table(tmp_path / "b", "fills")
    assert tid in fb.column("tid").to_pylist()
    # ... and every order left resting was either cancelled as an orphan or filled
    # meanwhile (the market keeps trading at 20x)
    assert left <= cancelled | set(fb.column("oid").to_pylist())
    # the account was adopted: the position the venue reports after the fill
    acct_rows = table(tmp_path / "b", "account")
    assert acct_rows.column("position").to_pylist()[0] != 0.0
    # no order is duplicated: every cloid placed by either process is unique
    places = []
    for j in ("a", "b"):
        cmd = table(tmp_path / j, "order_commands")
        places += [
            c
            for c, act in zip(
                cmd.column("cloid").to_pylist(), cmd.column("action").to_pylist(), strict=True
            )
            if act in ("place", "modify")
        ]
    assert len(places) == len(set(places))
    assert read_manifest(tmp_path / "a").seed != read_manifest(tmp_path / "b").seed
    # nonces never go backwards, and the venue refused none
    assert _nonce(tmp_path, acct) > nonce_a
    resp = table(tmp_path / "b", "order_responses")
    assert not any("nonce" in (e or "") for e in resp.column("error").to_pylist())
    assert any(r[:2] == ("shutdown", "cancel_all") for r in rows)
    verify(tmp_path / "a")  # the crashed journal verifies up to its last flush
    verify(tmp_path / "b")


def test_the_dead_man_switch_cancels_the_orders_of_a_frozen_process(sim, tmp_path):
    acct = make_account(sim, "frozen")
    cfg = write_config(
        tmp_path,
        BASE_CONFIG
        + "[live]\ndead_man_s = 6.0\ndead_man_refresh_s = 1.0\nshutdown_timeout_s = 3.0\n",
    )
    p = start(sim, tmp_path, acct, "--force", "--config", str(cfg), "--out", "j")
    try:
        resting = wait_quoting(sim, acct)
        p.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        wait_for(lambda: not sim.open_orders(acct.address), 12, "the venue to cancel")
        waited = time.monotonic() - t0
        st = sim.info({"type": "orderStatus", "user": acct.address, "oid": resting[0]["oid"]})
        assert st["order"]["status"] in ("scheduledCancel", "filled", "canceled"), st
        assert waited <= 8.0  # dead_man_s (6 s) after the last refresh, at most (+ 1 s)
        p.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        code, _, err = stop(p, signal.SIGINT)
    finally:
        if p.poll() is None:
            p.kill()
    assert code == 0, err
    verify(tmp_path / "j")
