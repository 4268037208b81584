"""Record live market data (book, trades, bbo, asset ctx + connection events) into a journal.

Usage::

    result = await record(base_url, coin="BTC", duration_s=60, out=Path("recordings/btc"))

:func:`record` resolves the coin from ``meta``/``perpDexs`` (a clear error lists the known
coins when it is wrong), subscribes ``l2Book``, ``trades``, ``bbo`` and ``activeAssetCtx``
over the reconnecting :class:`~framework.hyperliquid.ws.WsClient`, and appends:

* market rows parsed by :func:`framework.recordings.messages.parse_ws_message` (the same
  parser the importers use), with the importers' repairs (``recv_ts`` non-decreasing,
  ``ts`` never after ``recv_ts``) and trade de-duplication (the server replays recent
  trades after every resubscribe);
* a ``connection`` row for every connect / disconnect / resubscribe / feed stale / fresh.

The manifest records the coin's ``szDecimals`` from ``meta`` (``sz_decimals``), the grid a
backtest of the recording quotes on.

One seq counter across tables, in steps of ``SEQ_STRIDE`` (so a backtest can keep the
input tables as they are); ``ts`` of a connection row is its local time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from framework.events.schema import SEQ_STRIDE, Kind
from framework.hyperliquid.dexes import AssetDirectory, split_coin
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.ws import WsClient, WsConfig, ws_url
from framework.journal.manifest import Manifest
from framework.journal.writer import JournalWriter
from framework.recordings.errors import MessageError, UnknownChannelError
from framework.recordings.messages import parse_ws_message
from framework.recordings.repair import TimeRepair, TradeDedup

log = logging.getLogger(__name__)


def market_subscriptions(coin: str) -> list[dict[str, Any]]:
    """The WS subscriptions a market-data recording needs for ``coin``."""
    return [
        {"type": "l2Book", "coin": coin},
        {"type": "trades", "coin": coin},
        {"type": "bbo", "coin": coin},
        {"type": "activeAssetCtx", "coin": coin},
    ]


class JournalSink:
    """WS callbacks that append rows to a journal (used by ``record`` and live environments).

    Parameters
    ----------
    writer : JournalWriter
    coin : str
        Only rows of this coin are kept (others are counted as skipped).
    clock_ns : callable
        Local clock for connection rows.
    """

    def __init__(
        self, writer: JournalWriter, coin: str, clock_ns: Callable[[], int] = time.time_ns
    ) -> None:
        self.writer = writer
        self.coin = coin
        self._clock_ns = clock_ns
        self.seq = 0
        self.repair = TimeRepair()
        self.dedup = TradeDedup()
        self.rows: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.problems: list[str] = []

    def _append(self, kind: Kind, ts: int, recv_ts: int, payload: tuple[Any, ...]) -> None:
        self.seq += SEQ_STRIDE
        self.writer.append(kind, (self.seq, ts, recv_ts, *payload))
        self.rows[kind.name.lower()] += 1

    def on_message(self, msg: dict[str, Any], recv_ts: int) -> None:
        """Parse one WS message and append its rows."""
        recv_ts = self.repair.recv(recv_ts)
        try:
            rows = parse_ws_message(msg, recv_ts)
        except UnknownChannelError:
            self.skipped[f"channel {msg.get('channel')}"] += 1
            return
        except MessageError as exc:
            if len(self.problems) < 100:
                self.problems.append(str(exc))
            self.skipped["malformed"] += 1
            return
        for kind, row in rows:
            coin = row[2]
            if coin != self.coin:
                self.skipped[f"coin {coin}"] += 1
                continue
            if kind == Kind.TRADES and self.dedup.is_duplicate(coin, row[6], row[0]):
                self.skipped["duplicate trades"] += 1
                continue
            self._append(kind, self.repair.ts(row[0], recv_ts), recv_ts, tuple(row[2:]))

    def on_connection(self, link: str, state: str, detail: str | None) -> None:
        """Append a ``connection`` row."""
        now = self.repair.recv(self._clock_ns())
        self._append(Kind.CONNECTION, now, now, (link, state, detail))
        log.info("connection %s %s %s", link, state, detail or "")

    def stats(self) -> dict[str, Any]:
        return {
            "rows": dict(self.rows),
            "skipped": dict(self.skipped),
            "problems": self.problems[:20],
            "repairs": {**self.repair.counts, "duplicate_trades": self.dedup.duplicates},
        }


@attrs.frozen
class RecordResult:
    out: Path
    coin: str
    asset_id: int
    sz_decimals: int
    rows: dict[str, int]
    skipped: dict[str, int]
    ws_stats: dict[str, int]


async def record(
    base_url: str,
    coin: str,
    duration_s: float,
    out: Path,
    *,
    dex: str = "",
    ws_config: WsConfig | None = None,
    info: InfoClient | None = None,
    url: str | None = None,
) -> RecordResult:
    """Record ``coin`` (``"BTC"``, ``"xyz:TSLA"`` or ``"TSLA"`` with ``dex``) for ``duration_s``.

    Parameters
    ----------
    base_url : str
        REST base URL; the WS URL is derived from it unless ``url`` is given.
    info : InfoClient, optional
        Injected info client (tests); made from ``base_url`` otherwise.
    """
    own_info = info is None
    info = info or InfoClient(base_url)
    try:
        d, _ = split_coin(coin)
        directory = await AssetDirectory.load(info, [dex or d] if (dex or d) else [])
        asset = directory.resolve(coin, dex or None)
    finally:
        if own_info:
            await info.aclose()
    manifest = Manifest(
        mode="record",
        asset=split_coin(asset.coin)[1],
        dex=asset.dex,
        coin=asset.coin,
        source={"base_url": base_url, "asset_id": asset.asset_id, "duration_s": duration_s},
        seq_stride=SEQ_STRIDE,
        sz_decimals=asset.sz_decimals,  # the venue's grid, so a backtest quotes on it
    )
    writer = JournalWriter(out, manifest, flush_behind=True)  # the WS handler never writes
    sink = JournalSink(writer, asset.coin)
    ws = WsClient(
        url or ws_url(base_url),
        on_message=sink.on_message,
        on_connection=sink.on_connection,
        config=ws_config,
    )
    try:
        for sub in market_subscriptions(asset.coin):
            await ws.subscribe(sub)
        await ws.start()
        await asyncio.sleep(duration_s)
    finally:
        await ws.close()
        writer.close(stats={**sink.stats(), "ws": dict(ws.stats)})
    return RecordResult(
        out=Path(out),
        coin=asset.coin,
        asset_id=asset.asset_id,
        sz_decimals=asset.sz_decimals,
        rows=dict(sink.rows),
        skipped=dict(sink.skipped),
        ws_stats=dict(ws.stats),
    )
