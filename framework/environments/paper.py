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
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from framework.config import SessionConfig, unstructure
from framework.engine.core import Engine
from framework.environments.backtest import apply_overrides, component_list, open_session
from framework.environments.summary import session_command, summarize
from framework.environments.views import SessionViews, ViewOptions
from framework.events.columns import Columns
from framework.events.schema import SEQ_STRIDE, Kind
from framework.exits import warn
from framework.journal import JournalWriter, Manifest

__all__ = [
    "CLOCK_PERIOD_S",
    "PaperError",
    "PaperFeed",
    "PaperInterrupted",
    "PaperResult",
    "default_out",
    "paper_command",
    "run_paper",
]

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
        self.market_rows = 0  # rows of our coin from the market feed (the silence watch)
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
                self.writer.sync()
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
            self.market_rows += 1
            self.input(kind, self.repair.ts(row[0], recv_ts), recv_ts, tuple(row[2:]))

    def on_connection(self, link: str, state: str, detail: str | None) -> None:
        now = self.repair.recv(self.clock_ns())
        self.input(Kind.CONNECTION, now, now, (link, state, detail))

    def checkpoint(self) -> None:
        """Journal and step a checkpoint clock input: the estimators journal their current
        rows (:data:`framework.estimators.base.CHECKPOINT`)."""
        from framework.estimators.base import CHECKPOINT

        now = self.repair.recv(self.clock_ns())
        self.input(Kind.CLOCK, now, now, (CHECKPOINT,))

    def tick(self) -> None:
        """Inject one clock tick at the wall clock's time."""
        now = self.repair.recv(self.clock_ns())
        self.input(Kind.CLOCK, now, now, ("paper",))


def default_out(coin: str, root: Path | str = "out") -> Path:
    """A fresh ``out/paper-<coin>-<UTC time>[-<n>]`` (``out/`` is git-ignored)."""
    from framework.flags import fresh_out

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return fresh_out(Path(root) / f"paper-{coin.replace(':', '_')}-{stamp}")


#: Waits between attempts to look up the asset while the venue answers HTTP 429 or 5xx:
#: about half a minute in all, then the session gives up with an error.
RESOLVE_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0)


async def _resolve(
    base_url: str,
    asset: str,
    dex: str,
    *,
    delays: tuple[float, ...] | None = None,
    transport: Any = None,
) -> tuple[str, int]:
    """The venue's coin name and szDecimals of ``asset``, retrying a busy venue
    (``delays``: the waits between attempts, default :data:`RESOLVE_DELAYS_S`).

    Raises
    ------
    PaperError
        The venue cannot be reached, or still answers 429/5xx after every retry
        (the message names the URL).
    UsageError
        The venue does not list ``asset``.
    """
    from framework.exits import UsageError
    from framework.hyperliquid.dexes import AssetDirectory, split_coin
    from framework.hyperliquid.errors import (
        AssetNotFoundError,
        HyperliquidError,
        RateLimitedError,
        ServerError,
        UnknownDexError,
    )
    from framework.hyperliquid.info import InfoClient
    from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL, RetryPolicy

    delays = RESOLVE_DELAYS_S if delays is None else delays
    url = base_url.rstrip("/")
    # The network's own API is what --network chose (no --base-url was given for it).
    network = {MAINNET_API_URL: "mainnet", TESTNET_API_URL: "testnet"}.get(url)
    where = f"the {network} API {url} (--network {network})" if network else f"--base-url {url}"
    down = (
        "check this machine's network connection"
        if network
        else "is the exchange (or a sim-exchange) running there?"
    )
    # one attempt per request: the retries are here, where they can be reported
    info = InfoClient(url, retry=RetryPolicy(max_attempts=1), transport=transport)
    d, _ = split_coin(asset)
    try:
        for attempt in range(len(delays) + 1):
            try:
                directory = await AssetDirectory.load(info, [dex or d] if (dex or d) else [])
                break
            except (RateLimitedError, ServerError) as exc:
                busy = "HTTP 429 (rate limited)" if exc.status == 429 else f"HTTP {exc.status}"
                if attempt == len(delays):
                    raise PaperError(
                        f"{where}: {url}/info still answers {busy} after "
                        f"{attempt + 1} attempts over {sum(delays):g} s; the venue is busy "
                        "or down: wait a minute and rerun"
                    ) from exc
                warn(
                    f"{url}/info answered {busy} while looking up {asset}; retrying in "
                    f"{delays[attempt]:g} s (attempt {attempt + 2} of {len(delays) + 1})"
                )
                await asyncio.sleep(delays[attempt])
            except AssetNotFoundError:
                raise
            except HyperliquidError as exc:
                what = str(exc).replace("POST /", f"POST {url}/", 1)
                raise PaperError(f"{where}: {what}; {down}") from exc
        a = directory.resolve(asset, dex or None)
    except UnknownDexError as exc:
        raise UsageError(f"{exc} (at {url})") from None
    except AssetNotFoundError as exc:
        raise UsageError(f"--asset {asset}: {exc} (at {url})") from None
    finally:
        await info.aclose()
    return a.coin, a.sz_decimals


