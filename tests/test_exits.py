"""The command line's error boundary: exit codes, one line on stderr, where tracebacks go."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from framework import exits
from framework.config import ConfigError
from framework.engine.core import EngineError
from framework.engine.drive import ComponentError
from framework.environments.backtest import BacktestError
from framework.environments.paper import PaperError
from framework.hyperliquid.errors import (
    AssetNotFoundError,
    HyperliquidError,
    KeyLoadError,
    RateLimitedError,
    TransportError,
)
from framework.journal.errors import CorruptPartError, JournalError, ManifestError
from framework.journal.manifest import MANIFEST_NAME
from framework.recordings.errors import FileFormatError, MessageError
from framework.synth.params import SynthParamError
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"


@pytest.mark.parametrize(
    "exc, code",
    [
        (exits.UsageError("--x 1: bad"), 2),
        (ConfigError("risk.max_drawdown: bad"), 2),
        (ComponentError("component x rejects its config"), 2),
        (SynthParamError("hours=0: must be > 0"), 2),
        (BacktestError("--out x: already holds a journal"), 2),
        (ManifestError("x/session.json: unreadable"), 2),
        (AssetNotFoundError("coin 'FOO' not found"), 2),
        (KeyLoadError("no key in HL_PRIVATE_KEY"), 2),
        (FileFormatError("x.gz: unknown format"), 2),
        (PaperError("engine failed at seq 5"), 1),
        (EngineError("seq 3 after 5"), 1),
        (JournalError("x: no such journal directory"), 1),
        (CorruptPartError("part-1.parquet: unreadable"), 1),
        (HyperliquidError("boom"), 1),
        (TransportError("POST /info: cannot connect"), 1),
        (RateLimitedError("POST /info: HTTP 429", status=429), 1),
        (MessageError("l2Book: no levels"), 1),
        (PermissionError(13, "Permission denied", "/root/x"), 1),
        (ValueError("a bug"), None),
        (KeyError("a bug"), None),
    ],
)
def test_every_project_error_has_its_exit_code(exc, code):
    assert exits.exit_code(exc) == code


def _invoke(args: list[str]):
    return CliRunner().invoke(app, args)


def test_a_flag_parser_error_is_one_line_with_exit_2():
    r = _invoke(["backtest", "--quiet"])
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: Missing option '--recording'.") and "backtest --help" in line


# -- an unexpected exception: one line, the traceback in a file (or printed with --debug) --
class StepFails:
    """A component with a bug: it raises on the first book it sees."""

    name = "step_fails"

    def bind(self, engine) -> None:
        from framework.events.schema import Kind

        engine.subscribe(Kind.BOOK, self.on_book)

    def on_book(self, cols, i) -> None:
        raise ZeroDivisionError("boom on a book")

    def snapshot(self) -> dict:
        return {}


class BindFails(StepFails):
    """A component with a bug in bind: the session never starts (no journal is kept)."""

    name = "bind_fails"

    def bind(self, engine) -> None:
        raise ZeroDivisionError("boom in bind")


def _with(monkeypatch, cls: type) -> None:
    import framework.environments.backtest as backtest

    real = backtest.component_list
    extra = {"path": f"{__name__}:{cls.__name__}", "config": {}}
    monkeypatch.setattr(backtest, "component_list", lambda cfg, **kw: [*real(cfg, **kw), extra])


def test_a_bug_midway_is_one_line_naming_the_traceback_in_the_session_dir(tmp_path, monkeypatch):
    _with(monkeypatch, StepFails)
    out = tmp_path / "bt"
    r = _invoke(["backtest", "--recording", str(SAMPLE), "--out", str(out), "--quiet"])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: unexpected ZeroDivisionError: boom on a book (a bug;")
    assert f"full traceback in {out / 'traceback.txt'}" in lines[0] and "--debug" in lines[0]
    text = (out / "traceback.txt").read_text()
    assert "Traceback (most recent call last)" in text and "on_book" in text
    assert (out / MANIFEST_NAME).exists()  # the journal of the failed run is still there


def test_a_bug_before_the_session_writes_the_traceback_to_the_temp_dir(tmp_path, monkeypatch):
    _with(monkeypatch, BindFails)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    out = tmp_path / "bt"
    r = _invoke(["backtest", "--recording", str(SAMPLE), "--out", str(out), "--quiet"])
    assert r.exit_code == 1 and not out.exists()
    (written,) = (tmp_path / "tmp" / "market-maker").glob("traceback-*.txt")
    assert f"full traceback in {written}" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "boom in bind" in written.read_text()


def test_debug_prints_the_traceback_instead(tmp_path, monkeypatch):
    _with(monkeypatch, BindFails)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    r = _invoke(["--debug", "backtest", "--recording", str(SAMPLE), "--out", str(tmp_path / "bt")])
    assert r.exit_code == 1
    assert "Traceback (most recent call last)" in r.stderr and "boom in bind" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: unexpected ZeroDivisionError")
    assert not (tmp_path / "tmp").exists()


def test_debug_also_shows_where_a_project_error_came_from(tmp_path):
    bad = tmp_path / "rec"
    bad.mkdir()
    (bad / MANIFEST_NAME).write_text("{not json")
    r = _invoke(["--debug", "backtest", "--recording", str(bad)])
    assert r.exit_code == 2 and "Traceback (most recent call last)" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: --recording {bad}:")


def test_the_boundary_state_is_reset_between_commands(tmp_path):
    exits.note_session(tmp_path)
    exits.set_debug(True)
    r = _invoke(["sql", str(SAMPLE), "SELECT count(*) AS n FROM book", "--format", "csv"])
    assert r.exit_code == 0
    assert exits._state == {"debug": False, "session": None}


def test_a_traceback_path_is_said_even_when_unwritable(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))  # mkdir under a file fails
    exits.reset()
    try:
        raise RuntimeError("x")
    except RuntimeError as exc:
        assert exits.report_unexpected(exc) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: unexpected RuntimeError: x (a bug;")
    assert Path(str(blocker)).read_text() == ""


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    # `... | head -1` printed "error: [Errno 32] Broken pipe".
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    query = "SELECT * FROM range(1000000)"
    p = subprocess.Popen(
        [
            sys.executable,
            str(repo / "cli.py"),
            "sql",
            str(repo / "recordings" / "sample-hype"),
            query,
            "--format",
            "csv",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "range"
    p.stdout.close()  # the reader leaves
    err = p.stderr.read()
    assert p.wait(timeout=60) == 141
    assert "Broken pipe" not in err and "error" not in err and "Traceback" not in err
