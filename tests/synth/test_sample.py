"""The bundled sample recording (read-only): what `synth --hours 2 --seed 7` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config import PROFILES
from framework.events.schema import Kind
from framework.journal import JournalReader
from framework.synth import generate, params_for

SAMPLE = Path(__file__).resolve().parents[2] / "recordings" / "sample-hype"
MAX_BYTES = 15 * 2**20


@pytest.fixture(scope="module")
def reader() -> JournalReader:
    assert (SAMPLE / "session.json").exists(), (
        f"{SAMPLE} is missing; regenerate it with: market-maker synth --asset HYPE "
        "--hours 2 --seed 7 --out recordings/sample-hype"
    )
    return JournalReader(SAMPLE, strict=True)


def test_sample_is_labelled_and_small(reader):
    m = reader.manifest
    assert (m.mode, m.synthetic, m.seed, m.asset) == ("synthetic", True, 7, "HYPE")
    assert m.config == {"asset": "HYPE", "dex": "", "hours": 2.0}
    assert m.closed
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size <= MAX_BYTES


def test_sample_is_compacted_to_one_part_per_table(reader):
    for kind in (Kind.BOOK, Kind.TRADES, Kind.BBO, Kind.ASSET_CTX):
        assert len(reader.parts(kind)) == 1


def test_sample_regimes_switch_several_times(reader):
    path = reader.manifest.generator["truth"]["regime_path"]
    assert len(path) >= 5
    assert {r for _, r in path} == {0, 1, 2}


def test_sample_equals_what_the_generator_writes_today(reader):
    fresh = generate(params_for("HYPE", hours=2, seed=7))
    assert reader.manifest.generator == fresh.generator
    for kind, table in fresh.tables.items():
        assert reader.table(kind).equals(table), f"{kind.name}: regenerate the sample"


def test_sample_has_shocks_that_reach_default_profile_quotes(reader):
    """The quick start backtests the default profile (quotes 20-25 bps from the mid):
    the sample must hold takers that reach that far (jumps and deep sweeps)."""
    truth = reader.manifest.generator["truth"]
    kinds = {s["kind"] for s in truth["shocks"]}
    assert kinds == {"jump", "deep"}
    half_spread_max = PROFILES["default"].band_bps[1] / 2
    deep = [w for w in truth["shock_sweeps"] if w["worst_bps"] > half_spread_max]
    assert {w["side"] for w in deep} == {-1, 1}  # both sides of the book
