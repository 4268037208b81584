"""``generate-config`` writes every option at its default; ``validate-config`` lists every
problem of a config (file, MM_* variables, keystore path) one line each, exit 1, else 0."""

from __future__ import annotations

import inspect
import re
import tomllib
import typing

import attrs
import pytest
from typer.testing import CliRunner

from cli import app
from framework import config as C
from framework.configfile import generate_config, numpydoc_params, source_comments
from framework.fills.config import FillSimConfig

OPTION = re.compile(r"(?m)^#([A-Za-z_]\w*) = ")


@pytest.fixture(autouse=True)
def _no_mm_environment(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("MM_"):
            monkeypatch.delenv(name)


def _run(args, input=None, env=None):
    return CliRunner().invoke(app, args, input=input, env=env)


def _options(text: str) -> dict[str, set[str]]:
    """``{table: {keys}}`` of the option lines (``#key = ...`` and ``# key: unset ...``)."""
    out: dict[str, set[str]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            table = line[1:-1]
            out[table] = set()
        elif (m := OPTION.match(line)) or (m := re.match(r"^# (\w+): unset by default$", line)):
            out[table].add(m.group(1))
    return out


def test_generate_config_pipes_into_validate_config():
    gen = _run(["generate-config"])
    assert gen.exit_code == 0
    res = _run(["validate-config", "-"], input=gen.stdout)
    assert res.exit_code == 0, res.output
    assert res.stdout == "<stdin>: valid\n"


def test_generated_config_lists_every_option_of_every_section():
    options = _options(generate_config())
    for name, cls in C._SECTIONS.items():
        if cls in (C.FillsConfig, C.EstimatorsConfig):
            continue
        assert options[name] == {f.name for f in attrs.fields(cls)}, name
    assert options["fills"] == {f.name for f in attrs.fields(FillSimConfig)}
    for name, path in C.ESTIMATOR_PATHS:
        cls = C._estimator_class(path)
        assert options[f"estimators.{name}"] == set(C.estimator_params(cls)), name


def test_every_option_uncommented_is_valid_and_is_the_default():
    text = generate_config()
    assert tomllib.loads(text) == {  # as generated: empty tables, nothing set
        **{n: {} for n in C._SECTIONS if n != "estimators"},
        "estimators": {n: {} for n, _ in C.ESTIMATOR_PATHS},
    }
    data = tomllib.loads(OPTION.sub(lambda m: f"{m.group(1)} = ", text))
    cfg = C.config_from_dict(data, "uncommented")
    for name in C._SECTIONS:
        if name not in ("fills", "estimators"):
            assert getattr(cfg, name) == getattr(C.SessionConfig(), name), name
    assert FillSimConfig(**cfg.fills.options) == FillSimConfig()
    for name, path in C.ESTIMATOR_PATHS:
        params = C.estimator_params(C._estimator_class(path))
        for key, value in cfg.estimators.options[name].items():
            default = params[key].default
            assert value == (list(default) if isinstance(default, tuple) else default)


def test_comments_come_from_the_source_and_the_docstrings():
    comments = source_comments(C.LiveConfig)
    assert comments["dead_man_s"] == [
        "the venue's dead-man switch: orders are scheduled to cancel this far ahead"
    ]
    text = generate_config()
    assert "#dead_man_s = 30.0" in text
    assert "the venue's dead-man switch: orders are scheduled" in text
    assert '# a quoted string (str); one of "mainnet", "testnet"\n#network = "mainnet"' in text
    docs = numpydoc_params(FillSimConfig.__doc__)
    assert docs["maker_bps"] == docs["taker_bps"] == "Fees in bps of notional (negative = rebate)."
    assert "# Fees in bps of notional (negative = rebate).\n# a number (float)\n#maker_bps" in text
    # an estimator's parameters, with their types from the signature
    hints = C.estimator_hints(C._estimator_class(dict(C.ESTIMATOR_PATHS)["kappa"]))
    assert hints["min_bins"] is int
    assert "#min_bins = 3" in text and "no key" not in text
    assert "HL_PRIVATE_KEY" in text.split("[strategy]")[0]  # where the key comes from


def test_docstring_parser_handles_groups_and_sections():
    def f():
        """Summary.

        Parameters
        ----------
        a, b : float
            Shared
            description.
        c : int

        Returns
        -------
        x : int
            Not a parameter.
        """

    assert numpydoc_params(inspect.getdoc(f)) == {
        "a": "Shared description.",
        "b": "Shared description.",
        "c": "",
    }
    assert numpydoc_params(None) == {} and numpydoc_params("no sections") == {}


# -- validate-config on broken configs ----------------------------------------------------
BROKEN = {
    "value out of range and unknown key, both listed": (
        "[risk]\nmax_drawdown = 5\nmax_drawdwn = 0.1\n",
        [
            "{f}: risk.max_drawdown = 5.0: must be a fraction in (0, 1), e.g. 0.05 for 5 %; "
            "fix: set it between 0 and 1 (default 0.05)",
            "{f}: risk.max_drawdwn: unknown key; did you mean 'max_drawdown'?",
        ],
    ),
    "wrong types in three sections": (
        '[strategy]\nqlearning = "yes"\n[fills]\nmaker_bps = "x"\n'
        '[estimators.kappa]\nmin_bins = "3"\n',
        [
            "{f}: strategy.qlearning = 'yes': expected true or false (bool), got str; fix: "
            "write it as true or false (bool), e.g. qlearning = true",
            "{f}: [fills] maker_bps = 'x': expected a number (float), got str; fix: write it "
            "as a number (float), e.g. maker_bps = 1.5",
            "{f}: [estimators.kappa] min_bins = '3': expected a whole number (int), got str; "
            "fix: write it as a whole number (int), e.g. min_bins = 3",
        ],
    ),
    "unknown section and estimator": (
        "[riks]\n[estimators.kapa]\n",
        [
            "{f}: [riks]: unknown section; did you mean [risk]?",
            "{f}: [estimators.kapa]: unknown estimator; did you mean [estimators.kappa]? valid "
            "names: volatility, kappa, adverse_selection, regime, fill_rate, kelly; fix: rename "
            "the table to one of them",
        ],
    ),
    "live section": (
        '[live]\nnetwork = "main"\naccount_address = "0x12"\nkeystore = "no/such/key.json"\n',
        [
            "{f}: live.network = 'main': must be one of 'mainnet', 'testnet'; fix: pick one of "
            "them",
            "{f}: live.account_address = '0x12': must be an address (0x and 40 hex digits); "
            'fix: write it like account_address = "0xabababababababababababababababababababab"'
            ', or "" for the default',
            "{f}: live.keystore = 'no/such/key.json': no such file (relative paths are from "
            'the working directory); fix: the path of an encrypted JSON keystore file, or "" '
            "to read the key from HL_PRIVATE_KEY",
        ],
    ),
    "rules between keys, one line each": (
        "[strategy]\nmin_notional_usd = 5000\nmax_order_notional_usd = 100\n"
        "[risk]\nleverage = 5\nmax_leverage = 2\n"
        "[live]\ndead_man_s = 10\ndead_man_refresh_s = 60\n"
        "[calibration]\nmarginal_min_converged = 9\n",
        [
            "{f}: strategy.min_notional_usd = 5000 is above strategy.max_order_notional_usd = "
            "100: every order would go out at 5000 USD; fix: lower min_notional_usd or raise "
            "max_order_notional_usd",
            "{f}: risk.leverage = 5 is above risk.max_leverage = 2 (the asset's maximum on the "
            "venue); fix: lower leverage or set max_leverage to the venue's value",
            "{f}: calibration.marginal_min_converged = 9 is more than the 5 estimators the "
            "verdict counts: no session could be Marginal; fix: set 0..5",
            "{f}: live.dead_man_refresh_s = 60 is not below live.dead_man_s = 10: the venue "
            "would cancel every order before the next refresh; fix: refresh at most every "
            "3.33 s (a third of dead_man_s)",
        ],
    ),
    "leverage is a whole number, every [fills] problem listed": (
        '[risk]\nleverage = 2.5\n[fills]\nqueue = "magic"\nplace_ms = -1\nmaker_bps = "x"\n',
        [
            "{f}: risk.leverage = 2.5: must be a whole number >= 1 (the venue sets integer "
            "leverage: 1, 2, 3 ...); fix: set a whole number of at least 1 (default 3.0)",
            "{f}: [fills] maker_bps = 'x': expected a number (float), got str; fix: write it "
            "as a number (float), e.g. maker_bps = 1.5",
            "{f}: [fills]: queue='magic': unknown queue model; use 'conservative', "
            "'risk_averse' or 'prob'; fix that key in [fills]",
            "{f}: [fills]: place_ms=-1: a latency must be a finite number of ms in 0..86400000; "
            "fix that key in [fills]",
        ],
    ),
    "a [fills] key that needs another is fine beside it": (
        '[fills]\nlatency = "empirical"\nplace_samples_ms = [80.0, 120.0]\nqueue = "magic"\n',
        [
            "{f}: [fills]: queue='magic': unknown queue model; use 'conservative', "
            "'risk_averse' or 'prob'; fix that key in [fills]",
        ],
    ),
    "not TOML": (
        "[risk\nmax_drawdown = 0.1\n",
        [
            "{f}: not valid TOML (Expected ']' at the end of a table declaration (at line 1, "
            "column 6)); fix the syntax there"
        ],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_validate_config_lists_every_problem(case, tmp_path, monkeypatch):
    text, expected = BROKEN[case]
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mm.toml"
    path.write_text(text)
    res = _run(["validate-config", str(path)])
    assert res.exit_code == 1, res.output
    assert res.stdout.splitlines() == [e.format(f=path) for e in expected]
    n = len(expected)
    assert res.stderr == f"{path}: {n} problem{'s' if n > 1 else ''}\n"
    # the same from stdin, named <stdin>
    res = _run(["validate-config", "-"], input=text)
    assert res.exit_code == 1
    assert res.stdout.splitlines() == [e.format(f="<stdin>") for e in expected]


def test_validate_config_checks_the_environment_and_the_keystore(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "key.json").write_text("{}")
    path = tmp_path / "mm.toml"
    path.write_text('[live]\nkeystore = "key.json"\n')
    assert _run(["validate-config", str(path)]).exit_code == 0
    env = {"MM_RISK_MAX_DRAWDOWN": "0.5", "MM_RISK_LEVERAGE": "high", "MM_LIVE_KEYSTORE": "gone"}
    res = _run(["validate-config", str(path)], env=env)
    assert res.exit_code == 1
    assert res.stdout.splitlines() == [
        "environment variable MM_RISK_LEVERAGE='high': expected a number, e.g. 0.05",
        "environment variable MM_LIVE_KEYSTORE=gone: live.keystore = 'gone': no such file "
        "(relative paths are from the working directory); fix: the path of an encrypted JSON "
        'keystore file, or "" to read the key from HL_PRIVATE_KEY',
    ]
    # without a file: the defaults with the environment
    res = _run(["validate-config"], env={"MM_RISK_MAX_DRAWDOWN": "0.5"})
    assert res.exit_code == 0 and res.stdout == "the defaults and environment: valid\n"


def test_validate_config_of_a_missing_file_is_a_usage_error(tmp_path):
    res = _run(["validate-config", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2
    assert "no such file" in res.stderr and "generate-config" in res.stderr


def test_problem_count_type_hint_is_generic_over_sections():
    # each section's fields have a type generate-config can describe
    for cls in C._SECTIONS.values():
        if cls in (C.FillsConfig, C.EstimatorsConfig):
            continue
        for name, typ in typing.get_type_hints(cls).items():
            if name != "SECTION":
                assert C.type_description(typ) != "a value", (cls, name)
