"""A trial without Ray: committed whole and once, its recording from a path or a URI
pyarrow opens, its results as rows of results.parquet."""

from __future__ import annotations

import json
import tempfile

import pyarrow.parquet as pq
import pytest

from framework.exits import UsageError
from framework.journal.duck import connect
from framework.sweep.data import check_recording, local_recording, recording_names
from framework.sweep.objective import Objective
from framework.sweep.results import write_results
from framework.sweep.trial import TrialSpec, committed_records, run_trial
from tests.environments.market import write_market


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return write_market(tmp_path_factory.mktemp("rec") / "market", minutes=3)


def _spec(out, recordings, keep="journal") -> TrialSpec:
    return TrialSpec(
        out=str(out),
        recordings=tuple(recordings),
        names=tuple(recording_names(list(recordings))),
        fixed={"strategy.spread_profile": "aggressive"},
        seed=0,
        keep=keep,
        objective=Objective("net_pnl_usd", "max"),
    )


def test_a_trial_is_committed_whole_and_never_run_twice(recording, tmp_path):
    spec = _spec(tmp_path, [str(recording)])
    record = run_trial(spec, 7, {"strategy.requote_tolerance_bps": 2.0})
    trial = tmp_path / "trials" / "0007"
    assert record["status"] == "ok" and record["id"] == "0007" and record["seed"] == 0
    assert sorted(p.name for p in trial.iterdir()) == [
        "config.toml",
        "market",
        "result.json",
        "worker.json",
    ]
    assert json.loads((trial / "result.json").read_text()) == record
    assert not any((tmp_path / "trials" / ".staging").iterdir())
    stamp = (trial / "result.json").stat().st_mtime_ns
    again = run_trial(spec, 7, {"strategy.requote_tolerance_bps": 2.0})
    assert again == record and (trial / "result.json").stat().st_mtime_ns == stamp
    assert committed_records(tmp_path) == {7: record}


def test_keep_summary_keeps_only_the_manifest_with_its_summary(recording, tmp_path):
    record = run_trial(_spec(tmp_path, [str(recording)], keep="summary"), 0, {})
    journal = tmp_path / "trials" / "0000" / "market"
    assert [p.name for p in journal.iterdir()] == ["session.json"]
    summary = json.loads((journal / "session.json").read_text())["stats"]["summary"]
    assert summary["net_pnl_usd"] == record["rows"][0]["net_pnl_usd"]


def test_a_recording_by_uri_is_copied_once_and_backtests_the_same(recording, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the trials' cache
    (tmp_path / "tmp").mkdir()
    uri = recording.resolve().as_uri()  # file:///...: what an object store URI goes through
    assert check_recording(uri) == uri
    cache = tmp_path / "cache"
    local = local_recording(uri, cache)
    assert local.parent == cache and (local / "session.json").is_file()
    assert local_recording(uri, cache) == local  # cached: not copied again
    by_path = run_trial(_spec(tmp_path / "a", [str(recording)]), 0, {})
    by_uri = run_trial(_spec(tmp_path / "b", [uri]), 0, {})
    strip = ("recording", "wall_s", "events_per_s")
    assert list((tmp_path / "tmp" / "market-maker" / "recordings").iterdir())
    assert [{k: v for k, v in r.items() if k not in strip} for r in by_uri["rows"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in by_path["rows"]
    ]
    with pytest.raises(UsageError, match="not a journal"):
        check_recording((tmp_path / "cache").as_uri())


def test_recordings_with_one_name_get_distinct_journal_directories():
    assert recording_names(["/a/day1", "/b/day1", "s3://x/day1/", "/c/day2"]) == [
        "day1",
        "day1-2",
        "day1-3",
        "day2",
    ]


def test_results_keep_their_column_types_when_every_trial_failed(tmp_path):
    failed = {
        "trial": 0,
        "id": "0000",
        "params": {"strategy.spread_profile": "hip3"},
        "seed": 0,
        "status": "error",
        "error": "OverflowError: x",
        "objective": None,
        "rows": [{"recording": "/r", "status": "error", "error": "OverflowError: x"}],
        "worker": {"host": "h", "pid": 1, "wall_s": 0.5},
    }
    write_results(tmp_path, {0: failed}, ("strategy.spread_profile", "fills.queue"))
    schema = pq.read_schema(tmp_path / "results.parquet")
    assert str(schema.field("objective").type) == "double"
    assert str(schema.field("fills.queue").type) == "string"
    row = connect(tmp_path).execute("SELECT status, error, objective FROM results").fetchone()
    assert row == ("error", "OverflowError: x", None)
