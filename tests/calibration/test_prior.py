"""Prior checkpoints: lossless round trip, the stamp, Q-table seeding, transfer that
replays, clear errors for bad files, and a periodic prior that survives a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
import pytest

from framework.calibration.prior import (
    PRIOR_VERSION,
    PriorError,
    coin_key,
    load_prior,
    prior_path,
    save_prior,
)
from framework.calibration.readiness import assess
from framework.environments.backtest import run_backtest
from framework.environments.replay import replay
from framework.journal import JournalReader
from strategies.qlearning import ACTIONS, N_STATES, QLearner

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, Path]:
    """A backtest of the sample that saved its prior: (journal, prior file)."""
    root = tmp_path_factory.mktemp("cal")
    ck = prior_path(root / "checkpoints", "HYPE")
    run_backtest(
        SAMPLE, out=root / "bt", progress=False, spread_profile="aggressive", save_prior=ck
    )
    return root / "bt", ck


def test_a_prior_round_trips_losslessly(calibrated, tmp_path):
    _, ck = calibrated
    prior = load_prior(ck)
    again = save_prior(prior, tmp_path / "p.json")
    assert again.read_bytes() == ck.read_bytes()
    assert load_prior(again) == prior
    assert prior.qtable is not None and len(prior.qtable.q) == N_STATES
    assert set(prior.estimators) >= {
        "volatility",
        "kappa",
        "adverse_selection",
        "regime",
        "fill_rate",
        "kelly",
    }
    assert prior.model.sigma_converged and prior.model.sigma_bps > 0


def test_the_stamp_equals_readiness_of_the_journal_up_to_its_seq(calibrated):
    journal, ck = calibrated
    prior = load_prior(ck)
    assert prior.stamp == assess(journal, prior.stamp.thresholds, up_to_seq=prior.stamp.up_to_seq)
    man = JournalReader(journal).manifest
    assert prior.source.session_id == man.session_id and len(man.session_id) == 32
    assert prior.source.journal == str(journal.resolve())
    assert prior.created_ns > 0 and prior.coin == "HYPE"


def test_staleness_is_measured_at_load_from_the_stamps_event_time(calibrated):
    prior = load_prior(calibrated[1])
    four_h = 4 * 3600 * 10**9
    assert not prior.is_stale(prior.created_ns + four_h)
    assert prior.is_stale(prior.created_ns + four_h + 1)
    assert prior.is_stale(prior.created_ns + 10**9, stale_after_s=0.5)


def test_seeding_the_q_table_touches_only_zero_visit_states():
    live = QLearner()
    rng = np.random.Generator(np.random.PCG64(1))
    for _ in range(300):
        s = int(rng.integers(0, 10))  # live experience in states 0..9 only
        live.update(s, int(rng.integers(len(ACTIONS))), float(rng.normal()), s)
    paper = QLearner()
    paper.q = [[7.0] * len(ACTIONS) for _ in range(N_STATES)]
    paper.n = [[50] * len(ACTIONS) for _ in range(N_STATES)]
    before_q, before_n = np.array(live.q), np.array(live.n)
    visited = before_n.sum(axis=1) > 0
    seeded = live.seed_from(paper.to_dict())
    assert seeded == N_STATES - int(visited.sum())
    q = np.array(live.q)
    assert (q[visited] == before_q[visited]).all()  # live evidence untouched
    assert (q[~visited] == 7.0).all()
    assert (np.array(live.n) == before_n).all()  # visit counts never come from the prior


def test_a_session_started_from_a_prior_replays_from_its_journal_alone(calibrated, tmp_path):
    _, ck = calibrated
    out = tmp_path / "warm"
    run_backtest(
        SAMPLE, out=out, progress=False, spread_profile="aggressive", paper_checkpoint=ck.parent
    )
    man = JournalReader(out).manifest
    assert (
        man.prior["file"] == "prior.json" and (out / "prior.json").read_bytes() == ck.read_bytes()
    )
    applied = man.prior["applied"]["strategy"]
    prior = load_prior(ck)
    assert applied["sigma_bps"] == prior.model.sigma_bps
    assert applied["q_states_seeded"] == N_STATES  # a fresh learner: every state is cold
    ck.rename(ck.with_suffix(".moved"))  # nothing outside the journal is needed
    try:
        assert replay(out, verify=True).ok
    finally:
        ck.with_suffix(".moved").rename(ck)
    cold = tmp_path / "cold"
    run_backtest(SAMPLE, out=cold, progress=False, spread_profile="aggressive")
    q_warm = JournalReader(out).table("quotes").to_pylist()
    q_cold = JournalReader(cold).table("quotes").to_pylist()
    assert q_warm[0]["half_spread_bps"] != q_cold[0]["half_spread_bps"]  # it did warm-start


def test_a_prior_of_another_coin_is_refused_before_anything_is_written(calibrated, tmp_path):
    # BTC's sigma, kappa and Q-table warm-started a HYPE session without a word.
    _, ck = calibrated
    data = json.loads(ck.read_text())
    data["coin"], data["asset"] = "BTC", "BTC"
    other = tmp_path / "btc" / "prior.json"
    other.parent.mkdir()
    other.write_text(json.dumps(data))
    out = tmp_path / "warm"
    with pytest.raises(PriorError, match=r"a prior of BTC, and this session trades HYPE"):
        run_backtest(SAMPLE, out=out, progress=False, paper_checkpoint=other)
    assert not out.exists()


def test_replay_refuses_a_prior_copy_changed_after_the_session(calibrated, tmp_path):
    _, ck = calibrated
    out = tmp_path / "warm"
    run_backtest(SAMPLE, out=out, progress=False, paper_checkpoint=ck)
    data = json.loads((out / "prior.json").read_text())
    data["model"]["sigma_bps"] = 9.0
    (out / "prior.json").write_text(json.dumps(data))
    with pytest.raises(PriorError, match=r"prior\.json: sha256 .* changed after the session"):
        replay(out, verify=True)


# -- bad files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda t: t[: len(t) // 2], "not valid JSON (line"),
        (lambda t: "garbage" + t, "not valid JSON"),
        (lambda t: json.dumps({"schema": "something else"}), "not a prior checkpoint"),
        (lambda t: t.replace(f'"version": {PRIOR_VERSION}', '"version": 99'), "newer than"),
        (lambda t: t.replace(f'"version": {PRIOR_VERSION}', '"version": 0'), "cannot be migrated"),
        (lambda t: t.replace('"created_ns"', '"created"'), "$.created_ns"),
        (lambda t: t.replace('"kelly_fills": ', '"kelly_fills": "x", "_": '), "kelly_fills"),
    ],
)
def test_a_bad_prior_is_a_clear_error_naming_the_file(calibrated, tmp_path, mutate, words):
    bad = tmp_path / "prior.json"
    bad.write_text(mutate(calibrated[1].read_text()))
    with pytest.raises(PriorError) as exc:
        load_prior(tmp_path)
    assert str(bad) in str(exc.value) and words in str(exc.value)


def test_a_missing_prior_says_how_to_make_one(tmp_path):
    with pytest.raises(PriorError, match="no prior checkpoint there; run a paper session"):
        load_prior(tmp_path / "nothing")


def test_a_bad_paper_checkpoint_flag_is_exit_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{")
    out = tmp_path / "bt"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "cli.py"),
            "backtest",
            "--recording",
            str(SAMPLE),
            "--paper-checkpoint",
            str(bad),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and f"error: {bad}: not valid JSON" in done.stderr
    assert not out.exists()


def test_coin_keys_are_file_safe():
    assert coin_key("hyena:HYPE") == "hyena-HYPE"
    assert prior_path("ck", "hyena:HYPE") == Path("ck/paper/hyena-HYPE/prior.json")


# -- a periodic prior survives a kill -----------------------------------------------------------
@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    from framework.hyperliquid.simulator import SimConfig, SimulatorThread

    with SimulatorThread(SimConfig(port=0, recording=SAMPLE, speed=40.0)) as h:
        yield h.base_url


@pytest.mark.simulator
def test_a_paper_session_killed_midway_leaves_its_last_periodic_prior_loadable(sim, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[calibration]\ncheckpoint_every_s = 1.0\n")
    out, ck = tmp_path / "p", tmp_path / "ck"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "cli.py"),
            "paper",
            "--asset",
            "HYPE",
            "--quiet",
            "--duration",
            "0",
            "--base-url",
            sim,
            "--out",
            str(out),
            "--config",
            str(cfg),
            "--checkpoint-dir",
            str(ck),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = prior_path(ck, "HYPE")
    try:
        end = time.monotonic() + 40
        seen: set[int] = set()
        while len(seen) < 3:  # three different periodic priors written
            assert time.monotonic() < end and proc.poll() is None, proc.stderr.read()
            if path.is_file():
                seen.add(path.stat().st_mtime_ns)
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    prior = load_prior(path)  # whole: written atomically
    assert not list(path.parent.glob(".*.tmp")) or load_prior(path)
    man = JournalReader(out).manifest
    assert not man.closed  # killed: the journal was never closed
    assert prior.source.session_id == man.session_id
    # the stamp is what readiness computes from the (crashed) journal up to its seq
    again = assess(out, prior.stamp.thresholds, up_to_seq=prior.stamp.up_to_seq)
    assert attrs.evolve(again, thresholds=prior.stamp.thresholds) == prior.stamp


def test_the_regime_filters_from_the_first_bucket_with_a_prior_and_is_not_converged(
    calibrated, tmp_path
):
    _, ck = calibrated
    assert load_prior(ck).estimators["regime"].state["k"] in (2, 3)
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    run_backtest(SAMPLE, out=warm, progress=False, paper_checkpoint=ck)
    run_backtest(SAMPLE, out=cold, progress=False)

    def states(root: Path) -> list[dict]:
        rows = JournalReader(root).table("estimates").to_pylist()
        return [r for r in rows if r["estimator"] == "regime" and r["param"] == "state"]

    first_warm, first_cold = states(warm)[0], states(cold)[0]
    assert first_cold["value"] is None  # cold: unknown until the first fit (60 buckets)
    assert first_warm["value"] is not None and not first_warm["converged"]
    assert first_warm["n_obs"] == first_cold["n_obs"] == 1  # no count came from the prior
    assert JournalReader(warm).manifest.prior["applied"]["regime"]["k"] in (2, 3)
    assert replay(warm, verify=True).ok


def test_backtest_save_prior_keeps_a_better_fresh_prior(tmp_path, capsys):
    from framework.config import CalibrationConfig, SessionConfig

    ck = prior_path(tmp_path / "checkpoints", "HYPE")
    lenient = SessionConfig(calibration=CalibrationConfig(marginal_min_converged=2))
    first = run_backtest(SAMPLE, out=tmp_path / "a", progress=False, config=lenient, save_prior=ck)
    assert first.summary["prior"]["verdict"] == "Marginal"
    kept = ck.read_bytes()
    capsys.readouterr()
    second = run_backtest(SAMPLE, out=tmp_path / "b", progress=False, save_prior=ck)
    assert second.summary["prior"]["verdict"] == "Insufficient"
    assert second.summary["prior"]["path"] == str(ck.with_name("prior.latest.json"))
    assert ck.read_bytes() == kept
    assert "kept the Marginal prior" in capsys.readouterr().err
