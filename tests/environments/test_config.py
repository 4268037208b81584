"""Config: defaults, TOML loading, and errors that name the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config import ConfigError, SessionConfig, config_from_dict, load_config, unstructure


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
        ({"fills": {"quue": "prob"}}, "fills.quue", "queue"),
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
