"""Drive the simulated market from a journal (a recording or a synthetic one).

The driver reads the journal's market tables (book, trades, asset_ctx) merged by seq and
applies them to the :class:`~framework.hyperliquid.simulator.state.Exchange` either paced
by ``recv_ts`` (``speed`` x real time) or on demand (``speed == 0``: ``step(n)``).

A journal coin ``X`` drives every listed coin with base name ``X`` (``HYPE`` and
``hyena:HYPE``), so one recording gives both the main dex and the HIP-3 dex a market.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from framework.events.schema import SEQ_STRIDE, Kind
from framework.hyperliquid.dexes import split_coin
from framework.journal import JournalReader, JournalWriter, Manifest

MARKET_KINDS = (Kind.BOOK, Kind.TRADES, Kind.ASSET_CTX)

#: one market event: (kind, time ns, payload dict)
Event = tuple[Kind, int, dict[str, Any]]


def base_coin(name: str) -> str:
    """``"hyena:HYPE" -> "HYPE"``; a main-dex name is returned as is."""
    return split_coin(name)[1]


def _lst(x: Any) -> list:
    return np.asarray(x).tolist()


def journal_events(root: Path) -> Iterator[Event]:
    """The journal's market events in seq order, as plain dicts."""
    reader = JournalReader(root)
    # No prefetch thread: the simulator paces these by wall time and holds the
    # iterator for its whole life, so reading ahead buys nothing.
    for chunk in reader.merged(MARKET_KINDS, prefetch=0):
        for kind_i, row, t in zip(chunk.kinds, chunk.rows, chunk.recv_ts, strict=True):
            kind = Kind(kind_i)
            c = chunk.columns[kind]
            if kind == Kind.BOOK:
                ev = {
                    "coin": c.coin[row],
                    "bid_px": _lst(c.bid_px[row]),
                    "bid_sz": _lst(c.bid_sz[row]),
                    "bid_n": _lst(c.bid_n[row]),
                    "ask_px": _lst(c.ask_px[row]),
                    "ask_sz": _lst(c.ask_sz[row]),
                    "ask_n": _lst(c.ask_n[row]),
                }
            elif kind == Kind.TRADES:
                ev = {
                    "coin": c.coin[row],
                    "side": int(c.side[row]),
                    "px": float(c.px[row]),
                    "sz": float(c.sz[row]),
                    "tid": int(c.tid[row]),
                    "hash": c.hash[row],
                }
            else:
                ev = {
                    "coin": c.coin[row],
                    "mark": c.mark_px[row],
                    "oracle": c.oracle_px[row],
                    "mid": c.mid_px[row],
                    "funding": c.funding[row],
                    "premium": c.premium[row],
                    "oi": c.open_interest[row],
                    "day_ntl": c.day_ntl_vlm[row],
                }
            yield kind, int(t), ev


def journal_coins(root: Path) -> list[str]:
    """Coins a journal has market data for (manifest coin first)."""
    reader = JournalReader(root)
    coins = [reader.manifest.coin] if reader.manifest.coin else []
    for kind in MARKET_KINDS:
        for part in reader.parts(kind):  # only the coin column: recordings can be large
            for c in pq.read_table(part.path, columns=["coin"]).column("coin").unique().to_pylist():
                if c not in coins:
                    coins.append(c)
    return coins


