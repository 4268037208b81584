"""Async WebSocket client: subscriptions, keepalive, reconnects, posts.

Usage::

    ws = WsClient("ws://127.0.0.1:3001/ws", on_message=handle, on_connection=journal_conn)
    await ws.start()                                   # connects in the background
    await ws.subscribe({"type": "l2Book", "coin": "BTC"})   # waits for the ack
    book = await ws.post_info({"type": "l2Book", "coin": "BTC"})
    resp = await ws.post_action(exchange_payload)       # the /exchange body -> its JSON
    await ws.close()

Behaviour (reference §3):

* ``subscribe`` records the subscription, sends it when connected and waits for its
  ``subscriptionResponse`` ack (the server echoes a normalised copy: an ack matches
  when it contains every key/value we sent).  Every (re)connect re-sends all recorded
  subscriptions.
* keepalive: ``{"method": "ping"}`` every ``ping_interval_s`` (20-30 s); the link is
  declared dead and closed after ``max_missed_pongs`` pings in a row went unanswered.
* reconnect with capped exponential backoff and jitter (injected ``random.Random``).
* posts carry unique ids; each waits at most its timeout (a malformed request gets a
  ``channel: error`` reply without id, so only the timeout can end it); at most 100 in
  flight.  Posts fail fast with ``NotConnectedError`` while the link is down.
* tolerated: the legacy text frame ``"Websocket connection established."``, non-JSON
  frames (counted in ``stats["malformed"]``), ``channel: error`` messages (counted, passed
  to ``on_message``).
* every connect, disconnect and resubscribe is reported as
  ``on_connection(link, state, detail)`` with link ``"ws"``; a feed stall (no ``l2Book``
  for ``stall_after_s`` while open, with an l2Book subscription) is reported as
  ``("feed:l2Book", "stale", ...)`` and its end as ``("feed:l2Book", "fresh", ...)``;
  states match the ``connection`` journal table.

``on_message(msg, recv_ts_ns)`` receives every market/user message (any channel other
than ``pong``, ``subscriptionResponse`` and ``post``), with the local receive time in ns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import websockets
from websockets.exceptions import ConnectionClosed

from framework.hyperliquid.errors import (
    NotConnectedError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
)

log = logging.getLogger(__name__)

LEGACY_HELLO = "Websocket connection established."
MAX_INFLIGHT_POSTS = 100

OnMessage = Callable[[dict[str, Any], int], None]
OnConnection = Callable[[str, str, str | None], None]


def ws_url(base_url: str) -> str:
    """WS URL of a REST base URL, as the SDK builds it (``http`` -> ``ws``, + ``/ws``)."""
    return "ws" + base_url.rstrip("/")[len("http") :] + "/ws"


@attrs.frozen
class WsConfig:
    """Timing of the WS client (seconds)."""

    ping_interval_s: float = 25.0
    max_missed_pongs: int = 2
    reconnect_base_s: float = 0.5
    reconnect_cap_s: float = 30.0
    reconnect_jitter: float = 0.5
    open_timeout_s: float = 10.0
    subscribe_timeout_s: float = 10.0
    post_timeout_s: float = 10.0
    #: report the book feed stale after this long without l2Book (None: never)
    stall_after_s: float | None = 10.0
    #: force a reconnect after the feed has been stale this long (None: never)
    stall_reconnect_s: float | None = 30.0
    max_message_bytes: int = 16 * 1024 * 1024
    #: a connection that lasted this long resets the reconnect backoff
    stable_after_s: float = 10.0


def _matches(sent: Mapping[str, Any], echoed: Any) -> bool:
    return isinstance(echoed, Mapping) and all(echoed.get(k) == v for k, v in sent.items())


def _is_rate_limit(text: str) -> bool:
    # the payload mirrors the HTTP error ("429 Too Many Requests", "Too many requests: ...");
    # its exact text is not documented, so match every spelling of a rate limit
    low = text.lower()
    return "429" in low or "too many requests" in low or "rate limit" in low


def _sub_key(sub: Mapping[str, Any]) -> str:
    return json.dumps(sub, sort_keys=True)


class WsClient:
    """Reconnecting WS client.  See the module docstring.

    Parameters
    ----------
    url : str
        ``wss://api.hyperliquid.xyz/ws`` or a simulator's ``ws://127.0.0.1:PORT/ws``.
    on_message, on_connection : callable, optional
        Callbacks (see module docstring).  Exceptions they raise are logged and counted.
    config : WsConfig
    rng : random.Random, optional
        Reconnect jitter source.
    clock_ns : callable
        Receive-time clock (ns); defaults to the wall clock.
    """

    def __init__(
        self,
        url: str,
        *,
        on_message: OnMessage | None = None,
        on_connection: OnConnection | None = None,
        config: WsConfig | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.url = url
        self.config = config or WsConfig()
        self._on_message = on_message
        self._on_connection = on_connection
        self._rng = rng or random.Random()
        self._clock_ns = clock_ns
        self._subs: dict[str, dict[str, Any]] = {}
        self._acks: list[tuple[dict[str, Any], str, asyncio.Future[dict[str, Any]]]] = []
        self._posts: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._ws: Any = None
        self._connected = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._post_slots = asyncio.Semaphore(MAX_INFLIGHT_POSTS)
        self._unanswered_pings = 0
        self._last_book = time.monotonic()
        self._stale_since: float | None = None
        self._end_reason: str | None = None
        self.stats: dict[str, int] = dict.fromkeys(
            (
                "connects",
                "disconnects",
                "resubscribes",
                "messages",
                "malformed",
                "legacy_hello",
                "errors",
                "callback_errors",
                "stale",
            ),
            0,
        )
        self.last_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self) -> None:
        """Start the connection loop in the background (returns at once)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="hl-ws")

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until the link is up (and initial subscriptions re-sent)."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            raise RequestTimeoutError(f"ws {self.url}: not connected after {timeout_s}s") from None

    async def close(self) -> None:
        """Stop reconnecting, close the socket, fail pending requests."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._fail_pending(NotConnectedError(f"ws {self.url}: closed"))

    async def __aenter__(self) -> WsClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def drop(self) -> None:
        """Close the current socket to force a reconnect (fault injection, stall handling)."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    # -- subscriptions -----------------------------------------------------------------

    async def subscribe(
        self, subscription: Mapping[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any] | None:
        """Subscribe (and keep the subscription across reconnects).

        Returns the server's ack ``data`` when connected, else None (it will be sent on
        connect).  Raises :class:`RequestTimeoutError` when no ack arrives in time.
        """
        sub = dict(subscription)
        key = _sub_key(sub)
        known = key in self._subs
        self._subs[key] = sub
        if known or not self.connected:
            return None  # already live, or sent on (re)connect
        return await self._send_subscribe(sub, "subscribe", timeout_s)

    async def unsubscribe(
        self, subscription: Mapping[str, Any], timeout_s: float | None = None
    ) -> None:
        """Drop a subscription (sends ``unsubscribe`` when connected, waits for its ack)."""
        sub = dict(subscription)
        self._subs.pop(_sub_key(sub), None)
        if self.connected:
            await self._send_subscribe(sub, "unsubscribe", timeout_s)

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self._subs.values())

    async def _send_subscribe(
        self, sub: dict[str, Any], method: str, timeout_s: float | None
    ) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        entry = (sub, method, fut)
        self._acks.append(entry)
        try:
            await self._send({"method": method, "subscription": sub})
            return await asyncio.wait_for(fut, timeout_s or self.config.subscribe_timeout_s)
        except TimeoutError:
            raise RequestTimeoutError(f"ws {method} {sub}: no ack") from None
        finally:
            if entry in self._acks:
                self._acks.remove(entry)

    # -- posts -------------------------------------------------------------------------

    async def post_info(self, payload: Mapping[str, Any], timeout_s: float | None = None) -> Any:
        """Info request over WS; returns what ``/info`` would return (the ``data``)."""
        resp = await self._post("info", payload, timeout_s)
        return resp.get("data")

    async def post_action(self, payload: Mapping[str, Any], timeout_s: float | None = None) -> Any:
        """Signed action over WS (payload = the ``/exchange`` body); returns its JSON answer."""
        return await self._post("action", payload, timeout_s)

    async def _post(self, kind: str, payload: Mapping[str, Any], timeout_s: float | None) -> Any:
        if not self.connected:
            raise NotConnectedError(f"ws {self.url}: not connected")
        async with self._post_slots:
            req_id = next(self._ids)
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._posts[req_id] = fut
            try:
                await self._send(
                    {"method": "post", "id": req_id, "request": {"type": kind, "payload": payload}}
                )
                resp = await asyncio.wait_for(fut, timeout_s or self.config.post_timeout_s)
            except TimeoutError:
                raise RequestTimeoutError(f"ws post {kind} id {req_id}: no answer") from None
            finally:
                self._posts.pop(req_id, None)
        rtype = resp.get("type") if isinstance(resp, Mapping) else None
        if rtype == "error":
            text = str(resp.get("payload"))
            cls = RateLimitedError if _is_rate_limit(text) else TransportError
            raise cls(f"ws post {kind} id {req_id}: {text}")
        if rtype != kind:
            raise ProtocolError(f"ws post {kind} id {req_id}: unexpected response {resp!r:.200}")
        return resp.get("payload")

    async def _send(self, obj: Mapping[str, Any]) -> None:
        ws = self._ws
        if ws is None:
            raise NotConnectedError(f"ws {self.url}: not connected")
        try:
            await ws.send(json.dumps(obj))
        except ConnectionClosed:
            raise NotConnectedError(f"ws {self.url}: connection closed while sending") from None

    # -- connection loop ---------------------------------------------------------------

    def _report(self, link: str, state: str, detail: str | None) -> None:
        if self._on_connection is None:
            return
        try:
            self._on_connection(link, state, detail)
        except Exception:
            self.stats["callback_errors"] += 1
            log.exception("on_connection callback failed")

    def _fail_pending(self, exc: Exception) -> None:
        for fut in list(self._posts.values()):
            if not fut.done():
                fut.set_exception(exc)
        for _, _, fut in list(self._acks):
            if not fut.done():
                fut.set_exception(exc)

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            reason = "closed"
            try:
                async with websockets.connect(
                    self.url,
                    open_timeout=self.config.open_timeout_s,
                    ping_interval=None,  # our own JSON ping (the venue's keepalive)
                    max_size=self.config.max_message_bytes,
                ) as ws:
                    opened = time.monotonic()
                    reason = await self._serve(ws)
                    # reset the backoff only after a connection that held, so a server
                    # that accepts and drops at once is not hammered
                    if time.monotonic() - opened >= self.config.stable_after_s:
                        attempt = 0
            except asyncio.CancelledError:
                raise
            except (
                OSError,
                TimeoutError,
                websockets.InvalidHandshake,
                websockets.InvalidURI,
            ) as exc:
                reason = f"connect failed: {type(exc).__name__}: {exc}"
            except ConnectionClosed as exc:
                reason = f"connection closed: {exc}"
            finally:
                if self._ws is not None or self._connected.is_set():
                    self._ws = None
                    self._connected.clear()
                    self.stats["disconnects"] += 1
                    self._fail_pending(NotConnectedError(f"ws {self.url}: disconnected ({reason})"))
                    self._report("ws", "disconnected", reason)
            if self._closing:
                break
            delay = min(self.config.reconnect_cap_s, self.config.reconnect_base_s * 2**attempt) * (
                1.0 - self.config.reconnect_jitter * self._rng.random()
            )
            attempt += 1
            log.info("ws %s: %s; reconnecting in %.2fs", self.url, reason, delay)
            await asyncio.sleep(delay)

    async def _serve(self, ws: Any) -> str:
        """Run one connection until it ends; returns why it ended."""
        self._ws = ws
        self.stats["connects"] += 1
        self._unanswered_pings = 0
        self._last_book = time.monotonic()
        self._stale_since = None
        self._end_reason = None  # set when we close the socket on purpose
        self._report("ws", "connected", self.url)
        reader = asyncio.create_task(self._read(ws))
        tasks = [reader, asyncio.create_task(self._keepalive(ws))]
        if self.config.stall_after_s is not None:
            tasks.append(asyncio.create_task(self._watch_stall(ws)))
        try:
            await self._resubscribe()
            self._connected.set()
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            result = next(iter(done)).result()
            return self._end_reason or result
        except (ConnectionClosed, NotConnectedError) as exc:
            # when we closed on purpose (stall, dead link) another task may see the close
            # first: keep our reason rather than the bare close
            return self._end_reason or f"connection closed: {exc}"
        except RequestTimeoutError as exc:
            with contextlib.suppress(Exception):
                await ws.close()
            return f"resubscribe failed: {exc}"
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    async def _resubscribe(self) -> None:
        sent: set[str] = set()
        while True:  # subscribe() calls made meanwhile are picked up by the next round
            todo = {k: s for k, s in self._subs.items() if k not in sent}
            if not todo:
                break
            await asyncio.gather(
                *(self._send_subscribe(s, "subscribe", None) for s in todo.values())
            )
            sent.update(todo)
        if sent:
            self.stats["resubscribes"] += 1
            self._report("ws", "resubscribed", f"{len(sent)} subscription(s)")

    async def _read(self, ws: Any) -> str:
        try:
            async for raw in ws:
                self._handle(raw, self._clock_ns())
        except ConnectionClosed as exc:
            return f"connection closed: {exc}"
        return "connection closed by server"

    async def _keepalive(self, ws: Any) -> str:
        while True:
            await asyncio.sleep(self.config.ping_interval_s)
            if self._unanswered_pings >= self.config.max_missed_pongs:
                self._end_reason = f"dead: {self._unanswered_pings} pings without pong"
                await ws.close()
                return self._end_reason
            self._unanswered_pings += 1
            await ws.send(json.dumps({"method": "ping"}))

    async def _watch_stall(self, ws: Any) -> str:
        stall = self.config.stall_after_s
        assert stall is not None
        while True:
            await asyncio.sleep(min(1.0, stall / 4))
            if not any(s.get("type") == "l2Book" for s in self._subs.values()):
                self._last_book = time.monotonic()
                continue
            now = time.monotonic()
            quiet = now - self._last_book
            if quiet >= stall and self._stale_since is None:
                self._stale_since = now
                self.stats["stale"] += 1
                self._report("feed:l2Book", "stale", f"no l2Book for {quiet:.1f}s while connected")
            limit = self.config.stall_reconnect_s
            if (
                self._stale_since is not None
                and limit is not None
                and now - self._stale_since >= limit
            ):
                self._end_reason = f"feed stalled for {now - self._last_book:.1f}s; reconnecting"
                await ws.close()
                return self._end_reason

    def _handle(self, raw: str | bytes, recv_ts: int) -> None:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        if raw == LEGACY_HELLO:
            self.stats["legacy_hello"] += 1
            return
        try:
            msg = json.loads(raw)
        except ValueError:
            self.stats["malformed"] += 1
            log.warning("ws %s: non-JSON frame %.80r", self.url, raw)
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("channel"), str):
            self.stats["malformed"] += 1
            log.warning("ws %s: frame without channel %.80r", self.url, raw)
            return
        channel = msg["channel"]
        data = msg.get("data")
        if channel == "pong":
            self._unanswered_pings = 0
            return
        if channel == "subscriptionResponse":
            self._on_ack(data)
            return
        if channel == "post":
            self._on_post(data)
            return
        if channel == "error":
            self.stats["errors"] += 1
            self.last_error = str(data)
            log.warning("ws %s: error %.200s", self.url, data)
        elif channel == "l2Book":
            self._last_book = time.monotonic()
            if self._stale_since is not None:
                quiet = self._last_book - self._stale_since
                self._stale_since = None
                self._report("feed:l2Book", "fresh", f"l2Book resumed after {quiet:.1f}s stale")
        self.stats["messages"] += 1
        if self._on_message is not None:
            try:
                self._on_message(msg, recv_ts)
            except Exception:
                self.stats["callback_errors"] += 1
                log.exception("on_message callback failed")

    def _on_ack(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            return
        method = data.get("method", "subscribe")
        echoed = data.get("subscription")
        for sub, m, fut in self._acks:
            if m == method and not fut.done() and _matches(sub, echoed):
                fut.set_result(dict(data))
                return

    def _on_post(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            self.stats["malformed"] += 1
            return
        fut = self._posts.get(data.get("id"))  # type: ignore[arg-type]
        if fut is not None and not fut.done():
            fut.set_result(data.get("response"))
