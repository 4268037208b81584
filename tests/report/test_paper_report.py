"""``paper --report``: the session's HTML report is written when it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    from framework.hyperliquid.simulator import SimConfig, SimulatorThread

    with SimulatorThread(SimConfig(port=0, recording=SAMPLE, speed=20.0)) as h:
        yield h.base_url


@pytest.mark.simulator
def test_paper_report_writes_the_report_when_the_session_ends(sim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the session's prior goes to ./checkpoints
    out = tmp_path / "p"
    args = ["paper", "--asset", "HYPE", "--base-url", sim, "--duration", "4", "--quiet"]
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--report"])
    assert done.exit_code == 0, done.output
    report = out / "report.html"
    assert f"report: {report} (" in done.output
    page = report.read_text()
    assert "Session report: HYPE · paper" in page and 'data-plot="market"' in page
    # the summary comes first, the report line last
    assert done.output.index("Session summary") < done.output.index("report: ")


@pytest.mark.simulator
def test_paper_without_report_writes_none(sim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "p"
    args = ["paper", "--asset", "HYPE", "--base-url", sim, "--duration", "1", "--quiet"]
    done = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert not (out / "report.html").exists() and "report:" not in done.output
