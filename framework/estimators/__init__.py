"""The estimators: engine components that keep exact state on every observation and
journal ``estimates`` rows at their publication cadence and on every flag change
(see :mod:`framework.estimators.base`).

Each has ``n_obs``, ``min_obs`` (from :data:`~framework.estimators.base.MIN_OBS`) and
``converged`` (the mm_math.md criteria and the minimum count).  Formulas: mm_math.md
§2-§7; gates: §11.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from framework.estimators.adverse_selection import AdverseSelectionEstimator
from framework.estimators.base import MIN_OBS, PRIMARY_PARAM, emit_estimate
from framework.estimators.fill_rate import FillRateEstimator
from framework.estimators.kappa import KappaEstimator
from framework.estimators.kelly import KellyEstimator
from framework.estimators.regime import LABELS, RegimeEstimator
from framework.estimators.volatility import VolatilityEstimator
from framework.events.schema import Kind, spec

__all__ = [
    "ESTIMATOR_CLASSES",
    "LABELS",
    "MIN_OBS",
    "PRIMARY_PARAM",
    "AdverseSelectionEstimator",
    "FillRateEstimator",
    "KappaEstimator",
    "KellyEstimator",
    "RegimeEstimator",
    "VolatilityEstimator",
    "default_estimators",
    "emit_estimate",
    "estimator_table",
]

#: Component name -> class, in binding order (kelly reads adverse_selection's markouts).
ESTIMATOR_CLASSES: dict[str, type] = {
    "volatility": VolatilityEstimator,
    "kappa": KappaEstimator,
    "adverse_selection": AdverseSelectionEstimator,
    "regime": RegimeEstimator,
    "fill_rate": FillRateEstimator,
    "kelly": KellyEstimator,
}


def default_estimators(config: Any = None) -> list[Any]:
    """All six estimators, configured.

    Parameters
    ----------
    config : SessionConfig, mapping or None
        A ``SessionConfig`` (its ``estimators.options``), or a mapping
        ``{name: {kwarg: value}}``; missing names get defaults.

    Raises
    ------
    KeyError
        A config key names no estimator.
    """
    if config is None:
        options: Mapping[str, Any] = {}
    elif isinstance(config, Mapping):
        options = config
    else:
        options = config.estimators.options
    unknown = set(options) - set(ESTIMATOR_CLASSES)
    if unknown:
        raise KeyError(
            f"[estimators] has unknown section(s) {sorted(unknown)}; "
            f"known: {', '.join(ESTIMATOR_CLASSES)}"
        )
    return [cls(**dict(options.get(name, {}))) for name, cls in ESTIMATOR_CLASSES.items()]


def _rows(source: Any) -> Iterable[dict[str, Any]]:
    cols = spec(Kind.ESTIMATES).columns
    if hasattr(source, "table") and hasattr(source, "manifest"):
        yield from source.table(Kind.ESTIMATES).to_pylist()
        return
    for item in source:
        if isinstance(item, Mapping):
            yield item
        elif len(item) == 2:  # a ListSink pair (kind, row)
            if item[0] == Kind.ESTIMATES:
                yield dict(zip(cols, item[1], strict=True))
        elif len(item) == len(cols):
            yield dict(zip(cols, item, strict=True))


def estimator_table(reader_or_rows: Any) -> list[tuple[str, int, int, bool, float | None]]:
    """The last primary-parameter row of each estimator that journaled one.

    Parameters
    ----------
    reader_or_rows
        A ``JournalReader``, ``ListSink.rows`` (``(kind, row)`` pairs), full
        ``estimates`` row tuples, or dicts.

    Returns
    -------
    list of (estimator, n_obs, min_obs, converged, value)
        In :data:`MIN_OBS` order, then any other estimator names.
    """
    last: dict[str, dict[str, Any]] = {}
    for r in _rows(reader_or_rows):
        name = r["estimator"]
        if r["param"] == PRIMARY_PARAM.get(name, r["param"]):
            last[name] = r
    order = [n for n in MIN_OBS if n in last] + sorted(set(last) - set(MIN_OBS))
    return [
        (
            n,
            int(last[n]["n_obs"]),
            MIN_OBS.get(n, 0),
            bool(last[n]["converged"]),
            last[n]["value"],
        )
        for n in order
    ]
