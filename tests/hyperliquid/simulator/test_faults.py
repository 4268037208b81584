"""Fault injection observed from plain httpx / websockets clients."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from framework.hyperliquid.simulator import errors as E
from framework.hyperliquid.simulator.faults import parse_fault_flag
from tests.hyperliquid.simulator.conftest import Trader

pytestmark = pytest.mark.simulator


def _recv(ws, timeout=2.0):
    return json.loads(ws.recv(timeout=timeout))


def _subscribe(ws, sub):
    ws.send(json.dumps({"method": "subscribe", "subscription": sub}))
    ack = _recv(ws)
    assert ack["channel"] == "subscriptionResponse", ack
    return ack


def test_429_for_n_seconds(sim):
    sim.fault(kind="429", seconds=0.5)
    r = httpx.post(sim.base_url + "/info", json={"type": "meta"})
    assert r.status_code == 429
    r = httpx.post(sim.base_url + "/exchange", json={})
    assert r.status_code == 429
    time.sleep(0.6)
    assert httpx.post(sim.base_url + "/info", json={"type": "meta"}).status_code == 200


def test_drop_every_connection(sim):
    with connect(sim.ws_url) as a, connect(sim.ws_url) as b:
        _subscribe(a, {"type": "trades", "coin": "HYPE"})
        sim.fault(kind="drop")
        for ws in (a, b):
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=2)
    with connect(sim.ws_url) as c:  # reconnecting works
        _subscribe(c, {"type": "l2Book", "coin": "HYPE"})


def test_stall_book_feed_while_socket_stays_open(sim):
    with connect(sim.ws_url) as ws:
        _subscribe(ws, {"type": "l2Book", "coin": "HYPE"})
        assert _recv(ws)["channel"] == "l2Book"  # current book after the ack
        t_fault = time.monotonic()
        sim.fault(kind="stall", seconds=1.5)
        sim.step(5)  # the market moves on (trades, ctx, a new book) ...
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)  # ... but nothing is pushed
        ws.send(json.dumps({"method": "ping"}))
        assert _recv(ws) == {"channel": "pong"}  # the socket is alive
        time.sleep(max(0.0, t_fault + 1.6 - time.monotonic()))
        sim.step(1)
        msg = _recv(ws)
        assert msg["channel"] == "l2Book"


def test_malformed_frame(sim):
    with connect(sim.ws_url) as ws:
        sim.fault(kind="malformed")
        raw = ws.recv(timeout=2)
        with pytest.raises(ValueError):
            json.loads(raw)
        ws.send(json.dumps({"method": "ping"}))
        assert _recv(ws) == {"channel": "pong"}


def test_reject_next_n_orders(trader):
    trader.sim.fault(kind="reject", n=2)
    assert trader.order(True, "24", "1") == {"error": E.FAULT_REJECT}
    assert trader.order(True, "24", "1") == {"error": E.FAULT_REJECT}
    assert "resting" in trader.order(True, "24", "1")


def test_delay_responses(sim):
    t0 = time.monotonic()
    httpx.post(sim.base_url + "/info", json={"type": "allMids"})
    fast = time.monotonic() - t0
    sim.fault(kind="delay", ms=500, seconds=5)
    t0 = time.monotonic()
    assert httpx.post(sim.base_url + "/info", json={"type": "allMids"}).status_code == 200
    slow = time.monotonic() - t0
    assert slow >= 0.5 > fast
    with connect(sim.ws_url) as ws:
        t0 = time.monotonic()
        ws.send(
            json.dumps(
                {
                    "method": "post",
                    "id": 1,
                    "request": {"type": "info", "payload": {"type": "allMids"}},
                }
            )
        )
        assert _recv(ws)["channel"] == "post"
        assert time.monotonic() - t0 >= 0.5
    sim.fault(kind="clear")
    t0 = time.monotonic()
    httpx.post(sim.base_url + "/info", json={"type": "allMids"})
    assert time.monotonic() - t0 < 0.5


def test_ws_post_during_429_fault(sim):
    with connect(sim.ws_url) as ws:
        sim.fault(kind="429", seconds=1)
        ws.send(
            json.dumps(
                {
                    "method": "post",
                    "id": 9,
                    "request": {"type": "info", "payload": {"type": "meta"}},
                }
            )
        )
        msg = _recv(ws)
        assert msg["data"]["id"] == 9 and msg["data"]["response"]["type"] == "error"


def test_fault_flags_at_start(sim_factory):
    assert parse_fault_flag("stall:5") == {"kind": "stall", "seconds": 5.0}
    assert parse_fault_flag("reject:2") == {"kind": "reject", "n": 2.0}
    with pytest.raises(ValueError, match="kind must be one of"):
        parse_fault_flag("explode")
    sim = sim_factory(faults=({"kind": "reject", "n": 1},))
    t = Trader(sim)
    t.register()
    assert t.order(True, "24", "1") == {"error": E.FAULT_REJECT}
    assert "resting" in t.order(True, "24", "1")


def test_admin_rejects_bad_fault(sim):
    r = sim.http.post("/admin/fault", json={"kind": "stall"})
    assert r.status_code == 400 and "seconds" in r.text


def test_admin_fault_refuses_a_fractional_reject_count(sim):
    r = sim.http.post("/admin/fault", json={"kind": "reject", "n": 2.5})
    assert r.status_code == 400 and "n: 2.5 must be a whole number" in r.text
    t = Trader(sim)
    t.register()
    assert "resting" in t.order(True, "24", "1")  # nothing was armed
