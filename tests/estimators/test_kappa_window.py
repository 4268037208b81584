"""κ's window of kept sweeps in the kernel (:class:`framework.kernel.market.SweepDepths`):
its running sums, per-``j`` counts and eviction against the estimator's former Python,
bit for bit, compiled and interpreted."""

from __future__ import annotations

import random
import struct
from collections import deque
from typing import Any

from framework.kernel import market
from tests.kernel.source import interpreted

SEC = 1_000_000_000


class OldWindow:
    """The window as KappaEstimator kept it in Python (its _keep and refit's eviction)."""

    def __init__(self) -> None:
        self.events: deque[tuple[int, int, float, float]] = deque()
        self.kept = 0
        self.first_recv = 0
        self.sj = 0
        self.sfloor = 0.0
        self.sg = 0.0
        self.bins: dict[int, int] = {}

    def keep(self, recv: int, j: int, floor_bps: float, g_bps: float) -> None:
        if self.kept == 0:
            self.first_recv = recv
        self.events.append((recv, j, floor_bps, g_bps))
        self.sj += j
        self.sfloor += floor_bps
        self.sg += g_bps
        self.bins[j] = self.bins.get(j, 0) + 1
        self.kept += 1

    def evict(self, cutoff: int) -> None:
        ev, bins = self.events, self.bins
        while ev and ev[0][0] < cutoff:
            _, j_old, f_old, g_old = ev.popleft()
            self.sj -= j_old
            self.sfloor -= f_old
            self.sg -= g_old
            left = bins[j_old] - 1
            if left:
                bins[j_old] = left
            else:
                del bins[j_old]


def _state(w: Any) -> tuple[Any, ...]:
    if isinstance(w, OldWindow):
        sums = (w.sj, w.sfloor, w.sg, w.kept, w.first_recv)
        return (
            *sums[:1],
            *(struct.pack("<d", x) for x in sums[1:3]),
            *sums[3:],
            list(w.events),
            w.bins,
        )
    sums = (w.sum_j, w.sum_floor, w.sum_step, w.kept, w.first_recv)
    return (
        *sums[:1],
        *(struct.pack("<d", x) for x in sums[1:3]),
        *sums[3:],
        list(w.events),
        w.bin_n,
    )


def test_the_window_matches_the_estimator_s_former_python() -> None:
    source = interpreted("market")
    for seed in range(5):
        rnd = random.Random(seed)
        windows = [
            OldWindow(),
            market.SweepDepths(lambda px: 0.001, 0.3, 5 * SEC),
            source.SweepDepths(lambda px: 0.001, 0.3, 5 * SEC),
        ]
        t = 1_700_000_000 * SEC
        for _ in range(3000):
            t += rnd.choice([1, 50, 900, 20_000]) * 1_000_000
            if rnd.random() < 0.7:
                j, floor, g = rnd.randrange(12), rnd.uniform(0.1, 5.0), rnd.choice([0.21, 0.2437])
                for w in windows:
                    w.keep(t, j, floor, g)
            else:
                cutoff = t - rnd.choice([60, 900]) * SEC
                for w in windows:
                    w.evict(cutoff)
            want = _state(windows[0])
            assert _state(windows[1]) == want and _state(windows[2]) == want
        assert windows[0].kept > 1000 and 0 < len(windows[0].events) < windows[0].kept  # evicted
