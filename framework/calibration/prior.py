"""Prior checkpoints: what a paper session learned, stamped with its readiness verdict.

``checkpoints/paper/{KEY}/prior.json`` (``KEY`` is the coin in a file-safe form:
``HYPE``, ``hyena-HYPE`` for the HIP-3 coin ``hyena:HYPE``) holds, in a versioned
schema (:data:`PRIOR_VERSION`, structured and checked by cattrs):

* the readiness stamp: what :func:`framework.calibration.readiness.assess` computes for
  the source journal up to ``stamp.up_to_seq`` (verdict, per-estimator counts, session
  duration, kelly fills, edge, thresholds);
* the model the strategy quoted with: σ, κ and A with their standard errors and
  whether their estimators had converged;
* the Q-table with its visit counts, bucket edges and actions;
* per estimator, its count, flag, values and whatever warm-starts it
  (:mod:`framework.calibration.transfer` says what carries over);
* where it came from: the source journal, its session id and mode, the code version,
  ``created_ns`` (event time of the stamp: staleness is measured from it, at load,
  by the environment) and ``written_ns`` (wall clock, informative only).

Files are written atomically (temp file, fsync, rename), so a session killed while
writing leaves the previous prior whole.  A file that is not JSON, is cut short, lacks
or mistypes a field, or has a schema version this code does not read gives a
:class:`PriorError` naming the file and the problem; there is no silent default.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import attrs
import cattrs

from framework.calibration.readiness import Readiness
from framework.journal.durable import commit, temp_path

__all__ = [
    "PRIOR_NAME",
    "PRIOR_SCHEMA",
    "PRIOR_VERSION",
    "EstimatorPrior",
    "ModelPrior",
    "Prior",
    "PriorError",
    "PriorSource",
    "QTablePrior",
    "coin_key",
    "file_sha256",
    "load_prior",
    "prior_path",
    "resolve_prior",
    "save_prior",
]

PRIOR_NAME = "prior.json"
PRIOR_SCHEMA = "hl-market-maker/prior"
#: The schema version this code writes.  Older versions are read through
#: :data:`_MIGRATIONS` (none yet: version 1 is the first); newer ones are refused.
PRIOR_VERSION = 1


class PriorError(ValueError):
    """A prior checkpoint cannot be used; the message names the file and the problem."""


@attrs.frozen
class QTablePrior:
    """The Q-learner's table (:meth:`strategies.qlearning.QLearner.to_dict`)."""

    q: list[list[float]]
    n: list[list[int]]
    inventory_edges: list[float]
    vol_edges: list[float]
    imbalance_edges: list[float]
    actions: list[list[float]]
    updates: int = 0


@attrs.frozen
class ModelPrior:
    """The GLFT inputs the strategy quoted with at the stamp, with their confidence."""

    sigma_bps: float | None
    sigma_rel_se: float | None
    sigma_converged: bool
    k_per_bps: float | None
    A_per_s: float | None
    k_se: float | None
    kappa_converged: bool


@attrs.frozen
class EstimatorPrior:
    """One estimator at the stamp: its count and flag, its published values and the
    state that warm-starts it (estimator-specific, documented in transfer)."""

    n_obs: int
    converged: bool
    values: dict[str, float | None] = attrs.Factory(dict)
    state: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class PriorSource:
    """Where a prior came from."""

    journal: str
    session_id: str
    mode: str
    code_version: str


@attrs.frozen
class Prior:
    """A prior checkpoint (see the module docstring)."""

    coin: str
    asset: str
    dex: str
    created_ns: int
    written_ns: int
    stamp: Readiness
    model: ModelPrior
    qtable: QTablePrior | None
    estimators: dict[str, EstimatorPrior]
    source: PriorSource
    schema: str = PRIOR_SCHEMA
    version: int = PRIOR_VERSION

    def age_s(self, now_ns: int) -> float:
        """Seconds from the stamp's event time to ``now_ns`` (the environment's clock)."""
        return (now_ns - self.created_ns) / 1e9

    def is_stale(self, now_ns: int, stale_after_s: float | None = None) -> bool:
        """Older than ``stale_after_s`` (the stamp's threshold, 4 h by default)."""
        limit = self.stamp.thresholds.stale_after_s if stale_after_s is None else stale_after_s
        return self.age_s(now_ns) > limit


#: Unknown keys are errors too: a prior from another program is not silently half-read.
_converter = cattrs.Converter(forbid_extra_keys=True)


#: version -> function turning that version's dict into the next version's.
_MIGRATIONS: dict[int, Any] = {}


def coin_key(coin: str) -> str:
    """The coin in a file-safe form: ``HYPE``, ``hyena-HYPE`` (from ``hyena:HYPE``).

    Examples
    --------
    >>> coin_key("HYPE"), coin_key("hyena:HYPE"), coin_key("x y/z")
    ('HYPE', 'hyena-HYPE', 'x_y_z')
    """
    return re.sub(r"[^A-Za-z0-9._-]", "_", coin.replace(":", "-"))


def prior_path(checkpoint_dir: Path | str, coin: str) -> Path:
    """``<checkpoint_dir>/paper/<coin key>/prior.json``."""
    return Path(checkpoint_dir) / "paper" / coin_key(coin) / PRIOR_NAME


def resolve_prior(path: Path | str) -> Path:
    """A prior file given as the file or as the directory holding ``prior.json``."""
    p = Path(path)
    return p / PRIOR_NAME if p.is_dir() else p


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_prior(prior: Prior, path: Path | str) -> Path:
    """Write ``prior`` to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(_converter.unstructure(prior), indent=1, sort_keys=True, allow_nan=False)
    tmp = temp_path(path)
    tmp.write_text(data + "\n")
    commit(tmp, path)
    return path


def load_prior(path: Path | str) -> Prior:
    """Read and check a prior (a file, or a directory holding ``prior.json``).

    Raises
    ------
    PriorError
        Missing, not JSON (with the line and column), not a prior, a newer schema
        version, or a field missing or of the wrong type (named with its path).
    """
    path = resolve_prior(path)
    if not path.is_file():
        raise PriorError(
            f"{path}: no prior checkpoint there; run a paper session (or `backtest "
            "--save-prior`) to make one, or pass --paper-checkpoint with an existing file"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PriorError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); the "
            "file is corrupt or cut short: delete it and run a new paper session"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriorError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != PRIOR_SCHEMA:
        raise PriorError(f"{path}: not a prior checkpoint (no schema {PRIOR_SCHEMA!r})")
    version = data.get("version")
    if not isinstance(version, int) or version > PRIOR_VERSION:
        raise PriorError(
            f"{path}: schema version {version!r} is newer than this code reads "
            f"({PRIOR_VERSION}); upgrade market-maker or make a new prior"
        )
    while version < PRIOR_VERSION:
        migrate = _MIGRATIONS.get(version)
        if migrate is None:
            raise PriorError(f"{path}: schema version {version} cannot be migrated")
        data, version = migrate(data), version + 1
    try:
        return _converter.structure(data, Prior)
    except Exception as exc:  # cattrs' errors: one line naming the field paths
        detail = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise PriorError(f"{path}: not a valid prior: {detail}") from None
