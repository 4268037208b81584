"""Modify, determinism, config and manifest round trips, snapshots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from framework.book import MarketState
from framework.engine.core import ListSink
from framework.engine.drive import build_engine
from framework.events.schema import Kind
from framework.fills import FillSimConfig, FillSimulator
from framework.fills.texts import VENUE_TEXT
from framework.journal import Manifest
from tests.fills.harness import BOOK_ASKS, MS, T0, Venue, rest_bid, venue_with_book


def test_modify_cancels_and_replaces_losing_the_queue_position():
    v = venue_with_book()
    old = rest_bid(v, T0, 100.0, 1.0)
    v.trade(T0 + 200 * MS, -1, 100.0, 4.0)  # old order is now 1 from the front
    assert v.sim.open_orders[0].q == 1.0
    v.book(T0 + 210 * MS, [(100.0, 6.0)], BOOK_ASKS)
    new = v.modify(T0 + 300 * MS, old, 1, 100.0, 2.0)
    v.tick(T0 + 400 * MS)
    assert v.orders(old)[-1]["status"] == "canceled"
    assert v.orders(old)[-1]["reason"] == VENUE_TEXT["modified"]
    (row,) = v.orders(new)
    assert (row["status"], row["sz"], row["queue_ahead"]) == ("resting", 2.0, 6.0)
    assert [o.cloid for o in v.sim.open_orders] == [new]


def test_modify_of_a_gone_order_is_rejected():
    v = venue_with_book()
    new = v.modify(T0, "0x" + "cd" * 16, 1, 100.0, 1.0)
    v.tick(T0 + 100 * MS)
    (row,) = v.orders(new)
    assert (row["status"], row["reason"]) == ("rejected", VENUE_TEXT["modify_missing"])


def _random_session(seed: int, stream_seed: int = 11) -> list:
    """A busy session with empirical latency (engine rng draws), the prob queue and a
    40 ms feed delay (so rows stamped before an order's arrival are received after it)."""
    v = Venue(
        seed=seed,
        feed_ms=40.0,
        latency="empirical",
        place_samples_ms=[40, 80, 120, 300],
        cancel_samples_ms=[20, 60],
        response_samples_ms=[0, 5, 15],
        queue="prob",
    )
    r = np.random.Generator(np.random.PCG64(stream_seed))
    t, mid, live = T0, 100.0, []
    for _ in range(400):
        t += int(r.integers(1, 50)) * MS
        mid = round(mid + 0.01 * int(r.integers(-1, 2)), 2)
        u = r.random()
        if u < 0.3:
            bids = [(round(mid - 0.01 * (j + 1), 2), float(r.integers(1, 9))) for j in range(5)]
            asks = [(round(mid + 0.01 * (j + 1), 2), float(r.integers(1, 9))) for j in range(5)]
            v.book(t, bids, asks)
        elif u < 0.75:
            side = 1 if r.random() < 0.5 else -1
            v.trade(
                t,
                side,
                round(mid + side * 0.01 * int(r.integers(0, 3)), 2),
                float(r.integers(1, 6)),
            )
        elif u < 0.9 or not live:
            side = 1 if r.random() < 0.5 else -1
            live.append(v.place(t, side, round(mid - side * 0.01, 2), 1.0))
        else:
            v.cancel(t, live.pop(int(r.integers(len(live)))))
    return v.sink.rows


def test_same_inputs_and_seed_give_identical_outputs():
    a = _random_session(seed=5)
    b = _random_session(seed=5)
    assert len(a) > 100
    assert a == b


def test_latency_draws_come_from_the_engine_seed():
    assert _random_session(seed=5) != _random_session(seed=6)


def test_simulator_is_rebuilt_from_a_json_manifest_entry():
    sim = FillSimulator(queue="prob", latency="empirical", place_samples_ms=[10, 20], maker_bps=1.2)
    entry = json.loads(json.dumps(sim.manifest_entry()))
    man = Manifest(
        mode="backtest",
        asset="TEST",
        seed=3,
        components=[{"path": "framework.book:MarketState", "config": {}}, entry],
    )
    engine = build_engine(man, ListSink())
    rebuilt = engine.component("fills")
    assert rebuilt.config == sim.config
    assert isinstance(engine.component("market"), MarketState)


def test_bad_settings_fail_naming_the_setting():
    with pytest.raises(TypeError, match="known settings: latency"):
        FillSimulator(latncy="constant")
    with pytest.raises(ValueError, match="queue='best'"):
        FillSimulator(queue="best")
    with pytest.raises(ValueError, match="budget_used=-1"):
        FillSimConfig(budget_used=-1)
    with pytest.raises(TypeError, match="not both"):
        FillSimulator(FillSimConfig(), queue="prob")


def test_snapshot_reports_state_and_is_json_serialisable():
    v = venue_with_book()
    rest_bid(v, T0, 100.0, 2.0)
    v.trade(T0 + 200 * MS, -1, 99.9, 1.0)
    snap = v.engine.snapshot()["components"]["fills"]
    assert snap["position"] == 1.0
    assert snap["n_fills"] == 1
    by_rule = {"trade_at": 0, "trade_through": 1, "cross": 0, "taker": 0}
    assert snap["fills_by_rule"] == v.sim.fills_by_rule == by_rule
    assert snap["cross_fills"] is False
    assert snap["open_orders"][0]["sz"] == 1.0
    assert snap["budget"]["used"] == 1
    json.dumps(snap)


def test_fills_cite_the_market_event_and_orders_cite_the_command():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 1.0)
    cmd_row = next(r for k, r in v.sink.rows if k == Kind.ORDER_COMMANDS and r[3] == cloid)
    assert v.orders(cloid)[0]["cause_seq"] == cmd_row[0]
    seq = v.trade(T0 + 200 * MS, -1, 99.9, 5.0)
    assert v.fills(cloid)[0]["cause_seq"] == seq
    assert v.orders(cloid)[-1]["cause_seq"] == seq


def test_journaled_session_with_the_simulator_replays_exactly(tmp_path):
    from framework.environments.replay import replay
    from framework.journal import JournalReader
    from tests.stubs import TOY_PATH, write_market_session

    fills = FillSimulator(latency="empirical", place_samples_ms=[50, 400, 900], queue="prob")
    comps = [
        {"path": "framework.book:MarketState", "config": {}},
        fills.manifest_entry(),
        {"path": TOY_PATH, "config": {}},
    ]
    root = write_market_session(tmp_path / "j", n_books=120, components=comps)
    reader = JournalReader(root)
    assert reader.count(Kind.SIM_FILLS) > 10
    assert reader.count(Kind.SIM_ORDERS) > 10
    result = replay(root, verify=True)
    assert result.ok, result.divergence and result.divergence.describe()


def test_benchmark_script_runs():
    from tests.fills.bench_fills import bench

    rates = bench(2_000)
    assert all(r > 0 for r in rates.values())


def test_simulator_must_be_bound_after_market_state():
    from framework.engine.core import Engine

    with pytest.raises(ValueError, match=r"list framework\.book:MarketState first"):
        Engine([FillSimulator(), MarketState()], seed=1, sink=ListSink())
