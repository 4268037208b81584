"""Shocks: jumps of the true mid and deep sweeps, as the feed shows them and as the truth
records them (framework/synth/shocks.py)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from framework.events.schema import Kind
from framework.grid import is_valid_price, is_valid_size
from framework.synth import generate, params_for
from framework.synth.book import FORCED_EVERY
from framework.synth.shocks import draw_shocks, truncated_pareto

#: Four of each an hour over 3 h: a couple of dozen shocks to check one by one.
BUSY = {"jump_rate_per_h": 4.0, "deep_sweep_rate_per_h": 4.0}


@pytest.fixture(scope="module")
def busy():
    r = generate(params_for("HYPE", hours=3.0, seed=11, **BUSY))
    book = pl.from_arrow(r.tables[Kind.BOOK])
    trades = pl.from_arrow(r.tables[Kind.TRADES])
    return r.generator["truth"], book, trades


def _side_of(book: pl.DataFrame, j: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Prices and sizes of the book side a taker of ``side`` walks (buys: the asks)."""
    px, sz = ("ask_px", "ask_sz") if side > 0 else ("bid_px", "bid_sz")
    return np.asarray(book[px][j].to_list()), np.asarray(book[sz][j].to_list())


def test_shock_sweeps_walk_the_book_before_them_beyond_its_20_levels(busy):
    truth, book, trades = busy
    shocks = truth["shocks"]
    assert sum(s["kind"] == "jump" for s in shocks) >= 6
    assert sum(s["kind"] == "deep" for s in shocks) >= 6
    sweeps = {w["hash"]: w for w in truth["shock_sweeps"]}
    book_ts = book["ts"].to_numpy()
    tick = truth["tick"]
    deeper = 0
    for i, s in enumerate(shocks):
        assert s["sweeps"] and all(sweeps[h]["shock"] == i for h in s["sweeps"])
        j = int(np.searchsorted(book_ts, s["ts_ns"], side="right")) - 1
        levels, level_sz = _side_of(book, j, s["side"])
        mid = (book["bid_px"][j][0] + book["ask_px"][j][0]) / 2
        px, sz, ts = [], [], []
        for h in s["sweeps"]:
            ev = trades.filter(pl.col("hash") == h)
            assert set(ev["side"]) == {s["side"]} and ev["ts"].n_unique() == 1
            worst = s["side"] * (ev["px"][-1] - mid) / mid * 1e4
            assert worst == pytest.approx(sweeps[h]["worst_bps"], abs=1e-5)
            assert worst <= sweeps[h]["reach_bps"] + 1e-6
            px += ev["px"].to_list()
            sz += ev["sz"].to_list()
            ts.append(ev["ts"][0])
        # Between the book before and the next one, sweeps in time order.
        assert book_ts[j] < ts[0] and ts[-1] < book_ts[j + 1] and ts == sorted(set(ts))
        # Together: successive levels from the touch, the published ones first, then on.
        n = min(len(px), len(levels))
        assert px[:n] == list(levels[:n])
        assert sz[: min(n, len(px) - 1)] == list(level_sz[: min(n, len(px) - 1)])
        steps = np.diff(np.round(np.asarray(px) / tick).astype(np.int64)) * s["side"]
        assert np.all(steps >= 1) and np.all(steps[n:] <= FORCED_EVERY)
        assert all(is_valid_price(x, 2) for x in px) and all(is_valid_size(x, 2) for x in sz)
        # The last sweep reaches the shock's depth, short of it by less than a level gap.
        last = sweeps[s["sweeps"][-1]]
        assert last["reach_bps"] == pytest.approx(abs(s["bps"]))
        assert last["reach_bps"] - last["worst_bps"] < FORCED_EVERY * tick / mid * 1e4
        deeper += len(px) > len(levels)
        # A jump re-forms the book around the new mid; a deep sweep leaves it where it was.
        moved = math.log((book["bid_px"][j + 1][0] + book["ask_px"][j + 1][0]) / 2 / mid) * 1e4
        want = s["bps"] if s["kind"] == "jump" else 0.0
        assert abs(moved - want) < 8.0, (s, moved)
        # No ordinary taker trades against the levels the shock took.
        window = trades.filter((pl.col("ts") >= ts[0]) & (pl.col("ts") < book_ts[j + 1]))
        assert set(window["hash"]) <= set(s["sweeps"])
    assert deeper == len(shocks)  # every shock walks past the 20 published levels


def test_jump_sweeps_split_the_way_to_the_new_level(busy):
    truth, _, trades = busy
    jumps = [s for s in truth["shocks"] if s["kind"] == "jump"]
    assert max(len(s["sweeps"]) for s in jumps) > 1
    sweeps = {w["hash"]: w for w in truth["shock_sweeps"]}
    counts = dict(trades.group_by("hash").len().iter_rows())
    assert all(counts[h] == w["prints"] for h, w in sweeps.items())
    for s in jumps:
        reach = [sweeps[h]["reach_bps"] for h in s["sweeps"]]
        assert reach == sorted(reach) and len(s["sweeps"]) <= 4  # jump_sweeps_max
        ts = [sweeps[h]["ts_ns"] for h in s["sweeps"]]
        assert ts[-1] - ts[0] <= 300 * 10**6  # jump_sweep_span_ms
    deep = [s for s in truth["shocks"] if s["kind"] == "deep"]
    assert all(len(s["sweeps"]) == 1 and s["bps"] > 0 for s in deep)


