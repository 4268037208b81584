"""Sessions collect the young generation less often, and never lower a higher threshold."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from framework.engine.drive import GC_GEN0_THRESHOLD, relax_gc
from framework.environments.backtest import run_backtest

SAMPLE = Path(__file__).resolve().parents[2] / "recordings" / "sample-hype"


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_relax_gc_raises_only_the_young_generation(restore_gc):
    gc.set_threshold(700, 10, 10)
    relax_gc()
    assert gc.get_threshold() == (GC_GEN0_THRESHOLD, 10, 10)
    gc.set_threshold(GC_GEN0_THRESHOLD * 4, 3, 4)
    relax_gc()
    assert gc.get_threshold() == (GC_GEN0_THRESHOLD * 4, 3, 4)
    gc.set_threshold(0)  # collection switched off by the user: left off
    relax_gc()
    assert gc.get_threshold()[0] == 0


def test_a_backtest_runs_with_the_relaxed_threshold(restore_gc, tmp_path):
    gc.set_threshold(700, 10, 10)
    run_backtest(SAMPLE, out=tmp_path / "bt", progress=False)
    assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
