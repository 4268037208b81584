"""Running the simulator: uvicorn on a loopback socket, in-process or in a thread.

``async with run_simulator(config) as sim: sim.base_url`` serves in the current event loop;
``with SimulatorThread(config) as sim:`` serves from a background thread (for synchronous
callers such as the official SDK); :func:`serve` is the blocking ``sim-exchange`` command.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from framework.hyperliquid.simulator.app import Simulator
from framework.hyperliquid.simulator.config import SimConfig


def bind(config: SimConfig) -> socket.socket:
    """A listening loopback socket on ``config.port`` (0 = a free port)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((config.host, config.port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _server(sim: Simulator) -> uvicorn.Server:
    cfg = uvicorn.Config(
        sim.app,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        access_log=False,
        ws_ping_interval=None,
    )
    return uvicorn.Server(cfg)


class Handle:
    """A running simulator: its URLs and the :class:`Simulator` object."""

    def __init__(self, sim: Simulator, port: int, host: str) -> None:
        self.sim = sim
        self.port = port
        self.host = host

    @property
    def _netloc(self) -> str:
        # an IPv6 literal ("::1") must be bracketed in a URL
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self._netloc}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._netloc}/ws"


@contextlib.asynccontextmanager
async def run_simulator(config: SimConfig) -> AsyncIterator[Handle]:
    """Serve the simulator in the running event loop for the duration of the block."""
    sim = Simulator(config)
    sock = bind(config)
    server = _server(sim)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield Handle(sim, sock.getsockname()[1], config.host)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        sock.close()


class SimulatorThread:
    """The simulator served from a background thread (``with SimulatorThread(cfg) as h``).

    Only HTTP/WS (and the admin endpoints) should touch it from other threads.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.handle: Handle | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sim-exchange", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by __enter__
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_simulator(self.config) as h:
            self.handle = h
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Handle:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or self.handle is None:
            raise RuntimeError(f"simulator failed to start: {self._error!r}")
        return self.handle

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def serve(config: SimConfig) -> None:
    """Run until interrupted, printing the bound address first (``port 0`` -> a free one)."""
    sim = Simulator(config)
    sock = bind(config)
    port = sock.getsockname()[1]
    net = "mainnet" if config.mainnet else "testnet"
    src = (
        str(config.recording)
        if config.recording
        else f"synthetic {config.asset} seed {config.seed}"
        if config.synthetic
        else "no market"
    )
    print(
        f"sim-exchange listening on http://{config.host}:{port} (ws /ws; signatures "
        f"verified as {net}; market: {src}, speed {config.speed})",
        flush=True,
    )
    print(f"port {port}", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_server(sim).serve(sockets=[sock]))


def sim_exchange_command(
    *,
    port: int,
    recording: Any,
    speed: float,
    synthetic: bool,
    asset: str,
    seed: int,
    mainnet: bool,
    balance: float,
    deposits: list[str],
    faults: list[str],
    loop: bool,
    auto_accounts: bool = False,
) -> int:
    """The ``sim-exchange`` command: parse the flag values, then :func:`serve`."""
    from framework.hyperliquid.simulator.faults import parse_fault_flag

    deps: dict[str, float] = {}
    for d in deposits:
        addr, _, usdc = d.partition("=")
        try:
            deps[addr.lower()] = float(usdc)
        except ValueError:
            print(f"--deposit {d!r}: expected ADDRESS=USDC, e.g. 0xabc...=5000", file=sys.stderr)
            return 2
        if not (addr.startswith("0x") and len(addr) == 42):
            print(f"--deposit {d!r}: {addr!r} is not a 0x address", file=sys.stderr)
            return 2
    if recording is None and not synthetic:
        print(
            "no market: pass --recording DIR or --synthetic (serving an empty market)",
            file=sys.stderr,
        )
    try:
        specs = tuple(parse_fault_flag(f) for f in faults)
        config = SimConfig(
            port=port,
            recording=recording,
            speed=speed,
            synthetic=synthetic,
            asset=asset,
            seed=seed,
            mainnet=mainnet,
            default_balance=balance,
            deposits=deps,
            faults=specs,
            loop=loop,
            auto_accounts=auto_accounts,
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    serve(config)
    return 0
