"""``market-maker sweep`` refuses a bad space file, an unknown objective and bad flags
with one ``error:`` line and exit 2, before it writes anything or starts Ray."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"
GOOD = '[strategy]\nspread_profile = ["hip3", "aggressive"]\n'


def _sweep(tmp_path: Path, space: str, *args: str):
    path = tmp_path / "space.toml"
    path.write_text(space)
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        ["sweep", "--recording", str(SAMPLE), "--space", str(path), "--out", str(out), *args],
    )
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in r.output
    assert not out.exists()  # nothing written, no Ray started
    return line


@pytest.mark.parametrize(
    "space, words",
    [
        (
            "[strategy]\ngama_per_bps = [0.1, 0.2]\n",
            "strategy.gama_per_bps: unknown key; did you mean 'gamma_per_bps'?",
        ),
        (
            "[risk]\nmax_drawdown = { low = 0.01, high = 1.5 }\n",
            "risk.max_drawdown: high = 1.5 is refused by the config: risk.max_drawdown = 1.5: "
            "must be a fraction in (0, 1)",
        ),
        (
            "[strategy]\ngamma_per_bps = { low = 0.5, high = 0.1 }\n",
            "strategy.gamma_per_bps: low = 0.5 is not below high = 0.1; fix: swap them",
        ),
        ("[strategy\n", "not valid TOML"),
    ],
)
def test_a_bad_space_file_is_one_line_naming_the_key_and_the_fix(tmp_path, space, words):
    line = _sweep(tmp_path, space)
    assert line.startswith(f"error: --space {tmp_path / 'space.toml'}: ")
    assert words in line


def test_grid_search_over_a_continuous_range_says_how_to_fix_it(tmp_path):
    line = _sweep(tmp_path, "[strategy]\ngamma_per_bps = { low = 0.1, high = 0.5 }\n")
    assert "strategy.gamma_per_bps: a continuous range has no grid; fix: add step" in line


def test_an_unknown_objective_names_the_closest_figure(tmp_path):
    line = _sweep(tmp_path, GOOD, "--objective", "net_pnl")
    assert line.startswith("error: --objective 'net_pnl': not a result figure; did you mean ")
    assert "'net_pnl_usd'?" in line and "fees_usd" in line


@pytest.mark.parametrize(
    "args, words",
    [
        (["--search", "bayes"], "--search 'bayes': use one of grid, random, optuna"),
        (["--keep", "all"], "--keep 'all': use journal"),
        (["--workers", "0"], "--workers 0: must be at least 1"),
        (["--resume"], "--resume: "),
        (["--address", "head"], "--address 'head': use HOST:PORT"),
        (["--address", "127.0.0.1:1"], "--address 127.0.0.1:1: nothing answers there"),
    ],
)
def test_bad_flags_are_named(tmp_path, args, words):
    assert words in _sweep(tmp_path, GOOD, *args)


def test_a_recording_that_is_not_a_journal_is_named(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(GOOD)
    r = CliRunner().invoke(
        app, ["sweep", "--recording", str(tmp_path), "--space", str(path), "--out", "x"]
    )
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: --recording {tmp_path}: not a journal")
