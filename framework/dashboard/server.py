"""The dashboard's web server: one page and a WebSocket that pushes state, on loopback.

It runs uvicorn (Starlette) in a thread of its own with its own event loop, so the
trading loop never waits on a browser; the session hands it each sample with
:meth:`DashboardServer.publish` (thread-safe).  The socket is bound when the server
is created, before the session starts, so a port in use is a usage error (exit 2)
and nothing is written.

Read-only and local by construction: it binds ``127.0.0.1`` only, answers only GETs
and a WebSocket it never reads commands from, refuses requests whose ``Host`` is not
``127.0.0.1`` or ``localhost`` (DNS rebinding), and refuses WebSocket connections
from pages of other origins (a browser lets any site open a WebSocket to loopback).

Routes: ``/`` the page (``page.html``, inline JS and CSS, no external resource),
``/state`` the latest sample as JSON, ``/ws`` the stream: first a ``hello`` message
(the latest sample plus the chart history), then one ``state`` message per sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import socket
import threading
import time
from importlib import resources
from typing import Any

from framework.exits import UsageError

__all__ = ["HOST", "DashboardServer", "bind_port"]

#: The only interface the dashboard listens on.
HOST = "127.0.0.1"

#: Messages queued for a slow browser before the oldest are dropped.
CLIENT_QUEUE = 16


def bind_port(port: int, flag: str = "--dashboard-port") -> socket.socket:
    """A listening socket on ``127.0.0.1:port`` (0: any free port).

    Raises
    ------
    UsageError
        The port is taken or cannot be bound (the message names the flag and the fix).
    """
    from framework import flags

    flags.port(flag, port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # No SO_REUSEADDR: a port another process listens on must be refused, not shared.
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"{flag} {port}: {HOST}:{port} is already in use (another dashboard or "
                f"program listens there); pass a free port, e.g. {flag} {port + 1}"
            ) from None
        raise UsageError(
            f"{flag} {port}: cannot listen on {HOST}:{port} ({exc.strerror}); pass another port"
        ) from None
    sock.setblocking(False)
    return sock


def page_html() -> str:
    """The dashboard page (``framework/dashboard/page.html``)."""
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


class _Hub:
    """The latest sample, the chart history and the connected browsers' queues.

    Lives on the server's loop: :meth:`DashboardServer.publish` hands it messages
    through ``call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self.latest: str = "null"
        self.history: list[list[Any]] = []
        self.clients: set[asyncio.Queue[str | None]] = set()
        self.window_ms = 0.0

    def put(self, state_json: str, point: list[Any] | None, window_ms: float) -> None:
        self.latest = state_json
        self.window_ms = window_ms
        if point is not None:
            self.history.append(point)
            horizon = point[0] - window_ms
            drop = 0
            while drop < len(self.history) and self.history[drop][0] < horizon:
                drop += 1
            if drop:
                del self.history[:drop]
        msg = '{"type":"state","state":' + state_json + "}"
        for q in self.clients:
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()  # a slow page skips a sample rather than lag behind
            q.put_nowait(msg)

    def hello(self) -> str:
        history = json.dumps(self.history, separators=(",", ":"))
        return (
            '{"type":"hello","window_ms":'
            + json.dumps(self.window_ms)
            + ',"history":'
            + history
            + ',"state":'
            + self.latest
            + "}"
        )

    def close(self) -> None:
        for q in self.clients:
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)


def _app(hub: _Hub, port_of: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    html = page_html()

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def state(request: Any) -> Response:
        return Response(hub.latest, media_type="application/json")

    async def stream(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        port = port_of()
        if origin is not None and origin not in (
            f"http://{HOST}:{port}",
            f"http://localhost:{port}",
        ):
            await ws.close(code=1008)  # policy violation: another site's page
            return
        await ws.accept()
        q: asyncio.Queue[str | None] = asyncio.Queue(maxsize=CLIENT_QUEUE)
        hub.clients.add(q)
        try:
            await ws.send_text(hub.hello())
            while (msg := await q.get()) is not None:
                await ws.send_text(msg)
            await ws.close(code=1001)  # going away: the session ended
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the page went away
        finally:
            hub.clients.discard(q)

    return Starlette(
        routes=[Route("/", page), Route("/state", state), WebSocketRoute("/ws", stream)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[HOST, "localhost"])],
    )


class DashboardServer:
    """The dashboard on ``http://127.0.0.1:<port>/``, served from a thread.

    Parameters
    ----------
    port : int
        0 picks a free port (:attr:`port` then says which).
    flag : str
        The flag named in errors.

    Raises
    ------
    UsageError
        The port is in use (raised here, by the constructor: before any session starts).
    """

    def __init__(self, port: int, *, flag: str = "--dashboard-port") -> None:
        self._sock = bind_port(port, flag)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}/"
        self._hub = _Hub()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        """Serve in a daemon thread; returns once the server accepts connections (a
        server that runs already, or was stopped, is left as it is)."""
        import uvicorn

        if self._thread is not None:
            return

        config = uvicorn.Config(
            _app(self._hub, lambda: self.port),
            log_config=None,  # never reconfigure the process's logging
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._server.serve(sockets=[self._sock]))
            except BaseException as exc:  # reported by the session as a warning
                self.error = exc
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)

    def publish(self, state_json: str, point: list[Any] | None, window_ms: float) -> None:
        """Push one sample (a JSON object text) to every page; thread-safe."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop just closed
            loop.call_soon_threadsafe(self._hub.put, state_json, point, window_ms)

    def stop(self) -> None:
        """Close the pages' streams, stop serving and release the port."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._hub.close)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(OSError):
            self._sock.close()
