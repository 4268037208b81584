"""Statistics of a generated journal fall inside what its manifest claims.

Computed from the journal alone (polars) plus the manifest's truth, the way an
estimator would be scored.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.journal import JournalReader

from .conftest import regime_of

SAMPLE_S = 10  # realised-vol sampling: far above the tick/spread noise of one snapshot


def _truth(recording) -> dict:
    return JournalReader(recording).manifest.generator["truth"]


def _mids(book: pl.DataFrame) -> pl.DataFrame:
    return book.select(
        "ts",
        ((pl.col("bid_px").list.first() + pl.col("ask_px").list.first()) / 2).alias("mid"),
        (pl.col("ask_px").list.first() - pl.col("bid_px").list.first()).alias("spread"),
    )


def test_book_cadence_median_is_the_claimed_one(recording, frames):
    gaps_s = np.diff(frames["book"]["ts"].to_numpy()) / 1e9
    claimed = _truth(recording)["book_cadence_s"]
    assert 0.5 <= claimed <= 0.6
    assert abs(np.median(gaps_s) - claimed) < 0.02
    assert gaps_s.min() > 0.3 and gaps_s.max() < 1.0


def test_mean_spread_per_regime_matches_the_claim(recording, frames):
    truth = _truth(recording)
    mids = _mids(frames["book"])
    _, regime = regime_of(truth, mids["ts"].to_numpy())
    spread_ticks = mids["spread"].to_numpy() / truth["tick"]
    seen = 0
    for i, name in enumerate(truth["regimes"]):
        m = regime == i
        if m.sum() < 300:
            continue
        seen += 1
        assert abs(spread_ticks[m].mean() / truth["spread_ticks"][name] - 1) < 0.15, name
    assert seen == 3


def _shock_hashes(truth: dict) -> list[str]:
    return [w["hash"] for w in truth["shock_sweeps"]]


def test_trade_event_rate_per_regime_matches_the_claim(recording, frames):
    truth = _truth(recording)
    ordinary = frames["trades"].filter(~pl.col("hash").is_in(_shock_hashes(truth)))
    events = ordinary.group_by("hash").agg(pl.col("ts").first())
    _, regime = regime_of(truth, events["ts"].to_numpy())
    starts = np.array([s for s, _ in truth["regime_path"]] + [frames["book"]["ts"].max()])
    regimes = np.array([r for _, r in truth["regime_path"]])
    seconds = np.diff(starts) / 1e9
    seen = 0
    for i, name in enumerate(truth["regimes"]):
        exposure = seconds[regimes == i].sum()
        if exposure < 300:
            continue
        seen += 1
        rate = (regime == i).sum() / exposure
        assert abs(rate / truth["trade_event_rate_per_s"][name] - 1) < 0.25, name
    assert seen == 3
    prints_per_min = frames["trades"].height / (starts[-1] - starts[0]) * 60e9
    assert 10 < prints_per_min < 120


def test_realised_volatility_per_regime_matches_the_claim(recording, frames):
    truth = _truth(recording)
    mids = _mids(frames["book"]).with_columns(bucket=pl.col("ts") // (SAMPLE_S * 10**9))
    last = mids.group_by("bucket").agg(pl.col("ts").last(), pl.col("mid").last()).sort("bucket")
    ts, mid = last["ts"].to_numpy(), last["mid"].to_numpy()
    seg, regime = regime_of(truth, ts)
    dt = np.diff(ts) / 1e9
    drift = np.array(truth["segment_drift_bps_per_s"])[seg[1:]]
    z = (np.diff(np.log(mid)) * 1e4 - drift * dt) / np.sqrt(dt)
    inside = seg[1:] == seg[:-1]  # returns that do not straddle a switch
    # sigma is the diffusion's: leave out the returns that hold a jump (shocks)
    jumps = np.array([s["ts_ns"] for s in truth["shocks"] if s["kind"] == "jump"], np.int64)
    assert len(jumps) >= 1  # the 45 minutes of SEED hold one
    inside &= np.searchsorted(jumps, ts[1:]) == np.searchsorted(jumps, ts[:-1])
    seen = 0
    for i, name in enumerate(truth["regimes"]):
        m = inside & (regime[1:] == i)
        if m.sum() < 30:
            continue
        seen += 1
        ratio = z[m].std() / truth["sigma_bps_per_sqrt_s"][name]
        assert 0.75 < ratio < 1.25, (name, ratio)
    assert seen == 3


def test_depth_tail_decays_at_the_claimed_kappa(recording, frames):
    """κ describes the ordinary aggressor events: the shock sweeps are set aside."""
    truth = _truth(recording)
    book = _mids(frames["book"])
    events = (
        frames["trades"]
        .filter(~pl.col("hash").is_in(_shock_hashes(truth)))
        .group_by("hash")
        .agg(pl.col("ts").first(), pl.col("px").last().alias("worst"))
        .sort("ts")
    )
    j = np.searchsorted(book["ts"].to_numpy(), events["ts"].to_numpy(), side="right") - 1
    mid = book["mid"].to_numpy()[j]
    depth = np.abs(events["worst"].to_numpy() - mid) / mid * 1e4
    threshold = 1.5  # bps: above the spread, where the exponential tail is observed
    excess = depth[depth > threshold] - threshold
    assert len(excess) > 100
    assert abs(1 / excess.mean() / truth["kappa_per_bps"] - 1) < 0.15