class _Stop:
    """SIGINT / SIGTERM -> cancel the session's task, once: the session then ends as at
    the end of its duration (journal closed and compacted, summary printed).  A repeated
    signal while the journal closes is only acknowledged (SIGKILL still forces), so the
    close is never cut short.  A signal the parent process set to be ignored (a
    background job's SIGINT) stays ignored."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._installed: list[signal.Signals] = []

    def install(self) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        try:
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue
                self._loop.add_signal_handler(sig, self._on, sig, task)
                self._installed.append(sig)
        except (ValueError, RuntimeError, NotImplementedError):
            self.uninstall()  # not the main thread (a test's helper thread): no handlers

    def _on(self, sig: signal.Signals, task: asyncio.Task[Any] | None) -> None:
        if self.signal is not None:
            print(
                f"{sig.name}: already stopping (closing the journal); SIGKILL forces it",
                file=sys.stderr,
                flush=True,
            )
            return
        self.signal = sig.name
        if task is not None:
            task.cancel()

    def uninstall(self) -> None:
        if self._loop is not None:
            for sig in self._installed:
                self._loop.remove_signal_handler(sig)
            self._installed.clear()
            self._loop = None

    def swallow(self) -> bool:
        """After a CancelledError: True (and the task un-cancelled) when we sent it."""
        if self.signal is None:
            return False
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True


class PaperInterrupted(Exception):
    """Stopped by a signal before the session started (no journal was written)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal = signal_name


#: Say so when no market data for the coin has arrived this long after the start ...
NO_DATA_FIRST_S = 5.0
#: ... or since the last row, once data was flowing (quiet books update less often) ...
NO_DATA_GAP_S = 10.0
#: ... and repeat it this often while it lasts.
NO_DATA_REPEAT_S = 10.0


