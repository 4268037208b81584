"""``market-maker backtest`` as a user meets it: the flag named in one line, a fresh default
output under ``out/``, a config coin the recording overrides reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from framework.journal import JournalReader
from framework.journal.manifest import MANIFEST_NAME
from tests.environments.market import write_market


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_market(tmp_path_factory.mktemp("rec") / "market", minutes=3)


def _backtest(*args: str):
    return CliRunner().invoke(app, ["backtest", *args, "--quiet"])


def _one_error_line(r) -> str:
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in r.output
    return line


def test_a_missing_recording_is_named(tmp_path):
    r = _backtest("--recording", "/nonexistent", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert line.startswith("error: --recording /nonexistent: no such directory")
    assert "market-maker synth" in line and not (tmp_path / "o").exists()


def test_a_corrupt_session_json_is_named_not_a_traceback(tmp_path):
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / MANIFEST_NAME).write_text('{"mode": "record", ')
    r = _backtest("--recording", str(rec), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert line.startswith(f"error: --recording {rec}: {rec / MANIFEST_NAME} is unreadable (")
    assert "restore it from a copy or re-create the journal" in line
    assert (rec / MANIFEST_NAME).read_text() == '{"mode": "record", '
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--queue-model", "fifo", ["--queue-model 'fifo': unknown queue model", "risk_averse"]),
        ("--spread-profile", "tight", ["--spread-profile 'tight': unknown profile", "hip3"]),
    ],
)
def test_a_bad_choice_names_the_flag_not_a_config_table(recording, tmp_path, flag, value, words):
    r = _backtest("--recording", str(recording), flag, value, "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert all(w in line for w in words), line
    assert "[fills]" not in line and "strategy.spread_profile" not in line
    assert "command line" not in line and not (tmp_path / "o").exists()


def test_the_default_output_is_a_fresh_directory_under_out(recording, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(recording))
    outs = []
    for _ in range(2):
        r = _backtest("--recording", str(recording), "--seed", "4")
        assert r.exit_code == 0, r.output
        outs.append(r.stdout.strip().splitlines()[-1])
    assert outs == ["journal: out/backtest-market-4", "journal: out/backtest-market-4-2"]
    for name in ("backtest-market-4", "backtest-market-4-2"):
        assert JournalReader(tmp_path / "out" / name).manifest.closed
    assert not (tmp_path / "recordings").exists() and sorted(os.listdir(recording)) == before


def test_a_config_coin_the_recording_overrides_is_reported(recording, tmp_path):
    cfg = tmp_path / "mm.toml"
    cfg.write_text('[strategy]\ncoin = "BTC"\n')
    out = tmp_path / "o"
    r = _backtest("--recording", str(recording), "--config", str(cfg), "--out", str(out))
    assert r.exit_code == 0, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line == (
        f"warning: --config {cfg}: [strategy] coin = 'BTC' is ignored: the recording sets "
        "the coin to 'HYPE'; remove the key from the config"
    )
    assert JournalReader(out).manifest.config["strategy"]["coin"] == "HYPE"
    cfg.write_text('[strategy]\ncoin = "HYPE"\n')  # the same coin: nothing to report
    r = _backtest("--recording", str(recording), "--config", str(cfg), "--out", str(out) + "2")
    assert r.exit_code == 0 and r.stderr == ""


def test_an_out_with_a_journals_tables_but_no_manifest_is_refused_untouched(recording, tmp_path):
    # A journal whose session.json was deleted: a backtest into it used to write a new
    # manifest over the old parts, then fail, leaving a "closed" journal of mixed rows.
    first = tmp_path / "first"
    assert _backtest("--recording", str(recording), "--out", str(first)).exit_code == 0
    (first / MANIFEST_NAME).unlink()
    before = sorted(p.relative_to(first) for p in first.rglob("*"))
    r = _backtest("--recording", str(recording), "--out", str(first))
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert f"--out {first}: holds journal tables but no {MANIFEST_NAME}" in line
    assert sorted(p.relative_to(first) for p in first.rglob("*")) == before


def test_an_out_that_is_a_file_is_named(recording, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("mine\n")
    r = _backtest("--recording", str(recording), "--out", str(f))
    assert r.exit_code == 2
    assert "is a file, not a directory" in _one_error_line(r)
    assert f.read_text() == "mine\n"


@pytest.mark.parametrize("command", ["backtest", "paper", "sweep", "sim-exchange"])
def test_a_negative_seed_is_a_flag_error(recording, tmp_path, command):
    # numpy's PCG64 refuses it deep inside: that was an "unexpected ValueError" (a bug
    # report) for backtest and paper, and a sweep of failed trials
    args = ["--recording", str(recording), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(app, [command, "--seed", "-1", *(args if command == "backtest" else [])])
    assert r.exit_code == 2
    assert "'--seed': -1 is not in the range x>=0" in r.stderr
    assert not (tmp_path / "o").exists()
