"""Parameter sweeps and offline calibration on Ray (``market-maker sweep``).

The same recordings are backtested under many parameter sets: a space file names
config keys and their values, ranges or choices (:mod:`.space`); a plan chooses the
trials (grid, seeded random, Optuna TPE; :mod:`.plan`); Ray Tune runs them on the local
machine or a Ray cluster (:mod:`.runner`); each trial is a backtest per recording,
committed whole under ``OUT/trials/<id>/`` (:mod:`.trial`); ``OUT/results.parquet``
holds one row per trial and recording (:mod:`.results`) and ``OUT/report.html`` plots
the objective against each parameter (:mod:`.report`).

Nothing here is imported by the engine: a sweep only calls
:func:`framework.environments.backtest.run_backtest` and
:func:`framework.calibration.readiness.assess`.
"""

from framework.sweep.space import Space, SpaceError, load_space, parse_space

__all__ = ["Space", "SpaceError", "load_space", "parse_space"]
