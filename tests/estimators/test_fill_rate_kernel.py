"""The fill-rate estimator's per-order bookkeeping in the kernel is bit-identical to the
Python it replaced.

The references are ``FillRateEstimator._set_range`` and ``_set_bucket`` as they were in
``framework/estimators/fill_rate.py`` before they moved to
:class:`framework.kernel.market.SumRangeWake`, verbatim but for the ``self``.  Records,
ranges and exposures must match to the last bit (compared as IEEE bytes) over random
orders and mids, mids on the bucket edges, records waiting for a range, and the compiled
module must agree with its own interpreted source.
"""

from __future__ import annotations

import bisect
import math
import random
import struct
from typing import Any

import pytest

from framework.estimators.fill_rate import DEFAULT_EDGES_BPS
from framework.kernel import market
from tests.kernel.source import assert_compiled_where_built
from tests.kernel.source import interpreted as interpreted_source

NAN = math.nan
SIDE, PX, BUCKET, SEG_T, LO, HI = 0, 1, 2, 3, 4, 5

# ---- the reference: framework/estimators/fill_rate.py before the kernel, verbatim ------


def ref_set_range(orders: dict[str, list[Any]]) -> tuple[float, float]:
    lo, hi = -math.inf, math.inf
    for rec in orders.values():
        r_lo, r_hi = rec[LO], rec[HI]
        if r_lo != r_lo:
            return NAN, NAN
        if r_lo > lo:
            lo = r_lo
        if r_hi < hi:
            hi = r_hi
    return 2.0 * lo, 2.0 * hi


def ref_set_bucket(rec: list[Any], m: float, now: int, edges: list, exposure: list) -> None:
    p = rec[PX]
    bid = rec[SIDE] == 0
    depth = ((m - p) if bid else (p - m)) / m * 1e4
    b = max(0, bisect.bisect_right(edges, depth) - 1)
    old = rec[BUCKET]
    if b != old:
        if old >= 0:
            exposure[old] += now - rec[SEG_T]
        rec[SEG_T] = now
        rec[BUCKET] = b
    e_lo = edges[b] if b > 0 else -math.inf
    e_hi = edges[b + 1] if b + 1 < len(edges) else math.inf
    if bid:
        lo = p / (1.0 - e_lo / 1e4) if e_lo > -math.inf else 0.0
        hi = p / (1.0 - e_hi / 1e4) if e_hi < 1e4 else math.inf
    else:
        lo = p / (1.0 + e_hi / 1e4) if e_hi < math.inf else 0.0
        hi = p / (1.0 + e_lo / 1e4) if e_lo > -1e4 else math.inf
    rec[LO], rec[HI] = lo * (1.0 + 1e-12), hi * (1.0 - 1e-12)


# ---- helpers --------------------------------------------------------------------------


def _bits(x: Any) -> Any:
    """Floats as IEEE bytes (NaN, -0.0 and every last bit count), recursively."""
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, list | tuple):
        return [_bits(v) for v in x]
    return x


@pytest.fixture(scope="module")
def interpreted() -> Any:
    """The module's source, imported as plain Python beside whatever the kernel loaded."""
    return interpreted_source("market")


def _wakes(interpreted: Any) -> list[Any]:
    return [market.SumRangeWake(None, None), interpreted.SumRangeWake(None, None)]


def _edges(rng: random.Random) -> list[float]:
    if rng.random() < 0.5:
        return [float(x) for x in DEFAULT_EDGES_BPS]
    return sorted({round(rng.uniform(-5, 60), rng.choice((0, 1, 3))) for _ in range(6)})


def _record(rng: random.Random) -> list[Any]:
    side = rng.choice((0, 1))
    px = round(rng.uniform(10, 50_000), rng.choice((1, 2, 4)))
    bucket = rng.choice((-1, 0, 1, 2))
    return [side, px, bucket, rng.randrange(10**15), NAN, NAN]


# ---- tests ----------------------------------------------------------------------------


def test_the_compiled_module_is_loaded_where_built() -> None:
    assert_compiled_where_built(market)


def test_set_bucket_matches_the_reference(interpreted: Any) -> None:
    rng = random.Random(11)
    for _ in range(4000):
        edges = _edges(rng)
        rec = _record(rng)
        p = rec[PX]
        # mids around the price, some exactly on a bucket edge
        if rng.random() < 0.3:
            e = rng.choice(edges)
            m = p / (1.0 - e / 1e4) if rec[SIDE] == 0 else p / (1.0 + e / 1e4)
        else:
            m = p * (1.0 + rng.uniform(-0.01, 0.01))
        now = rec[SEG_T] + rng.randrange(10**10)
        want_rec, want_exp = list(rec), [rng.randrange(10**12) for _ in edges]
        got_exp0 = list(want_exp)
        ref_set_bucket(want_rec, m, now, edges, want_exp)
        for w in _wakes(interpreted):
            got_rec, got_exp = list(rec), list(got_exp0)
            w.set_bucket(got_rec, m, now, edges, got_exp)
            assert _bits(got_rec) == _bits(want_rec), (rec, m, edges)
            assert got_exp == want_exp
            assert all(type(v) is int for v in (got_rec[BUCKET], got_rec[SEG_T]))


