"""What every estimator shares: the minimum-count table, the ``estimates`` row, the
small statistics helpers (quantiles without scipy), the clock-sampled mid and the
book tape.

The minimum counts are the issue's numbers and live in :data:`MIN_OBS` only.  They
replace the reference's ``n_min`` (mm_math.md §11: 300 / 100 / 30 / 300 / 20) so the
documented count is the one place a flag can flip; every *other* criterion of §11
(relative SE, stability, CI width, occupancy, ...) is applied on top of it.

Cost rule
---------
An estimator runs Python per raw market event only where its maths needs that event:
σ and the regime sample the mid on their own 1 s clock (:class:`MidClock`, one timer
for both), markouts read the mid on timers at ``t + h``, κ reads the trades and looks
the pre-trade book up on the shared :class:`BookTape` (one compiled call per book /
bbo event for all estimators), and the fill rate checks one float range per book
event (its quotes' depth buckets can only change when the mid leaves it).

Publication (what reaches the ``estimates`` journal table)
---------------------------------------------------------
Every estimator updates its state exactly on every observation; the attributes other
components read (``sigma_bps``, ``k_per_bps``, ``converged``, ...) are always current.
Only the *journaling* is throttled, so the journal does not carry one row per market
event.  An estimator journals its rows (one per parameter, all with the same
``n_obs`` and ``converged``):

* when its published value is recomputed at its own cadence: volatility every
  ``publish_s`` of event time (30 s), kappa at a refit (every ``refit_s``, 30 s) once
  ``publish_s`` (30 s) has passed since its last rows, regime at each bucket, fill
  rate at each GLM refit (at most every ``glm_every_s``), adverse selection and Kelly
  at each matured fill;
* ALWAYS when the ``converged`` flag changes (the row carries the new flag);
* at ``n_obs == min_obs - 1`` and ``n_obs == min_obs`` for the estimators whose count
  can move one observation at a time (volatility, kappa, fill rate; the others
  journal every count anyway), so the journal shows the flag flip exactly at the
  documented count.

The journal therefore shows every flag change and the estimate at least once per
cadence; ``estimator_table`` reads the last row, which can be up to one cadence older
than the in-memory state.  ``publish_s=0`` (volatility, kappa) journals every update.
Why the cadences are enough: the strategy reads the attributes (always current), not
the journal; σ's EWMA (half-life 300 samples) moves at most 1 - 2^(-30/300) = 6.7 %
of the way to new data in 30 s, and κ's 900 s window turns over 3 % in 30 s.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.kernel.fpmath import log
from framework.kernel.fsum import fsum
from framework.kernel.fsum import fvar as _fvar
from framework.kernel.market import BookTape, MidClock  # noqa: F401  (re-exported)

NAN = math.nan
#: The estimates table, bound once (an enum member read costs 0.12 µs on Python 3.11).
ESTIMATES = Kind.ESTIMATES

#: Minimum observation count before an estimator may report ``converged`` (the issue).
MIN_OBS: dict[str, int] = {
    "volatility": 200,  # clock returns with valid mids at both ends
    "kappa": 50,  # aggressor events beyond the depth floor, in the fit window
    "adverse_selection": 100,  # matured own fills at the gating horizon
    "regime": 200,  # buckets in the HMM window
    "fill_rate": 200,  # resting-order episodes (from the resting ack to the first fill or the end)
    "kelly": 20,  # own fills with a measured markout at h*
}

#: The parameter whose row stands for the estimator in summaries (:func:`estimator_table`).
PRIMARY_PARAM: dict[str, str] = {
    "volatility": "sigma",
    "kappa": "k",
    "adverse_selection": "as_5s",
    "regime": "state",
    "fill_rate": "k_f",
    "kelly": "fraction",
}


def _clean(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def emit_estimate(
    engine: Engine,
    estimator: str,
    param: str,
    value: float | None,
    n_obs: int,
    std_err: float | None,
    converged: bool,
) -> int:
    """Journal one ``estimates`` row (NaN becomes null); returns its seq."""
    return engine.emit(
        Kind.ESTIMATES,
        (estimator, param, _clean(value), int(n_obs), _clean(std_err), bool(converged)),
    )


def require_positive(**settings: float) -> None:
    """Raise ``ValueError`` naming the first setting that is not a number > 0.

    Time spans and periods: a zero period would become a zero-length engine timer.
    """
    for key, value in settings.items():
        if not (isinstance(value, int | float) and value > 0):
            raise ValueError(f"{key}={value!r}: must be a number > 0 (seconds or a count)")


class EstimatorBase:
    """Common attributes: ``n_obs``, ``min_obs``, ``converged`` and a snapshot.

    Subclasses set ``name`` and call :meth:`set_converged` with the reference's
    criteria; the minimum count is added here, so no estimator can forget it.
    """

    name = "estimator"

    def __init__(self) -> None:
        self.n_obs = 0
        self.min_obs = MIN_OBS[self.name]
        self.converged = False
        self.engine: Engine | None = None

    def set_converged(self, criteria_ok: bool) -> bool:
        """``converged = n_obs >= min_obs and criteria_ok``; True when the flag changed."""
        new = self.n_obs >= self.min_obs and bool(criteria_ok)
        changed = new != self.converged
        self.converged = new
        return changed

    def emit(self, param: str, value: float | None, std_err: float | None) -> None:
        """Journal one row of this estimator (as :func:`emit_estimate`, inlined)."""
        assert self.engine is not None, "bind() the estimator first"
        self.engine.emit(
            ESTIMATES,
            (
                self.name,
                param,
                None if value is None or value != value else float(value),
                self.n_obs,
                None if std_err is None or std_err != std_err else float(std_err),
                self.converged,
            ),
        )

    def publish(self) -> None:
        """Journal the current rows now (at a checkpoint); estimators override it."""

    def snapshot(self) -> dict[str, Any]:
        return {"n_obs": self.n_obs, "min_obs": self.min_obs, "converged": self.converged}


# ---- quantiles (no scipy) -------------------------------------------------------------

#: Student-t upper quantiles for df 1..30 (exact to 3 decimals; standard tables).
_T95 = (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
        1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
        1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697)  # fmt: skip
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


# Wichura's AS241 (PPND16, Applied Statistics 37(3), 1988): the rational approximations
# of the normal quantile, relative error ~1e-16.  The stdlib's ``NormalDist.inv_cdf``
# is the same algorithm, evaluated in the same (Horner) order, but its ``log`` is libm's,
# whose last bit may depend on the CPU and the libm build; here it is fpmath's.
_Z_CENTRAL = (
    (2.5090809287301226727e3, 3.3430575583588128105e4, 6.7265770927008700853e4,
     4.5921953931549871457e4, 1.3731693765509461125e4, 1.9715909503065514427e3,
     1.3314166789178437745e2, 3.3871328727963666080e0),
    (5.2264952788528545610e3, 2.8729085735721942674e4, 3.9307895800092710610e4,
     2.1213794301586595867e4, 5.3941960214247511077e3, 6.8718700749205790830e2,
     4.2313330701600911252e1, 1.0),
)  # fmt: skip
_Z_TAIL = (  # 1.6 <= sqrt(-log(min(p, 1 - p))) + 1.6 ... r <= 5
    (7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
     1.27045825245236838258e0, 3.64784832476320460504e0, 5.76949722146069140550e0,
     4.63033784615654529590e0, 1.42343711074968357734e0),
    (1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
     1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940e0,
     2.05319162663775882187e0, 1.0),
)  # fmt: skip
_Z_FAR = (  # r > 5: p below ~1e-11
    (2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
     2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580e0,
     5.46378491116411436990e0, 6.65790464350110377720e0),
    (2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
     7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
     5.99832206555887937690e-1, 1.0),
)  # fmt: skip


def _horner(c: tuple[float, ...], r: float) -> float:
    acc = c[0]
    for k in range(1, len(c)):
        acc = acc * r + c[k]
    return acc


def z_quantile(p: float) -> float:
    """Standard normal quantile ``Φ⁻¹(p)`` for ``p`` in (0, 1) (AS241, above).

    The same bits on every machine: the only transcendental is fpmath's ``log``
    (``sqrt`` is correctly rounded by IEEE 754).
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"z_quantile(p={p!r}): p must be in (0, 1)")
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num, den = _Z_CENTRAL
        return _horner(num, r) * q / _horner(den, r)
    r = math.sqrt(-log(p if q <= 0.0 else 1.0 - p))
    if r <= 5.0:
        num, den = _Z_TAIL
        r -= 1.6
    else:
        num, den = _Z_FAR
        r -= 5.0
    x = _horner(num, r) / _horner(den, r)
    return -x if q < 0.0 else x


