"""Backtest: recorded market data through the paper engine, as fast as one core goes.

The engine is built from a component list recorded in the output journal's manifest
(``components=[{"path": "module:Class", "config": {...}}]``), so ``replay --verify``
rebuilds exactly the same engine.  The recording's inputs are re-sequenced into the
output journal (each input takes ``engine.seq + 1`` when stepped, its outputs the seqs
after it), so the output journal alone replays.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import attrs

from framework.config import SessionConfig, config_from_dict, unstructure
from framework.engine.drive import build_engine, resequence
from framework.events.schema import INPUT_KINDS
from framework.journal import JournalReader, JournalWriter, Manifest
from framework.journal.manifest import MANIFEST_NAME

__all__ = [
    "ESTIMATOR_PATHS",
    "BacktestError",
    "BacktestResult",
    "apply_overrides",
    "component_list",
    "default_out",
    "run_backtest",
]

#: The estimator components a trading session runs, in binding order.  A module that
#: is not importable (not built yet) is left out, and the manifest records what ran.
ESTIMATOR_PATHS: tuple[tuple[str, str], ...] = (
    ("volatility", "framework.estimators.volatility:VolatilityEstimator"),
    ("kappa", "framework.estimators.kappa:KappaEstimator"),
    ("adverse_selection", "framework.estimators.adverse_selection:AdverseSelectionEstimator"),
    ("regime", "framework.estimators.regime:RegimeEstimator"),
    ("fill_rate", "framework.estimators.fill_rate:FillRateEstimator"),
    ("kelly", "framework.estimators.kelly:KellyEstimator"),
)


class BacktestError(ValueError):
    """A backtest cannot start: bad recording, existing output, bad option."""


@attrs.define
class BacktestResult:
    out: Path
    summary: dict[str, Any]


def _importable(path: str) -> bool:
    module, _, cls = path.partition(":")
    try:
        return hasattr(importlib.import_module(module), cls)
    except ImportError:
        return False


def apply_overrides(
    cfg: SessionConfig,
    *,
    coin: str | None = None,
    sz_decimals: int | None = None,
    spread_profile: str | None = None,
    queue_model: str | None = None,
) -> SessionConfig:
    """The config with the command line's and the recording's values applied."""
    data = unstructure(cfg)
    if queue_model:
        data["fills"]["queue"] = queue_model
    strategy = data["strategy"]
    if coin:
        strategy["coin"] = coin
        data["orders"]["coin"] = coin
    if sz_decimals is not None:
        strategy["sz_decimals"] = int(sz_decimals)
    if spread_profile:
        strategy["spread_profile"] = spread_profile
    return config_from_dict(data, "command line")


def component_list(
    cfg: SessionConfig, *, paper_fills: bool = True, estimators: bool = True
) -> list[dict[str, Any]]:
    """The engine's components as manifest entries: market, fills, estimators, orders,
    risk, strategy (that order: each sees the state the previous ones updated)."""
    comps: list[dict[str, Any]] = [{"path": "framework.book:MarketState", "config": {}}]
    if paper_fills:
        comps.append(
            {"path": "framework.fills.simulator:FillSimulator", "config": dict(cfg.fills.options)}
        )
    for name, path in ESTIMATOR_PATHS if estimators else ():
        if _importable(path):
            comps.append({"path": path, "config": dict(cfg.estimators.options.get(name, {}))})
    data = unstructure(cfg)
    comps += [
        {"path": "framework.orders:OrderTracker", "config": data["orders"]},
        {"path": "framework.risk:RiskManager", "config": data["risk"]},
        {"path": "strategies.market_maker:MarketMaker", "config": data["strategy"]},
    ]
    return comps


def _sz_decimals(manifest: Manifest) -> int | None:
    gen = manifest.generator or {}
    for place in (gen, gen.get("params") or {}, gen.get("truth") or {}, manifest.config or {}):
        if isinstance(place, dict) and isinstance(place.get("sz_decimals"), int):
            return place["sz_decimals"]
    return None


def default_out(recording: Path, seed: int) -> Path:
    """``recordings/backtest-<recording name>-<seed>``."""
    return Path("recordings") / f"backtest-{Path(recording).resolve().name}-{seed}"


def run_backtest(
    recording: Path | str,
    *,
    config: SessionConfig | None = None,
    out: Path | str | None = None,
    seed: int = 0,
    spread_profile: str | None = None,
    queue_model: str | None = None,
    progress: bool = True,
    console: Any = None,
    estimators: bool = True,
) -> BacktestResult:
    """Run the paper engine over a recording and journal everything to ``out``.

    ``estimators=False`` leaves the estimators out (the strategy then runs on its
    cold-start parameters): for benchmarks of the rest of the engine.

    Raises
    ------
    BacktestError
        The recording is not a journal, or ``out`` already holds one.
    """
    from framework.environments.summary import CountingSink, SessionProgress, summarize

    recording = Path(recording)
    if not (recording / MANIFEST_NAME).exists():
        raise BacktestError(
            f"--recording {recording}: not a journal (no {MANIFEST_NAME}); record one with "
            "`market-maker record` or generate one with `market-maker synth`"
        )
    out = Path(out) if out is not None else default_out(recording, seed)
    if (out / MANIFEST_NAME).exists():
        raise BacktestError(f"--out {out}: already holds a journal; choose a new directory")
    reader = JournalReader(recording)
    src = reader.manifest
    cfg = apply_overrides(
        config or SessionConfig(),
        coin=src.coin or src.asset,
        sz_decimals=_sz_decimals(src),
        spread_profile=spread_profile,
        queue_model=queue_model,
    )
    manifest = Manifest(
        mode="backtest",
        asset=src.asset,
        dex=src.dex,
        coin=src.coin,
        seed=seed,
        synthetic=src.synthetic,
        config=unstructure(cfg),
        components=component_list(cfg, estimators=estimators),
        source={"recording": str(recording)},
    )
    writer = JournalWriter(out, manifest, flush_rows=1 << 15, flush_interval_s=3600.0)
    sink = CountingSink(writer)
    engine = build_engine(manifest, sink)
    total = sum(reader.count(k) for k in INPUT_KINDS)
    first = _peek_start(reader)
    t0 = time.perf_counter()
    with SessionProgress(engine, total, console=console, enabled=progress) as bar:
        resequence(engine, reader.merged(), writer, on_chunk=bar.update)
    wall = time.perf_counter() - t0
    summary = summarize(engine, sink.counts, wall, first)
    writer.close(stats={"summary": summary})
    return BacktestResult(out=out, summary=summary)


def _peek_start(reader: JournalReader) -> int:
    """The recv_ts of the recording's first input (for the session's duration)."""
    best = 0
    for kind in INPUT_KINDS:
        for batch in reader.iter_batches(kind, batch_rows=1):
            t = int(batch.column(2)[0].as_py())
            best = t if not best else min(best, t)
            break
    return best


def backtest_command(
    recording: Path,
    *,
    config: Path | None = None,
    spread_profile: str | None = None,
    queue_model: str | None = None,
    out: Path | None = None,
    seed: int = 0,
    progress: bool = True,
) -> int:
    """``market-maker backtest``: run, print the summary; returns the exit code."""
    from framework.environments.summary import session_command

    return session_command(
        lambda cfg, console: run_backtest(
            recording,
            config=cfg,
            out=out,
            seed=seed,
            spread_profile=spread_profile,
            queue_model=queue_model,
            progress=progress,
            console=console,
        ),
        config,
        (BacktestError,),
    )
