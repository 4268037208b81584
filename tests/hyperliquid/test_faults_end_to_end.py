"""Our WsClient / InfoClient / Executor against faults injected by the REAL simulator.

Every test starts the simulator in-process (``run_simulator``, loopback, port 0) on an
accelerated synthetic market, arms a fault through ``POST /admin/fault`` and checks that
our client survives it: it stays or comes back connected, resubscribes, reports the
stall as a staleness event, retries 429 with backoff, surfaces rejections and delays.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from framework.events.classes import OrderCommand
from framework.hyperliquid import wire
from framework.hyperliquid.dexes import AssetDirectory
from framework.hyperliquid.errors import RateLimitedError, RequestTimeoutError
from framework.hyperliquid.executor import Executor, OrderRequest
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.rest import RestClient, RetryPolicy
from framework.hyperliquid.simulator import errors as E
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import run_simulator
from framework.hyperliquid.ws import WsClient, WsConfig

pytestmark = pytest.mark.simulator

SIGNER = Signer.from_private_key("0x" + "5a" * 32)
BOOK = {"type": "l2Book", "coin": "HYPE"}
TRADES = {"type": "trades", "coin": "HYPE"}
# fast client timings: keepalive pings answered by the simulator even while stalled
FAST = WsConfig(
    ping_interval_s=0.1,
    reconnect_base_s=0.05,
    reconnect_cap_s=0.2,
    subscribe_timeout_s=2.0,
    post_timeout_s=2.0,
    stall_after_s=0.4,
    stall_reconnect_s=None,
)


def _sim_config(**kw: Any) -> SimConfig:
    # speed 30: the synthetic market pushes several l2Book updates per second
    base: dict[str, Any] = {
        "port": 0,
        "synthetic": True,
        "asset": "HYPE",
        "seed": 11,
        "speed": 30.0,
        "deposits": {SIGNER.address: 10_000.0},
    }
    base.update(kw)
    return SimConfig(**base)


class Probe:
    """A WsClient wired to lists of what it reports."""

    def __init__(self, url: str, config: WsConfig = FAST) -> None:
        self.events: list[tuple[str, str, str | None]] = []
        self.msgs: list[tuple[float, dict]] = []
        self.ws = WsClient(
            url,
            on_message=lambda m, _t: self.msgs.append((time.monotonic(), m)),
            on_connection=lambda *e: self.events.append(e),
            config=config,
            rng=random.Random(7),
        )

    async def start(self, *subscriptions: dict) -> None:
        """Subscribe (the client re-sends these on every reconnect) and connect."""
        for sub in subscriptions:
            await self.ws.subscribe(sub)
        await self.ws.start()

    def states(self, link: str | None = None) -> list[str]:
        return [e[1] for e in self.events if link is None or e[0] == link]

    def books_after(self, t: float) -> int:
        return sum(1 for ts, m in self.msgs if ts > t and m["channel"] == "l2Book")


async def until(cond: Callable[[], bool], timeout_s: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout_s}s: {what}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def venue(**kw: Any):
    """(simulator handle, admin fault poster)."""
    async with run_simulator(_sim_config(**kw)) as h, httpx.AsyncClient(timeout=10) as admin:

        async def fault(**spec: Any) -> None:
            r = await admin.post(h.base_url + "/admin/fault", json=spec)
            assert r.status_code == 200, r.text

        yield h, fault


async def _executor(h: Any, ws: WsClient | None, rest: RestClient | None = None) -> Executor:
    rest = rest or RestClient(h.base_url)
    directory = await AssetDirectory.load(InfoClient(rest=rest), dexes=None)
    return Executor(
        signer=SIGNER,
        nonces=NonceStore(None),
        directory=directory,
        is_mainnet=False,
        rest=rest,
        ws=ws,
    )


async def _far_bid(h: Any, rest: RestClient) -> tuple[Decimal, Decimal]:
    """A valid resting bid ~5% under the market worth ~$20."""
    book = await InfoClient(rest=rest).l2_book("HYPE")
    px = wire.round_price(book.bids[0].px * 0.95, 2, True)
    return px, wire.round_size(20 / float(px), 2, down=False)


def _place_cmd(cloid: str, px: Decimal, sz: Decimal) -> OrderCommand:
    return OrderCommand(
        9, 0, 0, cloid, "place", "HYPE", 1, float(px), float(sz), "Alo", False, None, 8, "test"
    )


# -- drop every connection ------------------------------------------------------------------


def test_ws_client_reconnects_and_resubscribes_after_drop():
    async def main():
        async with venue() as (h, fault):
            p = Probe(h.ws_url)
            await p.start(BOOK, TRADES)
            await until(lambda: p.states("ws") == ["connected", "resubscribed"], what="up")
            await until(lambda: p.books_after(0) > 0, what="first book")
            for n in (1, 2):  # twice: the second drop hits the reconnected socket
                await fault(kind="drop")
                await until(lambda n=n: p.states("ws").count("resubscribed") == n + 1, what="re")
            t_back = time.monotonic()
            await until(lambda: p.books_after(t_back) > 0, what="books after reconnect")
            assert p.states("ws") == ["connected", "resubscribed", "disconnected"] * 2 + [
                "connected",
                "resubscribed",
            ]
            assert p.ws.stats["resubscribes"] == 3 and p.ws.stats["disconnects"] == 2
            assert p.events[1][2] == "2 subscription(s)" == p.events[-1][2]
            # posts work on the new socket
            mids = await p.ws.post_info({"type": "allMids"})
            assert "HYPE" in mids
            await p.ws.close()

    asyncio.run(main())


# -- stall the book feed while the socket stays open -----------------------------------------


def test_book_stall_is_a_staleness_event_and_the_socket_stays_open():
    async def main():
        async with venue() as (h, fault):
            p = Probe(h.ws_url)
            await p.start(BOOK)
            await until(lambda: p.books_after(0) > 0, what="first book")
            await fault(kind="stall", seconds=1.2)
            t_fault = time.monotonic()
            await until(lambda: ("feed:l2Book", "stale") in [e[:2] for e in p.events], what="st")
            await until(lambda: ("feed:l2Book", "fresh") in [e[:2] for e in p.events], 4, "fr")
            t_fresh = time.monotonic()
            assert 1.0 <= t_fresh - t_fault < 3.0
            # no book was delivered while stalled (small grace for one in flight) ...
            assert p.books_after(t_fault + 0.1) - p.books_after(t_fault + 1.1) == 0
            # ... and books flow again after it
            await until(lambda: p.books_after(t_fresh) > 0, what="books after the stall")
            # the socket stayed open: pongs kept it alive, no reconnect
            assert p.states("ws") == ["connected", "resubscribed"]
            assert p.ws.stats["stale"] == 1 and p.ws.connected
            stale = next(e for e in p.events if e[:2] == ("feed:l2Book", "stale"))
            assert "while connected" in (stale[2] or "")
            await p.ws.close()

    asyncio.run(main())


def test_long_book_stall_forces_a_reconnect_and_resubscribe():
    async def main():
        cfg = WsConfig(
            ping_interval_s=0.1,
            reconnect_base_s=0.05,
            reconnect_cap_s=0.2,
            subscribe_timeout_s=2.0,
            stall_after_s=0.3,
            stall_reconnect_s=0.3,
        )
        async with venue() as (h, fault):
            p = Probe(h.ws_url, cfg)
            await p.start(BOOK)
            await until(lambda: p.books_after(0) > 0, what="first book")
            await fault(kind="stall", seconds=1.0)
            await until(lambda: "disconnected" in p.states("ws"), 3, "forced reconnect")
            disc = next(e for e in p.events if e[1] == "disconnected")
            assert "feed stalled" in (disc[2] or "")
            t_stall_end = time.monotonic()
            await until(lambda: p.books_after(t_stall_end) > 0, 4, "books again")
            assert p.states("ws")[:5] == [
                "connected",
                "resubscribed",
                "disconnected",
                "connected",
                "resubscribed",
            ]
            await p.ws.close()

    asyncio.run(main())


# -- 429 for N seconds ----------------------------------------------------------------------


def test_info_client_retries_the_429_fault_with_backoff():
    async def main():
        async with venue() as (h, fault):
            slept: list[float] = []

            async def sleep(s: float) -> None:
                slept.append(s)
                await asyncio.sleep(s)

            events: list[tuple] = []
            rest = RestClient(
                h.base_url,
                retry=RetryPolicy(max_attempts=8, base_s=0.1, cap_s=0.8, jitter=0.2),
                rng=random.Random(3),
                sleep=sleep,
                on_connection=lambda *e: events.append(e),
            )
            info = InfoClient(rest=rest)
            assert (await info.meta()).universe  # link up
            await fault(kind="429", seconds=0.6)
            t0 = time.monotonic()
            meta = await info.meta()
            took = time.monotonic() - t0
            assert [a.name for a in meta.universe] == ["BTC", "ETH", "HYPE"]
            assert rest.retries >= 2 and took >= 0.5
            assert len(slept) == rest.retries
            # exponential: each wait is larger than the one before (jitter 0.2 < 0.5)
            assert all(b > a for a, b in itertools.pairwise(slept)), slept
            assert slept[0] < 0.11
            # the retried 429s were not reported as a link failure
            assert [e[1] for e in events] == ["connected"]
            # out of attempts: the 429 surfaces as RateLimitedError and the link goes down
            short = InfoClient(
                rest=RestClient(
                    h.base_url,
                    retry=RetryPolicy(max_attempts=2, base_s=0.01),
                    on_connection=lambda *e: events.append(e),
                )
            )
            await fault(kind="429", seconds=5)
            with pytest.raises(RateLimitedError) as exc:
                await short.meta()
            assert exc.value.status == 429
            assert events[-1][:2] == ("http", "disconnected")
            await fault(kind="clear")
            await short.meta()
            assert events[-1][:2] == ("http", "connected")
            await info.aclose()
            await short.aclose()

    asyncio.run(main())


def test_ws_client_and_executor_survive_the_429_fault():
    async def main():
        async with venue() as (h, fault):
            p = Probe(h.ws_url)
            await p.start(BOOK)
            await p.ws.wait_connected(5)
            rest = RestClient(h.base_url, retry=RetryPolicy(max_attempts=8, base_s=0.1, cap_s=0.8))
            ex = await _executor(h, p.ws, rest)
            px, sz = await _far_bid(h, rest)
            await fault(kind="429", seconds=0.8)
            # a WS post during the fault is answered with an error: a rate limit
            with pytest.raises(RateLimitedError):
                await p.ws.post_info({"type": "allMids"})
            # the executor's WS post fails, it falls back to HTTP and retries the 429s
            cloid = wire.cloid_from_int(429)
            res = await ex.place([OrderRequest("HYPE", True, px, sz, tif="Alo", cloid=cloid)])
            assert res.ok and res.statuses[0].status == "resting", res
            assert res.via == "http" and ex.fallbacks == 1 and rest.retries >= 1
            # the socket was never dropped, and posts work again after the window
            assert p.states("ws") == ["connected", "resubscribed"]
            assert "HYPE" in await p.ws.post_info({"type": "allMids"})
            res = await ex.cancel_by_cloid([("HYPE", cloid)])
            assert res.via == "ws" and res.statuses[0].status == "success"
            await p.ws.close()
            await rest.aclose()

    asyncio.run(main())


# -- reject the next N orders ---------------------------------------------------------------


def test_executor_sees_the_next_n_orders_rejected():
    async def main():
        async with venue() as (h, fault):
            p = Probe(h.ws_url)
            await p.start()
            await p.ws.wait_connected(5)
            rest = RestClient(h.base_url)
            ex = await _executor(h, p.ws, rest)
            px, sz = await _far_bid(h, rest)
            await fault(kind="reject", n=2)
            reqs = [
                OrderRequest("HYPE", True, px, sz, tif="Alo", cloid=wire.cloid_from_int(i))
                for i in (1, 2, 3)
            ]
            res = await ex.place(reqs)  # one batch: the first two are rejected
            assert res.ok and res.via == "ws"
            assert [s.status for s in res.statuses] == ["error", "error", "resting"]
            assert res.statuses[0].error == E.FAULT_REJECT
            res = await ex.place(
                [OrderRequest("HYPE", True, px, sz, tif="Alo", cloid=wire.cloid_from_int(4))]
            )
            assert res.statuses[0].status == "resting"  # the fault is used up
            oo = await InfoClient(rest=rest).open_orders(SIGNER.address)
            assert len(oo) == 2
            await p.ws.close()
            await rest.aclose()

    asyncio.run(main())


# -- malformed frame ------------------------------------------------------------------------


def test_ws_client_survives_a_malformed_frame():
    async def main():
        async with venue() as (h, fault):
            p = Probe(h.ws_url)
            await p.start(BOOK)
            await until(lambda: p.books_after(0) > 0, what="first book")
            await fault(kind="malformed")
            await until(lambda: p.ws.stats["malformed"] == 1, what="malformed counted")
            t = time.monotonic()
            await until(lambda: p.books_after(t) > 0, what="books after the bad frame")
            assert "HYPE" in await p.ws.post_info({"type": "allMids"})
            assert p.states("ws") == ["connected", "resubscribed"]
            assert p.ws.stats["callback_errors"] == 0
            await p.ws.close()

    asyncio.run(main())


# -- delayed responses ----------------------------------------------------------------------


def test_delayed_responses_are_waited_for_or_time_out_without_dropping_the_link():
    async def main():
        async with venue() as (h, fault):
            p = Probe(h.ws_url)
            await p.start(BOOK)
            await p.ws.wait_connected(5)
            rest = RestClient(h.base_url)
            info = InfoClient(rest=rest)
            await fault(kind="delay", ms=400, seconds=5)
            t0 = time.monotonic()
            assert "HYPE" in await p.ws.post_info({"type": "allMids"}, timeout_s=2.0)
            assert time.monotonic() - t0 >= 0.4
            t0 = time.monotonic()
            assert "HYPE" in await info.all_mids()
            assert time.monotonic() - t0 >= 0.4
            # a post that times out does not take the link down
            with pytest.raises(RequestTimeoutError):
                await p.ws.post_info({"type": "allMids"}, timeout_s=0.1)
            await asyncio.sleep(0.1)
            assert p.states("ws") == ["connected", "resubscribed"] and p.ws.connected
            # the executor: a WS post that times out is re-sent over HTTP with the same
            # signed payload; the nonce makes the order happen at most once
            ex = await _executor(h, p.ws, rest)
            ex.ws_timeout_s = 0.1
            px, sz = await _far_bid(h, rest)
            cloid = wire.cloid_from_int(77)
            # the WS copy lands after the timeout, so the HTTP resend is refused for its
            # nonce: reported as an unknown outcome (to reconcile), not as a rejection
            with pytest.raises(RequestTimeoutError, match="outcome unknown"):
                await ex.place([OrderRequest("HYPE", True, px, sz, tif="Alo", cloid=cloid)])
            assert ex.fallbacks == 1
            rows = await ex.execute_commands([_place_cmd(wire.cloid_from_int(78), px, sz)])
            assert rows[0][3] == "error" and "outcome unknown" in rows[0][4]
            await fault(kind="clear")
            oo = await info.open_orders(SIGNER.address)
            assert sorted(o.cloid for o in oo) == [cloid, wire.cloid_from_int(78)]  # once each
            await p.ws.close()
            await rest.aclose()

    asyncio.run(main())


# -- tampered signature via our executor ------------------------------------------------------


def test_tampered_signature_from_our_executor_gets_the_unknown_signer_error():
    async def main():
        async with venue() as (h, _fault):
            rest = RestClient(h.base_url)
            ex = await _executor(h, None, rest)
            action = wire.order_action(
                [wire.order_wire(2, True, Decimal("20"), Decimal("1"), False, wire.limit("Gtc"))],
                "na",
            )
            nonce = ex.nonces.next(SIGNER.address)
            from framework.hyperliquid.signing import sign_l1_action

            sig = sign_l1_action(SIGNER, action, nonce, None, None, is_mainnet=False)
            payload = wire.exchange_payload(action, nonce, sig, None, None)
            payload["action"]["orders"][0]["p"] = "21"  # tampered after signing
            res = await ex.post(payload, 1)
            assert not res.ok
            assert res.error is not None and res.error.startswith("L1 error: User or API Wallet 0x")
            assert res.error.endswith(" does not exist.")
            assert SIGNER.address.lower() not in res.error.lower()
            await rest.aclose()

    asyncio.run(main())


# -- the simulator listens on loopback only ---------------------------------------------------


def _outbound_ip() -> str | None:
    """This host's non-loopback IPv4 address (no packet is sent), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.2"])
def test_simulator_refuses_a_non_loopback_host(host):
    with pytest.raises(ValueError, match="loopback only"):
        SimConfig(port=0, synthetic=True, host=host)


def test_simulator_is_not_reachable_from_another_interface():
    async def main():
        async with venue() as (h, _fault):
            assert h.host == "127.0.0.1" and h.base_url.startswith("http://127.0.0.1:")
            ip = _outbound_ip()
            if ip is None:
                pytest.skip("no non-loopback interface to try")
            with pytest.raises(OSError):
                socket.create_connection((ip, h.port), timeout=1).close()
            socket.create_connection(("127.0.0.1", h.port), timeout=1).close()

    asyncio.run(main())


def test_simulator_on_ipv6_loopback_gives_usable_urls():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")

    async def main():
        async with venue(host="::1") as (h, _fault):
            assert h.base_url.startswith("http://[::1]:") and h.ws_url.startswith("ws://[::1]:")
            info = InfoClient(h.base_url)
            assert (await info.meta()).universe
            await info.aclose()
            p = Probe(h.ws_url)
            await p.start()
            await p.ws.wait_connected(5)
            await p.ws.close()

    asyncio.run(main())
