"""Config: defaults, TOML loading, and errors that name the field and the fix."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import typing
from pathlib import Path

import attrs
import pytest
from typer.testing import CliRunner

from framework.config import (
    ESTIMATOR_PATHS,
    ConfigError,
    SessionConfig,
    config_from_dict,
    load_config,
    unstructure,
)
from framework.engine.drive import ComponentError
from framework.environments.backtest import BacktestError, open_session, run_backtest
from framework.environments.summary import session_command
from framework.journal import JournalReader, Manifest
from framework.journal.manifest import MANIFEST_NAME
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"


def test_defaults_are_the_documented_ones():
    cfg = load_config(None)
    assert cfg.strategy.spread_profile == "default"
    assert cfg.risk.max_drawdown == 0.05 and cfg.risk.stale_s == 15.0
    assert cfg.risk.forcing_headroom == 0.10
    assert cfg.risk.marginal_spread_mult == 1.5 and cfg.risk.marginal_size_mult == 0.5
    assert cfg.strategy.min_notional_usd == 10.0


def test_toml_round_trip(tmp_path: Path):
    p = tmp_path / "mm.toml"
    p.write_text(
        '[strategy]\nspread_profile = "hip3"\ngamma_per_bps = 0.02\n'
        "[risk]\nmax_drawdown = 0.03\nmax_position = 50\n"
        '[fills]\nqueue = "prob"\n[estimators.kappa]\nwindow_s = 600\n'
    )
    cfg = load_config(p)
    assert cfg.strategy.spread_profile == "hip3" and cfg.strategy.gamma_per_bps == 0.02
    assert cfg.risk.max_position == 50.0 and isinstance(cfg.risk.max_position, float)
    assert cfg.fills.options == {"queue": "prob"}
    assert cfg.estimators.options == {"kappa": {"window_s": 600}}
    assert config_from_dict(unstructure(cfg)) == cfg


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"risk": {"max_drawdown": 5}}, "risk.max_drawdown", "fraction"),
        ({"risk": {"stale_s": -1}}, "risk.stale_s", "> 0"),
        ({"strategy": {"gama_per_bps": 1}}, "strategy.gama_per_bps", "gamma_per_bps"),
        ({"strategy": {"spread_profile": "tight"}}, "strategy.spread_profile", "hip3"),
        ({"strategy": {"sz_decimals": 1.5}}, "strategy.sz_decimals", "int"),
        ({"strategy": {"qlearning": "yes"}}, "strategy.qlearning", "bool"),
        ({"risk": {"readiness": "maybe"}}, "risk.readiness", "marginal"),
        ({"risk": {"marginal_spread_mult": 0.5}}, "risk.marginal_spread_mult", ">= 1"),
        ({"fills": {"quue": "prob"}}, "[fills] quue", "queue"),
        ({"fills": {"maker_bps": "x"}}, "[fills] maker_bps", "e.g. maker_bps = 1.5"),
        ({"estimators": {"kapa": {}}}, "[estimators.kapa]", "[estimators.kappa]"),
        ({"estimators": {"kappa": {"min_ob": 3}}}, "[estimators.kappa] min_ob", "min_bins"),
        ({"estimators": {"kappa": {"min_bins": "3"}}}, "[estimators.kappa] min_bins", "int"),
        ({"estimators": {"kelly": {"c": 0.9}}}, "[estimators.kelly]", "(0, 0.5]"),
        ({"estimators": {"kappa": {"refit_s": 0}}}, "[estimators.kappa]", "refit_s=0"),
        ({"estimators": {"kappa": {"window_s": -1.0}}}, "[estimators.kappa]", "window_s=-1.0"),
        ({"estimators": {"fill_rate": {"emit_s": 0}}}, "[estimators.fill_rate]", "emit_s=0"),
        ({"estimators": {"regime": {"bucket_s": 0}}}, "[estimators.regime]", "bucket_s=0"),
        ({"estimators": {"kappa": 3}}, "estimators.kappa", "[estimators.kappa]"),
        ({"riks": {}}, "[riks]", "[risk]"),
    ],
)
def test_bad_values_name_the_field_and_the_fix(data, field, words):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, "mm.toml")
    msg = str(err.value)
    assert msg.startswith("mm.toml: ") and field in msg and words in msg


def test_bad_toml_names_the_file_and_line(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text("[risk]\nmax_drawdown = = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml.*line 2"):
        load_config(p)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_session_config_is_frozen():
    with pytest.raises(AttributeError):
        SessionConfig().risk.max_drawdown = 0.5  # type: ignore[misc]


# -- estimator and fill-simulator tables: names, keys and types from the components ------
def test_estimator_names_are_the_sessions_and_unknown_ones_list_them():
    from framework.environments.backtest import ESTIMATOR_PATHS as used

    assert used is ESTIMATOR_PATHS  # one table: what the config checks is what runs
    with pytest.raises(ConfigError) as err:
        config_from_dict({"estimators": {"kapa": {"window_s": 600}}}, "mm.toml")
    msg = str(err.value)
    assert (
        "[estimators.kapa]: unknown estimator" in msg and "did you mean [estimators.kappa]" in msg
    )
    assert all(name in msg for name, _ in ESTIMATOR_PATHS)


@pytest.mark.parametrize("name, path", ESTIMATOR_PATHS)
def test_unknown_estimator_key_lists_the_init_parameters(name, path):
    module, _, cls = path.partition(":")
    params = list(inspect.signature(getattr(importlib.import_module(module), cls)).parameters)
    with pytest.raises(ConfigError) as err:
        config_from_dict({"estimators": {name: {"no_such_option": 1}}}, "mm.toml")
    msg = str(err.value)
    assert msg.startswith(f"mm.toml: [estimators.{name}] no_such_option: unknown key")
    assert all(p in msg for p in params) and "fix:" in msg
    assert config_from_dict({"estimators": {name: {}}}).estimators.options == {name: {}}


def _wrong_value(typ: object) -> object | None:
    """A TOML value that is not of ``typ`` (None when any value may do)."""
    return {float: "x", int: "3", bool: "yes", str: 3}.get(typ)  # type: ignore[call-overload]


def test_every_fills_key_of_a_wrong_type_is_named_with_an_example():
    # Generic over FillSimConfig's fields, so a key added there is covered too.
    fill_config = importlib.import_module("framework.fills.config").FillSimConfig
    hints = typing.get_type_hints(fill_config)
    checked = 0
    for f in attrs.fields(fill_config):
        bad = _wrong_value(hints[f.name])
        if bad is None:
            continue
        with pytest.raises(ConfigError) as err:
            config_from_dict({"fills": {f.name: bad}}, "mm.toml")
        msg = str(err.value)
        assert msg.startswith(f"mm.toml: [fills] {f.name} = {bad!r}: expected "), msg
        assert f"e.g. {f.name} = " in msg
        checked += 1
    assert checked >= 10
    with pytest.raises(ConfigError, match=r"\[fills\] place_samples_ms .*list of numbers"):
        config_from_dict({"fills": {"place_samples_ms": ["a"]}})
    ok = config_from_dict({"fills": {"maker_bps": 1, "place_samples_ms": [90, 110.5]}})
    assert ok.fills.options == {"maker_bps": 1, "place_samples_ms": [90, 110.5]}


# -- through the command line: exit code 2, the field named, no journal left behind ------
BAD_CONFIGS = {
    "estimator_name": (
        "[estimators.kapa]\nwindow_s = 600\n",
        ["[estimators.kapa]", "volatility, kappa, adverse_selection, regime, fill_rate, kelly"],
        "[estimators.kappa]\nwindow_s = 600\n",
    ),
    "estimator_key": (
        "[estimators.kappa]\nmin_ob = 3\n",
        ["[estimators.kappa] min_ob", "known keys: delta0_bps, window_s", "min_bins"],
        "[estimators.kappa]\nmin_bins = 3\n",
    ),
    "fills_type": (
        '[fills]\nmaker_bps = "x"\n',
        ["[fills] maker_bps", "expected a number (float)", "e.g. maker_bps = 1.5"],
        "[fills]\nmaker_bps = 1.0\n",
    ),
}


def _backtest(cfg: Path, out: Path):
    from cli import app

    args = ["backtest", "--recording", str(SAMPLE), "--config", str(cfg), "--out", str(out)]
    return CliRunner().invoke(app, [*args, "--quiet"])


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_cli_bad_config_exits_2_leaves_no_journal_and_the_fix_runs(case, tmp_path):
    text, words, fixed = BAD_CONFIGS[case]
    cfg, out = tmp_path / "mm.toml", tmp_path / "out"
    cfg.write_text(text)
    r = _backtest(cfg, out)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "error: " in r.output and "fix" in r.output
    assert all(w in r.output for w in words), r.output
    assert not (out / MANIFEST_NAME).exists() and not out.exists()
    cfg.write_text(fixed)
    r = _backtest(cfg, out)
    assert r.exit_code == 0, r.output
    assert JournalReader(out).manifest.closed


# -- a component that fails to build or bind leaves no half journal ----------------------
class BindFails:
    """A component whose bind raises (as one does when a component it needs is missing)."""

    name = "bind_fails"

    def bind(self, engine: object) -> None:
        raise KeyError("no component named 'market'")

    def snapshot(self) -> dict:
        return {}


def test_run_backtest_builds_components_before_the_journal(tmp_path, monkeypatch):
    import framework.environments.backtest as backtest

    real = backtest.component_list
    # A component config the session config cannot check (a keyword BindFails lacks).
    extra = {"path": f"{__name__}:BindFails", "config": {"min_ob": 3}}
    monkeypatch.setattr(backtest, "component_list", lambda cfg, **kw: [*real(cfg, **kw), extra])
    out = tmp_path / "out"
    with pytest.raises(ComponentError, match=r"BindFails.*rejects its config"):
        run_backtest(SAMPLE, out=out, progress=False)
    assert not out.exists()
    monkeypatch.undo()
    res = run_backtest(SAMPLE, out=out, progress=False)
    assert res.summary["events"] > 0 and JournalReader(out).manifest.closed


@pytest.mark.parametrize("existed", [False, True])
def test_open_session_removes_what_a_failed_bind_created(tmp_path, existed):
    out = tmp_path / "out"
    if existed:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    man = Manifest(
        mode="backtest", asset="HYPE", components=[{"path": f"{__name__}:BindFails", "config": {}}]
    )
    with pytest.raises(KeyError):
        open_session(out, man)
    assert out.exists() == existed
    if existed:
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_session_command_reports_a_component_error_without_a_traceback(capsys):
    def run(cfg, console):
        raise ComponentError("component 'x' rejects its config (bad keyword 'min_ob')")

    assert session_command(run, None, ()) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the session's engine could not be built") and "min_ob" in err


def test_run_paper_builds_components_before_the_journal(tmp_path, monkeypatch):
    import framework.environments.paper as paper

    async def resolve(base_url, asset, dex):
        return "HYPE", 2

    extra = {"path": f"{__name__}:BindFails", "config": {"min_ob": 3}}
    monkeypatch.setattr(paper, "_resolve", resolve)
    monkeypatch.setattr(paper, "component_list", lambda cfg: [extra])
    out = tmp_path / "paper"
    with pytest.raises(ComponentError, match=r"BindFails.*rejects its config"):
        asyncio.run(paper.run_paper("HYPE", out=out, progress=False))
    assert not out.exists()


class StepFails:
    """A component that raises on the first book it sees (a bug met mid-run)."""

    name = "step_fails"

    def bind(self, engine) -> None:
        from framework.events.schema import Kind

        engine.subscribe(Kind.BOOK, self.on_book)

    def on_book(self, cols, i) -> None:
        raise RuntimeError("boom on a book")

    def snapshot(self) -> dict:
        return {}


def test_a_run_that_fails_midway_leaves_a_closed_journal_saying_why(tmp_path, monkeypatch):
    import framework.environments.backtest as backtest

    real = backtest.component_list
    extra = {"path": f"{__name__}:StepFails", "config": {}}
    monkeypatch.setattr(backtest, "component_list", lambda cfg, **kw: [*real(cfg, **kw), extra])
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="boom"):
        run_backtest(SAMPLE, out=out, progress=False)
    man = JournalReader(out).manifest
    assert man.closed and "boom on a book" in man.stats["error"]
    monkeypatch.undo()
    with pytest.raises(BacktestError, match=r"failed backtest run .*boom.*delete"):
        run_backtest(SAMPLE, out=out, progress=False)
