"""Backtest: recorded market data through the paper engine, as fast as one core goes.

The engine is built from a component list recorded in the output journal's manifest
(``components=[{"path": "module:Class", "config": {...}}]``), so ``replay --verify``
rebuilds exactly the same engine.  The output journal holds the recording's inputs
too, so it alone replays:

* a recording whose inputs are strided (manifest ``seq_stride``: every input seq a
  multiple of it, see :data:`framework.events.schema.SEQ_STRIDE`) has its input
  parts hard-linked into the output journal as they are, and the engine steps them
  under their own seqs; its outputs take the seqs between inputs;
* an older recording (inputs numbered 1, 2, 3, ...) is re-sequenced: each input
  takes ``engine.seq + 1`` when stepped and is written again under that seq.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import attrs

from framework.config import ESTIMATOR_PATHS, SessionConfig, config_from_dict, unstructure
from framework.engine.core import Engine, EngineError
from framework.engine.drive import build_components, feed, inputs_for, relax_gc, resequence
from framework.events.schema import INPUT_KINDS, Kind
from framework.journal import JournalReader, JournalWriter, Manifest, check_completeness
from framework.journal.manifest import MANIFEST_NAME, read_manifest
from framework.journal.outdir import occupied

__all__ = [
    "ESTIMATOR_PATHS",
    "BacktestError",
    "BacktestResult",
    "apply_overrides",
    "component_list",
    "default_out",
    "open_session",
    "run_backtest",
    "strided_parts",
]

# ESTIMATOR_PATHS (the estimators a session runs, in binding order) lives in
# framework.config, which checks [estimators.<name>] against it; an estimator whose
# module is not importable (not built yet) is left out, and the manifest records what ran.


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


def open_session(
    out: Path, manifest: Manifest, *, prior: Path | str | None = None, **writer_options: Any
) -> tuple[JournalWriter, Engine]:
    """The journal writer and engine of a session, without a half journal on failure.

    The components are built (and the prior, if any, loaded and checked) before
    ``out`` is touched, so a component that rejects its config
    (:class:`framework.engine.drive.ComponentError`) or a bad prior
    (:class:`framework.calibration.prior.PriorError`) leaves nothing behind; when
    binding them fails, what the writer created is removed again.  Either way a rerun
    into ``out`` is not refused as "already holds a journal".  A session that starts
    from ``prior`` keeps a copy of it in ``out`` (the manifest's ``prior`` record says
    which, with its hash) and its components are warm-started from it before the
    first event.
    """
    from framework.calibration.prior import (
        PriorError,
        coin_key,
        file_sha256,
        load_prior,
        resolve_prior,
    )
    from framework.calibration.transfer import apply_prior

    components = build_components(manifest)
    relax_gc()
    loaded = None
    if prior is not None:
        src = resolve_prior(prior)
        loaded = load_prior(src)
        if manifest.coin and loaded.coin != manifest.coin:
            # Another market's sigma, kappa, Q-table and regimes: they do not transfer.
            raise PriorError(
                f"--paper-checkpoint {src}: a prior of {loaded.coin}, and this session "
                f"trades {manifest.coin}; pass a prior of {manifest.coin} "
                f"(checkpoints/paper/{coin_key(manifest.coin)}/prior.json) or none"
            )
        manifest.prior = {
            "file": "prior.json",
            "sha256": file_sha256(src),
            "from": str(src.resolve()),
            "coin": loaded.coin,
            "created_ns": loaded.created_ns,
            "verdict": loaded.stamp.verdict,
        }
    existed = out.exists()
    writer = JournalWriter(out, manifest, **writer_options)
    try:
        if loaded is not None:
            shutil.copyfile(resolve_prior(prior), out / "prior.json")
        engine = Engine(components, seed=manifest.seed, sink=writer)
        if loaded is not None:
            manifest.prior["applied"] = apply_prior(engine, loaded)
    except BaseException:
        discard_journal(out, existed)
        raise
    return writer, engine


def discard_journal(out: Path, existed: bool) -> None:
    """Remove a journal a failed start created: the directory when it was new, else only
    the manifest and the (still empty) table directories inside it."""
    if not existed:
        shutil.rmtree(out, ignore_errors=True)
        return
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    (out / "prior.json").unlink(missing_ok=True)
    for table in out.iterdir():
        if table.is_dir() and not any(table.iterdir()):
            table.rmdir()


def _existing(out: Path) -> str:
    """What an output directory already holds, for the refusal to overwrite it."""
    try:
        man = read_manifest(out)
    except Exception:  # unreadable: still a journal's manifest name, still not ours to replace
        return f"a {MANIFEST_NAME} (unreadable); choose a new directory or delete {out}"
    error = (man.stats or {}).get("error")
    if error or not man.closed:
        why = f"stopped by {error}" if error else "never closed"
        return (
            f"the journal of a failed {man.mode} run ({why}); delete {out} to rerun into "
            "it, or choose a new directory"
        )
    return "a journal; choose a new directory"


def _sz_decimals(manifest: Manifest) -> int | None:
    """The recording's szDecimals: the manifest field (record, import), else where older
    and synthetic journals keep it; None when the recording does not say."""
    if manifest.sz_decimals is not None:
        return manifest.sz_decimals
    gen = manifest.generator or {}
    for place in (gen, gen.get("params") or {}, gen.get("truth") or {}, manifest.config or {}):
        if isinstance(place, dict) and isinstance(place.get("sz_decimals"), int):
            return place["sz_decimals"]
    return None


def default_out(recording: Path, seed: int, root: Path | str = "out") -> Path:
    """A fresh ``out/backtest-<recording name>-<seed>[-<n>]``: the first of those names
    that does not exist yet (``-2``, ``-3``, ...), so a rerun never overwrites a journal
    and never writes into ``recordings/``; ``out/`` is git-ignored."""
    from framework.flags import fresh_out

    return fresh_out(Path(root) / f"backtest-{Path(recording).resolve().name}-{seed}")


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
    link_inputs: bool = True,
    allow_incomplete: bool = False,
    paper_checkpoint: Path | str | None = None,
    save_prior: Path | str | None = None,
) -> BacktestResult:
    """Run the paper engine over a recording and journal everything to ``out``.

    ``estimators=False`` leaves the estimators out (the strategy then runs on its
    cold-start parameters): for benchmarks of the rest of the engine.
    ``link_inputs=False`` re-sequences the inputs even of a strided recording (no
    limit on the outputs one input may cause).
    ``allow_incomplete=True`` runs over a recording that is not whole (a part or table
    gone or unreadable, never closed) with a warning on stderr; the output manifest's
    ``source["incomplete"]`` then lists what was missing.
    ``paper_checkpoint`` warm-starts the session from a prior (file or directory;
    :mod:`framework.calibration.transfer`); ``save_prior`` writes this session's prior
    there at the end (calibrating offline from a recording), stamped with the verdict
    ``market-maker readiness`` computes for the output journal.

    Raises
    ------
    BacktestError
        The recording is not a journal or is incomplete (without
        ``allow_incomplete``), ``out`` already holds one, or one input caused more
        outputs than the recording's seq stride leaves room for.
    """
    from framework.environments.summary import SessionProgress, summarize

    recording = Path(recording)
    if not (recording / MANIFEST_NAME).exists():
        raise BacktestError(
            f"--recording {recording}: not a journal (no {MANIFEST_NAME}); record one with "
            "`market-maker record` or generate one with `market-maker synth`"
        )
    out = Path(out) if out is not None else default_out(recording, seed)
    if (out / MANIFEST_NAME).exists():
        raise BacktestError(f"--out {out}: already holds {_existing(out)}")
    why = occupied(out)
    if why is not None:
        raise BacktestError(f"--out {out}: {why}")
    reader = JournalReader(recording, warn=False)
    missing = _check_recording(reader, recording, allow_incomplete)
    src = reader.manifest
    linked = strided_parts(reader) if link_inputs else None
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
        source={"recording": str(recording), **({"incomplete": missing} if missing else {})},
        seq_stride=src.seq_stride if linked is not None else 0,
        sz_decimals=cfg.strategy.sz_decimals,
    )
    writer, engine = open_session(
        out, manifest, prior=paper_checkpoint, flush_rows=1 << 15, flush_interval_s=3600.0
    )
    total = sum(reader.count(k) for k in INPUT_KINDS)
    t0 = time.perf_counter()
    try:
        if linked is not None:
            for kind, paths in linked.items():
                writer.adopt_parts(kind, paths)
        with SessionProgress(engine, total, console=console, enabled=progress) as bar:
            if linked is None:
                resequence(engine, reader.merged(), writer, on_chunk=bar.update)
            else:
                feed(engine, inputs_for(engine, reader), on_chunk=bar.update)
            if engine.events:
                checkpoint_input(engine, writer)
    except BaseException as exc:
        # A failed run still leaves a closed journal: what ran, and why it stopped.
        writer.close(compact=False, stats={"error": repr(exc)})
        if isinstance(exc, EngineError) and linked is not None:
            raise BacktestError(_overflow_message(recording, engine, src.seq_stride, exc)) from exc
        raise
    wall = time.perf_counter() - t0
    summary = summarize(engine, wall)
    inputs = (
        {"resequenced": True}
        if linked is None
        else {"linked_parts": writer.parts_linked, "copied_parts": writer.parts_copied}
    )
    writer.close(stats={"summary": summary, "inputs": inputs})
    if save_prior is not None:
        summary["prior"] = write_prior(engine, manifest, out, save_prior, cfg.calibration)
    return BacktestResult(out=out, summary=summary)


def checkpoint_input(engine: Engine, writer: JournalWriter) -> None:
    """Journal and step a ``clock`` input with source ``checkpoint`` at the engine's time:
    every estimator journals its current rows (see
    :data:`framework.estimators.base.CHECKPOINT`), so readiness over the journal sees the
    state the session ended (or stamps a prior) with.  A replay steps it too."""
    from framework.estimators.base import CHECKPOINT
    from framework.events.columns import Columns

    t = engine.now
    seq = engine.next_input_seq()
    row = (seq, t, t, CHECKPOINT)
    writer.append(Kind.CLOCK, row)
    engine.step(Kind.CLOCK, seq, t, Columns.from_rows(Kind.CLOCK, [row]), 0)


def write_prior(
    engine: Engine, manifest: Manifest, journal: Path, path: Path | str, calibration: Any
) -> dict[str, Any]:
    """Stamp the journal's readiness up to ``engine.seq`` and save the session's prior
    to ``path``; returns ``{"path", "verdict"}`` for the summary.  The journal must
    hold every row up to ``engine.seq`` (flushed or closed)."""
    from framework.calibration.checkpoints import found_prior, place_prior
    from framework.calibration.prior import save_prior
    from framework.calibration.readiness import assess
    from framework.calibration.transfer import snapshot_prior
    from framework.exits import warn

    stamp = assess(journal, calibration, up_to_seq=engine.seq)
    prior = snapshot_prior(engine, manifest, journal, stamp)
    target = Path(path)
    found = found_prior(target)
    if found is not None:  # another session's prior is there: keep it, or a copy
        target, note = place_prior(
            target, found, stamp.verdict, prior.created_ns, calibration.stale_after_s
        )
        if note is not None:
            warn(note)
    saved = save_prior(prior, target)
    return {"path": str(saved), "verdict": stamp.verdict}


def _check_recording(reader: JournalReader, recording: Path, allow: bool) -> list[str]:
    """What the recording's input tables lack (one line each); refused unless ``allow``."""
    problems = list(check_completeness(reader, INPUT_KINDS).problems)
    if problems and not allow:
        raise BacktestError(
            f"--recording {recording} is incomplete: {'; '.join(problems)}; pass "
            "--allow-incomplete to backtest what is there"
        )
    if problems:
        print(
            f"warning: --recording {recording} is incomplete: {'; '.join(problems)}; "
            "backtesting what is there (--allow-incomplete)",
            file=sys.stderr,
        )
    return problems


