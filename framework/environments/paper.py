"""Paper trading: live market data, the fill simulator, a journal on disk.

Every input is journaled with ``seq = engine.next_input_seq()`` and then stepped; the
engine's outputs reach the journal through its sink.  A clock tick is injected every
100 ms as a journaled ``clock`` row, so timers and the quote gate work when the market
is quiet.  Whenever a step emitted order commands the journal is flushed before
anything else happens (write-ahead, as in live mode).  The components are the
backtest's (:func:`framework.environments.backtest.component_list`), so
``replay --verify`` re-derives every decision of a paper session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from framework.config import SessionConfig, unstructure
from framework.engine.core import Engine
from framework.environments.backtest import apply_overrides, component_list, open_session
from framework.environments.summary import (
    SessionProgress,
    session_command,
    summarize,
)
from framework.events.columns import Columns
from framework.events.schema import SEQ_STRIDE, Kind
from framework.journal import JournalWriter, Manifest

__all__ = ["CLOCK_PERIOD_S", "PaperError", "PaperFeed", "PaperResult", "paper_command", "run_paper"]

CLOCK_PERIOD_S = 0.1


class PaperError(RuntimeError):
    """The paper session could not start or the engine failed on an input."""


@attrs.define
class PaperResult:
    out: Path
    coin: str
    summary: dict[str, Any]


class PaperFeed:
    """WS callbacks and clock ticks turned into journaled, stepped engine inputs.

    Parameters
    ----------
    engine : Engine
    writer : JournalWriter
    coin : str
        Rows of other coins are skipped.
    clock_ns : callable
        Wall clock for connection rows and clock ticks (the shell may read it).
    """

    def __init__(
        self,
        engine: Engine,
        writer: JournalWriter,
        coin: str,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        from framework.recordings.repair import TimeRepair, TradeDedup

        self.engine = engine
        self.writer = writer
        self.coin = coin
        self.clock_ns = clock_ns
        self.repair = TimeRepair()
        self.dedup = TradeDedup()
        self.error: BaseException | None = None
        self.failed = asyncio.Event()
        self.skipped = 0
        self._started = False

    def input(self, kind: Kind, ts: int, recv_ts: int, payload: tuple[Any, ...]) -> None:
        """Journal one input under the engine's next seq, step it, flush new commands."""
        if self.error is not None:
            return
        e = self.engine
        try:
            if not self._started:
                e.start(recv_ts)
                self._started = True
            seq = e.next_input_seq()
            row = (seq, ts, recv_ts, *payload)
            self.writer.append(kind, row)
            commands = e.counts[Kind.ORDER_COMMANDS]
            e.step(kind, seq, recv_ts, Columns.from_rows(kind, [row]), 0)
            if e.counts[Kind.ORDER_COMMANDS] != commands:  # write-ahead: commands durable
                self.writer.flush()
        except Exception as exc:  # surfaced by run_paper: a paper session must not limp on
            self.error = exc
            self.failed.set()

    def on_message(self, msg: dict[str, Any], recv_ts: int) -> None:
        """A WS market message: parse, keep our coin, drop replayed trades, step."""
        from framework.recordings.errors import MessageError, UnknownChannelError
        from framework.recordings.messages import parse_ws_message

        recv_ts = self.repair.recv(recv_ts)
        try:
            rows = parse_ws_message(msg, recv_ts)
        except (UnknownChannelError, MessageError):
            self.skipped += 1
            return
        for kind, row in rows:
            if row[2] != self.coin or (
                kind == Kind.TRADES and self.dedup.is_duplicate(row[2], row[6], row[0])
            ):
                self.skipped += 1
                continue
            self.input(kind, self.repair.ts(row[0], recv_ts), recv_ts, tuple(row[2:]))

    def on_connection(self, link: str, state: str, detail: str | None) -> None:
        now = self.repair.recv(self.clock_ns())
        self.input(Kind.CONNECTION, now, now, (link, state, detail))

    def tick(self) -> None:
        """Inject one clock tick at the wall clock's time."""
        now = self.repair.recv(self.clock_ns())
        self.input(Kind.CLOCK, now, now, ("paper",))


