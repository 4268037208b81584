"""Live trading: live market data, the Hyperliquid executor, a journal on disk.

The engine and its components are paper's minus the fill simulator
(``component_list(cfg, paper_fills=False)``) plus the kill switch's
:class:`~framework.live.flatten.Flattener`.  Everything the engine sees is a journaled
input taking ``engine.next_input_seq()``: market data, the venue's answers to our
commands (``order_responses``), ``orderUpdates`` and ``userFills`` pushes, account and
rate-limit snapshots, connection changes, clock ticks every ``[live] clock_period_s``,
and the environment's own decisions (``control`` rows: the run pipeline's steps,
reconciliation, leverage, the dead-man switch, shutdown).  So ``replay --verify``
re-derives every command of a live session.

Order commands are durable before they are sent: the journal writer appends every row
since the last sync to its write-ahead log with one fdatasync
(:mod:`framework.journal.wal`; tables become Parquet parts about once a second, on the
writer's flush thread), checked
by the :class:`~framework.live.guard.Guard`, then signed and posted by the executor
(WS post, HTTP fallback) under the engine's client order ids.  An answer whose outcome
is unknown (a timeout, a dropped connection) is resolved by asking the venue for the
order by its cloid before anything is journaled; a place the venue never saw is sent
once more under the same cloid, so a retry never makes a second order.

Start: reconcile with the venue (fills missed since the last session's last journaled
fill, orders left resting: journaled, then cancelled), set the leverage (isolated where
the dex requires it), adopt the account (position, equity), arm the dead-man switch
(``scheduleCancel`` ``dead_man_s`` ahead, refreshed every ``dead_man_refresh_s`` while
the session is healthy), then subscribe.  Stop (SIGINT, SIGTERM, the duration, the
kill switch): a ``control`` row makes the engine cancel everything (and flatten, after
the kill switch with ``flatten_on_kill``), the acknowledgements are awaited up to
``shutdown_timeout_s``, anything the venue still shows is cancelled, the journal is
closed and the live checkpoint written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from framework.config import SessionConfig, unstructure
from framework.engine.core import Engine
from framework.environments.backtest import apply_overrides, component_list, open_session
from framework.environments.paper import PaperFeed, _Stop
from framework.events.schema import SEQ_STRIDE, Kind, spec
from framework.exits import warn
from framework.journal import JournalWriter, Manifest

__all__ = ["LiveError", "LiveFeed", "LiveResult", "default_out", "live_components", "run_live"]

#: account and rate-limit snapshots are polled this often (seconds)
ACCOUNT_POLL_S = 5.0
#: unknown outcomes: how long to wait before asking the venue about the order
RESOLVE_WAIT_S = 0.2

_TRANSPORT = re.compile(r"^client: \w+Error: ")
_COMMAND_COLUMNS = spec(Kind.ORDER_COMMANDS).columns


class LiveError(RuntimeError):
    """The live session could not start, or stopped on a failure (the message says)."""


@attrs.define
class LiveResult:
    out: Path
    coin: str
    summary: dict[str, Any]
    exit_code: int = 0


def default_out(coin: str, root: Path | str = "out") -> Path:
    """A fresh ``out/live-<coin>-<UTC time>[-<n>]``."""
    from framework.flags import fresh_out

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return fresh_out(Path(root) / f"live-{coin.replace(':', '_')}-{stamp}")


def live_components(cfg: SessionConfig) -> list[dict[str, Any]]:
    """The live engine: paper's components without the fill simulator, plus the
    kill switch's flattener."""
    comps = component_list(cfg, paper_fills=False)
    comps.append(
        {
            "path": "framework.live.flatten:Flattener",
            "config": {
                "coin": cfg.strategy.coin,
                "sz_decimals": cfg.strategy.sz_decimals,
                "enabled": cfg.live.flatten_on_kill,
            },
        }
    )
    return comps


class _Tee:
    """The engine's sink: the journal writer, and the order commands to send."""

    def __init__(self, writer: JournalWriter, outbox: list[tuple[Any, ...]]) -> None:
        self.writer = writer
        self.outbox = outbox
        self._append = writer.append

    def append(self, kind: Kind, row: tuple[Any, ...]) -> None:
        self._append(kind, row)
        if kind == Kind.ORDER_COMMANDS:
            self.outbox.append(row)


