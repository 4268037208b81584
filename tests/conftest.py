"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BTC_CAPTURE = REPO / "tests" / "data" / "btcusd_20250126.gz"


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "journal"


@pytest.fixture(autouse=True, scope="session")
def _no_writes_into_the_checkout():
    """No test may leave sessions or priors in the checkout (they belong in tmp dirs)."""
    watched = [REPO / "checkpoints" / "paper", REPO / "out"]
    before = {p: set(p.rglob("*")) if p.exists() else set() for p in watched}
    yield
    for p in watched:
        new = (set(p.rglob("*")) if p.exists() else set()) - before[p]
        assert not new, f"tests wrote into the checkout: {sorted(map(str, new))[:5]}"
