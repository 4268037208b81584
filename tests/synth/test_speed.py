"""Generation speed: a day of HYPE well under a minute."""

from __future__ import annotations

import time

import pytest

from framework.synth import generate, params_for


def _rows_per_s(hours: float) -> tuple[float, float]:
    t0 = time.perf_counter()
    result = generate(params_for("HYPE", hours=hours, seed=1))
    elapsed = time.perf_counter() - t0
    return sum(t.num_rows for t in result.tables.values()) / elapsed, elapsed


def test_one_hour_generates_quickly():
    _, elapsed = _rows_per_s(1.0)
    assert elapsed < 5.0


@pytest.mark.slow
def test_a_day_generates_in_well_under_a_minute():
    rate, elapsed = _rows_per_s(24.0)
    assert elapsed < 30.0, f"24 h took {elapsed:.1f} s ({rate:,.0f} rows/s)"
