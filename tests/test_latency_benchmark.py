"""``python -m benchmarks.latency`` runs: the signers agree byte for byte, and the
tick-to-order pipeline against the simulator measures every stage (a short run)."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks import latency


def test_sign_benchmark_signers_agree_and_report():
    lines = latency.bench_sign(n=30)  # asserts the four signers produce the same frame
    names = [ln["name"] for ln in lines]
    assert names == [
        "sign_order_coincurve",
        "sign_order_eth_account_coincurve",
        "sign_order_eth_account_native",
        "sign_order_sdk_typed_data_native",
    ]
    assert all(ln["n"] > 0 and ln["p50_us"] > 0 and ln["cpu"]["p99_us"] > 0 for ln in lines)


@pytest.mark.simulator
def test_tick_to_order_measures_each_stage():
    res = asyncio.run(latency._tick_to_order(2.0, 20.0, "loop", journal=True, mode="wal"))
    assert res["events"] > 0 and res["commands"] > 0
    n = res["total"]["n"]
    assert n > 0
    for stage in ("engine", "wakeup", "build_sign", "write", "sign_and_write_cpu"):
        assert res[stage]["n"] == n and res[stage]["p50_us"] > 0, stage
    # the stages add up to the total (each sample: frame -> ... -> written)
    parts = sum(res[s]["mean_us"] for s in ("engine", "wakeup", "build_sign", "write"))
    assert parts == pytest.approx(res["total"]["mean_us"], rel=0.01, abs=1.0)
