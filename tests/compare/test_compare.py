"""``market-maker compare``: two backtests of the bundled sample that differ only in the
queue model, and every number the comparison reports recomputed here from the Parquet
files with plain Python (no DuckDB, no framework SQL)."""

from __future__ import annotations

import bisect
import functools
import json
import math
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app
from framework.compare import MatchRule, compare_sessions, greedy_pairs
from framework.environments.backtest import run_backtest
from framework.journal.manifest import read_manifest
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"
#: Orders of 500 USD (the default is 100): big enough that the queue ahead of us
#: decides how much a trade at our price fills, so the two queue models differ.
CONFIG = "[strategy]\nbase_notional_usd = 500\n"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> tuple[Path, Path]:
    from framework.config import load_config

    root = tmp_path_factory.mktemp("compare")
    (root / "mm.toml").write_text(CONFIG)
    cfg = load_config(root / "mm.toml")
    out = []
    for queue in ("conservative", "prob"):
        res = run_backtest(
            SAMPLE,
            config=cfg,
            out=root / queue,
            spread_profile="aggressive",
            queue_model=queue,
            progress=False,
        )
        out.append(res.out)
    return out[0], out[1]


@pytest.fixture(scope="module")
def result(sessions):
    return compare_sessions(*sessions)


# -- independent recomputation ------------------------------------------------------------
@functools.cache
def _table(root: Path, name: str) -> list[dict]:
    files = sorted((root / name).glob("part-*.parquet"))
    rows: list[dict] = []
    for f in files:
        rows.extend(pq.read_table(f).to_pylist())
    return sorted(rows, key=lambda r: r["seq"])


def _mids(root: Path) -> tuple[list[int], list[float]]:
    """Valid mids by recv_ts (the last by seq at each recv_ts)."""
    last: dict[int, tuple[int, float]] = {}
    for r in _table(root, "book"):
        if r["bid_px"] and r["ask_px"] and r["bid_px"][0] < r["ask_px"][0]:
            mid = (r["bid_px"][0] + r["ask_px"][0]) / 2
            if r["recv_ts"] not in last or last[r["recv_ts"]][0] < r["seq"]:
                last[r["recv_ts"]] = (r["seq"], mid)
    for r in _table(root, "bbo"):
        if r["bid_px"] is not None and r["ask_px"] is not None and r["bid_px"] < r["ask_px"]:
            mid = (r["bid_px"] + r["ask_px"]) / 2
            if r["recv_ts"] not in last or last[r["recv_ts"]][0] < r["seq"]:
                last[r["recv_ts"]] = (r["seq"], mid)
    ts = sorted(last)
    return ts, [last[t][1] for t in ts]


def _before(ts: list[int], mids: list[float], t: int) -> float:
    i = bisect.bisect_left(ts, t)  # mids strictly before t
    return mids[i - 1]


