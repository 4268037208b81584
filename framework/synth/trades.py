"""Aggressor events and the trade prints they leave.

An aggressor event (one taker order) arrives as a Poisson process whose rate depends
on the regime.  Its depth is ``delta = delta0_bps + Exp(rate kappa_per_bps)``.  The
prints are derived from the last book snapshot with ``ts <= `` the event's ts, which is
also the last book before the trade in seq order (the book a watcher of the feed holds):

* ``mid = (best_bid + best_ask) / 2`` of that snapshot;
* ``target = mid * (1 + side * delta / 1e4)``;
* a buy prints at every ask level with ``px <= target``, best first; a sell at every
  bid level with ``px >= target``; when no level qualifies (target inside the
  spread) it prints once at the touch; at most the 20 displayed levels;
* so the worst print is the deepest displayed level within ``delta`` of the mid, and
  the observed depth ``|worst px - mid| / mid * 1e4`` undershoots ``delta`` by less
  than one level gap (1-2 ticks near the touch; at least the half-spread);
* every print but the last takes the level's whole size; the last takes a
  log-logistic taker size capped at the level's size.

All prints of one event share ``ts`` and ``hash``; ``tid`` increases print by print.
Shocks (:mod:`framework.synth.shocks`) add deeper sweeps; :func:`with_shocks` merges
their prints in.
"""

from __future__ import annotations

import attrs
import numpy as np

from framework.synth.params import SynthParams
from framework.synth.regimes import RegimePath
from framework.synth.shocks import ShockPrints


@attrs.frozen
class Events:
    """Aggressor events: time (s from start), side (+1 buy), regime, depth (bps)."""

    t_s: np.ndarray
    side: np.ndarray
    regime: np.ndarray
    delta_bps: np.ndarray


@attrs.frozen
class Prints:
    """Trade rows, one per print, in time order."""

    ts_ms: np.ndarray
    side: np.ndarray
    px: np.ndarray
    sz: np.ndarray
    tid: np.ndarray
    hash: list[str]
    event: np.ndarray  # index into the events kept; -1 for a shock's print


TID_BASE = 200_000_000_000_000


def with_shocks(prints: Prints, shocks: ShockPrints) -> Prints:
    """Ordinary prints outside every shock's window, merged with the shocks' prints.

    Time order; at one ms ordinary prints come first, each source in its own order.
    Trade ids are re-accumulated from each print's own increment, so with no shocks
    the prints are returned unchanged.
    """
    if len(shocks.ts_ms) == 0:
        return prints
    start, end = shocks.windows[:, 0], shocks.windows[:, 1]
    w = np.searchsorted(start, prints.ts_ms, side="right") - 1
    keep = ~((w >= 0) & (prints.ts_ms < end[np.maximum(w, 0)]))
    steps = np.diff(prints.tid, prepend=TID_BASE)
    n_own, n_shock = int(keep.sum()), len(shocks.ts_ms)
    ts = np.concatenate([prints.ts_ms[keep], shocks.ts_ms])
    source = np.concatenate([np.zeros(n_own, np.int8), np.ones(n_shock, np.int8)])
    order = np.lexsort((np.arange(len(ts)), source, ts))
    hashes = [h for h, k in zip(prints.hash, keep, strict=True) if k] + shocks.hash
    return Prints(
        ts_ms=ts[order],
        side=np.concatenate([prints.side[keep], shocks.side])[order],
        px=np.concatenate([prints.px[keep], shocks.px])[order],
        sz=np.concatenate([prints.sz[keep], shocks.sz])[order],
        tid=TID_BASE + np.cumsum(np.concatenate([steps[keep], shocks.tid_step])[order]),
        hash=[hashes[i] for i in order],
        event=np.concatenate([prints.event[keep], np.full(n_shock, -1)])[order],
    )


def draw_events(
    p: SynthParams, path: RegimePath, duration_s: float, rng: np.random.Generator
) -> Events:
    """Poisson aggressor events per regime segment, with sides and depths."""
    ends = np.append(path.start_s[1:], duration_s)
    rates = np.array([p.regimes[r].trade_event_rate_per_s for r in path.regime])
    counts = rng.poisson(rates * (ends - path.start_s))
    seg = np.repeat(np.arange(len(counts)), counts)
    t_s = path.start_s[seg] + rng.random(len(seg)) * (ends - path.start_s)[seg]
    order = np.argsort(t_s, kind="stable")
    t_s, seg = t_s[order], seg[order]
    regime = path.regime[seg]
    with_drift = np.array([r.with_drift_prob for r in p.regimes])[regime]
    toward = rng.random(len(seg)) < with_drift
    side = np.where(toward, path.drift_sign[seg], -path.drift_sign[seg]).astype(np.int8)
    delta = p.delta0_bps + rng.exponential(1.0 / p.kappa_per_bps, len(seg))
    return Events(t_s, side, regime, delta)


def sweep_prints(
    p: SynthParams,
    events: Events,
    ev_ts_ms: np.ndarray,
    book_ts_ms: np.ndarray,
    books: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[Prints, np.ndarray]:
    """Prints of every event against the last snapshot before it.

    Returns the prints and a mask of the events kept (events before the first
    snapshot have no book to hit and are dropped).
    """
    snap = np.searchsorted(book_ts_ms, ev_ts_ms, side="right") - 1
    kept = snap >= 0
    snap, side = snap[kept], events.side[kept].astype(np.int64)
    delta = events.delta_bps[kept]
    bid0, ask0 = books["bid_px"][snap, 0], books["ask_px"][snap, 0]
    target = (bid0 + ask0) / 2.0 * (1.0 + side * delta / 1e4)
    buy = side[:, None] > 0
    px_side = np.where(buy, books["ask_px"][snap], books["bid_px"][snap])
    sz_side = np.where(buy, books["ask_sz"][snap], books["bid_sz"][snap])
    reach = np.where(buy, px_side <= target[:, None], px_side >= target[:, None])
    n_prints = np.clip(reach.sum(axis=1), 1, p.book_levels)
    ev = np.repeat(np.arange(len(snap)), n_prints)
    first = np.cumsum(n_prints) - n_prints
    level = np.arange(len(ev)) - first[ev]
    px = px_side[ev, level]
    sz = sz_side[ev, level].copy()
    last = first + n_prints - 1
    lot = 10.0**-p.sz_decimals
    odds = rng.random(len(snap))
    taker = p.taker_notional_usd / p.start_px * (odds / (1 - odds)) ** (1 / p.taker_size_shape)
    lots = np.floor(np.minimum(taker, sz[last]) / lot + 1e-9)
    sz[last] = np.maximum(1, lots) / 10.0**p.sz_decimals
    tid = TID_BASE + np.cumsum(rng.integers(1, 40, len(ev)))
    hashes = ["0x" + rng.bytes(32).hex() for _ in range(len(snap))]
    prints = Prints(
        ts_ms=ev_ts_ms[kept][ev],
        side=side[ev].astype(np.int8),
        px=px,
        sz=sz,
        tid=tid.astype(np.int64),
        hash=[hashes[e] for e in ev],
        event=ev,
    )
    return prints, kept
