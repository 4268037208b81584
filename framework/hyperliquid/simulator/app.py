"""The simulator's ASGI app: ``POST /info``, ``POST /exchange`` and WS ``/ws`` on one port.

Also a loopback-only admin surface for tests and operators:

``POST /admin/fault``   ``{"kind": "drop"|"stall"|"429"|"reject"|"malformed"|"delay"|"clear", ...}``
``POST /admin/step``    ``{"n": k}`` apply the next k market events (paused replay, speed 0)
``POST /admin/deposit`` ``{"user": "0x..", "usdc": 1000}`` set an account's balance
``GET  /admin/status``  counters (events applied, accounts, connections)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from framework.hyperliquid.simulator import errors as E
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.errors import Undeserializable
from framework.hyperliquid.simulator.faults import MALFORMED_FRAME, Faults
from framework.hyperliquid.simulator.limits import IpLimiter, exchange_weight, info_weight
from framework.hyperliquid.simulator.market import (
    MarketDriver,
    base_coin,
    journal_coins,
    write_demo_journal,
)
from framework.hyperliquid.simulator.state import Exchange, Sink
from framework.hyperliquid.simulator.validation import load_body, parse_envelope

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
MAX_QUEUE = 50_000  # frames queued for one client before it is disconnected
FLUSH_S = 0.05  # market pushes are coalesced into "blocks" this long
COIN_SUBS = frozenset({"l2Book", "trades", "bbo", "activeAssetCtx"})
USER_SUBS = frozenset({"userFills", "orderUpdates", "userEvents"})
MARKET_CHANNELS = frozenset({"l2Book", "trades", "bbo", "allMids", "activeAssetCtx"})


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


class Conn:
    """One WebSocket client: its subscriptions and its outgoing queue."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.subs: dict[str, dict[str, Any]] = {}
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.ip = ws.client.host if ws.client else "?"

    def send(self, channel: str, data: Any) -> None:
        if self.queue.qsize() > MAX_QUEUE:
            # a client that stopped reading: drop it, as a venue would
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(_dumps({"channel": channel, "data": data}))


def _sub_key(sub: dict[str, Any]) -> str:
    return _dumps(
        {
            k: (v.lower() if k == "user" and isinstance(v, str) else v)
            for k, v in sorted(sub.items())
        }
    )


