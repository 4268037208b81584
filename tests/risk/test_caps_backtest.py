"""The position caps hold over a whole session, not only in the rule's unit tests.

A backtest of a synthetic HYPE market, quoting the aggressive profile so its quotes are
filled often, with caps a couple of orders deep: the position after every fill stays
within the contracts cap, and its notional within the USD cap (measured at the fill
price; the cap is applied at the fair price the quote was sized at, so the price's move
between quote and fill is the only slack).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from framework.config import config_from_dict
from framework.environments.backtest import run_backtest
from framework.synth import params_for, write_synthetic


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("caps") / "synth"
    write_synthetic(root, params_for("HYPE", hours=3.0, seed=7))
    return root


def _fills(market: Path, out: Path, risk: dict) -> tuple[int, float, float, float]:
    cfg = config_from_dict(
        {"strategy": {"base_notional_usd": 200.0, "spread_profile": "aggressive"}, "risk": risk}
    )
    run_backtest(market, config=cfg, out=out, progress=False)
    return (
        duckdb.connect()
        .execute(
            f"select count(*), min(position), max(position), max(abs(position) * px) "
            f"from read_parquet('{out}/sim_fills/*.parquet')"
        )
        .fetchone()
    )


def test_the_contracts_cap_holds_all_session(market: Path, tmp_path: Path) -> None:
    n, lo, hi, _ = _fills(market, tmp_path / "bt", {"max_position": 9.0})
    assert n >= 10  # filled often enough to reach the cap on both sides
    assert lo <= -5.0 and hi >= 5.0
    assert lo >= -9.0 and hi <= 9.0


def test_the_usd_cap_holds_all_session(market: Path, tmp_path: Path) -> None:
    n, _, _, usd = _fills(
        market, tmp_path / "bt", {"max_position": 1000.0, "max_position_usd": 300.0}
    )
    assert n >= 10
    assert usd >= 200.0  # the cap was reached
    assert usd <= 300.0 * 1.01
