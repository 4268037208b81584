"""Backtest fidelity figures: inventory control, cap trips, PnL, fills per profile.

Run from the repository root::

    .venv/bin/python -m benchmarks.fidelity            # the 16 h seed-7 day and the sample
    .venv/bin/python -m benchmarks.fidelity day16 sample

``day16`` backtests a 16 h synthetic HYPE day (seed 7; generated once into
``benchmarks/.cache/``) with the aggressive profile, as the fidelity review did, and
prints max |inventory| (coins and USD), position-cap trips, rate-limit state changes,
net PnL, max drawdown and fills.  ``sample`` backtests the bundled sample under each
spread profile and prints fills, volume and net PnL per profile.  One JSON line each.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks.run import CACHE, SAMPLE, ensure_synth

DAY16 = CACHE / "synth-hype-16h-seed7"


def _figures(journal: Path, summary: dict) -> dict:
    from framework.journal.duck import connect

    con = connect(journal)
    inv, usd = con.execute(
        "SELECT coalesce(max(abs(position)), 0), coalesce(max(abs(position) * px), 0) "
        "FROM sim_fills"
    ).fetchone()
    trips = con.execute(
        "SELECT count(*) FROM risk WHERE rule = 'position' AND state = 'tripped'"
    ).fetchone()[0]
    rate = con.execute("SELECT count(*) FROM risk WHERE rule = 'rate_limit'").fetchone()[0]
    return {
        "fills": summary["fills"],
        "volume_usd": round(summary["volume_usd"], 2),
        "net_pnl_usd": round(summary["net_pnl_usd"], 2),
        "max_drawdown": round(summary["max_drawdown"], 5),
        "max_abs_inventory": inv,
        "max_abs_inventory_usd": round(usd, 2),
        "position_cap_trips": trips,
        "rate_limit_changes": rate,
    }


def day16() -> dict:
    from framework.environments.backtest import run_backtest

    rec = ensure_synth(DAY16, 16.0, 7)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bt"
        res = run_backtest(rec, out=out, progress=False, spread_profile="aggressive")
        return {"bench": "day16_aggressive", **_figures(out, res.summary)}


def sample() -> list[dict]:
    from framework.config import PROFILES
    from framework.environments.backtest import run_backtest

    rows = []
    for profile in PROFILES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bt"
            res = run_backtest(SAMPLE, out=out, progress=False, spread_profile=profile)
            rows.append({"bench": f"sample_{profile}", **_figures(out, res.summary)})
    return rows


def main(argv: list[str]) -> None:
    which = argv or ["day16", "sample"]
    for name in which:
        result = {"day16": day16, "sample": sample}[name]()
        for row in result if isinstance(result, list) else [result]:
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
