"""The generated journal: determinism, grid, book shape, seq, sweeps, bbo, context."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from framework.events.schema import SEQ_STRIDE, Kind
from framework.grid import is_valid_price, is_valid_size
from framework.journal import JournalReader
from framework.synth import DEFAULT_START_NS, generate, params_for

from .conftest import HOURS, SEED


def _flat(df: pl.DataFrame, col: str) -> np.ndarray:
    return np.asarray(df[col].explode().to_numpy())


def test_same_seed_gives_identical_tables_and_truth():
    a = generate(params_for("HYPE", hours=0.2, seed=5))
    b = generate(params_for("HYPE", hours=0.2, seed=5))
    assert a.tables.keys() == b.tables.keys()
    for kind in a.tables:
        assert a.tables[kind].equals(b.tables[kind]), kind
    assert a.generator == b.generator


def test_different_seed_gives_different_tables():
    a = generate(params_for("HYPE", hours=0.2, seed=5))
    b = generate(params_for("HYPE", hours=0.2, seed=6))
    assert not a.tables[Kind.BOOK].equals(b.tables[Kind.BOOK])
    assert not a.tables[Kind.TRADES].equals(b.tables[Kind.TRADES])


def test_written_journal_equals_generated_tables(recording):
    reader = JournalReader(recording, strict=True)
    fresh = generate(params_for("HYPE", hours=HOURS, seed=SEED))
    for kind, table in fresh.tables.items():
        assert reader.table(kind).equals(table), kind


def test_manifest_labels_synthetic_and_holds_params_and_truth(recording):
    m = JournalReader(recording).manifest
    assert (m.mode, m.synthetic, m.seed, m.asset, m.coin) == (
        "synthetic",
        True,
        SEED,
        "HYPE",
        "HYPE",
    )
    assert m.config == {"asset": "HYPE", "dex": "", "hours": HOURS}
    assert m.seq_stride == SEQ_STRIDE
    assert m.generator["params"]["seed"] == SEED
    truth = m.generator["truth"]
    for key in (
        "regimes",
        "regime_path",
        "transition_matrix",
        "transition_step_s",
        "sigma_bps_per_sqrt_s",
        "drift_bps_per_s",
        "kappa_per_bps",
        "delta0_bps",
        "shocks",
        "shock_sweeps",
        "kappa_mixture_per_bps",
        "trade_event_rate_per_s",
        "book_cadence_s",
        "spread_ticks",
        "funding_rate",
        "sz_decimals",
        "tick",
    ):
        assert key in truth, key
    assert truth["regimes"] == ["calm", "volatile", "trending"]
    assert truth["regime_path"][0][0] == DEFAULT_START_NS
    starts = [s for s, _ in truth["regime_path"]]
    assert starts == sorted(starts)
    regimes = [r for _, r in truth["regime_path"]]
    assert all(a != b for a, b in itertools.pairwise(regimes))  # real switches
    p = np.array(truth["transition_matrix"])
    assert np.allclose(p.sum(axis=1), 1.0)
    mean = truth["mean_duration_s"]
    assert np.allclose(np.diag(p), [np.exp(-1 / mean[n]) for n in truth["regimes"]], atol=1e-5)
    assert (truth["sz_decimals"], truth["tick"]) == (2, 0.001)


def test_prices_on_the_grid_and_sizes_on_the_lot(frames):
    book, trades, ctx = frames["book"], frames["trades"], frames["asset_ctx"]
    prices = np.unique(np.concatenate([_flat(book, "bid_px"), _flat(book, "ask_px")]))
    prices = np.concatenate([prices, trades["px"].unique().to_numpy()])
    prices = np.concatenate([prices, ctx["mark_px"].to_numpy(), ctx["oracle_px"].to_numpy()])
    assert all(is_valid_price(x, 2) for x in prices)
    sizes = np.unique(np.concatenate([_flat(book, "bid_sz"), _flat(book, "ask_sz")]))
    sizes = np.concatenate([sizes, trades["sz"].unique().to_numpy()])
    assert all(is_valid_size(x, 2) and x > 0 for x in sizes)


def test_books_have_20_ordered_levels_and_never_cross(frames):
    book = frames["book"]
    bid = np.stack(book["bid_px"].to_list())
    ask = np.stack(book["ask_px"].to_list())
    assert bid.shape[1] == ask.shape[1] == 20
    assert np.all(np.diff(bid, axis=1) < 0)
    assert np.all(np.diff(ask, axis=1) > 0)
    assert np.all(bid[:, 0] < ask[:, 0])
    assert np.all(np.stack(book["bid_n"].to_list()) >= 1)
    sizes = np.concatenate([_flat(book, "bid_sz"), _flat(book, "ask_sz")]) * 38
    assert sizes.min() >= 10 and sizes.max() <= 1500 * 38 * 1.01  # 1-1,500 HYPE a level


def test_seq_follows_recv_ts_across_tables_with_table_order_ties(frames):
    order = {"book": 0, "trades": 1, "bbo": 2, "asset_ctx": 3}
    parts = [
        df.select("seq", "ts", "recv_ts").with_columns(table=pl.lit(order[name]))
        for name, df in frames.items()
    ]
    allrows = pl.concat(parts).sort("seq")
    seq = allrows["seq"].to_numpy()
    # the n-th input gets n * SEQ_STRIDE (room for a backtest's outputs in between)
    assert np.array_equal(seq, np.arange(1, len(seq) + 1) * SEQ_STRIDE)
    recv = allrows["recv_ts"].to_numpy()
    table = allrows["table"].to_numpy()
    assert np.all(np.diff(recv) >= 0)
    ties = np.diff(recv) == 0
    assert np.all(np.diff(table)[ties] >= 0)
    latency_ms = (recv - allrows["ts"].to_numpy()) / 1e6
    assert latency_ms.min() > 0 and 15 < np.median(latency_ms) < 80
    assert np.all(allrows["ts"].to_numpy() % 1_000_000 == 0)  # venue stamps whole ms


def _events(trades: pl.DataFrame) -> pl.DataFrame:
    """One row per aggressor event (hash), its prints as lists, in time order."""
    return trades.group_by("hash", maintain_order=True).agg(
        pl.col("ts"), pl.col("side"), pl.col("px"), pl.col("sz"), pl.col("tid"), pl.col("seq")
    )


def test_sweeps_share_ts_and_hash_and_walk_the_last_book(recording, frames):
    book, trades = frames["book"], frames["trades"]
    shock = {
        w["hash"] for w in JournalReader(recording).manifest.generator["truth"]["shock_sweeps"]
    }
    book_seq = book["seq"].to_numpy()
    bid_px, ask_px = np.stack(book["bid_px"].to_list()), np.stack(book["ask_px"].to_list())
    bid_sz, ask_sz = np.stack(book["bid_sz"].to_list()), np.stack(book["ask_sz"].to_list())
    events = _events(trades).filter(~pl.col("hash").is_in(list(shock)))  # ordinary ones
    assert np.all(np.diff(trades["tid"].to_numpy()) > 0)  # across events too
    multi = 0
    rows = events.select("ts", "side", "px", "sz", "tid", "seq").iter_rows()
    for ts, side, px, sz, tid, seq in rows:
        assert len(set(ts)) == 1 and len(set(side)) == 1
        assert np.all(np.diff(tid) > 0)
        j = np.searchsorted(book_seq, seq[0]) - 1  # the book the engine holds then
        levels, level_sz = (ask_px[j], ask_sz[j]) if side[0] > 0 else (bid_px[j], bid_sz[j])
        n = len(px)
        assert list(px) == list(levels[:n])  # successive levels, best first
        assert list(sz[:-1]) == list(level_sz[: n - 1])  # swept levels taken whole
        assert 0 < sz[-1] <= level_sz[n - 1]
        multi += n > 1
    assert multi > 0.3 * len(events)


def test_bbo_is_the_book_top_when_it_changes(frames):
    book, bbo = frames["book"], frames["bbo"]
    top = book.select(
        "ts",
        pl.col("bid_px").list.first().alias("bid_px"),
        pl.col("bid_sz").list.first().alias("bid_sz"),
        pl.col("ask_px").list.first().alias("ask_px"),
        pl.col("ask_sz").list.first().alias("ask_sz"),
    )
    joined = bbo.join(top, on="ts", suffix="_book")
    assert joined.height == bbo.height
    for c in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
        assert (joined[c] == joined[f"{c}_book"]).all()
    quad = bbo.select("bid_px", "bid_sz", "ask_px", "ask_sz").to_numpy()
    assert np.all(np.any(quad[1:] != quad[:-1], axis=1))


def test_asset_ctx_every_minute_with_hourly_funding_near_baseline(recording, frames):
    ctx = frames["asset_ctx"]
    truth = JournalReader(recording).manifest.generator["truth"]
    assert ctx.height == int(np.ceil(HOURS * 60))
    assert np.all(np.diff(ctx["ts"].to_numpy()) == 60 * 10**9)
    funding = ctx["funding"].to_numpy()
    hour = (ctx["ts"].to_numpy() - ctx["ts"][0]) // (3600 * 10**9)
    for h in np.unique(hour):
        assert len(set(funding[hour == h])) == 1  # one rate per hour
    assert np.all(np.abs(funding - truth["funding_rate"]) < 4 * truth["funding_noise"])
    basis_bps = (ctx["mark_px"] / ctx["mid_px"] - 1).to_numpy() * 1e4
    assert np.all(np.abs(basis_bps) < 10)


@pytest.mark.parametrize(("asset", "szd"), [("BTC", 5), ("ETH", 4), ("SOL", 2)])
def test_other_known_assets_are_on_their_grid(asset, szd):
    r = generate(params_for(asset, hours=0.05, seed=1))
    book = pl.from_arrow(r.tables[Kind.BOOK])
    px = np.unique(np.concatenate([_flat(book, "bid_px"), _flat(book, "ask_px")]))
    assert all(is_valid_price(x, szd) for x in px)
    assert all(is_valid_size(x, szd) for x in np.unique(_flat(book, "bid_sz")))
    tick = r.generator["truth"]["tick"]
    spread_ticks = (_flat(book, "ask_px")[::20] - _flat(book, "bid_px")[::20]) / tick
    if asset in ("BTC", "ETH"):  # majors sit at one tick (README calibration)
        assert np.median(spread_ticks) < 1.5


def test_dex_and_start_shape_the_coin_and_times():
    r = generate(params_for("HYPE", hours=0.02, seed=1, dex="xyz", start_ns=10**18))
    book = r.tables[Kind.BOOK]
    assert book.column("coin")[0].as_py() == "xyz:HYPE"
    assert book.column("ts")[0].as_py() == 10**18
    assert r.generator["truth"]["regime_path"][0][0] == 10**18
