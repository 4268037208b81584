"""Config precedence (flags > environment > file > defaults), MM_* variables read as their
key's type, and every problem of a config listed (not only the first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config import (
    ConfigError,
    SessionConfig,
    check_config,
    config_from_dict,
    config_problems,
    env_settings,
    parse_env_value,
    resolve_config,
)

ADDRESS = "0x" + "ab" * 20


def _file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "mm.toml"
    p.write_text(text)
    return p


# -- precedence ---------------------------------------------------------------------------
def test_each_layer_overrides_the_one_below(tmp_path):
    cfg_file = _file(
        tmp_path,
        "[risk]\nmax_drawdown = 0.04\nstale_s = 20.0\nmax_position = 50\n"
        '[live]\nnetwork = "testnet"\n',
    )
    env = {"MM_RISK_MAX_DRAWDOWN": "0.03", "MM_RISK_STALE_S": "25"}
    flags = {"risk": {"max_drawdown": 0.02, "stale_s": None}}  # None: flag not given
    cfg = resolve_config(cfg_file, flags, env)
    assert cfg.risk.max_drawdown == 0.02  # flag over environment over file
    assert cfg.risk.stale_s == 25.0  # environment over file (its flag was not given)
    assert cfg.risk.max_position == 50.0  # file over default
    assert cfg.live.network == "testnet"
    assert cfg.risk.max_daily_loss_usd == SessionConfig().risk.max_daily_loss_usd  # default
    # without the flag the environment wins, without the variable the file does
    assert resolve_config(cfg_file, None, env).risk.max_drawdown == 0.03
    assert resolve_config(cfg_file, None, {}).risk.max_drawdown == 0.04
    assert resolve_config(None, None, {}) == SessionConfig()


def test_precedence_reaches_fills_and_estimator_tables(tmp_path):
    cfg_file = _file(tmp_path, '[fills]\nqueue = "prob"\n[estimators.kappa]\nwindow_s = 600\n')
    env = {"MM_FILLS_QUEUE": "risk_averse", "MM_ESTIMATORS_KAPPA_REFIT_S": "15"}
    cfg = resolve_config(cfg_file, None, env)
    assert cfg.fills.options == {"queue": "risk_averse"}
    assert cfg.estimators.options == {"kappa": {"window_s": 600, "refit_s": 15.0}}


def test_environment_values_are_read_as_their_keys_type():
    env = {
        "MM_LIVE_ACCOUNT_ADDRESS": ADDRESS,  # hex, but a string: never a TOML integer
        "MM_LIVE_NETWORK": "testnet",
        "MM_LIVE_KEYSTORE": '"/keys/my key.json"',  # a TOML string: quotes removed
        "MM_STRATEGY_QLEARNING": "off",
        "MM_STRATEGY_REQUOTE_TICKS": "2",
        "MM_RISK_MAX_POSITION": "75",
        "MM_STRATEGY_GAMMA_PER_BPS": "",  # optional key: empty = unset
        "MM_FILLS_PLACE_SAMPLES_MS": "90,110.5",
        "MM_CALIBRATION_DOWNGRADE_NEGATIVE_EDGE": "TRUE",
    }
    cfg = resolve_config(None, None, env)
    assert cfg.live.account_address == ADDRESS and cfg.live.network == "testnet"
    assert cfg.live.keystore == "/keys/my key.json"
    assert cfg.strategy.qlearning is False and cfg.strategy.requote_ticks == 2
    assert cfg.risk.max_position == 75.0 and isinstance(cfg.risk.max_position, float)
    assert cfg.strategy.gamma_per_bps is None
    assert cfg.fills.options["place_samples_ms"] == [90, 110.5]
    assert cfg.calibration.downgrade_negative_edge is True


@pytest.mark.parametrize(
    "text, typ, expected",
    [
        ("yes", bool, True),
        ("0", bool, False),
        (" 12 ", int, 12),
        ("1e-3", float, 0.001),
        ("none", float | None, None),
        ("[1, 2]", tuple[float, ...], [1, 2]),
        ("0x" + "12" * 20, str, "0x" + "12" * 20),
    ],
)
def test_parse_env_value(text, typ, expected):
    assert parse_env_value(text, typ) == expected


@pytest.mark.parametrize(
    "text, typ, words",
    [
        ("maybe", bool, "true or false"),
        ("0x10", int, "whole number"),
        ("abc", float, "a number"),
        ("", float, "empty"),
    ],
)
def test_parse_env_value_refuses(text, typ, words):
    with pytest.raises(ValueError, match=words):
        parse_env_value(text, typ)


# -- errors name the variable or the flag ---------------------------------------------------
def test_environment_problems_name_the_variable_and_never_echo_unknown_values():
    secret = "0x" + "5e" * 32
    env = {
        "MM_RISK_MAX_DRAWDOWN": "5",
        "MM_RISK_MAX_DRAWDWN": "0.1",
        "MM_STRATEGY_QLEARNING": "maybe",
        "MM_LIVE_PRIVATE_KEY": secret,
        "MM_NOPE": "1",
        "PATH": "/bin",  # not ours
    }
    _, problems = env_settings(env)
    cfg, all_problems = check_config(None, None, env)
    assert cfg is None
    text = "\n".join(all_problems)
    assert secret not in text and secret[2:] not in text
    lines = {p.split(":")[0].split("=")[0]: p for p in all_problems}
    assert "fraction" in lines["environment variable MM_RISK_MAX_DRAWDOWN"]
    assert "did you mean MM_RISK_MAX_DRAWDOWN?" in lines["environment variable MM_RISK_MAX_DRAWDWN"]
    assert "true or false" in lines["environment variable MM_STRATEGY_QLEARNING"]
    assert "HL_PRIVATE_KEY" in lines["environment variable MM_LIVE_PRIVATE_KEY"]
    assert "names no config key" in lines["environment variable MM_NOPE"]
    assert len(all_problems) == 5 and len(problems) == 4  # the range check comes later
    with pytest.raises(ConfigError) as err:
        resolve_config(None, None, env)
    assert err.value.problems == all_problems and "4 more problems" in str(err.value)


def test_flag_problems_name_the_flag():
    flags = {"risk": {"max_daily_loss_usd": -5.0}, "live": {"network": "mainet"}}
    names = {"risk.max_daily_loss_usd": "--max-daily-loss"}
    with pytest.raises(ConfigError) as err:
        resolve_config(None, flags, {}, flag_names=names)
    first, second = err.value.problems
    assert first.startswith("--max-daily-loss -5.0: risk.max_daily_loss_usd = -5.0: must be")
    assert second.startswith("--network mainet: live.network = 'mainet': must be one of")


def test_file_problems_are_all_listed_with_the_file(tmp_path):
    cfg_file = _file(
        tmp_path,
        "[risk]\nmax_drawdown = 5\nstale_s = -1\nbogus = 1\n[strategy]\nqlearning = 'yes'\n",
    )
    cfg, problems = check_config(cfg_file, None, {"MM_ORDERS_MARK_INTERVAL_S": "0"})
    assert cfg is None
    assert [p.split(":")[1].split("=")[0].strip() for p in problems[:4]] == [
        "strategy.qlearning",
        "risk.max_drawdown",
        "risk.stale_s",
        "risk.bogus",
    ]
    assert all(p.startswith(f"{cfg_file}: ") for p in problems[:4])
    assert problems[4].startswith("environment variable MM_ORDERS_MARK_INTERVAL_S=0: ")


def test_config_from_dict_keeps_every_problem_and_reports_the_first():
    data = {"risk": {"max_drawdown": 5, "stale_s": -1}, "live": {"account_address": "0x12"}}
    assert len(config_problems(data)) == 3
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, "mm.toml")
    assert str(err.value).startswith("mm.toml: risk.max_drawdown = 5.0: must be a fraction")
    assert "(and 2 more problems" in str(err.value) and len(err.value.problems) == 3


def test_live_addresses_and_urls_are_checked():
    assert config_problems({"live": {"account_address": ADDRESS, "base_url": "http://h:1"}}) == []
    bad = config_problems({"live": {"account_address": ADDRESS[:-1], "base_url": "ws://h"}})
    assert "live.account_address" in bad[0] and "0x and 40 hex digits" in bad[0]
    assert "live.base_url" in bad[1] and "http(s) URL" in bad[1]


def test_known_flags_are_spelled_as_on_the_command_line():
    flags = {"risk": {"max_daily_loss_usd": 0.0}, "live": {"calibration_duration_s": -1.0}}
    _, problems = check_config(None, flags, {})
    assert problems[0].startswith("--max-daily-loss 0.0: risk.max_daily_loss_usd = 0.0")
    assert problems[1].startswith("--calibration-duration -1.0: live.calibration_duration_s")


def test_environment_variables_reach_a_backtest(tmp_path, monkeypatch):
    """MM_* variables set paper and backtest settings too, not only run's."""
    from tests.conftest import REPO

    monkeypatch.setenv("MM_STRATEGY_BASE_NOTIONAL_USD", "250")
    monkeypatch.setenv("MM_RISK_MAX_DRAWDOWN", "0.04")
    from framework.environments.backtest import backtest_command
    from framework.journal import JournalReader

    out = tmp_path / "bt"
    assert backtest_command(REPO / "recordings" / "sample-hype", out=out, progress=False) == 0
    cfg = JournalReader(out).manifest.config
    assert cfg["strategy"]["base_notional_usd"] == 250.0 and cfg["risk"]["max_drawdown"] == 0.04


