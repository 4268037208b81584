"""Backtest: a recording through the paper engine, journaled, deterministic, replayable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from framework.environments.backtest import BacktestError, run_backtest
from framework.events.schema import INPUT_KINDS, Kind
from framework.journal import JournalReader
from tests.environments.market import backtest_twice, write_market


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_market(tmp_path_factory.mktemp("rec") / "market", minutes=20)


@pytest.fixture(scope="module")
def gapped(tmp_path_factory) -> Path:
    return write_market(tmp_path_factory.mktemp("rec") / "gap", minutes=12, gap=(4.0, 5.0))


def test_two_runs_give_identical_tables_and_replay_verifies(recording, tmp_path):
    s = backtest_twice(recording, tmp_path, seed=3)
    assert s["fills"] > 0 and s["orders"] > 0 and s["quotes"] > 0


def test_output_journal_holds_resequenced_inputs_and_the_engine_recipe(recording, tmp_path):
    res = run_backtest(recording, out=tmp_path / "bt", seed=1, progress=False)
    src, out = JournalReader(recording), JournalReader(res.out)
    for kind in INPUT_KINDS:
        # plus one clock input at the end: the checkpoint at which estimators publish
        assert out.count(kind) == src.count(kind) + (kind == Kind.CLOCK)
    assert out.table(Kind.CLOCK).column("source").to_pylist()[-1] == "checkpoint"
    seqs = np.concatenate([out.table(k).column("seq").to_numpy() for k in Kind])
    assert len(np.unique(seqs)) == len(seqs) == res.summary["events"] + res.summary["outputs"]
    m = out.manifest
    assert m.mode == "backtest" and m.source == {"recording": str(recording)} and m.seed == 1
    paths = [c["path"] for c in m.components]
    assert paths[0] == "framework.book:MarketState"
    assert paths[1] == "framework.fills.simulator:FillSimulator"
    assert paths[-3:] == [
        "framework.orders:OrderTracker",
        "framework.risk:RiskManager",
        "strategies.market_maker:MarketMaker",
    ]
    assert m.components[-1]["config"]["sz_decimals"] == 2
    # every command's cause is an event that precedes it
    cmds = out.table(Kind.ORDER_COMMANDS)
    assert pc.all(pc.less(cmds.column("cause_seq"), cmds.column("seq"))).as_py()


def test_spread_profile_and_queue_model_reach_the_components(recording, tmp_path):
    res = run_backtest(
        recording,
        out=tmp_path / "p",
        seed=1,
        progress=False,
        spread_profile="aggressive",
        queue_model="prob",
    )
    m = JournalReader(res.out).manifest
    assert m.components[1]["config"]["queue"] == "prob"
    assert m.components[-1]["config"]["spread_profile"] == "aggressive"
    q = [
        r
        for r in JournalReader(res.out).table(Kind.QUOTES).to_pylist()
        if r["bid_px"] is not None and r["ask_px"] is not None
    ]
    spread = np.array([(r["ask_px"] - r["bid_px"]) / r["fair_px"] * 1e4 for r in q])
    assert spread.min() >= 10.0 - 1e-9 and np.median(spread) <= 20.0


def test_stall_pauses_quoting_and_fresh_data_resumes_it(gapped, tmp_path):
    res = run_backtest(gapped, out=tmp_path / "g", seed=1, progress=False)
    out = JournalReader(res.out)
    risk = out.table(Kind.RISK).to_pylist()
    gate = [r for r in risk if r["rule"] == "quote_gate"]
    assert [r["state"] for r in gate] == ["paused", "resumed"]
    paused, resumed = gate
    assert paused["value"] >= 15.0
    quotes = out.table(Kind.QUOTES).to_pylist()
    during = [q for q in quotes if paused["seq"] < q["seq"] < resumed["seq"]]
    assert during and all(q["bid_px"] is None and q["ask_px"] is None for q in during)
    assert any(q["bid_px"] is not None for q in quotes if q["seq"] > resumed["seq"])
    cancels = [
        c
        for c in out.table(Kind.ORDER_COMMANDS).to_pylist()
        if paused["seq"] < c["seq"] < resumed["seq"]
    ]
    assert cancels and all(c["action"] == "cancel" for c in cancels)


def test_refuses_to_overwrite_and_names_a_bad_recording(recording, tmp_path):
    run_backtest(recording, out=tmp_path / "x", seed=1, progress=False)
    with pytest.raises(BacktestError, match="already holds a journal"):
        run_backtest(recording, out=tmp_path / "x", seed=1, progress=False)
    with pytest.raises(BacktestError, match="not a journal"):
        run_backtest(tmp_path, out=tmp_path / "y", progress=False)


def test_cli_backtest_prints_the_summary(recording, tmp_path):
    from cli import app

    cfg = tmp_path / "mm.toml"
    cfg.write_text("[risk]\nmax_drawdown = 0.04\n")
    r = CliRunner().invoke(
        app,
        [
            "backtest",
            "--recording",
            str(recording),
            "--out",
            str(tmp_path / "c"),
            "--config",
            str(cfg),
            "--seed",
            "2",
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    for word in ("fills", "volume", "max drawdown", "final inventory", "Estimators"):
        assert word in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nmax_drawdown = 7\n")
    r = CliRunner().invoke(
        app,
        [
            "backtest",
            "--recording",
            str(recording),
            "--out",
            str(tmp_path / "d"),
            "--config",
            str(bad),
            "--quiet",
        ],
    )
    assert r.exit_code == 2 and "risk.max_drawdown" in r.output
