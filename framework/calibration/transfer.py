"""Prior transfer: a session's state into a prior, and a prior into a new session.

What carries over (mm_math §9 and §11: paper values may seed priors but never satisfy
live gates), per component:

=====================  ==================================================================
strategy               σ, κ and A, if their estimators had converged in the prior,
                       become the cold-start values it quotes with until this
                       session's estimators converge; the Q-table seeds only states
                       this learner never visited, with visit counts left at 0
volatility, kappa      nothing: they start empty and converge on this session's data
                       in minutes (σ's half-life is 300 s, κ's window 900 s)
regime                 the fitted HMM (K, π, A, μ, σ², labels): it filters from the first
                       bucket, and is the first refit's warm start; ``converged`` still
                       needs this session's window and stable refits
adverse_selection,     nothing: §11 says they must be re-earned on the venue that
fill_rate, kelly       pays (paper fills are optimistic, §8.3)
=====================  ==================================================================

No count from a prior ever reaches an estimator's ``n_obs``: a prior cannot make an
estimator converged by itself.

A session that starts from a prior keeps a copy of it in its journal
(``<journal>/prior.json``, its sha256 in the manifest's ``prior`` record), and the
engine applies it before the first event, so ``replay --verify`` needs nothing outside
the journal.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import attrs

from framework.calibration.prior import (
    PRIOR_NAME,
    EstimatorPrior,
    ModelPrior,
    Prior,
    PriorError,
    PriorSource,
    QTablePrior,
    file_sha256,
    load_prior,
)
from framework.calibration.readiness import Readiness

__all__ = ["adopt_prior", "apply_prior", "journal_prior", "snapshot_prior"]

ESTIMATOR_NAMES = ("volatility", "kappa", "adverse_selection", "regime", "fill_rate", "kelly")


def _component(engine: Any, name: str) -> Any:
    try:
        return engine.component(name)
    except KeyError:
        return None


def _float(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and x not in (float("inf"), float("-inf")) else None


def _values(snapshot: dict[str, Any]) -> dict[str, float | None]:
    """The plain numbers of an estimator's snapshot (what a reader of the prior sees)."""
    out: dict[str, float | None] = {}
    for k, v in snapshot.items():
        if isinstance(v, bool) or k in ("n_obs", "min_obs", "converged"):
            continue
        if isinstance(v, int | float):
            out[k] = _float(v)
    return out


def snapshot_prior(
    engine: Any,
    manifest: Any,
    journal: Path | str,
    stamp: Readiness | None,
    *,
    written_ns: int | None = None,
) -> Prior:
    """The prior of a running or finished session, stamped with ``stamp`` (which the
    caller computed for ``journal`` up to ``engine.seq``; None: the caller stamps it
    later, ``attrs.evolve(prior, stamp=...)``)."""
    strategy = _component(engine, "strategy")
    learner = getattr(strategy, "learner", None)
    qtable = QTablePrior(**learner.to_dict()) if learner is not None else None
    vol, kappa = _component(engine, "volatility"), _component(engine, "kappa")
    model = ModelPrior(
        sigma_bps=_float(getattr(vol, "sigma_bps", None)),
        sigma_rel_se=_float(getattr(vol, "rel_se", None)),
        sigma_converged=bool(getattr(vol, "converged", False)),
        k_per_bps=_float(getattr(kappa, "k_per_bps", None)),
        A_per_s=_float(getattr(kappa, "A_per_s", None)),
        k_se=_float(getattr(kappa, "k_se", None)),
        kappa_converged=bool(getattr(kappa, "converged", False)),
    )
    estimators: dict[str, EstimatorPrior] = {}
    for name in ESTIMATOR_NAMES:
        est = _component(engine, name)
        if est is None:
            continue
        state_fn = getattr(est, "prior_state", None)
        estimators[name] = EstimatorPrior(
            n_obs=int(est.n_obs),
            converged=bool(est.converged),
            values=_values(est.snapshot()),
            state=state_fn() if state_fn is not None else {},
        )
    return Prior(
        coin=manifest.coin,
        asset=manifest.asset,
        dex=manifest.dex,
        created_ns=int(engine.now),
        written_ns=time.time_ns() if written_ns is None else written_ns,
        stamp=stamp,
        model=model,
        qtable=qtable,
        estimators=estimators,
        source=PriorSource(
            journal=str(Path(journal).resolve()),
            session_id=getattr(manifest, "session_id", "") or "",
            mode=manifest.mode,
            code_version=manifest.code_version,
        ),
    )


def apply_prior(engine: Any, prior: Prior) -> dict[str, Any]:
    """Warm-start ``engine``'s components from ``prior`` (before its first event).

    Returns what each component took (for the console and the manifest).
    """
    if engine.events:
        raise PriorError("a prior must be applied before the engine's first event")
    applied: dict[str, Any] = {}
    strategy = _component(engine, "strategy")
    if strategy is not None and hasattr(strategy, "warm_start"):
        applied["strategy"] = strategy.warm_start(prior)
    regime = _component(engine, "regime")
    state = prior.estimators.get("regime")
    if regime is not None and state is not None and state.state:
        warm = getattr(regime, "warm_start", None)
        if warm is not None:
            applied["regime"] = warm(state.state)
    return applied


def adopt_prior(source: Path | str, journal: Path | str) -> tuple[Prior, dict[str, Any]]:
    """Load the prior at ``source``, copy it into ``journal`` and return it with the
    manifest record ``{"file", "sha256", "from", "coin", "created_ns", "verdict"}``."""
    prior = load_prior(source)
    src = Path(source)
    src = src / PRIOR_NAME if src.is_dir() else src
    dst = Path(journal) / PRIOR_NAME
    shutil.copyfile(src, dst)
    record = {
        "file": PRIOR_NAME,
        "sha256": file_sha256(dst),
        "from": str(src.resolve()),
        "coin": prior.coin,
        "created_ns": prior.created_ns,
        "verdict": prior.stamp.verdict,
    }
    return prior, record


def journal_prior(journal: Path | str, record: dict[str, Any] | None) -> Prior | None:
    """The prior a journal's session started from, checked against its hash; None when
    it started cold.

    Raises
    ------
    PriorError
        The copy is missing or its hash is not the manifest's.
    """
    if not record:
        return None
    path = Path(journal) / record.get("file", PRIOR_NAME)
    if not path.is_file():
        raise PriorError(
            f"{path}: the session started from a prior but its copy is missing; the "
            "journal cannot be replayed without it"
        )
    digest = file_sha256(path)
    if digest != record.get("sha256"):
        raise PriorError(
            f"{path}: sha256 {digest[:12]}... is not the manifest's "
            f"{str(record.get('sha256'))[:12]}...: the copy was changed after the session"
        )
    return load_prior(path)


def model_summary(prior: Prior) -> dict[str, Any]:
    """A short description for console lines."""
    return {"verdict": prior.stamp.verdict, **attrs.asdict(prior.model)}
