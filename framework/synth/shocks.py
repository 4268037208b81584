"""Shocks: jumps of the true mid and deep sweeps that leave no lasting move.

Ordinary aggressor events (:mod:`framework.synth.trades`) stop within a few bps of the
mid; shocks are the rare takers that walk much deeper, as news moves and liquidations
do on a venue.  Two kinds, each a Poisson process in time with a truncated-Pareto size
(heavy-tailed, between a minimum and a maximum, in bps of price):

* **jump** (``jump_*`` parameters): the true mid moves by ``±size`` bps (random sign)
  at once.  On the feed this is what a venue shows: between the last snapshot before
  the jump and the next one, 1..``jump_sweeps_max`` taker sweeps (distinct hashes, at
  distinct ms within ``jump_sweep_span_ms`` of the first) walk the book from the touch
  to the new level, each taking the levels between its predecessor's reach and its
  own; the next snapshot is built around the new mid (the book has re-formed).
* **deep sweep** (``deep_sweep_*`` parameters): one taker order (one hash) walks the
  book from the touch to ``size`` bps from the mid, random side; the true mid does not
  move, so the next snapshot shows the book refilled around the old mid.

A shock walks the whole side of the snapshot before it (:func:`~framework.synth.book.
ladder`: the 20 published levels and the unpublished ones beyond), every level
taken whole except the shock's very last print, which takes a taker size capped at
the level (the rule of ordinary sweeps).  A sweep's reach is measured from the mid of
that snapshot; its worst print is the deepest level within the reach.  Ordinary
events between a shock's first print and the next snapshot are dropped (they would
trade against levels the shock has taken).  Two shocks never share a snapshot
interval (the later one is dropped: a thinning of well under 0.1 %), nor does a shock
fall after the last snapshot (no book to re-form).

Shocks draw from their own random stream (``PCG64(seed).jumped()``), so the ordinary
market of a seed is the same whatever the shock parameters: with both rates at 0 the
generator writes exactly what it wrote before shocks existed.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from framework.synth.book import ladder
from framework.synth.params import SynthParams


@attrs.frozen
class Shock:
    """One shock placed on the snapshot grid (times in ms from the session start)."""

    kind: str  # "jump" or "deep"
    ms: int  # when it happens (a jump moves the mid of every snapshot after this ms)
    bps: float  # jump: signed move of the true mid; deep: depth of the sweep (> 0)
    side: int  # +1: buy sweeps (an up jump), -1: sell sweeps
    snap: int  # the last snapshot at or before ``ms``: the book the sweeps walk


@attrs.frozen
class ShockPrints:
    """Trade prints of the shocks (time order), and one record per sweep for the truth."""

    ts_ms: np.ndarray
    side: np.ndarray
    px: np.ndarray
    sz: np.ndarray
    tid_step: np.ndarray
    hash: list[str]
    sweeps: list[dict[str, Any]]
    #: Per shock: [first print ms, next snapshot ms): no ordinary event trades in it.
    windows: np.ndarray


def shock_rng(seed: int) -> np.random.Generator:
    """The shocks' own stream: independent of the ordinary market's draws."""
    return np.random.Generator(np.random.PCG64(seed).jumped())


def truncated_pareto(
    rng: np.random.Generator, n: int, lo: float, hi: float, alpha: float
) -> np.ndarray:
    """``n`` draws with ``P(X > x) ∝ (lo/x)**alpha - (lo/hi)**alpha`` on ``[lo, hi]``."""
    u = rng.random(n)
    return lo * (1.0 - u * (1.0 - (lo / hi) ** alpha)) ** (-1.0 / alpha)


def draw_shocks(
    p: SynthParams, duration_s: float, book_ms: np.ndarray, rng: np.random.Generator
) -> list[Shock]:
    """Jumps and deep sweeps over the session, placed on the snapshot grid, in time order."""

    def poisson_times(rate_per_h: float) -> np.ndarray:
        n = int(rng.poisson(rate_per_h * duration_s / 3600.0))
        return np.sort(rng.random(n) * duration_s)

    jump_t = poisson_times(p.jump_rate_per_h)
    jump_bps = truncated_pareto(rng, len(jump_t), p.jump_min_bps, p.jump_max_bps, p.jump_tail_alpha)
    jump_side = np.where(rng.random(len(jump_t)) < 0.5, -1, 1)
    deep_t = poisson_times(p.deep_sweep_rate_per_h)
    deep_bps = truncated_pareto(
        rng, len(deep_t), p.deep_sweep_min_bps, p.deep_sweep_max_bps, p.deep_sweep_tail_alpha
    )
    deep_side = np.where(rng.random(len(deep_t)) < 0.5, -1, 1)
    raw = [
        ("jump", t, float(s * b), int(s))
        for t, b, s in zip(jump_t, jump_bps, jump_side, strict=True)
    ]
    raw += [
        ("deep", t, float(b), int(s)) for t, b, s in zip(deep_t, deep_bps, deep_side, strict=True)
    ]
    raw.sort(key=lambda r: (r[1], r[0]))
    shocks: list[Shock] = []
    taken: set[int] = set()
    for kind, t, bps, side in raw:
        ms = math.floor(t * 1000.0)
        snap = int(np.searchsorted(book_ms, ms, side="right")) - 1
        if snap < 0 or snap + 1 >= len(book_ms) or snap in taken:
            continue  # no book before, none to re-form after, or a shock there already
        taken.add(snap)
        shocks.append(Shock(kind, ms, bps, side, snap))
    return shocks


def apply_jumps(mid: np.ndarray, book_ms: np.ndarray, shocks: list[Shock]) -> np.ndarray:
    """The true mid with every jump applied to the snapshots after its ms."""
    jumps = [s for s in shocks if s.kind == "jump"]
    if not jumps:
        return mid
    ms = np.array([s.ms for s in jumps], dtype=np.int64)
    cum_bps = np.concatenate([[0.0], np.cumsum([s.bps for s in jumps])])
    return mid * np.exp(cum_bps[np.searchsorted(ms, book_ms, side="left")] / 1e4)


def shock_prints(
    p: SynthParams,
    key: np.uint64,
    shocks: list[Shock],
    book_ms: np.ndarray,
    books: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> ShockPrints:
    """The sweeps of every shock against the snapshot before it (see the module doc)."""
    ts, side, px, sz, steps, hashes, sweeps, windows = [], [], [], [], [], [], [], []
    for index, s in enumerate(shocks):
        j = s.snap
        dec = int(books["dec"][j])
        scale = 10.0**dec
        bid0, ask0 = books["bid_px"][j, 0], books["ask_px"][j, 0]
        mid = (bid0 + ask0) / 2.0
        reach = abs(s.bps)
        # Buys walk the asks (book side -1), sells the bids (book side 1).
        touch = round((ask0 if s.side > 0 else bid0) * scale)
        target = mid * (1.0 + s.side * reach / 1e4) * scale
        reach_ticks = math.ceil(s.side * (target - touch)) + 1
        t_s = book_ms[j] / 1000.0
        lt, lsz = ladder(p, key, -s.side, touch, dec, t_s, reach_ticks)
        lpx = lt / scale
        depth = s.side * (lpx - mid) / mid * 1e4
        n_levels = max(1, int(np.sum(depth <= reach + 1e-9)))
        lpx, lsz, depth = lpx[:n_levels], lsz[:n_levels].copy(), depth[:n_levels]
        # Each sweep reaches a cut of the way; the last one reaches the new level.
        n_sweeps = int(rng.integers(1, p.jump_sweeps_max + 1)) if s.kind == "jump" else 1
        first_ms = max(s.ms, int(book_ms[j]) + 1)
        span = min(p.jump_sweep_span_ms, int(book_ms[j + 1]) - 1 - first_ms)
        n_sweeps = max(1, min(n_sweeps, span + 1))
        cuts = np.append(np.sort(rng.random(n_sweeps - 1)) * reach, reach)
        offsets = np.sort(rng.choice(np.arange(1, span + 1), n_sweeps - 1, replace=False))
        sweep_ms = first_ms + np.concatenate([[0], offsets]).astype(np.int64)
        which = np.minimum(np.searchsorted(cuts, depth - 1e-9, side="left"), n_sweeps - 1)
        lots = 10.0**p.sz_decimals
        odds = rng.random()
        taker = p.taker_notional_usd / p.start_px * (odds / (1 - odds)) ** (1 / p.taker_size_shape)
        lsz[-1] = max(1.0, math.floor(min(taker, lsz[-1]) * lots + 1e-9)) / lots
        for k in range(n_sweeps):
            level = np.nonzero(which == k)[0]
            if len(level) == 0:
                continue  # no level between the previous reach and this one
            h = "0x" + rng.bytes(32).hex()
            n = len(level)
            ts.append(np.full(n, sweep_ms[k], dtype=np.int64))
            side.append(np.full(n, s.side, dtype=np.int8))
            px.append(lpx[level])
            sz.append(lsz[level])
            steps.append(rng.integers(1, 40, n))
            hashes += [h] * n
            sweeps.append(
                {
                    "hash": h,
                    "ms": int(sweep_ms[k]),
                    "side": int(s.side),
                    "reach_bps": float(cuts[k]),
                    "worst_bps": float(depth[level[-1]]),
                    "prints": n,
                    "shock": s.kind,
                    "index": index,
                }
            )
        windows.append((first_ms, int(book_ms[j + 1])))

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return ShockPrints(
        ts_ms=cat(ts, np.int64),
        side=cat(side, np.int8),
        px=cat(px, np.float64),
        sz=cat(sz, np.float64),
        tid_step=cat(steps, np.int64),
        hash=hashes,
        sweeps=sweeps,
        windows=np.array(windows, dtype=np.int64).reshape(-1, 2),
    )
