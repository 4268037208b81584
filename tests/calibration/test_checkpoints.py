"""The periodic prior: the engine's side in the session's thread, DuckDB's stamp and the
save on the checkpoint thread, so a live or paper loop does not wait for the query."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import framework.calibration.checkpoints as checkpoints
from framework.calibration.checkpoints import PriorWriter
from framework.calibration.prior import load_prior
from framework.calibration.readiness import assess
from framework.config import CalibrationConfig, SessionConfig
from framework.engine import feed, inputs_for
from framework.environments.backtest import apply_overrides, component_list, open_session
from framework.journal import JournalReader, Manifest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def session(tmp_path):
    """A paper-like session over the first hour of the sample, its journal open."""
    src = JournalReader(SAMPLE).manifest
    cfg = apply_overrides(SessionConfig(), coin=src.coin, spread_profile="aggressive")
    manifest = Manifest(
        mode="paper", asset=src.asset, coin=src.coin, components=component_list(cfg)
    )
    out = tmp_path / "j"
    writer, engine = open_session(out, manifest, write_ahead=True)
    reader = JournalReader(SAMPLE)
    first = next(iter(reader.parts("trades"))).first
    stop = first + (reader.manifest.seq_stride or 1) * 20_000
    feed(engine, inputs_for(engine, reader, stop_seq=stop))
    clock = _Clock()
    priors = PriorWriter(
        engine,
        manifest,
        writer,
        out,
        tmp_path / "ck" / "prior.json",
        CalibrationConfig(checkpoint_every_s=60.0),
        clock=clock,
    )
    yield engine, writer, priors, clock, out
    writer.close()


def _held_assess(monkeypatch) -> tuple[threading.Event, list[str]]:
    """DuckDB's assessment waits until the returned event is set; the list gets the
    name of each thread that ran one."""
    gate = threading.Event()
    threads: list[str] = []
    real = checkpoints.assess

    def held(*args, **kw):
        threads.append(threading.current_thread().name)
        gate.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(checkpoints, "assess", held)
    return gate, threads


def test_the_periodic_prior_is_stamped_and_saved_on_its_own_thread(session, monkeypatch):
    engine, _, priors, clock, out = session
    gate, threads = _held_assess(monkeypatch)
    assert priors.maybe_write() is None  # not due yet
    clock.t = 61.0
    t0 = time.perf_counter()
    assert priors.maybe_write() is None  # started: the engine's side only
    assert time.perf_counter() - t0 < 5.0
    seq = engine.seq
    assert not priors.path.exists() and priors.written == 0
    assert priors.maybe_write() is None  # in flight: nothing new starts, nothing done
    gate.set()
    deadline = time.monotonic() + 30
    done = None
    while done is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
        done = priors.maybe_write()
    assert done == {"path": str(priors.path), "verdict": done["verdict"], "seq": seq}
    assert priors.last == done and priors.written == 1
    assert len(threads) == 1 and threads[0].startswith("prior-checkpoint")
    prior = load_prior(priors.path)
    assert prior.stamp.up_to_seq == seq
    again = assess(out, CalibrationConfig(), up_to_seq=seq)
    assert again.verdict == prior.stamp.verdict == done["verdict"]


def test_a_final_write_waits_for_the_periodic_one_and_wins(session, monkeypatch):
    engine, _, priors, clock, _ = session
    gate, threads = _held_assess(monkeypatch)
    clock.t = 61.0
    priors.maybe_write()
    threading.Timer(0.3, gate.set).start()
    res = priors.write()  # waits for the periodic prior, then stamps its own
    assert priors.written == 2 and threads[1] == "MainThread"
    assert load_prior(priors.path).stamp.up_to_seq == res["seq"] >= engine.seq


def test_a_failed_periodic_prior_raises_in_the_session_and_the_next_one_runs(session, monkeypatch):
    _, _, priors, clock, _ = session

    def broken(*args, **kw):
        raise RuntimeError("duckdb: disk I/O error")

    monkeypatch.setattr(checkpoints, "assess", broken)
    clock.t = 61.0
    priors.maybe_write()
    with pytest.raises(RuntimeError, match="disk I/O error"):
        for _ in range(1500):
            priors.maybe_write()
            time.sleep(0.02)
    monkeypatch.undo()
    assert priors.write()["path"] == str(priors.path) and priors.path.exists()


def _verdict(monkeypatch, verdict: str) -> None:
    """DuckDB's assessment, with its verdict replaced."""
    import attrs

    real = assess
    monkeypatch.setattr(
        checkpoints, "assess", lambda *a, **kw: attrs.evolve(real(*a, **kw), verdict=verdict)
    )


def _writer(session, path: Path) -> PriorWriter:
    """Another session's writer on the same checkpoint (it finds the prior there)."""
    engine, writer, first, clock, out = session
    return PriorWriter(engine, first.manifest, writer, out, path, CalibrationConfig(), clock=clock)


def test_a_worse_prior_goes_beside_a_fresh_better_one_until_it_does_as_well(
    session, monkeypatch, capsys
):
    # A 3-second paper session's Insufficient prior replaced a day's Ready one.
    _, _, first, _, _ = session
    path = first.path
    _verdict(monkeypatch, "Ready")
    assert first.write()["path"] == str(path)
    ready = path.read_bytes()
    capsys.readouterr()

    second = _writer(session, path)  # another session, the same checkpoint
    _verdict(monkeypatch, "Insufficient")
    res = second.write()
    assert res["path"] == str(path.with_name("prior.latest.json"))
    assert path.read_bytes() == ready  # where `run` looks: still the Ready prior
    assert load_prior(res["path"]).stamp.verdict == "Insufficient"
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "kept the Ready prior" in err
    second.write()  # the periodic ones that follow: beside it again, no new warning
    assert path.read_bytes() == ready and "warning" not in capsys.readouterr().err

    _verdict(monkeypatch, "Ready")  # as good now: it replaces the old one, kept aside
    assert second.write()["path"] == str(path)
    assert path.with_name("prior.prev.json").read_bytes() == ready
    assert "warning" not in capsys.readouterr().err  # as good: nothing to say


def test_a_stale_better_prior_is_replaced_and_kept_as_prev(session, monkeypatch, capsys):
    import json

    _, _, first, _, _ = session
    path = first.path
    _verdict(monkeypatch, "Ready")
    first.write()
    data = json.loads(path.read_text())
    data["created_ns"] -= int(5 * 3600 * 1e9)  # older than stale_after_s (4 h)
    path.write_text(json.dumps(data))
    old = path.read_bytes()
    _verdict(monkeypatch, "Insufficient")
    second = _writer(session, path)
    assert second.write()["path"] == str(path)
    assert load_prior(path).stamp.verdict == "Insufficient"
    assert path.with_name("prior.prev.json").read_bytes() == old
    assert "replaces the Ready one" in capsys.readouterr().err
