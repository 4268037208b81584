"""Space files: checked like a config (the config's own messages and closest matches),
ranges checked for shape, grids and draws as documented; trial configs written as TOML
that ``backtest --config`` reads back."""

from __future__ import annotations

import tomllib

import pytest

from framework.config import config_from_dict, load_config
from framework.sweep.configfile import config_toml
from framework.sweep.space import Choice, Range, SpaceError, load_space, parse_space


def _space(text: str):
    return parse_space(tomllib.loads(text), "--space s.toml")


def _error(text: str) -> str:
    with pytest.raises(SpaceError) as exc:
        _space(text)
    message = str(exc.value)
    assert "\n" not in message and message.startswith("--space s.toml: ")
    return message


def test_a_space_in_config_layout_with_values_ranges_choices_and_fixed_keys():
    space = _space(
        """
        "strategy.skew_scale" = [0.2, 0.4]
        [strategy]
        gamma_per_bps = { low = 0.05, high = 1.0, log = true }
        spread_profile = ["hip3", "aggressive"]
        requote_ticks = { low = 1, high = 5, int = true, step = 2 }
        [fills]
        queue = { choices = ["conservative", "prob"] }
        [estimators.kelly]
        c = { low = 0.05, high = 0.3, step = 0.05 }
        [risk]
        max_drawdown = 0.03
        """
    )
    assert space.keys == (
        "strategy.skew_scale",
        "strategy.gamma_per_bps",
        "strategy.spread_profile",
        "strategy.requote_ticks",
        "fills.queue",
        "estimators.kelly.c",
    )
    assert space.fixed == {"risk.max_drawdown": 0.03}
    gamma = space.params[1]
    assert gamma == Range("strategy.gamma_per_bps", 0.05, 1.0, log=True)
    assert tuple(space.params[3].grid()) == (1, 3, 5)
    assert space.params[5].grid() == (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)  # no 0.15000000000000002
    assert space.params[4] == Choice("fills.queue", ("conservative", "prob"))
    cfg = space.config({"strategy.gamma_per_bps": 0.5, "estimators.kelly.c": 0.2})
    assert cfg.strategy.gamma_per_bps == 0.5 and cfg.risk.max_drawdown == 0.03
    assert cfg.estimators.options == {"kelly": {"c": 0.2}}


@pytest.mark.parametrize(
    "text, words",
    [
        ("[strategy]\ngama_per_bps = [0.1]", "strategy.gama_per_bps: unknown key; did you mean "),
        ("[strategyy]\ngamma_per_bps = [0.1]", "[strategyy]: unknown section; did you mean [strat"),
        ("[fills]\nqueu = ['prob']", "[fills] queu: unknown key; did you mean 'queue'?"),
        ("[estimators.kely]\nc = [0.1]", "[estimators.kely]: unknown estimator; did you mean [e"),
        ("[strategy]\ngamma_per_bps = { lo = 1, high = 2 }", "unknown entry 'lo'; did you mean"),
        ("[strategy]\ngamma_per_bps = { low = 1, high = 0.5 }", "is not below high = 0.5; fix:"),
        ("[strategy]\ngamma_per_bps = { low = 0, high = 1, log = true }", "log = true needs lo"),
        ("[strategy]\ngamma_per_bps = { low = 0.1, high = 1, step = 2 }", "step = 2: must be"),
        ("[strategy]\ngamma_per_bps = { high = 1 }", "a range needs low and high (missing low)"),
        ("[strategy]\ngamma_per_bps = []", "strategy.gamma_per_bps: an empty list; fix:"),
        ("[strategy]\nrequote_ticks = { low = 1, high = 4 }", "an integer setting; fix: add int"),
        ("[estimators.kelly]\nc = { low = 0.1, high = 0.9 }", "high = 0.9 is refused by the co"),
        ("[strategy]\nspread_profile = ['hip3', 'tight']", "value 'tight' is refused by the c"),
        ("[risk]\nmax_drawdown = 2.0\n[fills]\nqueue = ['prob']", "risk.max_drawdown: the fixed"),
        ("[strategy]\ncoin = ['BTC']", "strategy.coin: each recording sets it for its own coin"),
        ("[risk]\nmax_drawdown = 0.03", "no parameter to vary; fix: give a key a value list"),
        ("strategy = [1, 2]", "strategy: name a config key under it"),
    ],
)
def test_a_bad_entry_is_one_line_naming_the_key_and_the_fix(text, words):
    assert words in _error(text)


def test_a_value_the_config_refuses_carries_the_configs_own_fix():
    line = _error("[strategy]\ngamma_per_bps = { low = -1, high = 0.5 }")
    assert line.startswith("--space s.toml: strategy.gamma_per_bps: low = -1.0 is refused")
    assert "must be a finite number > 0; fix: set a positive value" in line


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(SpaceError, match="no such file"):
        load_space(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[strategy\n")
    with pytest.raises(SpaceError, match=r"bad.toml: not valid TOML \(.*line 1"):
        load_space(bad)


def test_draws_keep_six_significant_digits_inside_the_range():
    r = Range("strategy.gamma_per_bps", 0.05, 1.0, log=True)
    values = [r.draw(u / 100) for u in range(100)]
    assert min(values) == 0.05 and max(values) <= 1.0
    assert all(float(f"{v:.6g}") == v for v in values)
    assert r.draw(0.5) == pytest.approx((0.05 * 1.0) ** 0.5, rel=1e-5)  # log-uniform midpoint
    steps = Range("x.y", 1.0, 2.0, step=0.25)
    assert {steps.draw(u / 10) for u in range(10)} == {1.0, 1.25, 1.5, 1.75, 2.0}


def test_a_continuous_range_has_no_grid():
    with pytest.raises(SpaceError, match=r"add step = \.\.\. or int = true"):
        Range("strategy.gamma_per_bps", 0.05, 1.0).grid()


def test_a_trial_config_file_reads_back_as_the_trials_config(tmp_path):
    cfg = config_from_dict(
        {
            "strategy": {"spread_profile": "hip3", "gamma_per_bps": 0.3, "coin": "BTC"},
            "fills": {"queue": "prob", "place_samples_ms": [80.0, 120.5]},
            "estimators": {"kelly": {"c": 0.2}, "volatility": {}},
            "risk": {"max_drawdown": 0.0123456789012345},
        }
    )
    text = config_toml(cfg, "trial 0001\nrerun: ...")
    assert text.startswith("# trial 0001\n# rerun: ...\n")
    assert "coin" not in text and "sz_decimals" not in text  # the recording sets them
    path = tmp_path / "config.toml"
    path.write_text(text)
    back = load_config(path)
    assert back.fills == cfg.fills and back.estimators == cfg.estimators
    assert back.risk == cfg.risk and back.strategy.gamma_per_bps == 0.3
    assert back.strategy.coin == "HYPE"  # the default: every recording sets its own
