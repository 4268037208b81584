"""Bad generator inputs give errors that name the input and the fix; the CLI reports them."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from cli import app
from framework.synth import DEFAULT_START_NS, SynthParamError, params_for, parse_start


@pytest.mark.parametrize("hours", [0, -1, math.nan, math.inf])
def test_non_positive_or_non_finite_hours_is_an_error(hours):
    with pytest.raises(SynthParamError, match="--hours "):
        params_for("HYPE", hours=hours, seed=1)


def test_unknown_asset_names_the_known_ones():
    with pytest.raises(SynthParamError, match=r"DOGE.*HYPE, BTC, ETH, SOL.*--price"):
        params_for("DOGE", hours=1, seed=1)


def test_unknown_asset_with_explicit_price_and_decimals_is_accepted():
    p = params_for("DOGE", hours=1, seed=1, start_px=0.3, sz_decimals=0)
    assert (p.asset, p.sz_decimals, p.start_px, p.tick) == ("DOGE", 0, 0.3, 1e-05)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"start_px": -5.0}, "--price "), ({"sz_decimals": 9}, "--sz-decimals "), ({}, "--seed ")],
)
def test_out_of_range_inputs_name_the_flag(kwargs, field):
    seed = -1 if field == "--seed " else 1
    with pytest.raises(SynthParamError, match=field):
        params_for("HYPE", hours=1, seed=seed, **kwargs)


def test_start_parses_iso_times_as_utc():
    assert parse_start("2026-01-01T00:00:00Z") == DEFAULT_START_NS
    assert parse_start("2026-01-01T00:00:00") == DEFAULT_START_NS
    assert parse_start("2026-01-01T01:00:00+01:00") == DEFAULT_START_NS
    with pytest.raises(SynthParamError, match="--start"):
        parse_start("yesterday")


def test_params_are_recorded_in_full():
    d = params_for("HYPE", hours=1, seed=3).to_dict()
    assert d["coin"] == "HYPE" and d["seed"] == 3 and len(d["regimes"]) == 3
    assert {"kappa_per_bps", "delta0_bps", "book_cadence_s", "funding_rate"} <= d.keys()
    shocks = {
        "jump_rate_per_h",
        "jump_min_bps",
        "jump_max_bps",
        "jump_tail_alpha",
        "jump_sweeps_max",
        "jump_sweep_span_ms",
        "deep_sweep_rate_per_h",
        "deep_sweep_min_bps",
        "deep_sweep_max_bps",
        "deep_sweep_tail_alpha",
    }
    assert shocks <= d.keys()


def test_cli_writes_a_journal_and_refuses_to_overwrite_it(tmp_path):
    runner = CliRunner()
    out = tmp_path / "j"
    args = ["synth", "--asset", "HYPE", "--hours", "0.02", "--seed", "3", "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (out / "session.json").exists() and "rows/s" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already holds a journal" in again.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hours", "0"], "--hours 0.0: must be a number > 0"),
        (["--asset", "DOGE"], "not a known asset"),
        (["--start", "noon"], "--start"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_clear_message(tmp_path, extra, message):
    args = ["synth", "--out", str(tmp_path / "j"), "--hours", "0.02", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "j" / "session.json").exists()


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"book_levels": 25}, "book_levels="),
        ({"kappa_per_bps": 0.0}, "kappa_per_bps="),
        ({"jump_rate_per_h": -1.0}, "jump_rate_per_h="),
        ({"jump_min_bps": 0.0}, "jump_min_bps="),
        ({"jump_max_bps": 10.0}, "jump_max_bps=10.0: must be in jump_min_bps..1000"),
        ({"jump_max_bps": 5000.0}, "jump_max_bps="),
        ({"jump_tail_alpha": 0.0}, "jump_tail_alpha="),
        ({"jump_sweeps_max": 0}, "jump_sweeps_max="),
        ({"jump_sweep_span_ms": -1}, "jump_sweep_span_ms="),
        ({"deep_sweep_rate_per_h": -0.5}, "deep_sweep_rate_per_h="),
        ({"deep_sweep_min_bps": -1.0}, "deep_sweep_min_bps="),
        ({"deep_sweep_max_bps": 39.0}, "deep_sweep_max_bps="),
        ({"deep_sweep_tail_alpha": -1.0}, "deep_sweep_tail_alpha="),
    ],
)
def test_overrides_are_range_checked(override, field):
    with pytest.raises(SynthParamError, match=field):
        params_for("HYPE", hours=1, seed=1, **override)