class _Silence:
    """Watches the feed's market rows and warns on stderr while none arrive."""

    def __init__(self, feed: PaperFeed, url: str) -> None:
        self.feed = feed
        self.url = url
        self.t0 = time.monotonic()
        self.rows = 0
        self.last_row: float | None = None
        self.next_warning = self.t0 + NO_DATA_FIRST_S
        self.warned = False

    def check(self, now: float) -> None:
        rows = self.feed.market_rows
        if rows != self.rows:
            self.rows, self.last_row = rows, now
            self.next_warning = now + NO_DATA_GAP_S
            if self.warned:
                self.warned = False
                warn(f"market data for {self.feed.coin} from {self.url} is arriving again")
            return
        if now < self.next_warning:
            return
        coin = self.feed.coin
        if self.last_row is None:
            warn(
                f"no market data for {coin} has arrived from {self.url} in "
                f"{now - self.t0:.0f} s; is {coin} trading there (a sim-exchange serves only "
                "its recording's coins)?"
            )
        else:
            warn(f"no market data for {coin} from {self.url} for {now - self.last_row:.0f} s")
        self.warned = True
        self.next_warning = now + NO_DATA_REPEAT_S


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
    paper_checkpoint: Path | str | None = None,
    checkpoint_dir: Path | str | None = None,
    on_end: Callable[[PaperFeed, Any], dict[str, Any] | None] | None = None,
    views: ViewOptions | SessionViews | None = None,
) -> PaperResult:
    """Paper-trade ``asset`` for ``duration_s`` seconds (0 = until SIGINT/SIGTERM).

    ``on_end(feed, priors)`` runs when the duration is over (not after a signal or an
    engine failure), before the journal is closed: it may journal more inputs through
    ``feed`` (the live pipeline journals its verdict there) and may write the prior
    itself, returning what :meth:`PriorWriter.write` returned (then the prior is not
    written again at the end).

    ``views`` says what the session shows (:mod:`framework.environments.views`): the
    terminal view (``progress``, when ``views`` is None), the dashboard, captures; a
    :class:`SessionViews` the caller owns (``run``: one dashboard for its calibration
    and live sessions) is attached and left open.

    ``paper_checkpoint`` warm-starts the session from a prior; the session's own prior
    is written to ``checkpoint_dir/paper/<coin>/prior.json`` every
    ``[calibration] checkpoint_every_s`` and at the end (``checkpoint_dir=None``: never).

    SIGINT (Ctrl+C) and SIGTERM end the session like its duration does (journal closed
    and compacted, the summary returned; ``summary["stopped_by"]`` names the signal).

    Raises
    ------
    PaperError
        ``out`` holds a journal already, the venue cannot be reached, or the engine
        failed on an input.
    PaperInterrupted
        A signal arrived before the session started (nothing was written).
    UsageError
        The dashboard port is in use, or a capture cannot work (before anything starts).
    """
    from framework.journal.outdir import occupied

    why = occupied(out) if out is not None else None
    if why is not None:
        raise PaperError(f"--out {out}: {why}")
    owned = not isinstance(views, SessionViews)
    shown = (  # binds the port
        SessionViews(views or ViewOptions(terminal=progress), console) if owned else views
    )
    stop = _Stop()
    stop.install()
    try:
        try:
            coin, sz_decimals = await _resolve(base_url, asset, dex)
        except asyncio.CancelledError:
            if stop.swallow():
                raise PaperInterrupted(stop.signal or "") from None
            raise
        return await _session(
            stop,
            coin,
            sz_decimals,
            dex=dex,
            duration_s=duration_s,
            base_url=base_url,
            config=config,
            spread_profile=spread_profile,
            out=Path(out) if out is not None else default_out(coin),
            seed=seed,
            ws_config=ws_config,
            paper_checkpoint=paper_checkpoint,
            checkpoint_dir=checkpoint_dir,
            on_end=on_end,
            views=shown,
        )
    finally:
        stop.uninstall()
        if owned:
            shown.close()


async def _session(
    stop: _Stop,
    coin: str,
    sz_decimals: int,
    *,
    dex: str,
    duration_s: float,
    base_url: str,
    config: SessionConfig | None,
    spread_profile: str | None,
    out: Path,
    seed: int,
    ws_config: Any,
    views: SessionViews,
    paper_checkpoint: Path | str | None = None,
    checkpoint_dir: Path | str | None = None,
    on_end: Callable[[PaperFeed, Any], dict[str, Any] | None] | None = None,
) -> PaperResult:
    from framework.calibration.checkpoints import PriorWriter
    from framework.calibration.prior import prior_path
    from framework.exits import note_session
    from framework.hyperliquid.recorder import market_subscriptions
    from framework.hyperliquid.ws import WsClient, ws_url

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
    # nothing written if a component or the prior fails
    writer, engine = open_session(out, manifest, prior=paper_checkpoint, write_ahead=True)
    note_session(out)
    feed = PaperFeed(engine, writer, coin)
    priors = (
        PriorWriter(
            engine,
            manifest,
            writer,
            out,
            prior_path(checkpoint_dir, coin),
            cfg.calibration,
            checkpoint=feed.checkpoint,
        )
        if checkpoint_dir is not None
        else None
    )
    ws = WsClient(
        url,
        on_message=feed.on_message,
        on_connection=feed.on_connection,
        config=ws_config,
    )
    t0 = time.perf_counter()
    start_ns = 0
    ended: dict[str, Any] | None = None
    try:
        async with views.attach(engine, out, mode="paper", coin=coin, calibration=cfg.calibration):
            try:
                for sub in market_subscriptions(coin):
                    await ws.subscribe(sub)
                await ws.start()
                start_ns = time.time_ns()
                await _clock_loop(feed, duration_s, _Silence(feed, url), priors)
                if on_end is not None and feed.error is None:
                    ended = on_end(feed, priors)
            except asyncio.CancelledError:
                if not stop.swallow():
                    raise
    finally:
        with contextlib.suppress(Exception):
            await ws.close()
        wall = time.perf_counter() - t0
        if engine.events and feed.error is None:
            feed.checkpoint()  # the estimators' last state, journaled (and replayed)
        summary = summarize(engine, wall, start_ns)
        summary["ws"] = dict(ws.stats)
        if stop.signal:
            summary["stopped_by"] = stop.signal
        writer.close(stats={"summary": summary})
        if ended is not None:
            summary["prior"] = ended
        elif priors is not None and feed.error is None and engine.events:
            summary["prior"] = priors.write(flush=False)
    if feed.error is not None:
        raise PaperError(f"engine failed at seq {engine.seq}: {feed.error!r}") from feed.error
    return PaperResult(out=out, coin=coin, summary=summary)


