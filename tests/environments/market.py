"""A small hand-built market recording: a random-walk book (0.5 s) with trades, for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from framework.events.schema import Kind
from framework.journal import JournalWriter, Manifest

T0 = 1_767_225_600 * 1_000_000_000  # 2026-01-01 UTC
SEC = 1_000_000_000


def write_market(
    root: Path,
    *,
    minutes: float = 20.0,
    seed: int = 5,
    px: float = 38.0,
    sigma_bps: float = 2.0,
    gap: tuple[float, float] | None = None,
) -> Path:
    """Write a recording of ``minutes`` of market data to ``root`` and return it.

    Books every 0.5 s (5 levels, 2-4 ticks wide), a trade about every 2 s hitting or
    lifting the touch or sweeping 30 bps through it now and then (so resting quotes
    fill), and an asset context every 5 s.  ``gap=(start_min, end_min)`` leaves a
    stall with no data at all.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    man = Manifest(
        mode="record",
        asset="HYPE",
        seed=seed,
        synthetic=True,
        generator={"sz_decimals": 2, "kind": "tests.environments.market"},
    )
    w = JournalWriter(root, man, flush_rows=1 << 16)
    seq = 0
    mid = px
    n = int(minutes * 120)
    for j in range(n):
        t = T0 + j * SEC // 2
        if gap and gap[0] * 60 <= j / 2 < gap[1] * 60:
            continue
        mid *= float(np.exp(sigma_bps * 1e-4 * np.sqrt(0.5) * rng.standard_normal()))
        half = 0.001 * int(rng.integers(1, 3))
        bid = round(mid - half, 3)
        ask = round(mid + half, 3)
        bids = [round(bid - 0.001 * k, 3) for k in range(5)]
        asks = [round(ask + 0.001 * k, 3) for k in range(5)]
        sz = [float(rng.integers(5, 200)) for _ in range(5)]
        seq += 1
        w.append(Kind.BOOK, (seq, t, t + 1000, "HYPE", bids, sz, [1] * 5, asks, sz[::-1], [1] * 5))
        if j % 4 == 0:
            side = 1 if rng.random() < 0.5 else -1
            sweep = rng.random() < 0.25
            tpx = (ask if side > 0 else bid) * (1 + side * 30e-4 * sweep)
            seq += 1
            w.append(
                Kind.TRADES,
                (
                    seq,
                    t + 1,
                    t + 2000,
                    "HYPE",
                    side,
                    round(tpx, 3),
                    float(rng.integers(1, 50)),
                    seq,
                    f"0x{seq:064x}",
                ),
            )
        if j % 10 == 0:
            seq += 1
            w.append(
                Kind.ASSET_CTX,
                (seq, t + 2, t + 3000, "HYPE", mid, mid, mid, 1.25e-5, None, None, None),
            )
    w.close()
    return root