class LiveFeed(PaperFeed):
    """:class:`PaperFeed` plus the user streams, venue answers and control rows.

    Order commands the engine emits collect in :attr:`outbox` (already journaled and
    flushed when :meth:`input` returns); :attr:`wake` is set when there are some.
    """

    def __init__(self, engine: Engine, writer: JournalWriter, coin: str) -> None:
        super().__init__(engine, writer, coin)
        self.outbox: list[tuple[Any, ...]] = []
        self.wake = asyncio.Event()
        self.tids: set[int] = set()
        self.last_fill_ms = 0
        self.user_rows = 0
        engine.set_sink(_Tee(writer, self.outbox))

    def input(self, kind: Kind, ts: int, recv_ts: int, payload: tuple[Any, ...]) -> None:
        super().input(kind, ts, recv_ts, payload)
        if self.outbox:
            self.wake.set()

    def now(self) -> int:
        return self.repair.recv(self.clock_ns())

    def on_message(self, msg: dict[str, Any], recv_ts: int) -> None:
        if msg.get("channel") in ("orderUpdates", "userFills", "user"):
            self.on_user(msg, recv_ts)
        else:
            super().on_message(msg, recv_ts)

    def on_user(self, msg: dict[str, Any], recv_ts: int) -> None:
        """An ``orderUpdates`` / ``userFills`` push: our coin's rows, fills once each."""
        from framework.hyperliquid.errors import ProtocolError
        from framework.hyperliquid.rows import parse_user_message

        recv_ts = self.repair.recv(recv_ts)
        try:
            rows = parse_user_message(msg, recv_ts)
        except ProtocolError:
            self.skipped += 1
            return
        self.user_rows_in(rows, recv_ts)

    def user_rows_in(self, rows: list[tuple[Kind, tuple[Any, ...]]], recv_ts: int) -> int:
        """Journal and step user rows (our coin; a fill whose tid was seen is skipped);
        returns how many were stepped."""
        n = 0
        for kind, row in rows:
            if row[2] != self.coin:
                self.skipped += 1
                continue
            if kind == Kind.FILLS:
                tid = row[10]
                if tid in self.tids:
                    continue
                self.tids.add(tid)
                self.last_fill_ms = max(self.last_fill_ms, row[0] // 1_000_000)
            self.user_rows += 1
            n += 1
            self.input(kind, self.repair.ts(row[0], recv_ts), recv_ts, tuple(row[2:]))
        return n

    def control(self, topic: str, action: str, value: float | None, detail: str | None) -> None:
        """Journal and step one environment decision."""
        now = self.now()
        self.input(Kind.CONTROL, now, now, (topic, action, value, detail))

    def response(self, payload: tuple[Any, ...]) -> None:
        now = self.now()
        self.input(Kind.ORDER_RESPONSES, now, now, payload)

    def tick(self) -> None:
        now = self.now()
        self.input(Kind.CLOCK, now, now, ("live",))


def _tid_index() -> int:
    # fills rows from rows.fill_rows: (ts, recv_ts, coin, oid, cloid, side, px, sz, fee,
    # crossed, tid, closed_pnl, start_position); checked once at import
    cols = ("ts", "recv_ts", *spec(Kind.FILLS).payload_columns)
    return cols.index("tid")


assert _tid_index() == 10


class LiveSession:
    """One live session: the venue, the feed, the tasks.  See the module docstring."""

    def __init__(
        self,
        *,
        cfg: SessionConfig,
        venue: Any,
        feed: LiveFeed,
        engine: Engine,
        writer: JournalWriter,
        out: Path,
        stop: _Stop,
        duration_s: float,
        state_file: Path,
        priors: Any,
        say: Callable[[str], None],
    ) -> None:
        from framework.live.guard import Guard

        self.cfg = cfg
        self.venue = venue
        self.feed = feed
        self.engine = engine
        self.writer = writer
        self.out = out
        self.stop = stop
        self.duration_s = duration_s
        self.state_file = state_file
        self.priors = priors
        self.say = say
        self.guard = Guard(engine)
        self.coin = feed.coin
        self.tasks: list[asyncio.Task[Any]] = []
        self.stopping: str | None = None  # why the session is ending
        self.kill_reason: str | None = None
        self.dead_man_armed = False
        self.last_dead_man = 0.0
        self.resync_wanted = asyncio.Event()
        self._saved_day: tuple[int, float] | None = None
        self.sent = 0
        self.resolved = 0
        self.resent = 0
        self.stats: dict[str, Any] = {}

    # -- sending --------------------------------------------------------------------------
    async def sender(self) -> None:
        """Send what the engine decided, in order; journal every answer."""
        feed = self.feed
        while True:
            await feed.wake.wait()
            feed.wake.clear()
            while feed.outbox:
                batch = list(feed.outbox)
                feed.outbox.clear()
                await self._send(batch)

    async def _send(self, batch: list[tuple[Any, ...]]) -> None:
        cmds = [dict(zip(_COMMAND_COLUMNS, row, strict=True)) for row in batch]
        answers: dict[int, tuple[Any, ...]] = {}
        ok: list[int] = []
        for i, c in enumerate(cmds):
            why = self.guard.check(c)
            if why is None:
                ok.append(i)
            else:
                answers[i] = (c["cloid"], None, c["action"], "error", why, None, None, c["seq"])
        if ok:
            rows = await self.venue.executor.execute_commands([cmds[i] for i in ok])
            self.sent += len(ok)
            for i, row in zip(ok, rows, strict=True):
                answers[i] = await self._resolve(cmds[i], row)
        for i in range(len(cmds)):
            self.feed.response(answers[i])

    async def _resolve(self, cmd: dict[str, Any], row: tuple[Any, ...]) -> tuple[Any, ...]:
        """Settle an answer whose outcome is unknown, or a cancel/modify refused because
        the order is not where we think, by asking the venue (module docstring)."""
        status, error = row[3], row[4] or ""
        if status != "error":
            return row
        action = cmd["action"]
        unknown = bool(_TRANSPORT.match(error))
        if action in ("place", "modify") and unknown:
            await asyncio.sleep(RESOLVE_WAIT_S)
            found = await self._order_status(cmd["cloid"])
            if found is None:  # the venue never saw it: once more, same cloid
                self.resent += 1
                (row,) = await self.venue.executor.execute_commands([cmd])
                if row[3] != "error" or not _TRANSPORT.match(row[4] or ""):
                    return row
                found = await self._order_status(cmd["cloid"])
                if found is None:
                    return row
            self.resolved += 1
            return self._answer_from_status(cmd, found, row)
        if action in ("cancel", "modify") and not error.startswith("client: blocked"):
            target = cmd["target_cloid"] or cmd["cloid"] if action == "modify" else cmd["cloid"]
            found = await self._order_status(target)
            if found is not None and found["status"] != "open":
                self.resolved += 1
                self._journal_update(found)
            elif found is not None and action == "cancel" and unknown:
                self.resent += 1
                (row,) = await self.venue.executor.execute_commands([cmd])
        return row

    async def _order_status(self, cloid: str | None) -> dict[str, Any] | None:
        """The venue's ``{"order": {...}, "status": ...}`` of ``cloid``, or None."""
        if not cloid:
            return None
        from framework.hyperliquid.errors import HyperliquidError

        try:
            raw = await self.venue.info.raw(
                {"type": "orderStatus", "user": self.venue.account, "oid": cloid}
            )
        except HyperliquidError as exc:
            warn(f"orderStatus {cloid}: {exc}; the order's outcome stays unknown")
            return None
        if not isinstance(raw, dict) or raw.get("status") != "order":
            return None
        found = raw.get("order")
        return found if isinstance(found, dict) and "order" in found else None

    def _journal_update(self, found: dict[str, Any]) -> None:
        """The venue's view of one order, journaled as an ``order_updates`` row."""
        from framework.hyperliquid.rows import order_update_rows

        msg = {
            "order": found["order"],
            "status": found["status"],
            "statusTimestamp": found.get("statusTimestamp", 0),
        }
        now = self.feed.now()
        self.feed.user_rows_in(order_update_rows([msg], now), now)

    def _answer_from_status(
        self, cmd: dict[str, Any], found: dict[str, Any], row: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        o, st = found["order"], found["status"]
        oid = int(o["oid"])
        if st == "open":
            status, error = "resting", None
        elif st == "filled":
            status, error = "filled", None
        elif st.endswith("Rejected") or st == "rejected":
            status, error = "error", f"venue: {st}"
        else:
            status, error = "canceled", None
        return (cmd["cloid"], oid, cmd["action"], status, error, None, None, cmd["seq"])

    # -- venue snapshots ------------------------------------------------------------------
    async def snapshot_account(self) -> None:
        """Journal an ``account`` and a ``rate_limit`` row from the venue."""
        from framework.hyperliquid.rows import account_row, rate_limit_row

        v = self.venue
        state = await v.info.clearinghouse_state(v.account, dex=v.asset.dex)
        rl = await v.info.user_rate_limit(v.account)
        now = self.feed.now()
        kind, row = account_row(state, self.coin, now)
        self.feed.input(kind, min(row[0], now), now, row[2:])
        kind, row = rate_limit_row(rl, now)
        self.feed.input(kind, now, now, row[2:])

    async def poll_account(self) -> None:
        from framework.hyperliquid.errors import HyperliquidError

        while True:
            await asyncio.sleep(ACCOUNT_POLL_S)
            try:
                await self.snapshot_account()
            except HyperliquidError as exc:
                warn(f"account snapshot failed: {exc}; retrying in {ACCOUNT_POLL_S:g} s")
            self.save_day()  # a new UTC day starts a new daily-loss count

    # -- the daily loss across restarts ---------------------------------------------------
    def carry_day(self, previous: Any) -> None:
        """After the account is adopted: an earlier session's start equity of this UTC
        day is journaled as a ``control`` row the risk manager counts the daily loss
        from (a restart used to start the day afresh, a tripped limit with it)."""
        risk = self.engine.component("risk")
        day, _ = risk.day_start
        if (
            previous is not None
            and previous.risk_day == day
            and previous.day_start_equity is not None
        ):
            self.feed.control("risk", "day_start", previous.day_start_equity, str(day))
        self.save_day()

    def save_day(self) -> None:
        """Record the day's start equity in the live state file when it changed."""
        day, equity = self.engine.component("risk").day_start
        if (day, equity) == self._saved_day or not math.isfinite(equity) or day < 0:
            return
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return
        from framework.live.reconcile import write_state

        write_state(self.state_file, {**data, "risk_day": day, "day_start_equity": equity})
        self._saved_day = (day, equity)

    # -- dead-man switch ------------------------------------------------------------------
    async def arm_dead_man(self) -> bool:
        """``scheduleCancel`` ``dead_man_s`` ahead; journaled.  True when the venue took it."""
        from framework.hyperliquid.errors import HyperliquidError

        ahead = self.cfg.live.dead_man_s
        when = time.time_ns() // 1_000_000 + int(ahead * 1000)
        try:
            res = await self.venue.executor.schedule_cancel(when)
            ok, why = res.ok, res.error
        except HyperliquidError as exc:
            ok, why = False, str(exc)
        self.last_dead_man = time.monotonic()
        if ok:
            self.dead_man_armed = True
            self.feed.control(
                "dead_man", "armed", ahead, f"orders cancel at {when} ms unless refreshed"
            )
        else:
            self.feed.control("dead_man", "failed", ahead, why)
            warn(f"dead-man switch (scheduleCancel) refused: {why}")
        return ok

    def healthy(self) -> bool:
        """The session may keep its orders alive: the engine runs and the WS is up."""
        return self.feed.error is None and self.venue.ws.connected and self.stopping is None

    async def dead_man_loop(self) -> None:
        every = self.cfg.live.dead_man_refresh_s
        while True:
            await asyncio.sleep(max(0.0, self.last_dead_man + every - time.monotonic()))
            if self.healthy():
                await self.arm_dead_man()
            else:
                await asyncio.sleep(0.1)

    # -- reconciliation -------------------------------------------------------------------
    async def reconcile_start(self, previous: Any) -> None:
        """Fills missed since the last journaled one, orders left resting: journaled
        as inputs, then the orders cancelled (module docstring)."""
        from framework.live.reconcile import missed_fills, open_orders

        v = self.venue
        feed = self.feed
        if previous is not None:
            feed.tids.update(previous.tids)
            rows = await missed_fills(
                v.info, v.account, self.coin, previous.last_fill_ms, previous.tids
            )
            now = feed.now()
            rows = [(k, (r[0], now, *r[2:])) for k, r in rows]
            how = "crashed" if not previous.closed else "stopped cleanly"
            feed.control(
                "reconcile",
                "fills_missed",
                float(len(rows)),
                f"{len(rows)} fill(s) of {self.coin} since the last journaled one "
                f"({previous.last_fill_ms} ms) of the previous session ({how}, "
                f"{previous.journal})",
            )
            feed.user_rows_in(rows, now)
        else:
            feed.control(
                "reconcile", "no_previous", None, "no earlier live session of this account"
            )
        resting = await open_orders(v.info, v.account, self.coin, v.asset.dex)
        feed.control(
            "reconcile",
            "orphans",
            float(len(resting)),
            f"{len(resting)} order(s) of {self.coin} rest on the venue at start: cancelled",
        )
        if resting:
            now = feed.now()
            updates = [
                (
                    Kind.ORDER_UPDATES,
                    (
                        int(o.get("timestamp", 0)) * 1_000_000,
                        now,
                        o["coin"],
                        int(o["oid"]),
                        o.get("cloid"),
                        1 if o["side"] == "B" else -1,
                        float(o["limitPx"]),
                        float(o["sz"]),
                        float(o.get("origSz", o["sz"])),
                        "open",
                    ),
                )
                for o in resting
            ]
            feed.user_rows_in(updates, now)
            await self.cancel_by_oid([int(o["oid"]) for o in resting], "reconcile")

    async def cancel_by_oid(self, oids: list[int], topic: str) -> None:
        """Cancel venue orders the engine does not own (orphans); journaled."""
        from framework.hyperliquid.errors import HyperliquidError

        try:
            res = await self.venue.executor.cancel([(self.coin, oid) for oid in oids])
            results = [
                s.status if s.status != "error" else f"error: {s.error}" for s in res.statuses
            ]
        except HyperliquidError as exc:
            results = [f"error: {exc}"] * len(oids)
        for oid, r in zip(oids, results, strict=True):
            self.feed.control(topic, "cancel_orphan", float(oid), f"oid {oid}: {r}")

    async def resync(self) -> None:
        """After a reconnect: the fills the stream missed, and every order we think
        open that the venue no longer has (its final state journaled)."""
        from framework.hyperliquid.errors import HyperliquidError
        from framework.live.reconcile import missed_fills

        while True:
            await self.resync_wanted.wait()
            self.resync_wanted.clear()
            v = self.venue
            feed = self.feed
            try:
                since = feed.last_fill_ms or self.stats.get("started_ms", 0)
                rows = await missed_fills(v.info, v.account, self.coin, since, feed.tids)
                now = feed.now()
                n = feed.user_rows_in([(k, (r[0], now, *r[2:])) for k, r in rows], now)
                feed.control(
                    "reconcile", "resync", float(n), f"{n} fill(s) missed while disconnected"
                )
                for cloid in list(self.engine.component("orders").open):
                    found = await self._order_status(cloid)
                    if found is not None and found["status"] != "open":
                        self._journal_update(found)
            except HyperliquidError as exc:
                warn(f"resync after reconnect failed: {exc}")

    def on_connection(self, link: str, state: str, detail: str | None) -> None:
        self.feed.on_connection(link, state, detail)
        if link == "ws" and state == "resubscribed" and self.stats.get("subscribed"):
            self.resync_wanted.set()

    # -- the loop -------------------------------------------------------------------------
    async def clock_loop(self) -> None:
        """Tick until the duration is over, the kill switch trips or the engine fails."""
        period = self.cfg.live.clock_period_s
        deadline = time.monotonic() + self.duration_s if self.duration_s > 0 else None
        next_tick = time.monotonic()
        risk = self.engine.component("risk")
        idle_check = time.monotonic() + IDLE_WARN_S
        while True:
            if idle_check is not None and time.monotonic() >= idle_check:
                idle_check = self._warn_if_idle(risk)
            if self.feed.failed.is_set():
                self.stopping = "engine failure"
                return
            if deadline is not None and time.monotonic() >= deadline:
                self.stopping = "duration"
                return
            if risk.killed or risk.daily_tripped:
                self.kill_reason = _kill_reason(risk)
                self.stopping = "kill switch"
                return
            self.feed.tick()
            self.writer.maybe_flush()
            if self.priors is not None:
                self.priors.maybe_write()
            next_tick += period
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))

    def _warn_if_idle(self, risk: Any) -> float | None:
        """Once: quoting allowed for IDLE_WARN_S and not one order sent says why it may
        be (a small account's every size is under the venue minimum: it looked healthy
        and did nothing).  The next check time, or None when done."""
        if not risk.quoting_allowed or not self.feed.market_rows:
            return time.monotonic() + IDLE_WARN_S  # not its fault yet: look again later
        if self.engine.component("orders").n_commands == 0:
            c = self.cfg
            equity = self.engine.component("orders").equity
            warn(
                f"no order sent in {IDLE_WARN_S:g} s of quoting: with equity {equity:,.2f} USD "
                f"every size may be under [strategy] min_notional_usd "
                f"({c.strategy.min_notional_usd:g} USD) or the margin limits ([risk] "
                f"leverage {c.risk.leverage:g}, max_margin_usage {c.risk.max_margin_usage:g}): "
                "fund the account or lower them"
            )
        return None

    async def wind_down(self, why: str) -> None:
        """Cancel everything (flatten after a kill), wait for the acknowledgements up to
        ``shutdown_timeout_s``, then cancel whatever the venue still shows."""
        from framework.hyperliquid.errors import HyperliquidError
        from framework.live.reconcile import open_orders

        feed = self.feed
        orders = self.engine.component("orders")
        flat = self.engine.component("flatten")
        if feed.error is None:
            topic = "kill" if self.kill_reason else "shutdown"
            feed.control(topic, "cancel_all", None, why)
            deadline = time.monotonic() + self.cfg.live.shutdown_timeout_s
            period = self.cfg.live.clock_period_s
            while time.monotonic() < deadline and feed.error is None:
                if not orders.open and flat.done and not feed.outbox:
                    break
                feed.tick()  # timers (the flattener's retries) keep running
                await asyncio.sleep(period)
            if orders.open:
                warn(
                    f"{len(orders.open)} order(s) still unacknowledged after "
                    f"{self.cfg.live.shutdown_timeout_s:g} s; checking the venue"
                )
        v = self.venue
        try:
            left = await open_orders(v.info, v.account, self.coin, v.asset.dex)
            if left:
                await self.cancel_by_oid([int(o["oid"]) for o in left], "shutdown")
                left = await open_orders(v.info, v.account, self.coin, v.asset.dex)
            self.stats["open_at_end"] = len(left)
            if not left and self.dead_man_armed:
                res = await v.executor.schedule_cancel(None)
                feed.control("dead_man", "cleared" if res.ok else "failed", None, res.error)
        except HyperliquidError as exc:
            warn(f"could not check the venue's open orders at the end: {exc}")
            self.stats["open_at_end"] = None


