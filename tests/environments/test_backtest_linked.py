"""Backtests of strided recordings: input parts linked as they are, outputs in between."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from framework.environments.backtest import BacktestError, run_backtest, strided_parts
from framework.environments.replay import replay, replay_command
from framework.events.schema import INPUT_KINDS, SEQ_STRIDE, Kind, spec
from framework.journal import JournalReader
from framework.journal.manifest import read_manifest, write_manifest
from tests.environments.market import backtest_twice, write_market

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"


@pytest.fixture(scope="module")
def strided(tmp_path_factory) -> Path:
    return write_market(tmp_path_factory.mktemp("rec") / "s", minutes=12, stride=SEQ_STRIDE)


@pytest.fixture(scope="module")
def contiguous(tmp_path_factory) -> Path:
    return write_market(tmp_path_factory.mktemp("rec") / "c", minutes=12)


def _all_rows(reader: JournalReader) -> tuple[np.ndarray, np.ndarray]:
    """Every row's (seq, kind), in seq order."""
    seqs, kinds = [], []
    for k in Kind:
        s = reader.table(k).column("seq").to_numpy()
        seqs.append(s)
        kinds.append(np.full(len(s), int(k)))
    seq, kind = np.concatenate(seqs), np.concatenate(kinds)
    order = np.argsort(seq, kind="stable")
    return seq[order], kind[order]


def _without_seqs(t: pa.Table) -> pa.Table:
    return t.drop_columns([c for c in ("seq", "cause_seq") if c in t.column_names])