class Hub(Sink):
    """WebSocket fan-out; implements the state's :class:`Sink`."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.conns: set[Conn] = set()
        self.exchange: Exchange | None = None
        self.dirty_books: set[str] = set()
        self.dirty_ctx: set[str] = set()
        self.last_bbo: dict[str, Any] = {}

    def _subscribers(self, pred: Any) -> list[Conn]:
        return [c for c in self.conns if any(pred(s) for s in c.subs.values())]

    # -- user streams: pushed immediately ---------------------------------------------------
    def order_updates(self, user: str, updates: list[dict[str, Any]]) -> None:
        for c in self._subscribers(
            lambda s: s["type"] == "orderUpdates" and s["user"].lower() == user
        ):
            c.send("orderUpdates", updates)

    def user_fills(self, user: str, fills: list[dict[str, Any]]) -> None:
        for c in self.conns:
            for s in c.subs.values():
                if s.get("user", "").lower() != user:
                    continue
                if s["type"] == "userFills":
                    c.send("userFills", {"user": user, "fills": fills})
                elif s["type"] == "userEvents":
                    c.send("user", {"fills": fills})

    def user_funding(self, user: str, funding: dict[str, Any]) -> None:
        for c in self._subscribers(
            lambda s: s["type"] == "userEvents" and s["user"].lower() == user
        ):
            c.send("user", {"funding": funding})

    # -- market streams: coalesced per block, muted while a stall fault is on -------------
    def book_changed(self, coin: str) -> None:
        self.dirty_books.add(coin)

    def ctx_changed(self, coin: str) -> None:
        self.dirty_ctx.add(coin)

    def trades(self, coin: str, trades: list[dict[str, Any]]) -> None:
        if self.faults.stalled():
            return
        for c in self._subscribers(lambda s: s["type"] == "trades" and s["coin"] == coin):
            c.send("trades", trades)

    def flush(self) -> None:
        """Push l2Book / bbo / allMids / activeAssetCtx for what changed since the last block."""
        if self.faults.stalled() or self.exchange is None:
            return
        ex = self.exchange
        books, self.dirty_books = self.dirty_books, set()
        ctxs, self.dirty_ctx = self.dirty_ctx, set()
        dexes = {ex.by_name[c].dex for c in books}
        for coin in books:
            subs = self._subscribers(
                lambda s, coin=coin: s["type"] == "l2Book" and s["coin"] == coin
            )
            if subs:
                book = ex.l2_book(coin)
                for c in subs:
                    c.send("l2Book", book)
            bbo = ex.bbo(coin)
            key = _dumps(bbo["bbo"])
            if self.last_bbo.get(coin) != key:
                self.last_bbo[coin] = key
                for c in self._subscribers(
                    lambda s, coin=coin: s["type"] == "bbo" and s["coin"] == coin
                ):
                    c.send("bbo", bbo)
        for dex in dexes:
            subs = self._subscribers(
                lambda s, dex=dex: s["type"] == "allMids" and (s.get("dex") or "") == dex
            )
            if subs:
                mids = {"mids": ex.all_mids(dex)}
                for c in subs:
                    c.send("allMids", mids)
        for coin in ctxs:
            subs = self._subscribers(
                lambda s, coin=coin: s["type"] == "activeAssetCtx" and s["coin"] == coin
            )
            if subs:
                msg = {"coin": coin, "ctx": ex.asset_ctx(coin)}
                for c in subs:
                    c.send("activeAssetCtx", msg)


def synthetic_journal(root: Path, config: SimConfig) -> Path:
    """Generate the ``--synthetic`` market: the calibrated generator (``framework.synth``)
    for assets it knows, else the small built-in random walk (:func:`write_demo_journal`)."""
    try:
        from framework.synth import SynthParamError, params_for, write_synthetic
    except ImportError:
        return write_demo_journal(root, coin=config.asset, seed=config.seed)
    try:
        params = params_for(config.asset, hours=config.synthetic_hours, seed=config.seed)
    except SynthParamError:
        return write_demo_journal(root, coin=config.asset, seed=config.seed)
    write_synthetic(root, params)
    return root


def list_journal_coins(config: SimConfig, root: Path) -> SimConfig:
    """``config`` with every journal coin listed (unknown coins join the main dex with
    szDecimals from the manifest's ``config.sz_decimals``, default 2, and 10x leverage)."""
    from framework.journal import JournalReader

    listed = {base_coin(c[0]) for d in config.dexes for c in d.coins}
    szd = int(JournalReader(root).manifest.config.get("sz_decimals", 2))
    extra = tuple(
        (base_coin(c), szd, 10) for c in journal_coins(root) if base_coin(c) not in listed
    )
    if not extra:
        return config
    main = attrs.evolve(config.dexes[0], coins=config.dexes[0].coins + extra)
    return attrs.evolve(config, dexes=(main, *config.dexes[1:]))


class Simulator:
    """The whole simulated venue: state, market driver, faults, hub, and the ASGI app."""

    def __init__(self, config: SimConfig) -> None:
        self._tmp: Any = None
        self._posts: set[asyncio.Task[None]] = set()
        root = config.recording
        if root is None and config.synthetic:
            self._tmp = tempfile.TemporaryDirectory(prefix="sim-synth-")
            root = synthetic_journal(Path(self._tmp.name) / "journal", config)
        if root is not None:
            config = list_journal_coins(config, root)
        self.config = config
        self.faults = Faults()
        self.hub = Hub(self.faults)
        self.exchange = Exchange(config, self.hub)
        self.exchange._take_fault = self.faults.take_reject
        self.hub.exchange = self.exchange
        self.limiter = IpLimiter(config.ip_weight_per_min)
        self.driver: MarketDriver | None = None
        if root is not None:
            self.driver = MarketDriver(self.exchange, root, speed=config.speed, loop=config.loop)
        for spec in config.faults:
            self.faults.apply(spec)
        self.app = Starlette(
            routes=[
                Route("/info", self.http_info, methods=["POST"]),
                Route("/exchange", self.http_exchange, methods=["POST"]),
                WebSocketRoute("/ws", self.ws_endpoint),
                Route("/admin/fault", self.admin_fault, methods=["POST"]),
                Route("/admin/step", self.admin_step, methods=["POST"]),
                Route("/admin/deposit", self.admin_deposit, methods=["POST"]),
                Route("/admin/status", self.admin_status, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )

    # -- lifecycle -----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self._ticker())]
        if self.driver is not None and self.config.speed > 0:
            tasks.append(asyncio.create_task(self.driver.run()))
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for c in list(self.hub.conns):
                c.queue.put_nowait(None)
            if self._tmp is not None:
                self._tmp.cleanup()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            self.exchange.run_scheduled_cancels()
            self.hub.flush()

    # -- HTTP ----------------------------------------------------------------------------
    async def _gate(self, request: Request) -> tuple[Any, Response | None]:
        """Common prelude: 429 fault, delay fault, JSON body (422 if not JSON)."""
        if self.faults.rate_limited():
            return None, PlainTextResponse(E.FAULT_429, 429)
        delay = self.faults.delay_s()
        if delay:
            await asyncio.sleep(delay)
        try:
            body = load_body(await request.body())
        except Undeserializable as exc:
            return None, PlainTextResponse(exc.text, 422)
        return body, None

    def _ip(self, request: Request) -> str:
        return request.client.host if request.client else "?"

    def _over_limit(self, ip: str, weight: int) -> str | None:
        """Charge ``weight`` to ``ip``; the 429 text (nothing charged) when over the cap."""
        if self.limiter.charge(ip, weight, time.monotonic()):
            return None
        return E.RATE_LIMITED.format(cap=self.limiter.cap)

    def _rate_limited(self, ip: str, weight: int) -> Response | None:
        text = self._over_limit(ip, weight)
        return None if text is None else PlainTextResponse(text, 429)

    def _charge_items(self, ip: str, body: dict[str, Any], n_items: int) -> None:
        """The per-item weight of an answered /info request (charged even past the cap)."""
        extra = info_weight(body, n_items) - info_weight(body)
        if extra:
            self.limiter.charge(ip, extra, time.monotonic())

    async def http_info(self, request: Request) -> Response:
        body, early = await self._gate(request)
        if early is not None:
            return early
        ip = self._ip(request)
        if r := self._rate_limited(ip, info_weight(body if isinstance(body, dict) else {})):
            return r
        try:
            out, n = self.exchange.info(body)
        except Undeserializable as exc:
            return PlainTextResponse(exc.text, 422)
        self._charge_items(ip, body, n)
        return JSONResponse(out)

    async def http_exchange(self, request: Request) -> Response:
        body, early = await self._gate(request)
        if early is not None:
            return early
        try:
            env = parse_envelope(body)
        except Undeserializable as exc:
            return PlainTextResponse(exc.text, 422)
        if r := self._rate_limited(self._ip(request), exchange_weight(env.action)):
            return r
        try:
            return JSONResponse(self.exchange.exchange(env))
        except Undeserializable as exc:
            return PlainTextResponse(exc.text, 422)

    # -- admin ---------------------------------------------------------------------------
    def _admin_guard(self, request: Request) -> Response | None:
        if self._ip(request) not in LOOPBACK:
            return PlainTextResponse("admin endpoints are loopback only", 403)
        return None

    async def _admin_body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        if not isinstance(body, dict):
            raise ValueError("body: expected a JSON object")
        return body

    async def admin_fault(self, request: Request) -> Response:
        if g := self._admin_guard(request):
            return g
        try:
            spec = await self._admin_body(request)
            kind = self.faults.apply(spec)
        except ValueError as exc:
            return PlainTextResponse(str(exc), 400)
        if kind == "drop":
            await self.drop_connections()
        elif kind == "malformed":
            for c in list(self.hub.conns):
                c.queue.put_nowait(MALFORMED_FRAME)
        return JSONResponse({"status": "ok", "kind": kind})

    async def drop_connections(self) -> None:
        for c in list(self.hub.conns):
            self.hub.conns.discard(c)
            c.queue.put_nowait(None)  # the writer closes the socket

    async def admin_step(self, request: Request) -> Response:
        if g := self._admin_guard(request):
            return g
        if self.driver is None:
            return PlainTextResponse(
                "no market driver (start with --recording or --synthetic)", 400
            )
        body = await self._admin_body(request)
        n = self.driver.step(int(body.get("n", 1)))
        self.hub.flush()
        return JSONResponse({"applied": n, "total": self.driver.applied, "done": self.driver.done})

    async def admin_deposit(self, request: Request) -> Response:
        if g := self._admin_guard(request):
            return g
        body = await self._admin_body(request)
        user, usdc = body.get("user"), body.get("usdc")
        if not isinstance(user, str) or not isinstance(usdc, int | float):
            return PlainTextResponse('body: expected {"user": "0x..", "usdc": number}', 400)
        self.exchange.account(user, balance=float(usdc))
        return JSONResponse({"status": "ok"})

    async def admin_status(self, request: Request) -> Response:
        if g := self._admin_guard(request):
            return g
        d = self.driver
        return JSONResponse(
            {
                "applied": d.applied if d else 0,
                "done": d.done if d else True,
                "accounts": len(self.exchange.accounts),
                "connections": len(self.hub.conns),
            }
        )

    # -- WebSocket -----------------------------------------------------------------------
    async def ws_endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        conn = Conn(ws)
        self.hub.conns.add(conn)
        writer = asyncio.create_task(self._ws_writer(conn))
        try:
            while True:
                frame = await ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                raw = frame.get("text")
                if raw is None:
                    raw = (frame.get("bytes") or b"").decode("utf-8", "replace")
                await self._ws_message(conn, raw)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.hub.conns.discard(conn)
            conn.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer

    async def _ws_writer(self, conn: Conn) -> None:
        try:
            while True:
                # the venue closes a connection it has sent nothing on for 60 s (§3.2)
                msg = await asyncio.wait_for(conn.queue.get(), self.config.ws_idle_s)
                if msg is None:
                    break
                await conn.ws.send_text(msg)
        except Exception:
            pass
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1012)

    async def _ws_message(self, conn: Conn, raw: str) -> None:
        try:
            msg = json.loads(raw)
            method = msg["method"]
        except (ValueError, KeyError, TypeError):
            conn.send("error", E.WS_PARSE.format(raw=raw))
            return
        if method == "ping":
            conn.queue.put_nowait(_dumps({"channel": "pong"}))
        elif method in ("subscribe", "unsubscribe"):
            self._ws_subscription(conn, method, msg.get("subscription"), raw)
        elif method == "post":
            task = asyncio.create_task(self._ws_post(conn, msg, raw))
            self._posts.add(task)  # keep a reference until it finishes
            task.add_done_callback(self._posts.discard)
        else:
            conn.send("error", E.WS_PARSE.format(raw=raw))

    def _normalise(self, sub: Any) -> dict[str, Any] | None:
        if not isinstance(sub, dict) or not isinstance(sub.get("type"), str):
            return None
        t = sub["type"]
        ex = self.exchange
        if t in COIN_SUBS:
            coin = sub.get("coin")
            if not isinstance(coin, str) or coin not in ex.books:
                return None  # a list or object as the coin is as unknown as a bad name
            if t == "l2Book":
                return {
                    "type": t,
                    "coin": sub["coin"],
                    "nSigFigs": sub.get("nSigFigs"),
                    "mantissa": sub.get("mantissa"),
                }
            return {"type": t, "coin": sub["coin"]}
        if t == "allMids":
            if (sub.get("dex") or "") not in ex.dex_names:
                return None
            return dict(sub)
        if t in USER_SUBS:
            u = sub.get("user")
            if not (isinstance(u, str) and u.startswith("0x") and len(u) == 42):
                return None
            out = dict(sub)
            if t == "userFills":
                out.setdefault("aggregateByTime", False)
            return out
        return None

    def _ws_subscription(self, conn: Conn, method: str, sub: Any, raw: str) -> None:
        norm = self._normalise(sub)
        if norm is None:
            conn.send("error", E.WS_SUB_INVALID.format(sub=_dumps(sub)))
            return
        key = _sub_key(norm)
        if method == "unsubscribe":
            if key not in conn.subs:
                conn.send("error", E.WS_NOT_SUBSCRIBED.format(sub=_dumps(sub)))
                return
            del conn.subs[key]
            conn.send("subscriptionResponse", {"method": method, "subscription": norm})
            return
        if key in conn.subs:
            conn.send("error", E.WS_ALREADY_SUBSCRIBED.format(sub=_dumps(sub)))
            return
        if (err := self._ws_limits(conn, norm)) is not None:
            conn.send("error", err)
            return
        conn.subs[key] = norm
        conn.send("subscriptionResponse", {"method": method, "subscription": norm})
        self._ws_initial(conn, norm)

    def _ws_limits(self, conn: Conn, sub: dict[str, Any]) -> str | None:
        """Per-IP WebSocket limits (reference §6.1): subscriptions and distinct users."""
        same_ip = [c for c in self.hub.conns if c.ip == conn.ip]
        if sum(len(c.subs) for c in same_ip) >= self.config.ws_max_subscriptions:
            return E.WS_TOO_MANY_SUBS.format(cap=self.config.ws_max_subscriptions)
        if "user" in sub:
            users = {s["user"].lower() for c in same_ip for s in c.subs.values() if "user" in s}
            users.add(sub["user"].lower())
            if len(users) > self.config.ws_max_users:
                return E.WS_TOO_MANY_USERS.format(cap=self.config.ws_max_users)
        return None

    def _ws_initial(self, conn: Conn, sub: dict[str, Any]) -> None:
        """What the venue sends right after the ack (snapshots / current state)."""
        ex = self.exchange
        t = sub["type"]
        if t in USER_SUBS:
            acct = ex.account(sub["user"])
            if t == "userFills":
                conn.send(
                    "userFills",
                    {
                        "isSnapshot": True,
                        "user": acct.address,
                        "fills": list(reversed(acct.fills[-2000:])),
                    },
                )
            return
        if self.faults.stalled():
            return
        if t == "l2Book" and ex.books[sub["coin"]].has_snapshot:
            conn.send("l2Book", ex.l2_book(sub["coin"]))
        elif t == "bbo" and ex.books[sub["coin"]].has_snapshot:
            conn.send("bbo", ex.bbo(sub["coin"]))
        elif t == "allMids":
            conn.send("allMids", {"mids": ex.all_mids(sub.get("dex") or "")})
        elif t == "activeAssetCtx" and sub["coin"] in ex.ctx:
            conn.send("activeAssetCtx", {"coin": sub["coin"], "ctx": ex.asset_ctx(sub["coin"])})

    async def _ws_post(self, conn: Conn, msg: dict[str, Any], raw: str) -> None:
        pid = msg.get("id")
        req = msg.get("request")
        if (
            not isinstance(pid, int)
            or not isinstance(req, dict)
            or req.get("type") not in ("info", "action")
        ):
            conn.send("error", E.WS_PARSE.format(raw=raw))
            return
        delay = self.faults.delay_s()
        if delay:
            await asyncio.sleep(delay)
        payload = req.get("payload")
        if self.faults.rate_limited():
            resp: dict[str, Any] = {"type": "error", "payload": E.FAULT_429}
        else:
            resp = self._post_response(conn.ip, req["type"], payload)
        conn.send("post", {"id": pid, "response": resp})

    def _post_response(self, ip: str, kind: str, payload: Any) -> dict[str, Any]:
        try:
            if kind == "info":
                w = info_weight(payload if isinstance(payload, dict) else {})
                if text := self._over_limit(ip, w):
                    return {"type": "error", "payload": text}
                out, n = self.exchange.info(payload)
                self._charge_items(ip, payload, n)  # WS posts share the HTTP weights (§3)
                return {"type": "info", "payload": {"type": payload["type"], "data": out}}
            env = parse_envelope(payload)
            if text := self._over_limit(ip, exchange_weight(env.action)):
                return {"type": "error", "payload": text}
            return {"type": "action", "payload": self.exchange.exchange(env)}
        except Undeserializable as exc:
            return {"type": "error", "payload": exc.text}