#: Seconds of quoting allowed without one order sent before the session says so.
IDLE_WARN_S = 10.0


def _kill_reason(risk: Any) -> str:
    if risk.killed:
        s = risk.states
        if s.get("drawdown") == "tripped":
            dd, cap = risk.orders.max_drawdown, risk.cfg.max_drawdown
            return f"drawdown {dd:.4%} >= max_drawdown {cap:.4%}"
        return "kill"
    return f"daily loss >= max_daily_loss_usd {risk.cfg.max_daily_loss_usd:g}"


async def run_live(
    asset: str,
    *,
    dex: str,
    cfg: SessionConfig,
    out: Path,
    signer: Any,
    decisions: list[tuple[str, str, float | None]],
    prior: Path | None,
    checkpoint_dir: Path,
    duration_s: float = 0.0,
    say: Callable[[str], None] = print,
    run_record: dict[str, Any] | None = None,
    ws_config: Any = None,
    views: Any = None,
) -> LiveResult:
    """Trade ``asset`` live until SIGINT/SIGTERM, the duration (0 = none) or the kill
    switch.  ``decisions`` are the run pipeline's ``(action, reason, value)`` steps,
    journaled first as ``control`` rows (topic ``run``).  ``views`` (a
    :class:`framework.environments.views.SessionViews`) shows the session.

    Raises
    ------
    LiveError
        The venue refused the start (leverage, account) or the engine failed.
    """
    from framework.calibration.checkpoints import PriorWriter
    from framework.calibration.prior import coin_key
    from framework.exits import note_session
    from framework.hyperliquid.recorder import market_subscriptions
    from framework.live.reconcile import previous_session, state_path, write_state
    from framework.live.venue import Venue, user_subscriptions

    stop = _Stop()
    stop.install()
    venue = None
    try:
        nonce_path = Path(checkpoint_dir) / "live" / "nonces.json"
        holder: dict[str, Any] = {}

        def on_message(msg: dict[str, Any], recv_ts: int) -> None:
            f = holder.get("feed")
            if f is not None:
                f.on_message(msg, recv_ts)

        def on_connection(link: str, state: str, detail: str | None) -> None:
            s = holder.get("session")
            if s is not None:
                s.on_connection(link, state, detail)

        venue = await Venue.open(
            cfg.live,
            asset,
            dex,
            signer=signer,
            nonce_path=nonce_path,
            on_message=on_message,
            on_connection=on_connection,
            ws_config=ws_config,
        )
        coin = venue.asset.coin
        say(
            f"live: {coin} (asset id {venue.asset.asset_id}, {venue.margin_mode} margin) "
            f"on {venue.base_url} as {venue.account}"
            + (f" signed by agent {signer.address}" if signer.address != venue.account else "")
        )
        cfg = apply_overrides(cfg, coin=coin, sz_decimals=venue.asset.sz_decimals)
        state_file = state_path(checkpoint_dir, coin)
        previous = previous_session(state_file, venue.account)
        # Cloids are 0x<seed:8 hex><counter>: a new seed per session keeps every cloid
        # unique across restarts (a reused cloid could name an old order).
        seed = time.time_ns() // 1_000_000_000 & 0x7FFFFFFF
        if previous is not None and previous.seed >= seed:
            seed = (previous.seed + 1) & 0x7FFFFFFF
        manifest = Manifest(
            mode="live",
            asset=coin.split(":")[-1],
            dex=venue.asset.dex,
            coin=coin,
            seed=seed,
            config=unstructure(cfg),
            components=live_components(cfg),
            source={
                "base_url": venue.base_url,
                "network": cfg.live.network,
                "account": venue.account,
                "asset_id": venue.asset.asset_id,
                "margin_mode": venue.margin_mode,
                "run": run_record or {},
            },
            seq_stride=SEQ_STRIDE,
            sz_decimals=venue.asset.sz_decimals,
        )
        writer, engine = open_session(out, manifest, prior=prior, write_ahead=True)
        note_session(out)
        feed = LiveFeed(engine, writer, coin)
        holder["feed"] = feed
        started_ms = time.time_ns() // 1_000_000
        write_state(
            state_file,
            {
                "journal": str(Path(out).resolve()),
                "seed": seed,
                "account": venue.account,
                "coin": coin,
                "started_ms": started_ms,
            },
        )
        priors = PriorWriter(
            engine,
            manifest,
            writer,
            out,
            Path(checkpoint_dir) / "live" / coin_key(coin) / "prior.json",
            cfg.calibration,
            checkpoint=feed.checkpoint,
        )
        session = LiveSession(
            cfg=cfg,
            venue=venue,
            feed=feed,
            engine=engine,
            writer=writer,
            out=Path(out),
            stop=stop,
            duration_s=duration_s,
            state_file=state_file,
            priors=priors,
            say=say,
        )
        session.stats["started_ms"] = started_ms
        holder["session"] = session
        subscriptions = market_subscriptions(coin) + user_subscriptions(venue.account)
        if views is None:
            return await _run_session(session, decisions, previous, subscriptions)
        # the terminal view, dashboard and captures (framework.environments.views)
        async with views.attach(engine, out, mode="live", coin=coin, calibration=cfg.calibration):
            return await _run_session(session, decisions, previous, subscriptions)
    except asyncio.CancelledError:
        if stop.swallow():
            raise LiveInterrupted(stop.signal or "") from None
        raise
    finally:
        stop.uninstall()
        if venue is not None:
            with contextlib.suppress(Exception):
                await venue.aclose()