def test_a_dead_man_switch_the_venue_would_refuse_is_a_config_error():
    """The venue refuses a scheduleCancel under 5 s ahead: 5 s exactly arrives too early
    (it armed nothing and the session quoted without it)."""
    from framework.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match=r"live\.dead_man_s = 5\.0: must be at least 6 s"):
        config_from_dict({"live": {"dead_man_s": 5.0}})
    ok = config_from_dict({"live": {"dead_man_s": 6.0, "dead_man_refresh_s": 2.0}})
    assert ok.live.dead_man_s == 6.0
    # ... and one refreshed less often than it expires cancels every order in between
    with pytest.raises(ConfigError, match=r"dead_man_refresh_s = 10 is not below"):
        config_from_dict({"live": {"dead_man_s": 6.0}})


def test_the_process_own_variables_are_not_config_keys(tmp_path):
    # MM_KERNEL=python (run the kernel's source) and MM_NO_COMPILE (build without a
    # compiler) are the README's own instructions: a command must run with them set.
    settings, problems = env_settings({"MM_KERNEL": "python", "MM_NO_COMPILE": "1"})
    assert settings == [] and problems == []
    cfg, problems = check_config(
        None, None, {"MM_KERNEL": "python", "MM_RISK_MAX_DRAWDOWN": "0.03"}
    )
    assert problems == [] and cfg is not None and cfg.risk.max_drawdown == 0.03


def test_a_backtest_runs_with_the_kernel_forced_interpreted(tmp_path):
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "MM_KERNEL": "python"}
    out = tmp_path / "bt"
    run = subprocess.run(
        [sys.executable, "cli.py", "backtest", "--recording", "recordings/sample-hype",
         "--out", str(out), "--quiet"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"kernel": "interpreted"' in (out / "session.json").read_text()