def test_set_range_matches_the_reference(interpreted: Any) -> None:
    rng = random.Random(5)
    for _ in range(2000):
        orders: dict[str, list[Any]] = {}
        for j in range(rng.randint(0, 4)):
            rec = _record(rng)
            if rng.random() < 0.9:  # a range set; else one still waiting (NaN)
                ref_set_bucket(rec, rec[PX] * 1.001, 0, [0.0, 2.0, 5.0, 10.0], [0] * 4)
            orders[f"c{j}"] = rec
        want = ref_set_range(orders)
        for w in _wakes(interpreted):
            w.set_range(orders)
            assert _bits((w.lo2, w.hi2)) == _bits(want)


def _episodes(module: Any) -> tuple[Any, list[Any]]:
    """A FillEpisodes of ``module`` over a MarketState of the same module, its clock at
    1e18 ns; the episode ends it reports are collected."""
    ended: list[Any] = []
    edges = [float(x) for x in DEFAULT_EDGES_BPS]
    state = ({}, {}, {}, set(), [0] * len(edges), [0] * len(edges), edges)
    ep = module.FillEpisodes(ended.append, state)
    ep.market = module.MarketState()
    ep.clock.now = 10**18
    return ep, ended


def test_episodes_compiled_and_interpreted_agree(interpreted: Any) -> None:
    """Random commands, order outcomes, live calls and book events through both modules'
    FillEpisodes: the same records, exposures, fills, containers and episode ends."""
    from framework.events.columns import Columns
    from framework.events.schema import Kind

    rng = random.Random(3)
    pair = [_episodes(market), _episodes(interpreted)]
    cloids = [f"0x{j:032x}" for j in range(12)]
    for _ in range(6000):
        r = rng.random()
        c = rng.choice(cloids)
        if r < 0.3:
            action = rng.choice(("place", "modify", "cancel"))
            target = rng.choice([*cloids, None]) if action == "modify" else None
            side, px = rng.choice((1, -1)), round(rng.uniform(20.0, 21.0), 3)
            row = (1, 0, 0, c, action, "HYPE", side, px, 1.0, "Alo", False, target, 0, "t")
            cols, route = Columns.single(Kind.ORDER_COMMANDS, row), int(Kind.ORDER_COMMANDS)
        elif r < 0.7:
            status = rng.choice(("resting", "resting", "canceled", "filled", "rejected", "x"))
            px = rng.choice((round(rng.uniform(20.0, 21.0), 3), None, NAN))
            side = rng.choice((1, -1, None))
            row = (1, 0, 0, c, "HYPE", side, px, 1.0, status, None, 0.0, 0)
            cols, route = Columns.single(Kind.SIM_ORDERS, row), int(Kind.SIM_ORDERS)
        else:
            cols = None
        bid = rng.choice((round(rng.uniform(20.0, 21.0), 3), NAN))
        ask = bid + rng.choice((0.001, 0.01, -0.01))
        dt = rng.randrange(10**9)
        live, fill, rejected = rng.random(), rng.random() < 0.5, rng.random() < 0.5
        for ep, _ in pair:
            ep.market.best_bid, ep.market.best_ask = bid, ask
            ep.clock.now += dt
            if cols is not None:
                ep.handle(route, cols, 0)
            elif live < 0.4:
                ep.first_fill(c)
            elif live < 0.7:
                ep.gone(c, fill, rejected)
            elif live < 0.85:
                ep.rest(c, None, None)
            else:
                ep.on_event(None, 0)  # a book event: rebucket what the mid moved
        (a, ea), (b, eb) = pair
        assert _bits(list(a.orders.items())) == _bits(list(b.orders.items()))
        assert (a.sent, a.replaces, a.filled) == (b.sent, b.replaces, b.filled)
        assert (a.exposure, a.fills, ea) == (b.exposure, b.fills, eb)
        assert _bits((a.lo2, a.hi2)) == _bits((b.lo2, b.hi2))
    ended, fills = pair[0][1], sum(pair[0][0].fills)
    assert len(ended) > 200 and fills > 20 and any(ended), (len(ended), fills)  # paths taken
