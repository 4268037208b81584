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
    stride: int = 1,
) -> Path:
    """Write a recording of ``minutes`` of market data to ``root`` and return it.

    Books every 0.5 s (5 levels, 2-4 ticks wide), a trade about every 2 s hitting or
    lifting the touch or sweeping 30 bps through it now and then (so resting quotes
    fill), and an asset context every 5 s.  ``gap=(start_min, end_min)`` leaves a
    stall with no data at all.  ``stride`` > 1 numbers the n-th input ``n * stride``
    and says so in the manifest (``seq_stride``), as every recording now does; the
    default numbers them 1, 2, 3, ... as recordings from before strides.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    man = Manifest(
        mode="record",
        asset="HYPE",
        seed=seed,
        synthetic=True,
        generator={"sz_decimals": 2, "kind": "tests.environments.market"},
        seq_stride=stride if stride > 1 else 0,
    )
    w = JournalWriter(root, man, flush_rows=1 << 16)
    n_in = 0  # inputs so far: the trade id, and seq = n_in * stride
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
        n_in += 1
        seq = n_in * stride
        w.append(Kind.BOOK, (seq, t, t + 1000, "HYPE", bids, sz, [1] * 5, asks, sz[::-1], [1] * 5))
        if j % 4 == 0:
            side = 1 if rng.random() < 0.5 else -1
            sweep = rng.random() < 0.25
            tpx = (ask if side > 0 else bid) * (1 + side * 30e-4 * sweep)
            n_in += 1
            seq = n_in * stride
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
                    n_in,
                    f"0x{n_in:064x}",
                ),
            )
        if j % 10 == 0:
            n_in += 1
            seq = n_in * stride
            w.append(
                Kind.ASSET_CTX,
                (seq, t + 2, t + 3000, "HYPE", mid, mid, mid, 1.25e-5, None, None, None),
            )
    w.close()
    return root


def backtest_twice(recording: Path, tmp_path: Path, **options) -> dict:
    """Backtest ``recording`` twice; assert identical tables and that ``replay --verify``
    passes on the first journal.  Returns the first run's summary."""
    from framework.environments.backtest import run_backtest
    from framework.environments.replay import replay_command
    from framework.events.schema import spec
    from framework.journal import JournalReader

    runs = [
        run_backtest(recording, out=tmp_path / name, progress=False, **options)
        for name in ("twice-a", "twice-b")
    ]
    a, b = (JournalReader(r.out) for r in runs)
    for kind in Kind:
        assert a.table(kind).equals(b.table(kind)), spec(kind).name
    assert replay_command(runs[0].out, verify=True, until=None) == 0
    return runs[0].summary