def test_shock_times_rates_and_sizes_follow_the_parameters():
    p = params_for("HYPE", hours=1.0, seed=3)
    hours = 3000.0
    book_ms = np.arange(0, int(hours * 3.6e6), 550, dtype=np.int64)
    shocks = draw_shocks(p, hours * 3600.0, book_ms, np.random.default_rng(3))
    snaps = [s.snap for s in shocks]
    assert len(set(snaps)) == len(snaps)  # never two in one snapshot interval
    assert [s.ms for s in shocks] == sorted(s.ms for s in shocks)
    for kind, rate, lo, hi, alpha in (
        ("jump", p.jump_rate_per_h, p.jump_min_bps, p.jump_max_bps, p.jump_tail_alpha),
        (
            "deep",
            p.deep_sweep_rate_per_h,
            p.deep_sweep_min_bps,
            p.deep_sweep_max_bps,
            p.deep_sweep_tail_alpha,
        ),
    ):
        sel = [s for s in shocks if s.kind == kind]
        mean = rate * hours
        assert abs(len(sel) - mean) < 4 * math.sqrt(mean), kind
        size = np.sort(np.abs([s.bps for s in sel]))
        assert lo <= size[0] and size[-1] <= hi
        cdf = (1 - (lo / size) ** alpha) / (1 - (lo / hi) ** alpha)
        ks = np.max(np.abs(cdf - np.arange(1, len(size) + 1) / len(size)))
        assert ks < 1.63 / math.sqrt(len(size)), kind  # Kolmogorov-Smirnov at 1 %
        side = np.array([s.side for s in sel])
        assert abs(side.mean()) < 4 / math.sqrt(len(sel))
        if kind == "jump":
            assert np.all(np.sign([s.bps for s in sel]) == side)


def test_truncated_pareto_quantiles():
    x = truncated_pareto(np.random.default_rng(0), 200_000, 20.0, 150.0, 1.5)
    # median: (20/m)^1.5 = 1 - 0.5 (1 - (20/150)^1.5)
    want = 20.0 / (1 - 0.5 * (1 - (20 / 150) ** 1.5)) ** (1 / 1.5)
    assert np.median(x) == pytest.approx(want, rel=0.01)
    assert x.min() >= 20.0 and x.max() <= 150.0


def test_shocks_leave_the_ordinary_market_alone():
    """Shocks have their own random stream: deep sweeps add prints and drop the
    ordinary events inside their windows, and change nothing else."""
    off = generate(
        params_for("HYPE", hours=1.0, seed=4, jump_rate_per_h=0.0, deep_sweep_rate_per_h=0.0)
    )
    deep = generate(
        params_for("HYPE", hours=1.0, seed=4, jump_rate_per_h=0.0, deep_sweep_rate_per_h=6.0)
    )
    assert off.generator["truth"]["shocks"] == [] and deep.generator["truth"]["shocks"]
    for kind in (Kind.BOOK, Kind.BBO, Kind.ASSET_CTX):
        a, b = off.tables[kind], deep.tables[kind]
        assert a.drop_columns(["seq", "recv_ts"]).equals(b.drop_columns(["seq", "recv_ts"]))
    cols = ["ts", "side", "px", "sz", "hash"]
    t_off = pl.from_arrow(off.tables[Kind.TRADES]).select(cols)
    t_deep = pl.from_arrow(deep.tables[Kind.TRADES]).select(cols)
    truth = deep.generator["truth"]
    shock_hashes = [w["hash"] for w in truth["shock_sweeps"]]
    book_ts = pl.from_arrow(off.tables[Kind.BOOK])["ts"].to_numpy()
    inside = np.zeros(t_off.height, dtype=bool)
    ts = t_off["ts"].to_numpy()
    for w in truth["shock_sweeps"]:
        nxt = book_ts[np.searchsorted(book_ts, w["ts_ns"], side="right")]
        inside |= (ts >= w["ts_ns"]) & (ts < nxt)
    assert t_off.filter(~pl.Series(inside)).equals(
        t_deep.filter(~pl.col("hash").is_in(shock_hashes))
    )


@pytest.mark.parametrize(
    ("asset", "kwargs", "szd"),
    [
        ("BTC", {}, 5),
        ("SOL", {}, 2),
        # A book 1-1.5 % below 100 is on the fine grid (0.001); sweeps 140-150 bps deep
        # cross 100, where the tick is 0.01: they must skip the finer ticks there.
        (
            "XYZ",
            {
                "start_px": 98.9,
                "sz_decimals": 2,
                "jump_rate_per_h": 0.0,
                "deep_sweep_rate_per_h": 40.0,
                "deep_sweep_min_bps": 140.0,
            },
            2,
        ),
        ("XYZ", {"start_px": 10.05, "sz_decimals": 2}, 2),
    ],
)
def test_shock_prints_are_on_the_grid_for_any_asset(asset, kwargs, szd):
    rates = {"jump_rate_per_h": 20.0, "deep_sweep_rate_per_h": 20.0}
    r = generate(params_for(asset, hours=0.5, seed=2, **{**rates, **kwargs}))
    trades = pl.from_arrow(r.tables[Kind.TRADES])
    shock = [w["hash"] for w in r.generator["truth"]["shock_sweeps"]]
    deep = trades.filter(pl.col("hash").is_in(shock))
    assert deep.height > 100
    assert all(is_valid_price(x, szd) for x in deep["px"].unique())
    assert all(is_valid_size(x, szd) and x > 0 for x in deep["sz"].unique())
