"""Per-event cost of each estimator over a recording (not a test; run by hand).

.venv/bin/market-maker synth --asset HYPE --hours 8 --seed 3 --out /tmp/hype8h
.venv/bin/python -m tests.estimators.bench /tmp/hype8h
"""

from __future__ import annotations

import sys
import time

from framework.book import MarketState
from framework.engine import Engine, NullSink, resequence
from framework.estimators import ESTIMATOR_CLASSES, default_estimators
from framework.journal import JournalReader


class _NoWriter:
    def append_batch(self, kind, batch) -> None:
        return None


def _run(root: str, comps: list) -> tuple[int, float]:
    chunks = list(JournalReader(root).merged())
    engine = Engine([MarketState(), *comps], seed=0, sink=NullSink())
    t = time.perf_counter()  # the benchmark's own clock, outside the engine
    n = resequence(engine, chunks, _NoWriter())
    return n, time.perf_counter() - t


def main(root: str) -> None:
    cases = [("market only", list)]
    cases += [(name, cls) for name, cls in ESTIMATOR_CLASSES.items() if name != "kelly"]
    cases.append(("all six", default_estimators))
    base = None
    for name, make in cases:
        n, dt = min(
            (
                _run(root, make() if make in (list, default_estimators) else [make()])
                for _ in range(3)
            ),
            key=lambda x: x[1],
        )
        us = dt / n * 1e6
        base = us if base is None else base
        print(f"{name:18s} {n} events {us:6.2f} us/event (+{us - base:5.2f})  {n / dt:,.0f} ev/s")


if __name__ == "__main__":
    main(sys.argv[1])