def _fills(root: Path) -> list[dict]:
    """One fill per (cloid, recv_ts): summed size and fee, size-weighted price."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in _table(root, "sim_fills"):
        groups[(r["recv_ts"], r["cloid"], r["side"])].append(r)
    out = []
    for (t, cloid, side), rows in groups.items():
        sz = sum(r["sz"] for r in rows)
        out.append(
            {
                "seq": min(r["seq"] for r in rows),
                "t": t,
                "cloid": cloid,
                "side": side,
                "sz": sz,
                "px": sum(r["px"] * r["sz"] for r in rows) / sz,
                "fee": sum(r["fee"] for r in rows),
            }
        )
    return sorted(out, key=lambda f: (f["t"], f["seq"]))


def _last_input_ts(root: Path) -> int:
    names = ("book", "trades", "bbo", "asset_ctx", "clock")
    return max(r["recv_ts"] for n in names for r in _table(root, n))


@functools.cache
def _expected(root: Path) -> dict:
    ts, mids = _mids(root)
    end = mids[-1]
    last = _last_input_ts(root)
    fills = _fills(root)
    sc = as5 = inv = 0.0
    markouts: dict[str, list[float]] = {"1s": [], "5s": [], "30s": []}
    for f in fills:
        m = _before(ts, mids, f["t"])
        m5 = _before(ts, mids, f["t"] + 5 * 10**9)
        sc += f["side"] * f["sz"] * (m - f["px"])
        as5 += f["side"] * f["sz"] * (m - m5)
        inv += f["side"] * f["sz"] * (end - m5)
        for h, s in (("1s", 1), ("5s", 5), ("30s", 30)):
            if f["t"] + s * 10**9 <= last:
                mh = _before(ts, mids, f["t"] + s * 10**9)
                markouts[h].append(f["side"] * (mh - f["px"]) / f["px"] * 1e4)
    fees = sum(f["fee"] for f in fills)
    funding = sum(r["payment"] for r in _table(root, "sim_funding"))
    commands = _table(root, "order_commands")
    return {
        "fills": fills,
        "spread_capture": sc,
        "adverse_selection": as5,
        "inventory": inv,
        "fees": fees,
        "funding": funding,
        "net": sc - as5 + inv - fees - funding,
        "markout": {h: sum(v) / len(v) for h, v in markouts.items()},
        "quotes": _table(root, "quotes"),
        "orders": sum(1 for c in commands if c["action"] in ("place", "modify")),
    }


def test_the_pnl_decomposition_and_markouts_match_a_plain_python_recomputation(sessions, result):
    for key, root in zip(("a", "b"), sessions, strict=True):
        want = _expected(root)
        got = result[key]
        assert got["fills"] == len(want["fills"])
        for term in ("spread_capture", "adverse_selection", "inventory", "fees", "funding"):
            assert got["pnl"][term] == pytest.approx(want[term], abs=1e-9), term
        for h in ("1s", "5s", "30s"):
            assert got["markout_bps"][h] == pytest.approx(want["markout"][h], abs=1e-9)
        assert got["quotes"] == len(want["quotes"]) and got["orders"] == want["orders"]
        # the decomposition adds up to the session's own net PnL (the order tracker's)
        summary = read_manifest(root).stats["summary"]
        assert got["pnl"]["net"] == pytest.approx(want["net"], abs=1e-9)
        assert got["pnl"]["net"] == pytest.approx(summary["net_pnl_usd"], abs=1e-9)


def test_the_queue_models_differ_in_size_price_and_pnl_not_in_which_fills(sessions, result):
    a, b = (_expected(r) for r in sessions)
    # the same 19 fills (one per order and time) in both ...
    assert result["a"]["fills"] == result["b"]["fills"] == len(a["fills"]) == 19
    m = result["matching"]
    assert (m["matched"], m["unmatched_a"], m["unmatched_b"]) == (19, 0, 0)
    # ... but prob fills more of them: sizes, volume and PnL differ
    size_a = sum(f["sz"] for f in a["fills"])
    size_b = sum(f["sz"] for f in b["fills"])
    assert result["diff"]["size"] == pytest.approx(size_b - size_a) == pytest.approx(5.5)
    assert m["matched_size_diff"] == pytest.approx(5.5)
    assert result["diff"]["pnl"]["net"] == pytest.approx(b["net"] - a["net"], abs=1e-9)
    assert result["diff"]["pnl"]["net"] < -0.5  # prob's extra fills lost money here
    assert result["diff"]["quotes"] == len(b["quotes"]) - len(a["quotes"]) == -14
    assert result["diff"]["orders"] == b["orders"] - a["orders"] == -28
    # fill rows by rule: prob turns three trade-through fills into queue (trade_at) fills
    assert result["a"]["fill_rows_by_rule"] == {"trade_at": 5, "trade_through": 16}
    assert result["b"]["fill_rows_by_rule"] == {"trade_at": 8, "trade_through": 13}


def test_where_they_diverge_first(sessions, result):
    a, b = (_expected(r) for r in sessions)
    # the first quote that differs, found by walking both quote lists together
    n = next(
        i
        for i, (x, y) in enumerate(zip(a["quotes"], b["quotes"], strict=False))
        if (x["recv_ts"], x["bid_px"], x["bid_sz"], x["ask_px"], x["ask_sz"])
        != (y["recv_ts"], y["bid_px"], y["bid_sz"], y["ask_px"], y["ask_sz"])
    )
    q = result["divergence"]["first_quote_difference"]
    assert q["n"] == n + 1 == 363
    assert (q["a_seq"], q["b_seq"]) == (a["quotes"][n]["seq"], b["quotes"][n]["seq"])
    # the first matched fill that differs: the first whose rule or size differs
    first = next(
        (x, y)
        for x, y in zip(
            _table(sessions[0], "sim_fills"), _table(sessions[1], "sim_fills"), strict=False
        )
        if (x["rule"], x["sz"]) != (y["rule"], y["sz"])
    )
    d = result["divergence"]["first_matched_fill_difference"]
    assert d["a_seq"] == first[0]["seq"] and d["a_how"] == first[0]["rule"]
    assert "trade_at" in d["b_how"]
    assert result["divergence"]["first_unmatched_fill"] is None


def test_exact_matching_leaves_the_fills_whose_price_moved_a_tick_unmatched(sessions):
    res = compare_sessions(*sessions, MatchRule(time_tolerance_s=0, price_tolerance_bps=0))
    a, b = (_expected(r)["fills"] for r in sessions)
    exact = {(f["t"], f["side"], f["px"]) for f in a} & {(f["t"], f["side"], f["px"]) for f in b}
    m = res["matching"]
    assert m["matched"] == len(exact) < 19
    assert m["unmatched_a"] == m["unmatched_b"] == 19 - len(exact)
    first = min((f for f in a if (f["t"], f["side"], f["px"]) not in exact),
                key=lambda f: f["t"])  # fmt: skip
    u = res["divergence"]["first_unmatched_fill"]
    assert u["session"] == "a" and u["seq"] == first["seq"] and u["px"] == first["px"]


def test_a_session_against_itself_has_no_difference(sessions):
    res = compare_sessions(sessions[0], sessions[0])
    assert res["matching"]["unmatched_a"] == res["matching"]["unmatched_b"] == 0
    assert res["divergence"]["first_quote_difference"] is None
    assert res["divergence"]["first_matched_fill_difference"] is None
    assert all(v == 0 for v in res["diff"]["pnl"].values())


def test_greedy_matching_takes_the_closest_pair_first_and_is_one_to_one():
    # candidates sorted closest first: (a1, b2) beats (a2, b2); a2 then takes b3
    assert greedy_pairs([(1, 2), (2, 2), (1, 3), (2, 3)]) == [(1, 2), (2, 3)]
    assert greedy_pairs([]) == []
    with pytest.raises(ValueError, match="time_tolerance_s"):
        MatchRule(time_tolerance_s=-1)


def test_cli_prints_the_tables_and_json(sessions):
    a, b = map(str, sessions)
    r = CliRunner().invoke(app, ["compare", a, b])
    assert r.exit_code == 0, r.output
    for words in ("Differences (B - A)", "spread capture", "adverse selection (5 s)",
                  "first quote that differs (quote #363)", "queue model prob"):  # fmt: skip
        assert words in r.stdout, words
    r = CliRunner().invoke(app, ["compare", a, b, "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["matching"]["matched"] == 19 and data["b"]["queue_model"] == "prob"
    assert math.isclose(data["diff"]["size"], 5.5, abs_tol=1e-9)


def test_cli_refuses_what_is_not_a_journal(tmp_path, sessions):
    r = CliRunner().invoke(app, ["compare", str(tmp_path / "nope"), str(sessions[0])])
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: A {tmp_path / 'nope'}: no such directory")
    r = CliRunner().invoke(
        app, ["compare", str(sessions[0]), str(sessions[1]), "--time-tolerance", "-1"]
    )
    assert r.exit_code == 2 and "--time-tolerance -1" in r.stderr


def test_no_matched_pair_is_not_called_identical(result):
    import copy

    from rich.console import Console

    from framework.compare.compare import render

    none = copy.deepcopy(result)
    none["matching"]["matched"] = 0
    none["divergence"]["first_matched_fill_difference"] = None
    console = Console(record=True, width=200)
    render(none, console)
    text = console.export_text()
    assert "matched fills: none to compare" in text and "identical in time" not in text
