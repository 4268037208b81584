"""Short synthetic recordings shared by the synth tests (generated once per module)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.events.schema import Kind
from framework.journal import JournalReader
from framework.synth import params_for, write_synthetic

HOURS = 0.75  # 45 minutes: seconds to generate and check
#: A seed whose 45 minutes spend over 450 s in each regime (8 segments), so every
#: per-regime statistic has data; the statistics are those of the default parameters.
SEED = 17


@pytest.fixture(scope="package")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "hype"
    write_synthetic(out, params_for("HYPE", hours=HOURS, seed=SEED))
    return out


@pytest.fixture(scope="package")
def frames(recording: Path) -> dict[str, pl.DataFrame]:
    reader = JournalReader(recording, strict=True)
    out = {k.name.lower(): pl.from_arrow(reader.table(k)) for k in (Kind.BOOK, Kind.TRADES)}
    out["bbo"] = pl.from_arrow(reader.table(Kind.BBO))
    out["asset_ctx"] = pl.from_arrow(reader.table(Kind.ASSET_CTX))
    return out


def regime_of(truth: dict, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment index, regime index) of each ns time, from the manifest's truth."""
    starts = np.array([s for s, _ in truth["regime_path"]], dtype=np.int64)
    regimes = np.array([r for _, r in truth["regime_path"]], dtype=np.int64)
    seg = np.searchsorted(starts, ts, side="right") - 1
    return seg, regimes[seg]