async def _clock_loop(
    feed: PaperFeed,
    duration_s: float,
    silence: _Silence | None = None,
    priors: Any = None,
) -> None:
    """Tick every 100 ms until the duration is over (0 = forever) or the engine fails.

    A cancellation (SIGINT, SIGTERM) propagates to the session, which ends cleanly.
    """
    deadline = time.monotonic() + duration_s if duration_s > 0 else None
    next_tick = time.monotonic()
    while deadline is None or time.monotonic() < deadline:
        if feed.failed.is_set():
            return
        feed.tick()
        # The writer checks its 1 s bound only every few hundred appends; a quiet
        # market must not leave seconds of inputs unflushed (a crash would lose them).
        feed.writer.maybe_flush()
        if silence is not None:
            silence.check(time.monotonic())
        if priors is not None and not feed.failed.is_set():
            # The periodic prior (every checkpoint_every_s of wall time): DuckDB reads
            # the flushed journal on the checkpoint thread, the loop goes on.
            priors.maybe_write()
        next_tick += CLOCK_PERIOD_S
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


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
    paper_checkpoint: Path | None = None,
    checkpoint_dir: Path = Path("checkpoints"),
    dashboard: bool = False,
    dashboard_port: int | None = None,
    capture: Path | None = None,
    report: bool = False,
) -> int:
    """``market-maker paper``: check the flags, then run until the duration ends,
    Ctrl+C or SIGTERM; print the summary (and with ``report`` write the session's HTML
    report into its journal directory).  Returns the exit code.

    ``dashboard``, ``dashboard_port`` and ``capture`` are the view flags
    (:func:`framework.environments.views.view_options`).

    Raises
    ------
    UsageError
        A flag's value cannot be used (before any connection is made).
    """
    from rich.console import Console

    from framework import exits, flags
    from framework.calibration.prior import PriorError
    from framework.environments.views import view_options
    from framework.hyperliquid.errors import HyperliquidError

    flags.seconds("--duration", duration_s, zero="until Ctrl+C or SIGTERM")
    flags.base_url(base_url)
    flags.spread_profile(spread_profile)
    flags.new_out("--out", out)
    flags.paper_checkpoint(paper_checkpoint)
    views = view_options(
        quiet=not progress, dashboard=dashboard, dashboard_port=dashboard_port, capture=capture
    )
    if not asset.strip():
        raise exits.UsageError("--asset '': name a coin, e.g. --asset HYPE or --asset xyz:TSLA")
    warning = flags.coin_override(config, asset, "--asset")
    if warning:
        exits.warn(warning)
    if out is not None:
        exits.note_session(out)

    ended: list[tuple[Path, Any]] = []  # (journal, [calibration] config) once it ran

    def run(cfg: SessionConfig, console: Console) -> PaperResult:
        result = asyncio.run(
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
                paper_checkpoint=paper_checkpoint,
                checkpoint_dir=checkpoint_dir,
                views=views,
            )
        )
        ended.append((result.out, cfg.calibration))
        return result

    try:
        code = session_command(run, config, (PaperError, HyperliquidError, PriorError))
    except PaperInterrupted as exc:
        print(f"stopped ({exc.signal}) before the session started; nothing was written")
        return 128 + signal.Signals[exc.signal].value
    if report and code == 0 and ended:
        from framework.report.build import session_report

        code = session_report(*ended[0])
    return code