class LiveInterrupted(Exception):
    """Stopped by a signal before the session started (nothing was sent)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal = signal_name


async def _run_session(
    s: LiveSession,
    decisions: list[tuple[str, str, float | None]],
    previous: Any,
    subscriptions: list[dict[str, Any]],
) -> LiveResult:
    from framework.environments.summary import summarize
    from framework.hyperliquid.errors import HyperliquidError

    feed, venue, cfg = s.feed, s.venue, s.cfg
    t0 = time.perf_counter()
    start_ns = time.time_ns()
    failure: str | None = None
    sender = asyncio.create_task(s.sender(), name="live-sender")
    try:
        try:
            for action, reason, value in decisions:
                feed.control("run", action, value, reason)
            await s.reconcile_start(previous)
            lev = int(cfg.risk.leverage)
            res = await venue.executor.update_leverage(
                s.coin, lev, is_cross=not venue.asset.only_isolated
            )
            feed.control(
                "leverage",
                "set" if res.ok else "refused",
                float(lev),
                f"{venue.margin_mode} margin" + ("" if res.ok else f": {res.error}"),
            )
            if not res.ok:
                raise LiveError(_leverage_refused(lev, s.coin, str(res.error), cfg, venue))
            await s.snapshot_account()
            s.carry_day(previous)
            if not await s.arm_dead_man():
                # No order may rest without the dead-man switch behind it: a frozen or
                # killed process would leave them on the book.
                raise LiveError(
                    "the venue refused the dead-man switch (scheduleCancel); not quoting "
                    "without it: check [live] dead_man_s and the account's daily limit"
                )
            for sub in subscriptions:
                await venue.ws.subscribe(sub)
            await venue.ws.start()
            await venue.ws.wait_connected(cfg.live.shutdown_timeout_s + 10.0)
            s.stats["subscribed"] = True
            s.tasks = [
                asyncio.create_task(s.poll_account(), name="live-account"),
                asyncio.create_task(s.dead_man_loop(), name="live-dead-man"),
                asyncio.create_task(s.resync(), name="live-resync"),
            ]
            s.say(f"live: quoting {s.coin}; journal {s.out}")
            await s.clock_loop()
        except asyncio.CancelledError:
            if not s.stop.swallow():
                raise
            s.stopping = s.stop.signal
        except (HyperliquidError, LiveError) as exc:
            failure = str(exc)
            s.stopping = "failure"
        for t in s.tasks:
            t.cancel()
        why = s.kill_reason or (f"stopped by {s.stopping}" if s.stopping else "stopped")
        if failure is not None:
            why = f"failure: {failure}"
        s.say(f"live: stopping ({why}): cancelling every order")
        try:
            await s.wind_down(why)
        except asyncio.CancelledError:
            s.stop.swallow()
    finally:
        for t in [*s.tasks, sender]:
            t.cancel()
        for t in [*s.tasks, sender]:
            with contextlib.suppress(BaseException):
                await t
        with contextlib.suppress(Exception):
            await venue.ws.close()
        wall = time.perf_counter() - t0
        engine = s.engine
        if engine.events and feed.error is None:
            feed.checkpoint()  # the estimators' last state, journaled (and replayed)
        summary = summarize(engine, wall, start_ns)
        summary["live"] = {
            "sent": s.sent,
            "blocked": s.guard.blocked,
            "resolved": s.resolved,
            "resent": s.resent,
            "fallbacks": venue.executor.fallbacks,
            "open_at_end": s.stats.get("open_at_end"),
            "stopped_by": s.stopping,
            "kill": s.kill_reason,
        }
        summary["ws"] = dict(venue.ws.stats)
        s.writer.close(stats={"summary": summary})
        if feed.error is None and engine.events:
            with contextlib.suppress(Exception):
                summary["prior"] = s.priors.write(flush=False)
    if feed.error is not None:
        raise LiveError(f"engine failed at seq {engine.seq}: {feed.error!r}") from feed.error
    code = 0
    if failure is not None:
        raise LiveError(failure)
    if s.kill_reason:
        code = 1
    return LiveResult(out=s.out, coin=s.coin, summary=summary, exit_code=code)


def _leverage_refused(lev: int, coin: str, error: str, cfg: Any, venue: Any) -> str:
    """Why the session's first signed action (the leverage) was refused, and the fix."""
    if "does not exist" in error:
        # The venue recovered another address from the signature: signatures are per
        # network, so the usual cause is the wrong --network, not the leverage.
        return (
            f"the venue does not know the signer ({error}): a signature is only valid on the "
            f"network it was made for, and this one was made for {cfg.live.network}; a "
            "local sim-exchange verifies testnet unless started with --mainnet, "
            "api.hyperliquid.xyz is mainnet; fix --network, or fund the account there"
        )
    if "Must deposit" in error:
        return (
            f"the account holds no funds on this venue ({error}): deposit USDC to it (or "
            "check --network and [live] account_address), then start again"
        )
    return (
        f"leverage {lev} (--leverage, [risk] leverage): the venue refused it for {coin} "
        f"({error}); choose a leverage in 1..{venue.asset.max_leverage}"
    )
