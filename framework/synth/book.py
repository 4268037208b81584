"""Synthetic 20-level books around the true mid, on the exchange grid.

Each snapshot is built in integer ticks (``tick = 10**-dec``; prices are
``ticks / 10**dec``, the float nearest to the grid decimal):

* the touch: ``best_bid = floor(x) - a``, ``best_ask = ceil(x) + b`` with ``x`` the
  true mid in ticks and ``a``, ``b`` geometric (mean ``spread_extra_ticks_mean`` of the
  regime), so the spread is a few ticks and wider when volatile;
* deeper levels: a tick holds an order with a probability that falls with distance
  from the touch (0.92 for the first ticks, so levels are a tick or two apart near the
  touch), and every tick divisible by 5 always does (so 20 levels always fit);
* sizes: log-logistic (heavy-tailed) notionals, larger deeper in the book, rounded
  to 3 significant figures and then to the lot.

Presence and sizes are a hash of (seed, side, price tick, epoch), where a tick's epoch
advances every ``level_refresh_s`` at a phase of its own: a level keeps its size for
a while, as resting orders do, and consecutive snapshots repeat most values.
"""

from __future__ import annotations

import numpy as np

from framework.grid import price_decimals_array
from framework.synth.params import SynthParams

WINDOW_TICKS = 120  # ticks scanned beyond each touch; >= 24 forced levels inside
NEAR_TICKS = 4
NEAR_PRESENCE = 0.92
FAR_PRESENCE_MIN = 0.35
PRESENCE_DECAY_PER_TICK = 0.025
FORCED_EVERY = 5
CHUNK_ROWS = 16_384
RANK_SIZE_FACTORS = np.array([1.0, 1.6, 2.4, 3.5])  # levels 0-4, 5-9, 10-14, 15+

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * _M1
        h = h ^ (h >> np.uint64(27))
        h = h * _M2
        return h ^ (h >> np.uint64(31))