def default_out(coin: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("recordings") / f"paper-{coin.replace(':', '_')}-{stamp}"


async def _resolve(base_url: str, asset: str, dex: str) -> tuple[str, int]:
    from framework.hyperliquid.dexes import AssetDirectory, split_coin
    from framework.hyperliquid.info import InfoClient

    info = InfoClient(base_url)
    try:
        d, _ = split_coin(asset)
        directory = await AssetDirectory.load(info, [dex or d] if (dex or d) else [])
        a = directory.resolve(asset, dex or None)
    finally:
        await info.aclose()
    return a.coin, a.sz_decimals


async def run_paper(
    asset: str,
    *,
    dex: str = "",
    duration_s: float = 60.0,
    base_url: str = "https://api.hyperliquid.xyz",
    config: SessionConfig | None = None,
    spread_profile: str | None = None,
    out: Path | str | None = None,
    seed: int = 0,
    progress: bool = True,
    console: Any = None,
    ws_config: Any = None,
) -> PaperResult:
    """Paper-trade ``asset`` for ``duration_s`` seconds (0 = until cancelled).

    Raises
    ------
    PaperError
        ``out`` holds a journal already, or the engine failed on an input.
    """
    from framework.hyperliquid.recorder import market_subscriptions
    from framework.hyperliquid.ws import WsClient, ws_url
    from framework.journal.manifest import MANIFEST_NAME

    coin, sz_decimals = await _resolve(base_url, asset, dex)
    out = Path(out) if out is not None else default_out(coin)
    if (out / MANIFEST_NAME).exists():
        raise PaperError(f"--out {out}: already holds a journal; choose a new directory")
    cfg = apply_overrides(
        config or SessionConfig(), coin=coin, sz_decimals=sz_decimals, spread_profile=spread_profile
    )
    manifest = Manifest(
        mode="paper",
        asset=coin.split(":")[-1],
        dex=dex or (coin.split(":")[0] if ":" in coin else ""),
        coin=coin,
        seed=seed,
        config=unstructure(cfg),
        components=component_list(cfg),
        source={"base_url": base_url, "duration_s": duration_s},
        seq_stride=SEQ_STRIDE,  # inputs take engine.next_input_seq(): backtestable as is
    )
    url = ws_url(base_url)  # a bad URL fails before the journal exists
    writer, engine = open_session(out, manifest)  # nothing written if a component fails
    feed = PaperFeed(engine, writer, coin)
    ws = WsClient(
        url,
        on_message=feed.on_message,
        on_connection=feed.on_connection,
        config=ws_config,
    )
    t0 = time.perf_counter()
    start_ns = 0
    try:
        with SessionProgress(engine, None, console=console, enabled=progress, label="paper") as bar:
            for sub in market_subscriptions(coin):
                await ws.subscribe(sub)
            await ws.start()
            start_ns = time.time_ns()
            await _clock_loop(feed, bar, duration_s)
    finally:
        with contextlib.suppress(Exception):
            await ws.close()
        wall = time.perf_counter() - t0
        summary = summarize(engine, wall, start_ns)
        summary["ws"] = dict(ws.stats)
        writer.close(stats={"summary": summary})
    if feed.error is not None:
        raise PaperError(f"engine failed at seq {engine.seq}: {feed.error!r}") from feed.error
    return PaperResult(out=out, coin=coin, summary=summary)


async def _clock_loop(feed: PaperFeed, bar: SessionProgress, duration_s: float) -> None:
    """Tick every 100 ms until the duration is over (0 = forever) or the engine fails."""
    deadline = time.monotonic() + duration_s if duration_s > 0 else None
    next_tick = time.monotonic()
    n = 0
    try:
        while deadline is None or time.monotonic() < deadline:
            if feed.failed.is_set():
                return
            feed.tick()
            n += 1
            if n % 10 == 0:
                bar.update()
            next_tick += CLOCK_PERIOD_S
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    except asyncio.CancelledError:
        return  # Ctrl+C ends the session like the duration does: journal closed, summary shown


def paper_command(
    asset: str,
    *,
    dex: str = "",
    duration_s: float = 60.0,
    base_url: str = "https://api.hyperliquid.xyz",
    config: Path | None = None,
    spread_profile: str | None = None,
    out: Path | None = None,
    seed: int = 0,
    progress: bool = True,
) -> int:
    """``market-maker paper``: run until the duration ends or Ctrl+C; print the summary."""
    from rich.console import Console

    from framework.hyperliquid.errors import HyperliquidError

    def run(cfg: SessionConfig, console: Console) -> PaperResult:
        return asyncio.run(
            run_paper(
                asset,
                dex=dex,
                duration_s=duration_s,
                base_url=base_url,
                config=cfg,
                spread_profile=spread_profile,
                out=out,
                seed=seed,
                progress=progress,
                console=console,
            )
        )

    try:
        return session_command(run, config, (PaperError, HyperliquidError))
    except KeyboardInterrupt:
        Console().print("stopped (Ctrl+C); the journal is closed")
        return 130
