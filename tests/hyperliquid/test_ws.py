"""WS client against a tiny in-test websockets server on 127.0.0.1 (port 0).

The server drops the first connection, stalls the book feed, sends malformed frames,
the legacy hello text frame and a ``channel: error``; it can stop answering pings.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from typing import Any

import pytest
from websockets.asyncio.server import serve

from framework.hyperliquid.errors import NotConnectedError, RequestTimeoutError
from framework.hyperliquid.ws import LEGACY_HELLO, WsClient, WsConfig, ws_url

BOOK = {
    "channel": "l2Book",
    "data": {
        "coin": "BTC",
        "time": 1787195067883,
        "levels": [
            [{"px": "69172.0", "sz": "1.2", "n": 5}],
            [{"px": "69173.0", "sz": "8.4", "n": 30}],
        ],
    },
}


class FakeVenue:
    """Scriptable server: per-connection behaviour set by the test."""

    def __init__(self) -> None:
        self.conns: list[Any] = []
        self.subscribes: list[tuple[int, dict]] = []
        self.answer_pings = True
        self.send_book_on_subscribe = True
        self.drop_first_after_book = True
        self.pings = 0

    async def handler(self, conn: Any) -> None:
        self.conns.append(conn)
        n = len(self.conns)
        if n == 1:
            await conn.send(LEGACY_HELLO)
        async for raw in conn:
            try:
                msg = json.loads(raw)
            except ValueError:
                await conn.send(json.dumps({"channel": "error", "data": f"Error parsing: {raw}"}))
                continue
            method = msg.get("method")
            if method == "subscribe":
                sub = msg["subscription"]
                self.subscribes.append((n, sub))
                echoed = (
                    {**sub, "nSigFigs": None, "mantissa": None} if sub["type"] == "l2Book" else sub
                )
                await conn.send(
                    json.dumps(
                        {
                            "channel": "subscriptionResponse",
                            "data": {"method": "subscribe", "subscription": echoed},
                        }
                    )
                )
                if n == 1:
                    await conn.send("garbage{not json")
                    await conn.send(json.dumps([1, 2, 3]))
                    await conn.send(
                        json.dumps({"channel": "error", "data": "Already subscribed: {}"})
                    )
                if self.send_book_on_subscribe and n == 1:
                    await conn.send(json.dumps(BOOK))
                    if self.drop_first_after_book:
                        await asyncio.sleep(0.05)
                        await conn.close()
                        return
            elif method == "ping":
                self.pings += 1
                if self.answer_pings:
                    await conn.send(json.dumps({"channel": "pong"}))
            elif method == "post":
                req = msg["request"]
                if req["payload"].get("type") == "ignore":
                    continue  # no answer: the client's timeout must fire
                if req["type"] == "info":
                    resp = {"type": "info", "payload": {"type": "l2Book", "data": BOOK["data"]}}
                else:
                    resp = {"type": "action", "payload": {"status": "err", "response": "bad nonce"}}
                await conn.send(
                    json.dumps({"channel": "post", "data": {"id": msg["id"], "response": resp}})
                )


async def _start(venue: FakeVenue):
    server = await serve(venue.handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}/ws"


FAST = WsConfig(
    ping_interval_s=0.1,
    reconnect_base_s=0.02,
    reconnect_cap_s=0.1,
    subscribe_timeout_s=1.0,
    post_timeout_s=0.3,
    stall_after_s=0.3,
    stall_reconnect_s=None,
)


async def _until(cond, timeout_s: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def test_ws_url_from_base_url():
    assert ws_url("https://api.hyperliquid.xyz") == "wss://api.hyperliquid.xyz/ws"
    assert ws_url("http://127.0.0.1:3001/") == "ws://127.0.0.1:3001/ws"


def test_reconnect_resubscribe_stall_and_bad_frames():
    async def main():
        venue = FakeVenue()
        server, url = await _start(venue)
        events: list[tuple[str, str, str | None]] = []
        msgs: list[tuple[dict, int]] = []
        ws = WsClient(
            url,
            on_message=lambda m, t: msgs.append((m, t)),
            on_connection=lambda *e: events.append(e),
            config=FAST,
            rng=random.Random(1),
        )
        await ws.subscribe({"type": "l2Book", "coin": "BTC"})  # recorded before connect
        await ws.start()
        # conn 1: book arrives, server drops; conn 2: resubscribed, book stalls
        await _until(lambda: ("ws", "resubscribed") in [(e[0], e[1]) for e in events[3:]])
        assert [s for _, s in venue.subscribes] == [{"type": "l2Book", "coin": "BTC"}] * 2
        assert [n for n, _ in venue.subscribes] == [1, 2]
        await _until(lambda: any(e[:2] == ("feed:l2Book", "stale") for e in events))
        await venue.conns[1].send(json.dumps(BOOK))
        await _until(lambda: any(e[:2] == ("feed:l2Book", "fresh") for e in events))
        await ws.close()
        server.close()
        await server.wait_closed()
        states = [(e[0], e[1]) for e in events]
        assert states[:5] == [
            ("ws", "connected"),
            ("ws", "resubscribed"),
            ("ws", "disconnected"),
            ("ws", "connected"),
            ("ws", "resubscribed"),
        ]
        assert states[5:7] == [("feed:l2Book", "stale"), ("feed:l2Book", "fresh")]
        assert ws.stats["legacy_hello"] == 1
        assert ws.stats["malformed"] == 2
        assert ws.stats["errors"] == 1 and "Already subscribed" in (ws.last_error or "")
        books = [m for m, _ in msgs if m["channel"] == "l2Book"]
        assert len(books) == 2
        assert all(isinstance(t, int) and t > 0 for _, t in msgs)
        assert "error" in [m["channel"] for m, _ in msgs]

    asyncio.run(main())


def test_two_missed_pongs_declare_the_link_dead():
    async def main():
        venue = FakeVenue()
        venue.answer_pings = False
        venue.send_book_on_subscribe = False
        server, url = await _start(venue)
        events: list[tuple] = []
        ws = WsClient(
            url, on_connection=lambda *e: events.append(e), config=FAST, rng=random.Random(2)
        )
        await ws.start()
        await _until(lambda: any(e[1] == "disconnected" for e in events))
        disc = next(e for e in events if e[1] == "disconnected")
        assert "without pong" in disc[2]
        assert venue.pings == 2  # dead on the third tick: two pings went unanswered
        await _until(lambda: len(venue.conns) >= 2)  # and it reconnects
        venue.answer_pings = True
        await ws.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_posts_with_ids_timeouts_and_not_connected():
    async def main():
        venue = FakeVenue()
        venue.send_book_on_subscribe = False
        server, url = await _start(venue)
        ws = WsClient(url, config=FAST, rng=random.Random(3))
        with pytest.raises(NotConnectedError):
            await ws.post_info({"type": "l2Book", "coin": "BTC"})
        await ws.start()
        await ws.wait_connected(2.0)
        book, action = await asyncio.gather(
            ws.post_info({"type": "l2Book", "coin": "BTC"}),
            ws.post_action({"action": {"type": "noop"}, "nonce": 1, "signature": {}}),
        )
        assert book["coin"] == "BTC"
        assert action == {"status": "err", "response": "bad nonce"}
        with pytest.raises(RequestTimeoutError):
            await ws.post_info({"type": "ignore"})
        ack = await ws.subscribe({"type": "trades", "coin": "BTC"})
        assert ack["subscription"] == {"type": "trades", "coin": "BTC"}
        await ws.close()
        with pytest.raises(NotConnectedError):
            await ws.post_info({"type": "l2Book", "coin": "BTC"})
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_connect_refused_keeps_retrying_without_events():
    async def main():
        events: list[tuple] = []
        ws = WsClient("ws://127.0.0.1:9/ws", on_connection=lambda *e: events.append(e), config=FAST)
        await ws.start()
        await asyncio.sleep(0.3)
        assert not ws.connected
        await ws.close()
        assert events == []

    asyncio.run(main())


def test_backoff_grows_when_the_server_keeps_dropping_at_once():
    async def main():
        times: list[float] = []

        async def drop(conn):
            times.append(asyncio.get_running_loop().time())
            await conn.close()

        server = await serve(drop, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        cfg = WsConfig(
            reconnect_base_s=0.02, reconnect_cap_s=0.16, reconnect_jitter=0.0, stall_after_s=None
        )
        events: list[tuple] = []
        ws = WsClient(
            f"ws://127.0.0.1:{port}/ws", on_connection=lambda *e: events.append(e), config=cfg
        )
        await ws.start()
        await asyncio.sleep(0.9)
        await ws.close()
        server.close()
        await server.wait_closed()
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # 0.02, 0.04, 0.08, 0.16, 0.16 ... (plus connect time): no reset to the base delay
        assert 4 <= len(times) <= 9, times
        assert gaps[2] > 0.07 and gaps[-1] > 0.15
        assert [e[1] for e in events[:4]] == ["connected", "disconnected"] * 2

    asyncio.run(main())