def strided_parts(reader: JournalReader) -> dict[Kind, list[Path]] | None:
    """The input parts a backtest can link as they are, or None to re-sequence.

    They can when the manifest gives a ``seq_stride`` and every input part's first
    and last seq (its name) are multiples of it.  Seqs inside a part are not read:
    an input that breaks the stride is caught by the engine when it is stepped.
    """
    stride = reader.manifest.seq_stride
    if stride <= 0:
        return None
    parts: dict[Kind, list[Path]] = {}
    for kind in INPUT_KINDS:
        found = reader.parts(kind)
        if any(p.first % stride or p.last % stride for p in found):
            return None
        if found:
            parts[kind] = [p.path for p in found]
    return parts


def _overflow_message(recording: Path, engine: Any, stride: int, exc: EngineError) -> str:
    """Why a linked backtest stopped: the input at ``engine.input_seq`` caused outputs
    up to the next input's seq, or the recording breaks its own stride."""
    cause = engine.input_seq
    if engine.seq < (cause // stride + 1) * stride:
        return (
            f"--recording {recording}: an input seq is not a multiple of the recording's "
            f"seq_stride {stride} although its manifest says so ({exc}); re-sequence the "
            "inputs instead (--resequence; run_backtest(..., link_inputs=False)) or "
            "re-import the recording"
        )
    return (
        f"--recording {recording}: the input at seq {cause} caused {engine.seq - cause:,} "
        f"outputs (up to seq {engine.seq}), reaching the next input's seq: the "
        f"recording's inputs are seq_stride {stride:,} apart, so one input may cause at "
        f"most {stride - 1:,} outputs.  So many outputs from one input is almost surely a "
        "component emitting in a loop: fix that component, or re-sequence the inputs "
        "(--resequence; run_backtest(..., link_inputs=False)), which gives every input "
        "unlimited room"
    )


def backtest_command(
    recording: Path,
    *,
    config: Path | None = None,
    spread_profile: str | None = None,
    queue_model: str | None = None,
    out: Path | None = None,
    seed: int = 0,
    progress: bool = True,
    resequence: bool = False,
    allow_incomplete: bool = False,
    paper_checkpoint: Path | None = None,
    save_prior: bool = False,
    checkpoint_dir: Path = Path("checkpoints"),
) -> int:
    """``market-maker backtest``: run, print the summary; returns the exit code."""
    from framework.calibration.prior import PriorError, prior_path
    from framework.environments.summary import session_command
    from framework.journal.manifest import read_manifest

    def prior_out() -> Path | None:
        if not save_prior:
            return None
        try:
            man = read_manifest(recording)
        except Exception:  # the backtest itself reports an unreadable recording
            return None
        return prior_path(checkpoint_dir, man.coin or man.asset)

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
            link_inputs=not resequence,
            allow_incomplete=allow_incomplete,
            paper_checkpoint=paper_checkpoint,
            save_prior=prior_out(),
        ),
        config,
        (BacktestError, PriorError),
    )