def test_strided_recording_is_linked_and_equals_the_resequenced_backtest(strided, tmp_path):
    a = run_backtest(strided, out=tmp_path / "linked", seed=2, progress=False)
    b = run_backtest(strided, out=tmp_path / "reseq", seed=2, progress=False, link_inputs=False)
    ra, rb, src = JournalReader(a.out), JournalReader(b.out), JournalReader(strided)
    assert ra.manifest.seq_stride == SEQ_STRIDE and rb.manifest.seq_stride == 0
    assert ra.manifest.stats["inputs"] == {"linked_parts": 3, "copied_parts": 0}
    assert rb.manifest.stats["inputs"] == {"resequenced": True}
    timing = ("wall_s", "events_per_s")
    assert a.summary["fills"] > 0
    assert {k: v for k, v in a.summary.items() if k not in timing} == {
        k: v for k, v in b.summary.items() if k not in timing
    }
    for kind in Kind:  # the same rows in every table, seq values apart
        assert _without_seqs(ra.table(kind)).equals(_without_seqs(rb.table(kind))), kind.name
    for kind in INPUT_KINDS:  # the linked inputs are the recording's, byte for byte
        if kind == Kind.CLOCK:  # plus the backtest's own checkpoint input at the end
            assert ra.table(kind).column("source").to_pylist() == ["checkpoint"]
            continue
        assert ra.table(kind).equals(src.table(kind)), kind.name
    # the same events in the same order across tables, and the same causes
    sa, ka = _all_rows(ra)
    sb, kb = _all_rows(rb)
    assert np.array_equal(ka, kb)
    rank_a = {int(s): i for i, s in enumerate(sa)}
    rank_b = {int(s): i for i, s in enumerate(sb)}
    ca = ra.table(Kind.ORDER_COMMANDS).column("cause_seq").to_pylist()
    cb = rb.table(Kind.ORDER_COMMANDS).column("cause_seq").to_pylist()
    assert [rank_a[c] for c in ca] == [rank_b[c] for c in cb]
    # inputs at multiples of the stride, every output inside its input's stride
    assert np.all(sa[np.isin(ka, [int(k) for k in INPUT_KINDS])] % SEQ_STRIDE == 0)
    assert np.all(np.diff(sa // SEQ_STRIDE) <= 1)


def test_linked_input_parts_are_hard_links_of_the_recording(strided, tmp_path):
    res = run_backtest(strided, out=tmp_path / "bt", seed=1, progress=False)
    src, out = JournalReader(strided), JournalReader(res.out)
    for kind in (Kind.BOOK, Kind.TRADES, Kind.ASSET_CTX):
        (s,), (o,) = src.parts(kind), out.parts(kind)
        assert s.path.name == o.path.name
        assert os.stat(s.path).st_ino == os.stat(o.path).st_ino, spec(kind).name
        assert os.stat(o.path).st_nlink >= 2


def test_linked_backtest_is_deterministic_and_replay_verifies(strided, tmp_path):
    summary = backtest_twice(strided, tmp_path, seed=3)
    result = replay(tmp_path / "twice-a", verify=True)
    assert result.ok, result.divergence
    inputs = JournalReader(tmp_path / "twice-a")
    assert result.events == sum(inputs.count(k) for k in INPUT_KINDS) and result.outputs > 0
    assert summary["outputs"] == result.outputs


def test_contiguous_recording_is_resequenced(contiguous, tmp_path):
    assert strided_parts(JournalReader(contiguous)) is None
    res = run_backtest(contiguous, out=tmp_path / "bt", seed=1, progress=False)
    out = JournalReader(res.out)
    assert out.manifest.seq_stride == 0
    assert out.manifest.stats["inputs"] == {"resequenced": True}
    assert replay_command(res.out, verify=True, until=None) == 0


def test_a_manifest_stride_the_seqs_do_not_follow_falls_back_to_resequencing(contiguous, tmp_path):
    import shutil

    rec = tmp_path / "liar"
    shutil.copytree(contiguous, rec)
    man = read_manifest(rec)
    man.seq_stride = SEQ_STRIDE  # says strided, but its seqs are 1, 2, 3, ...
    write_manifest(rec, man)
    assert strided_parts(JournalReader(rec)) is None
    res = run_backtest(rec, out=tmp_path / "bt", seed=1, progress=False)
    assert JournalReader(res.out).manifest.stats["inputs"] == {"resequenced": True}


def test_too_many_outputs_for_one_input_name_the_seq_the_stride_and_the_fix(tmp_path):
    rec = write_market(tmp_path / "tiny", minutes=2, stride=2)  # room for 1 output per input
    assert strided_parts(JournalReader(rec)) is not None
    with pytest.raises(BacktestError) as err:
        run_backtest(rec, out=tmp_path / "bt", seed=1, progress=False)
    msg = str(err.value)
    assert "the input at seq " in msg and "seq_stride 2" in msg
    assert "at most 1 outputs" in msg and "--resequence" in msg and "link_inputs=False" in msg
    # the fix named works, from Python and from the command line
    res = run_backtest(rec, out=tmp_path / "ok", seed=1, progress=False, link_inputs=False)
    assert res.summary["outputs"] > 0
    from typer.testing import CliRunner

    from cli import app

    args = ["backtest", "--recording", str(rec), "--seed", "1", "--quiet"]
    failed = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "cli-linked")])
    assert failed.exit_code == 2 and "--resequence" in failed.output
    ok = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "cli"), "--resequence"])
    assert ok.exit_code == 0, ok.output
    assert JournalReader(tmp_path / "cli").manifest.stats["inputs"] == {"resequenced": True}


def test_the_bundled_sample_is_strided_and_backtests_linked(tmp_path):
    reader = JournalReader(SAMPLE)
    assert reader.manifest.seq_stride == SEQ_STRIDE
    assert strided_parts(reader) is not None
    res = run_backtest(SAMPLE, out=tmp_path / "bt", progress=False, spread_profile="aggressive")
    out = JournalReader(res.out)
    assert out.manifest.stats["inputs"]["linked_parts"] == 4
    assert res.summary["quotes"] > 0
    # the recording's 33,001 inputs, then the backtest's own checkpoint clock input
    assert sum(reader.manifest.stats["rows"].values()) == 33001
    assert res.summary["events"] == 33001 + 1


def test_the_bundled_sample_backtest_is_deterministic_and_replays(tmp_path):
    """The README's main job (the default profile), twice: identical tables, and
    ``replay --verify`` passes."""
    s = backtest_twice(SAMPLE, tmp_path, seed=0)
    assert s["fills"] > 0
    # the default venue fills only from trades: every fill is a trade_at or trade_through
    assert sum(s["fills_by_rule"].values()) == s["fills"] and s["fills_by_rule"]["cross"] == 0
