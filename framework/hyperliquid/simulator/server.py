"""Running the simulator: uvicorn on a loopback socket, in-process or in a thread.

``async with run_simulator(config) as sim: sim.base_url`` serves in the current event loop;
``with SimulatorThread(config) as sim:`` serves from a background thread (for synchronous
callers such as the official SDK); :func:`serve` is the blocking ``sim-exchange`` command.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import socket
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from framework.exits import UsageError
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


#: The market ``sim-exchange`` serves when given neither --recording nor --synthetic.
SAMPLE_RECORDING = Path(__file__).resolve().parents[3] / "recordings" / "sample-hype"


def bind_flag(config: SimConfig) -> socket.socket:
    """:func:`bind`, with an OS refusal reported against ``--port`` and its fix."""
    try:
        return bind(config)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "already in use (another sim-exchange?); stop that process or"
        elif exc.errno == errno.EACCES:
            why = "not allowed (ports below 1024 need root);"
        else:
            why = f"cannot listen there ({exc.strerror});"
        raise UsageError(
            f"--port {config.port}: {why} pick another port, e.g. --port 0 for a free one"
        ) from None


def serve(config: SimConfig, market: str | None = None) -> None:
    """Run until interrupted, printing the bound address first (``port 0`` -> a free one).

    ``market`` describes the market in that line (default: the recording or generator).
    """
    sock = bind_flag(config)  # before building the market: a busy port fails at once
    try:
        sim = Simulator(config)
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    net = "mainnet" if config.mainnet else "testnet"
    src = market or (
        str(config.recording)
        if config.recording
        else f"synthetic {config.asset} seed {config.seed}"
        if config.synthetic
        else "none (no recording)"
    )
    print(
        f"sim-exchange listening on http://{config.host}:{port} (ws /ws; signatures "
        f"verified as {net}; market: {src}, speed {config.speed:g})",
        flush=True,
    )
    print(f"port {port}", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_server(sim).serve(sockets=[sock]))


def _deposits(values: list[str]) -> dict[str, float]:
    deps: dict[str, float] = {}
    for d in values:
        addr, _, usdc = d.partition("=")
        try:
            amount = float(usdc)
        except ValueError:
            raise UsageError(
                f"--deposit {d!r}: expected ADDRESS=USDC, e.g. --deposit 0xabc...=5000"
            ) from None
        if not (addr.startswith("0x") and len(addr) == 42):
            raise UsageError(f"--deposit {d!r}: {addr!r} is not a 0x address (42 characters)")
        if not (math.isfinite(amount) and amount >= 0):
            raise UsageError(f"--deposit {d!r}: the USDC amount must be a number >= 0")
        deps[addr.lower()] = amount
    return deps


def _market(recording: Path | None, synthetic: bool, asset: str | None, seed: int) -> str | None:
    """Check the market flags; the description of the default market (None otherwise)."""
    from framework import flags
    from framework.synth.params import KNOWN_ASSETS

    if recording is not None and synthetic:
        raise UsageError(
            "--recording and --synthetic: pass one (a recorded market, or a generated one)"
        )
    if asset is not None and not synthetic:
        raise UsageError(
            f"--asset {asset}: only a --synthetic market takes an asset (a recording "
            "serves its own coins); add --synthetic or drop --asset"
        )
    if synthetic:
        name = (asset or "HYPE").strip().upper()
        if name not in KNOWN_ASSETS:
            raise UsageError(
                f"--asset {asset}: no synthetic model for it; use one of "
                f"{', '.join(KNOWN_ASSETS)}, or generate a market with `market-maker synth "
                f"--asset {asset} --price P --sz-decimals N --out DIR` and serve it with "
                "--recording DIR"
            )
        if seed < 0:
            raise UsageError(f"--seed {seed}: must be an integer >= 0")
        return None
    if recording is not None:
        flags.journal_dir("--recording", recording)
        return None
    return (
        f"{_shown(SAMPLE_RECORDING)} (the bundled sample; --recording DIR or --synthetic "
        "for another)"
    )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def sim_exchange_command(
    *,
    port: int,
    recording: Any,
    speed: float,
    synthetic: bool,
    asset: str | None,
    seed: int,
    mainnet: bool,
    balance: float,
    deposits: list[str],
    faults: list[str],
    loop: bool,
    auto_accounts: bool = False,
) -> int:
    """The ``sim-exchange`` command: check every flag, then :func:`serve`.

    With neither ``--recording`` nor ``--synthetic`` the bundled sample recording is
    served (looped), so a bare ``sim-exchange`` has a market to paper-trade on.

    Raises
    ------
    UsageError
        Naming the flag and the fix (exit code 2 at the command line).
    """
    from framework import flags
    from framework.hyperliquid.simulator.faults import parse_fault_flag

    flags.port("--port", port)
    default_market = _market(recording, synthetic, asset, seed)
    if default_market is not None:
        if SAMPLE_RECORDING.is_dir():
            recording = SAMPLE_RECORDING
        else:  # an install without the sample: a generated market instead
            synthetic, default_market = True, None
    if not (math.isfinite(speed) and speed >= 0):
        raise UsageError(f"--speed {speed:g}: must be >= 0 (1 = real time, 0 = paused)")
    if not (math.isfinite(balance) and balance >= 0):
        raise UsageError(f"--balance {balance:g}: must be a USDC amount >= 0")
    deps = _deposits(deposits)
    try:
        specs = tuple(parse_fault_flag(f) for f in faults)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config = SimConfig(
        port=port,
        recording=recording,
        speed=speed,
        synthetic=synthetic,
        asset=(asset or "HYPE").strip().upper(),
        seed=seed,
        mainnet=mainnet,
        default_balance=balance,
        deposits=deps,
        faults=specs,
        loop=loop,
        auto_accounts=auto_accounts,
    )
    serve(config, default_market)
    return 0
