"""The request-budget path end to end: the paper venue's budget drives risk's headroom."""

from __future__ import annotations

from pathlib import Path

from framework.config import SessionConfig, config_from_dict, unstructure
from framework.environments.backtest import run_backtest
from framework.environments.replay import replay
from framework.journal import JournalReader

SAMPLE = Path(__file__).resolve().parents[2] / "recordings" / "sample-hype"


def test_a_spent_budget_widens_then_forces_and_is_journaled(tmp_path):
    data = unstructure(SessionConfig())
    data["fills"]["budget_used"] = 9_300  # 7 % of the 10 000 base left: HIP-3-like
    cfg = config_from_dict(data, "test")
    res = run_backtest(
        SAMPLE, config=cfg, out=tmp_path / "bt", progress=False, spread_profile="aggressive"
    )
    reader = JournalReader(res.out)
    risk = reader.table("risk").to_pylist()
    states = [(r["rule"], r["state"]) for r in risk if r["rule"] == "rate_limit"]
    assert states and states[0] == ("rate_limit", "forcing")  # 0.07 < 10 %: forcing at once
    quotes = reader.table("quotes").to_pylist()
    # forcing: with inventory only the reducing side; flat both sides at the minimum size
    for q in quotes:
        inv = q["inventory"]
        if inv > 0:
            assert q["bid_px"] is None
        elif inv < 0:
            assert q["ask_px"] is None
        else:
            for px, sz in ((q["bid_px"], q["bid_sz"]), (q["ask_px"], q["ask_sz"])):
                assert px is None or 10.0 <= px * sz < 10.0 + px * 0.01 + 1e-9
    assert any(q["inventory"] == 0 and q["bid_px"] and q["ask_px"] for q in quotes)
    assert reader.table("sim_fills").num_rows > 0  # quoting flat earned fills (and budget)
    assert replay(res.out, verify=True).ok


def test_a_lower_budget_widens_spreads_by_sqrt_threshold_over_h(tmp_path):
    def run(used: int, name: str):
        data = unstructure(SessionConfig())
        data["fills"]["budget_used"] = used
        data["strategy"]["qlearning"] = False  # the same multipliers in both runs
        out = tmp_path / name
        run_backtest(
            SAMPLE,
            config=config_from_dict(data, "test"),
            out=out,
            progress=False,
            spread_profile="hip3",
        )
        return JournalReader(out)

    healthy, low = run(0, "healthy"), run(7_500, "low")  # headroom 1.0 vs 0.25
    widened = [r for r in low.table("risk").to_pylist() if r["rule"] == "rate_limit"]
    assert widened[0]["state"] == "widened" and abs(widened[0]["value"] - 0.25) < 0.01
    assert not [r for r in healthy.table("risk").to_pylist() if r["rule"] == "rate_limit"]
    hs_h = [q["half_spread_bps"] for q in healthy.table("quotes").to_pylist()]
    # until the budget runs down to forcing (if it does), spreads are widened by w
    end = next((r["seq"] for r in widened if r["state"] == "forcing"), 2**62)
    hs_l = [q["half_spread_bps"] for q in low.table("quotes").to_pylist() if q["seq"] < end]
    lo, hi = 7.5, 12.5  # the hip3 profile's half-spread band (15-25 bps)
    assert hs_h and all(lo - 1e-9 <= x <= hi + 1e-9 for x in hs_h)
    # sqrt(widen_headroom / h) for h from 0.25 (start) down to 0.1 (forcing)
    w_lo, w_hi = (0.5 / 0.25) ** 0.5, (0.5 / 0.1) ** 0.5
    assert hs_l and all(w_lo * lo - 1e-9 <= x <= w_hi * hi + 1e-9 for x in hs_l)
    assert hs_l[0] <= w_lo * hi + 1e-9  # at the start h = 0.25 exactly
