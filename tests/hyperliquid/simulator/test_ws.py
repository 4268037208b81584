"""WebSocket shapes: acks, errors, pong, post, market and user channels."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from tests.hyperliquid.simulator.conftest import Trader

pytestmark = pytest.mark.simulator


def recv(ws, timeout=2.0):
    return json.loads(ws.recv(timeout=timeout))


def recv_channel(ws, channel, timeout=2.0):
    while True:
        msg = recv(ws, timeout)
        if msg["channel"] == channel:
            return msg


def collect(ws, channels, timeout=2.0):
    """First message of each channel in ``channels`` (in whatever order they arrive)."""
    got = {}
    while not set(channels) <= set(got):
        msg = recv(ws, timeout)
        got.setdefault(msg["channel"], msg["data"])
    return got


def send(ws, obj):
    ws.send(json.dumps(obj))


def test_acks_errors_and_pong(sim):
    with connect(sim.ws_url) as ws:
        send(ws, {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "HYPE"}})
        assert recv(ws) == {
            "channel": "subscriptionResponse",
            "data": {
                "method": "subscribe",
                "subscription": {
                    "type": "l2Book",
                    "coin": "HYPE",
                    "nSigFigs": None,
                    "mantissa": None,
                },
            },
        }
        book = recv(ws)
        assert book["channel"] == "l2Book" and book["data"]["coin"] == "HYPE"
        assert len(book["data"]["levels"]) == 2 and isinstance(book["data"]["time"], int)
        send(ws, {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "HYPE"}})
        err = recv(ws)
        assert err["channel"] == "error" and err["data"].startswith("Already subscribed: ")
        send(ws, {"method": "unsubscribe", "subscription": {"type": "l2Book", "coin": "HYPE"}})
        assert recv(ws)["data"]["method"] == "unsubscribe"
        send(ws, {"method": "unsubscribe", "subscription": {"type": "l2Book", "coin": "HYPE"}})
        assert recv(ws)["channel"] == "error"
        ws.send("{oops")
        err = recv(ws)
        assert err["channel"] == "error"
        assert err["data"].startswith("Error parsing JSON into valid websocket request")
        send(ws, {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "NOPE"}})
        assert recv(ws)["channel"] == "error"
        # A list or an object as the coin is an error reply, not a server-side TypeError
        # that drops the connection.
        for coin in (["HYPE"], {"c": 1}):
            send(ws, {"method": "subscribe", "subscription": {"type": "trades", "coin": coin}})
            assert recv(ws)["channel"] == "error"
        send(ws, {"method": "ping"})
        assert recv(ws) == {"channel": "pong"}


def test_post_info_and_action(sim):
    t = Trader(sim)
    t.register()
    with connect(sim.ws_url) as ws:
        send(
            ws,
            {
                "method": "post",
                "id": 5,
                "request": {
                    "type": "info",
                    "payload": {"type": "l2Book", "coin": "HYPE", "nSigFigs": 5, "mantissa": None},
                },
            },
        )
        msg = recv(ws)
        assert msg["channel"] == "post" and msg["data"]["id"] == 5
        resp = msg["data"]["response"]
        assert resp["type"] == "info" and resp["payload"]["type"] == "l2Book"
        assert resp["payload"]["data"]["levels"][0][0]["px"] == "25.0"
        order = {
            "type": "order",
            "orders": [
                {
                    "a": 2,
                    "b": True,
                    "p": "24.5",
                    "s": "1",
                    "r": False,
                    "t": {"limit": {"tif": "Gtc"}},
                }
            ],
            "grouping": "na",
        }
        send(
            ws,
            {
                "method": "post",
                "id": 6,
                "request": {"type": "action", "payload": t.envelope(order)},
            },
        )
        msg = recv(ws)
        assert msg["data"]["id"] == 6
        payload = msg["data"]["response"]["payload"]
        assert msg["data"]["response"]["type"] == "action"
        assert payload["status"] == "ok" and "resting" in payload["response"]["data"]["statuses"][0]
        # a rejection is still an action response
        send(
            ws,
            {
                "method": "post",
                "id": 7,
                "request": {"type": "action", "payload": t.envelope(order, nonce=1)},
            },
        )
        msg = recv(ws)
        assert msg["data"]["response"]["payload"]["status"] == "err"
        send(ws, {"method": "post", "request": {"type": "info", "payload": {"type": "meta"}}})
        err = recv(ws)
        assert err["channel"] == "error" and "id" not in err


def test_user_channels(sim):
    t = Trader(sim)
    t.register()
    with connect(sim.ws_url) as ws:
        for sub in (
            {"type": "orderUpdates", "user": t.address},
            {"type": "userEvents", "user": t.address},
            {"type": "userFills", "user": t.address},
        ):
            send(ws, {"method": "subscribe", "subscription": sub})
            assert recv(ws)["channel"] == "subscriptionResponse"
        snap = recv(ws)
        assert snap == {
            "channel": "userFills",
            "data": {"isSnapshot": True, "user": t.address, "fills": []},
        }
        st = t.order(True, "24.5", "2", cloid="0x" + "00" * 15 + "01")
        oid = st["resting"]["oid"]
        up = recv_channel(ws, "orderUpdates")["data"]
        assert up == [
            {
                "order": {
                    "coin": "HYPE",
                    "side": "B",
                    "limitPx": "24.5",
                    "sz": "2.0",
                    "oid": oid,
                    "timestamp": up[0]["order"]["timestamp"],
                    "origSz": "2.0",
                    "cloid": "0x" + "00" * 15 + "01",
                },
                "status": "open",
                "statusTimestamp": up[0]["statusTimestamp"],
            }
        ]
        t.act({"type": "cancel", "cancels": [{"a": 2, "o": oid}]})
        assert recv_channel(ws, "orderUpdates")["data"][0]["status"] == "canceled"
        t.order(True, "24.5", "1", "Ioc")
        assert recv_channel(ws, "orderUpdates")["data"][0]["status"] == "iocCancelRejected"
        t.order(False, "25", "1", "Ioc")
        got = {}
        while len(got) < 3:
            msg = recv(ws)
            got[msg["channel"]] = msg["data"]
        upd = got["orderUpdates"][0]
        assert upd["status"] == "filled" and upd["order"]["sz"] == "0.0"
        fills = got["userFills"]
        assert fills["user"] == t.address and not fills.get("isSnapshot")
        f = fills["fills"][0]
        assert set(f) >= {
            "coin",
            "px",
            "sz",
            "side",
            "time",
            "startPosition",
            "dir",
            "closedPnl",
            "hash",
            "oid",
            "crossed",
            "fee",
            "tid",
            "feeToken",
        }
        assert got["user"] == {"fills": [f]}  # userEvents: no user field


def test_market_channels(sim):
    t = Trader(sim)
    t.register()
    with connect(sim.ws_url) as ws:
        for sub in (
            {"type": "bbo", "coin": "HYPE"},
            {"type": "trades", "coin": "HYPE"},
            {"type": "allMids"},
            {"type": "activeAssetCtx", "coin": "HYPE"},
        ):
            send(ws, {"method": "subscribe", "subscription": sub})
        first = {}
        while "allMids" not in first or first.get("subscriptionResponse", 0) < 4:
            msg = recv(ws)
            if msg["channel"] == "subscriptionResponse":
                first["subscriptionResponse"] = first.get("subscriptionResponse", 0) + 1
            else:
                first.setdefault(msg["channel"], msg["data"])
        assert first["bbo"]["bbo"] == [
            {"px": "25.0", "sz": "10.0", "n": 1},
            {"px": "25.01", "sz": "10.0", "n": 1},
        ]
        assert first["allMids"] == {"mids": {"HYPE": "25.005"}}
        sim.step(2)  # ctx, then a market trade
        got = collect(ws, ["activeAssetCtx", "trades"])
        ctx = got["activeAssetCtx"]
        assert ctx["coin"] == "HYPE" and ctx["ctx"]["markPx"] == "25.005"
        assert set(ctx["ctx"]) >= {
            "funding",
            "openInterest",
            "oraclePx",
            "markPx",
            "midPx",
            "impactPxs",
            "dayNtlVlm",
            "premium",
            "prevDayPx",
        }
        tr = got["trades"]
        assert tr[0]["side"] == "A" and tr[0]["px"] == "25.0" and tr[0]["sz"] == "4.0"
        assert set(tr[0]) == {"coin", "side", "px", "sz", "time", "hash", "tid", "users"}
        # our own quote improves the bid: bbo changes
        t.order(True, "25.001", "1", "Alo")
        bbo = recv_channel(ws, "bbo")["data"]["bbo"]
        assert bbo[0] == {"px": "25.001", "sz": "1.0", "n": 1}


def test_paced_replay_pushes_without_stepping(sim_factory):
    sim = sim_factory(step=0, speed=1000.0)  # the hour gap is compressed to 3.6 s; only wait for
    with connect(sim.ws_url) as ws:  # the first events
        send(ws, {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "hyena:HYPE"}})
        recv(ws)
        book = recv_channel(ws, "l2Book", timeout=3)
        assert book["data"]["coin"] == "hyena:HYPE"


def test_idle_connection_is_closed(sim_factory):
    from websockets.exceptions import ConnectionClosed

    sim = sim_factory(ws_idle_s=0.3)
    with connect(sim.ws_url) as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=3)


def test_subscription_limits(sim_factory):
    sim = sim_factory(ws_max_subscriptions=3, ws_max_users=2)
    users = ["0x" + f"{i:040x}" for i in range(1, 4)]
    with connect(sim.ws_url) as ws:
        for u in users[:2]:
            send(ws, {"method": "subscribe", "subscription": {"type": "orderUpdates", "user": u}})
            assert recv(ws)["channel"] == "subscriptionResponse"
        send(
            ws, {"method": "subscribe", "subscription": {"type": "orderUpdates", "user": users[2]}}
        )
        assert recv(ws) == {"channel": "error", "data": "Cannot track more than 2 total users"}
        send(ws, {"method": "subscribe", "subscription": {"type": "trades", "coin": "HYPE"}})
        assert recv(ws)["channel"] == "subscriptionResponse"
        send(ws, {"method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}})
        err = recv(ws)
        assert err["channel"] == "error" and "3 total subscriptions" in err["data"]
