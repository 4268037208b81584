"""Throughput of the engine with MarketState and the fill simulator on a synthetic stream.

Run: ``.venv/bin/python -m tests.fills.bench_fills [n_events]``.  Prints events/s for
MarketState alone and with the simulator in three situations, and the simulator's own
cost per event (the difference of the per-event times).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from framework.book import MarketState
from framework.engine.core import Engine, NullSink
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.fills.simulator import FillSimulator

T0 = 1_700_000_000_000_000_000


Stream = tuple[list[int], list[int], dict[Kind, Columns]]


def synthetic_stream(n: int, seed: int = 1, *, walk: bool = True, depth: float = 1.0) -> Stream:
    """Alternating book snapshots (5 levels a side) and trades at the touch.

    ``walk=False`` keeps the mid still, so orders at the touch are only ever reached
    by trades at their price; with a large ``depth`` their queue never clears.
    """
    r = np.random.Generator(np.random.PCG64(seed))
    steps = r.integers(-1, 2, n) if walk else np.zeros(n, dtype=np.int64)
    books: list[tuple[Any, ...]] = []
    trades: list[tuple[Any, ...]] = []
    kinds: list[int] = []
    rows: list[int] = []
    mid = 1000.0
    for j in range(n):
        t = T0 + j * 1_000_000
        mid = round(mid + 0.1 * steps[j], 1)
        if j % 2 == 0:
            bids = [round(mid - 0.1 * (k + 1), 1) for k in range(5)]
            asks = [round(mid + 0.1 * (k + 1), 1) for k in range(5)]
            sz = [depth * (1.0 + k) for k in range(5)]
            kinds.append(Kind.BOOK)
            rows.append(len(books))
            books.append((j + 1, t, t, "BENCH", bids, sz, [1] * 5, asks, sz, [1] * 5))
        else:
            side = 1 if j % 4 == 1 else -1
            px = round(mid + side * 0.1, 1)
            kinds.append(Kind.TRADES)
            rows.append(len(trades))
            trades.append((j + 1, t, t, "BENCH", side, px, 0.5, j, None))
    cols = {
        Kind.BOOK: Columns.from_rows(Kind.BOOK, books),
        Kind.TRADES: Columns.from_rows(Kind.TRADES, trades),
    }
    return kinds, rows, cols


class RestingQuotes:
    """Places one huge post-only order a side on the first book, at the touch or far away."""

    name = "bench_quotes"

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.done = False

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        engine.subscribe(Kind.BOOK, self.on_book)

    def on_book(self, cols: Columns, i: int) -> None:
        if self.done:
            return
        self.done = True
        e = self.engine
        bid, ask = cols.bid_px.first(i), cols.ask_px.first(i)
        for side, px in ((1, bid - self.offset), (-1, ask + self.offset)):
            cmd = (
                e.next_cloid(),
                "place",
                "BENCH",
                side,
                round(px, 1),
                1e9,
                "Alo",
                False,
                None,
                0,
                None,
            )
            e.emit(Kind.ORDER_COMMANDS, cmd)

    def snapshot(self) -> dict[str, Any]:
        return {}


def run(components: list[Any], stream: Stream) -> float:
    """Events per second through ``Engine.step``."""
    kinds, rows, cols = stream
    engine = Engine(components, seed=1, sink=NullSink())
    by_kind = [cols.get(Kind(k)) for k in range(len(Kind))]
    recv = [T0 + j * 1_000_000 for j in range(len(kinds))]
    step = engine.step
    engine.start(recv[0])
    start = time.perf_counter()
    for j, (k, r) in enumerate(zip(kinds, rows, strict=True)):
        step(k, engine.seq + 1, recv[j], by_kind[k], r)
    return len(kinds) / (time.perf_counter() - start)


def bench(n: int = 200_000) -> dict[str, float]:
    walking = synthetic_stream(n)
    still = synthetic_stream(n, walk=False, depth=1e9)
    cases = {
        "market only": lambda: [MarketState()],
        "market + fills, no orders": lambda: [MarketState(), FillSimulator()],
        "market + fills, orders far from the touch": lambda: [
            MarketState(),
            FillSimulator(place_ms=0.0),
            RestingQuotes(offset=50.0),
        ],
        "market + fills, orders at the touch, never filled (conservative)": lambda: [
            MarketState(),
            FillSimulator(place_ms=0.0),
            RestingQuotes(offset=0.0),
        ],
        "market + fills, orders at the touch, never filled (prob)": lambda: [
            MarketState(),
            FillSimulator(place_ms=0.0, queue="prob"),
            RestingQuotes(offset=0.0),
        ],
        "market + fills, orders at the touch, fills (conservative)": lambda: [
            MarketState(),
            FillSimulator(place_ms=0.0),
            RestingQuotes(offset=0.0),
        ],
        "market + fills, orders at the touch, fills (prob)": lambda: [
            MarketState(),
            FillSimulator(place_ms=0.0, queue="prob"),
            RestingQuotes(offset=0.0),
        ],
    }
    out = {}
    for name, make in cases.items():
        stream = still if "never filled" in name else walking
        run(make(), stream)  # warm the columns' caches
        out[name] = max(run(make(), stream) for _ in range(5))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    res = bench(n)
    base = 1e6 / res["market only"]
    for name, rate in res.items():
        extra = 1e6 / rate - base
        print(f"{name:55s} {rate:12,.0f} events/s   fills cost {extra:6.2f} us/event")


if __name__ == "__main__":
    main()