def t_quantile(p: float, df: float) -> float:
    """Student-t quantile ``t_{p, df}`` for ``p`` in (0.5, 1).

    A table for integer df <= 30 at p = 0.95 / 0.975 (df is floored: conservative);
    otherwise the Cornish-Fisher expansion of Abramowitz & Stegun 26.7.5 in ``z_p``
    (error < 1e-3 for df >= 5).
    """
    if not df >= 1:
        return math.inf
    d = math.floor(df)
    if d <= 30 and p in (0.95, 0.975):
        return (_T95 if p == 0.95 else _T975)[d - 1]
    z = z_quantile(p)
    v = float(d if d <= 30 else df)
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    v2 = v * v
    return z + g1 / v + g2 / v2 + g3 / (v2 * v) + g4 / (v2 * v2)


def chi2_quantile(p: float, df: float) -> float:
    """Chi-square quantile by the Wilson-Hilferty cube approximation.

    ``chi2_{df,p} ~ df (1 - 2/(9 df) + z_p sqrt(2/(9 df)))^3``; relative error below
    1 % for df >= 3 at the tails used here (0.025 ... 0.975).
    """
    if df <= 0:
        return 0.0
    z = z_quantile(p)
    c = 2.0 / (9.0 * df)
    w = max(0.0, 1.0 - c + z * math.sqrt(c))
    return df * (w * w * w)