class MarketDriver:
    """Feeds journal events into the exchange.

    Parameters
    ----------
    exchange : Exchange
    root : Path
        Journal directory.
    speed : float
        Replay speed factor (2 = twice real time); 0 = only :meth:`step` advances.
    loop : bool
        Start again at the end (market time keeps increasing across laps).
    """

    def __init__(self, exchange: Any, root: Path, *, speed: float = 1.0, loop: bool = True) -> None:
        self.exchange = exchange
        self.root = Path(root)
        self.speed = speed
        self.loop = loop
        listed = [x.name for x in exchange.listings]
        self.targets: dict[str, list[str]] = {}
        for coin in journal_coins(self.root):
            t = [n for n in listed if n == coin or base_coin(n) == base_coin(coin)]
            self.targets[coin] = t
        self.applied = 0
        self.laps = 0
        self._it = self._events()
        self.done = False

    def _events(self) -> Iterator[Event]:
        offset = 0
        while True:
            first = last = None
            for kind, t, ev in journal_events(self.root):
                if first is None:
                    first = t
                last = t
                yield kind, t + offset, ev
            self.laps += 1
            if not self.loop or first is None:
                return
            offset += (last - first) + 1_000_000_000  # 1 s gap between laps

    def apply(self, kind: Kind, t: int, ev: dict[str, Any]) -> None:
        ex = self.exchange
        ex.on_market_time(t)
        for coin in self.targets.get(ev["coin"], ()):
            if kind == Kind.BOOK:
                ex.on_book(
                    coin,
                    ev["bid_px"],
                    ev["bid_sz"],
                    ev["bid_n"],
                    ev["ask_px"],
                    ev["ask_sz"],
                    ev["ask_n"],
                )
            elif kind == Kind.TRADES:
                ex.on_trade(coin, ev["side"], ev["px"], ev["sz"], ev["tid"], ev["hash"])
            else:
                ex.on_ctx(
                    coin,
                    ev["mark"],
                    ev["oracle"],
                    ev["mid"],
                    ev["funding"],
                    ev["premium"],
                    ev["oi"],
                    ev["day_ntl"],
                )
        self.applied += 1

    def step(self, n: int = 1) -> int:
        """Apply the next ``n`` events now; returns how many were applied."""
        k = 0
        for _ in range(n):
            nxt = next(self._it, None)
            if nxt is None:
                self.done = True
                break
            self.apply(*nxt)
            k += 1
        return k

    async def run(self) -> None:
        """Paced replay (``speed > 0``); returns at the end unless ``loop``."""
        if self.speed <= 0:
            return
        aloop = asyncio.get_running_loop()
        t0_wall = aloop.time()
        t0_ev = None
        for kind, t, ev in self._it:
            if t0_ev is None:
                t0_ev = t
            delay = t0_wall + (t - t0_ev) / 1e9 / self.speed - aloop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif self.applied % 256 == 0:
                await asyncio.sleep(0)  # let requests in during a catch-up burst
            self.apply(kind, t, ev)
        self.done = True


def write_demo_journal(
    root: Path,
    *,
    coin: str = "HYPE",
    seed: int = 0,
    n_steps: int = 600,
    start_ns: int = 1_767_225_600_000_000_000,
    step_ms: int = 100,
    mid: float = 25.0,
    tick: float = 0.001,
    levels: int = 10,
    funding: float = 0.0000125,
) -> Path:
    """A small deterministic synthetic market journal (random-walk mid, L2 books, trades).

    Used for ``--synthetic`` when the synthetic generator (``framework.synth``) is not
    available, and by the tests.  Same ``seed`` -> byte-identical market.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    w = JournalWriter(
        root,
        Manifest(
            mode="synthetic",
            asset=base_coin(coin),
            seed=seed,
            synthetic=True,
            generator={"name": "simulator.demo", "seed": seed},
            seq_stride=SEQ_STRIDE,
        ),
    )
    seq = 0
    ticks = round(mid / tick)
    tid = 1_000
    for k in range(n_steps):
        t = start_ns + k * step_ms * 1_000_000
        ticks += int(rng.integers(-2, 3))
        best_bid, best_ask = ticks * tick, (ticks + 1) * tick
        bid_px = [round(best_bid - i * tick, 6) for i in range(levels)]
        ask_px = [round(best_ask + i * tick, 6) for i in range(levels)]
        bid_sz = [round(float(rng.uniform(5, 50)), 2) for _ in range(levels)]
        ask_sz = [round(float(rng.uniform(5, 50)), 2) for _ in range(levels)]
        n = [int(x) for x in rng.integers(1, 6, levels)]
        seq += SEQ_STRIDE
        w.append(Kind.BOOK, (seq, t, t, coin, bid_px, bid_sz, n, ask_px, ask_sz, list(n)))
        if rng.random() < 0.5:
            side = 1 if rng.random() < 0.5 else -1
            seq += SEQ_STRIDE
            tid += 1
            w.append(
                Kind.TRADES,
                (
                    seq,
                    t + 1,
                    t + 1,
                    coin,
                    side,
                    ask_px[0] if side > 0 else bid_px[0],
                    round(float(rng.uniform(0.1, 5)), 2),
                    tid,
                    None,
                ),
            )
        if k % 10 == 0:
            m = (best_bid + best_ask) / 2
            seq += SEQ_STRIDE
            w.append(
                Kind.ASSET_CTX,
                (seq, t + 2, t + 2, coin, round(m, 4), round(m, 4), m, funding, 0.0, 1000.0, 1e6),
            )
    w.close()
    return Path(root)
