"""The sampled session state: what it says, and that sampling never changes a session."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from framework.dashboard.state import CHART_WINDOW_S, JournalTail, StateSampler, finite
from framework.engine.core import ListSink
from framework.engine.drive import _started, build_engine
from framework.environments.backtest import run_backtest
from framework.environments.views import to_json
from framework.events.schema import INPUT_KINDS
from framework.journal import JournalReader
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"
#: Inputs stepped by the event-by-event tests: past the sample's first fills.
EVENTS = 7_000


@pytest.fixture(scope="module")
def backtest(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("state") / "bt"
    return run_backtest(SAMPLE, out=out, spread_profile="aggressive", progress=False).out


def _run(journal: Path, every: int) -> tuple[list, list[dict], StateSampler]:
    """Step the journal's engine over its first EVENTS inputs one at a time, sampling
    every ``every`` events (0: never); the outputs, the samples, the sampler."""
    reader = JournalReader(journal)
    sink = ListSink()
    engine = build_engine(reader.manifest, sink)
    sampler = StateSampler(engine, journal, mode="paper", coin="HYPE")
    samples = []
    n = 0
    for ch, cols in _started(engine, reader.merged(INPUT_KINDS)):
        for kind, seq, t, row in zip(ch.kinds, ch.seqs, ch.recv_ts, ch.rows, strict=True):
            engine.step(kind, seq, t, cols[kind], row)
            n += 1
            if every and n % every == 0:
                samples.append(sampler.sample(n))
            if n == EVENTS:
                return sink.rows, samples, sampler
    raise AssertionError("the sample has fewer inputs than EVENTS")


def _state(sampler: StateSampler) -> str:
    """Every component's state (NaN-safe for comparing)."""
    return json.dumps(sampler.engine.snapshot(), sort_keys=True, default=repr)


def test_sampling_between_steps_changes_no_output_and_no_state(backtest):
    plain, _, s0 = _run(backtest, every=0)
    sampled, samples, s1 = _run(backtest, every=7)  # 1,000 samples, one every 7 events
    assert len(samples) == EVENTS // 7
    assert sampled == plain  # every output row, bit for bit
    assert _state(s1) == _state(s0)  # and every component's state (drawdown peak, ...)
    # and the samples saw the session move (fills, positions, quotes)
    assert len({s["position"]["position"] for s in samples}) > 2
    assert len({s["quotes"]["bid_px"] for s in samples}) > 10


def test_a_sample_says_what_the_engine_holds(backtest):
    _, _, sampler = _run(backtest, every=0)
    e = sampler.engine
    s = sampler.sample(123)
    orders, market, risk = (e.component(n) for n in ("orders", "market", "risk"))
    assert s["events"] == EVENTS and s["event_ns"] == e.now and s["wall_ns"] == 123
    assert s["position"]["position"] == orders.position
    assert s["market"]["best_bid"] == market.best_bid and s["market"]["mid"] == market.mid
    # net PnL marked now, from the tracker's books (its own mark() is not called)
    mark = orders.mark_price()
    net = orders.cash + orders.position * mark - orders.fees - orders.funding
    assert s["pnl"]["net"] == pytest.approx(net, abs=1e-12)
    assert s["pnl"]["realized"] == orders.realized_pnl
    # our quotes are the tracker's open orders, best per side
    bids = [r[1] for r in orders.open.values() if r[0] == 1 and r[3] != "canceling"]
    asks = [r[1] for r in orders.open.values() if r[0] == -1 and r[3] != "canceling"]
    assert s["quotes"]["bid_px"] == (max(bids) if bids else None)
    assert s["quotes"]["ask_px"] == (min(asks) if asks else None)
    assert s["risk"]["quoting_allowed"] is risk.quoting_allowed
    names = [r["name"] for r in s["readiness"]["estimators"]]
    assert names == ["volatility", "kappa", "adverse_selection", "regime", "fill_rate", "kelly"]
    assert s["readiness"]["gating"] == 5 and s["readiness"]["min_session_s"] == 1800
    vol = e.component("volatility")
    assert s["readiness"]["estimators"][0] == {
        "name": "volatility",
        "n_obs": vol.n_obs,
        "min_obs": vol.min_obs,
        "converged": vol.converged,
        "gating": True,
    }
    json.loads(to_json(s))  # JSON as the page parses it


def test_the_chart_keeps_the_last_five_minutes_of_event_time(backtest):
    _, samples, sampler = _run(backtest, every=3)
    points = sampler.history()
    assert points and points[-1][0] - points[0][0] <= CHART_WINDOW_S * 1000
    assert all(b[0] - a[0] >= 500 for a, b in itertools.pairwise(points))
    assert sum(1 for s in samples if s["point"] is not None) > len(points)  # old ones dropped


def test_fills_come_from_the_journal_parts_once(backtest):
    tail = JournalTail(backtest)
    fills = tail.new_fills()
    rows = JournalReader(backtest).table("sim_fills").to_pylist()
    assert [f["seq"] for f in fills] == [r["seq"] for r in rows] and fills
    assert fills[0]["how"] == rows[0]["rule"] and fills[0]["px"] == rows[0]["px"]
    assert tail.new_fills() == []  # nothing new: nothing read again


def test_an_engine_before_its_first_event_samples_to_valid_json(tmp_path):
    from framework.environments.backtest import open_session
    from framework.journal import Manifest

    manifest = Manifest(mode="paper", asset="HYPE", coin="HYPE", seed=0)
    from framework.config import SessionConfig, unstructure
    from framework.environments.backtest import component_list

    cfg = SessionConfig()
    manifest.config = unstructure(cfg)
    manifest.components = component_list(cfg)
    writer, engine = open_session(tmp_path / "j", manifest)
    s = StateSampler(engine, tmp_path / "j", mode="paper", coin="HYPE").sample(0)
    writer.close()
    assert s["market"]["mid"] is None and s["point"] is None and s["fills"]["count"] == 0
    text = to_json(s)
    assert "NaN" not in text and json.loads(text)["session_s"] == 0.0


def test_finite():
    assert finite(1) == 1.0 and finite(None) is None and finite(math.nan) is None
    assert finite(math.inf) is None and finite("x") is None
