"""The notebooks: committed without outputs, and both run headless on a backtest of the
bundled sample (the session given papermill-style, or by MM_SESSION)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
NAMES = ("calibration_report.ipynb", "fills_analysis.ipynb")


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_carry_no_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], cell.source[:60]
        assert cell.execution_count is None, cell.source[:60]
        assert "execution" not in cell.metadata
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "SESSION =" in tagged[0].source


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from framework.environments.backtest import run_backtest

    out = tmp_path_factory.mktemp("nb") / "bt"
    run_backtest(
        REPO / "recordings" / "sample-hype", out=out, progress=False, spread_profile="aggressive"
    )
    return out


def inject(nb: nbformat.NotebookNode, **params: str) -> None:
    """What papermill does: a cell setting the parameters right after the one tagged
    ``parameters``."""
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    src = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    nb.cells.insert(
        at + 1, nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]})
    )


def run(nb: nbformat.NotebookNode) -> list[dict]:
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _text(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o["text"])
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
    return "\n".join(parts)


def _images(outputs: list[dict]) -> int:
    return sum(1 for o in outputs if "image/png" in o.get("data", {}))


def test_calibration_report_runs_with_the_session_as_a_parameter(sample):
    from framework.calibration.readiness import assess

    nb = nbformat.read(NOTEBOOKS / "calibration_report.ipynb", as_version=4)
    inject(nb, SESSION=str(sample))
    outputs = run(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = _text(outputs)
    r = assess(sample)
    assert f"verdict: {r.verdict}" in text
    assert f"over {r.edge_fills} fills" in text
    for e in r.estimators:
        assert e.name in text
    assert _images(outputs) >= 2  # the estimators over time, the edge histogram


def test_fills_analysis_runs_with_the_session_from_the_environment(sample, monkeypatch):
    import json

    monkeypatch.setenv("MM_SESSION", str(sample))
    nb = nbformat.read(NOTEBOOKS / "fills_analysis.ipynb", as_version=4)
    outputs = run(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = _text(outputs)
    summary = json.loads((sample / "session.json").read_text())["stats"]["summary"]
    assert f"{summary['fills']} fills" in text
    assert f"the session's own net PnL: {summary['net_pnl_usd']}" in text
    assert _images(outputs) >= 2  # markouts, the position path