def fmean(x: Sequence[float]) -> float:
    """Mean of floats by :func:`math.fsum` (NaN when empty).

    The fixed-order statistics below replace numpy's ``mean`` / ``var`` / ``std`` and
    ``@`` in engine code: numpy picks its reduction kernel (and BLAS its dot kernel)
    per CPU, so their last bits, and a replay on another machine, could differ.
    ``fsum`` is exactly rounded, hence the same everywhere.
    """
    n = len(x)
    return fsum(x) / n if n else NAN


def fvar(x: Sequence[float], ddof: int = 0) -> float:
    """Variance ``Σ(x - x̄)² / (n - ddof)`` by :func:`math.fsum` (NaN when ``n <= ddof``;
    the kernel's :func:`~framework.kernel.fsum.fvar`: the same sums over C doubles)."""
    return _fvar(x, ddof)


def fstd(x: Sequence[float], ddof: int = 0) -> float:
    """``sqrt(fvar(x, ddof))``."""
    return math.sqrt(fvar(x, ddof))


def n_eff_autocorr(x: Iterable[float], max_lag: int) -> float:
    """Effective sample size ``n / (1 + 2 sum_{l<=L} rho_l)`` (mm_math.md §4).

    The sum is floored at 0 (negative dependence never inflates the count past n).
    Every sum is a :func:`math.fsum` (no BLAS dot: see :func:`fmean`).
    """
    d = [float(v) for v in x]
    n = len(d)
    if n < 3 or max_lag < 1:
        return float(n)
    m = math.fsum(d) / n
    d = [v - m for v in d]
    mul = operator.mul
    var = math.fsum(map(mul, d, d))
    if var <= 0:
        return float(n)
    lags = range(1, min(max_lag, n - 1) + 1)
    s = math.fsum(math.fsum(map(mul, d[:-lag], d[lag:])) for lag in lags) / var
    return n / (1.0 + 2.0 * max(0.0, s))


# ---- the clock-sampled mid (§3) -------------------------------------------------------


# MidClock lives in the typed kernel (framework.kernel.market): its tick runs 86,400
# times a market day.


# ---- the book tape: the top of book as it was, looked up on demand --------------------


# BookTape lives in the typed kernel (framework.kernel.market): it records every book
# and bbo event.


#: The ``source`` of a journaled ``clock`` input that asks every estimator to journal its
#: current rows (:func:`on_checkpoint`).  Environments inject one at the end of a session
#: and before each prior they stamp, so the ``estimates`` table (which readiness reads)
#: holds each estimator's state at that seq, not its last publication up to a cadence
#: earlier.  It is an input, so a replay publishes the same rows at the same seq.
CHECKPOINT = "checkpoint"

_CHECKPOINTS: weakref.WeakKeyDictionary[Engine, list[Any]] = weakref.WeakKeyDictionary()


def on_checkpoint(engine: Engine, fn: Any) -> None:
    """Call ``fn()`` at every ``clock`` input whose source is :data:`CHECKPOINT` (one
    shared CLOCK handler per engine, in registration order)."""
    fns = _CHECKPOINTS.get(engine)
    if fns is None:
        fns = _CHECKPOINTS[engine] = []

        def on_clock(cols: Columns, i: int) -> None:
            if cols.source[i] == CHECKPOINT:
                for f in fns:
                    f()

        engine.subscribe(Kind.CLOCK, on_clock)
    fns.append(fn)


_TAPES: weakref.WeakKeyDictionary[Engine, BookTape] = weakref.WeakKeyDictionary()


def book_tape(engine: Engine) -> BookTape:
    """The engine's shared :class:`BookTape`, bound on first use."""
    tape = _TAPES.get(engine)
    if tape is None:
        tape = _TAPES[engine] = BookTape()
        tape.bind(engine)
    return tape