def hash_parts(key: np.uint64, *parts: np.ndarray) -> np.ndarray:
    """A 64-bit hash of integer arrays (broadcast together) under ``key``."""
    h = np.asarray(key, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for p in parts:
            h = mix64(h ^ (np.asarray(p).astype(np.uint64) + _GOLD))
    return h


def unit(h: np.ndarray) -> np.ndarray:
    """Hash to a float in (0, 1)."""
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def presence_prob(n: int = WINDOW_TICKS) -> np.ndarray:
    """Probability that the tick ``k`` beyond the touch holds an order (k = 0 is 1)."""
    k = np.arange(n, dtype=np.float64)
    far = NEAR_PRESENCE - PRESENCE_DECAY_PER_TICK * (k - NEAR_TICKS)
    p = np.where(k <= NEAR_TICKS, NEAR_PRESENCE, np.maximum(FAR_PRESENCE_MIN, far))
    p[0] = 1.0
    return p


def round_sig_lot(x: np.ndarray, sz_decimals: int) -> np.ndarray:
    """Round to 3 significant figures, then to the lot (at least one lot)."""
    e = np.floor(np.log10(x)) - 2
    sig = np.round(x / 10.0**e) * 10.0**e
    lots = np.maximum(1, np.round(sig * 10.0**sz_decimals))
    return lots / 10.0**sz_decimals


def _present(
    p: SynthParams,
    key: np.uint64,
    side: int,
    ticks: np.ndarray,
    dec: np.ndarray,
    t_s: np.ndarray,
    prob: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which ``ticks`` (rows x ticks, ``prob`` per column) hold an order, and their epochs."""
    phase = unit(hash_parts(key, side + 2, dec, ticks, 0))
    epoch = np.floor(t_s[:, None] / p.level_refresh_s + phase).astype(np.int64)
    u_here = unit(hash_parts(key, side + 2, dec, ticks, epoch, 1))
    return (u_here < prob) | (ticks % FORCED_EVERY == 0), epoch


def _sizes(
    p: SynthParams,
    key: np.uint64,
    side: int,
    ticks: np.ndarray,
    dec: np.ndarray,
    epoch: np.ndarray,
    rank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Size and order count of present levels; ``rank`` is the level's index (0 = touch)."""
    u_sz = unit(hash_parts(key, side + 2, dec, ticks, epoch, 2))
    u_n = unit(hash_parts(key, side + 2, dec, ticks, epoch, 3))
    odds = (u_sz / (1.0 - u_sz)) ** (1.0 / p.level_size_shape)
    factor = RANK_SIZE_FACTORS[np.minimum(rank // 5, len(RANK_SIZE_FACTORS) - 1)]
    notional = p.level_notional_usd * odds * factor
    notional = np.clip(notional, p.level_notional_min_usd, p.level_notional_max_usd)
    size = round_sig_lot(notional / p.start_px, p.sz_decimals)
    orders = 1 + np.floor(u_n * (1.0 + 2.0 * np.log2(1.0 + notional / p.level_notional_usd)))
    return size, orders.astype(np.int32)


def _side_levels(
    p: SynthParams, key: np.uint64, side: int, touch: np.ndarray, dec: np.ndarray, t_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ticks, sizes and order counts of one side, best first (rows x levels)."""
    n, levels = len(touch), p.book_levels
    k = np.arange(WINDOW_TICKS, dtype=np.int64)
    ticks = touch[:, None] - side * k[None, :]  # bids walk down, asks up
    dec2 = np.broadcast_to(dec[:, None], ticks.shape)
    present, epoch = _present(p, key, side, ticks, dec2, t_s, presence_prob()[None, :])
    rank = np.cumsum(present, axis=1)
    keep = present & (rank <= levels)
    rows, cols = np.nonzero(keep)
    if len(rows) != n * levels:
        raise AssertionError("book window too narrow for the requested levels")
    ticks = ticks[rows, cols].reshape(n, levels)
    epoch = epoch[rows, cols].reshape(n, levels)
    dec2 = dec2[rows, cols].reshape(n, levels)
    size, orders = _sizes(p, key, side, ticks, dec2, epoch, np.arange(levels)[None, :])
    return ticks, size, orders


def ladder(
    p: SynthParams, key: np.uint64, side: int, touch: int, dec: int, t_s: float, reach_ticks: int
) -> tuple[np.ndarray, np.ndarray]:
    """The whole side of one snapshot out to ``reach_ticks`` beyond its touch.

    The same orders as the published book (its first ``book_levels`` levels are the
    snapshot's), plus the levels beyond the 20 the feed shows, which only a deep
    sweep reveals.  ``side`` is 1 for bids, -1 for asks; ``touch`` and the returned
    ticks are in units of ``10**-dec``.  Levels off the price grid (beyond a power of
    ten, where the tick grows) are left out.  Returns ``(ticks, sizes)``, best first.
    """
    k = np.arange(max(reach_ticks, 0) + 1, dtype=np.int64)
    ticks = (touch - side * k)[None, :]
    dec2 = np.full(ticks.shape, dec, dtype=np.int64)
    prob = presence_prob(len(k))[None, :]
    present, epoch = _present(p, key, side, ticks, dec2, np.array([t_s]), prob)
    px = ticks / 10.0**dec
    coarse = 10 ** np.maximum(0, dec - price_decimals_array(np.maximum(px, 1e-12), p.sz_decimals))
    present &= (ticks % coarse == 0) & (ticks > 0)
    ticks, epoch, dec2 = ticks[present], epoch[present], dec2[present]
    size, _ = _sizes(p, key, side, ticks, dec2, epoch, np.arange(len(ticks)))
    return ticks, size


def build_books(
    p: SynthParams,
    key: np.uint64,
    mid: np.ndarray,
    t_s: np.ndarray,
    extra_mean: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Books for every snapshot: ``bid_px``/``ask_px``/``*_sz`` (float, rows x levels),
    ``*_n`` (int32), and ``dec`` (price decimals of each snapshot).

    ``extra_mean`` is the regime's ``spread_extra_ticks_mean`` at each snapshot.
    """
    # The tick a little above the mid covers the whole book: a coarser tick's
    # multiples are valid on the finer grid below a power of ten.
    dec = price_decimals_array(mid * 1.01, p.sz_decimals)
    scale = 10.0**dec
    x = mid * scale
    lo = np.floor(x).astype(np.int64)
    hi = np.maximum(np.ceil(x).astype(np.int64), lo + 1)
    prob = 1.0 / (1.0 + extra_mean)
    best_bid = lo - (rng.geometric(prob) - 1)
    best_ask = hi + (rng.geometric(prob) - 1)
    out: dict[str, list[np.ndarray]] = {name: [] for name in _NAMES}
    for s in range(0, len(mid), CHUNK_ROWS):
        sl = slice(s, s + CHUNK_ROWS)
        for side, touch, tag in ((1, best_bid, "bid"), (-1, best_ask, "ask")):
            ticks, size, orders = _side_levels(p, key, side, touch[sl], dec[sl], t_s[sl])
            out[f"{tag}_px"].append(ticks / scale[sl, None])
            out[f"{tag}_sz"].append(size)
            out[f"{tag}_n"].append(orders)
    books = {k: np.concatenate(v) for k, v in out.items()}
    books["dec"] = dec
    return books


_NAMES = ("bid_px", "bid_sz", "bid_n", "ask_px", "ask_sz", "ask_n")
