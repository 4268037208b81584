"""The regime estimator's per-bucket work, typed: bucket sums, run drift, the filter step.

Every bucket close (2 880 a day at 30 s) runs :func:`bucket_sums`, :func:`drift_stats`
and, between refits, :func:`filter_step`; every refit runs :func:`argmax_runs` over the
window.  The maths and its reasons are in :mod:`framework.estimators.regime` (mm_math.md
§5); this module only holds those loops in a form Cython compiles to C.

Bits **[ours: replay must be bit-exact on any CPU, compiled or not]**: every expression
is the interpreted one, operand for operand and in the same order, on C doubles (the
build forbids fused multiply-adds); ``max`` keeps Python's rule (the first of equals, a
later value only when strictly greater); ``sqrt`` is IEEE's correctly rounded one on
both paths and ``exp`` is :mod:`framework.kernel.fpmath`'s; integers (run lengths) stay
far below 2⁵³, where their conversions to double are exact.  Division keeps Python's
zero check (no ``cdivision``).
"""

from __future__ import annotations

import math
from array import array

import cython

if cython.compiled:  # C calls; interpreted, the Python functions (the same bits)
    from cython.cimports.framework.kernel.fpmath import exp
    from cython.cimports.framework.kernel.handler import Handler
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

    from framework.kernel.fpmath import exp
    from framework.kernel.handler import Handler

INF = math.inf


def _zeros(n: cython.Py_ssize_t) -> array:
    return array("d", bytes(8 * n))


def bucket_sums(rets: object, clip_mad: cython.double) -> tuple:
    """``(Σ r̃, Σ r̃²)`` of a bucket's returns, each clipped at ``±clip_mad·ŝ``.

    ``ŝ = median|r| / 0.6745`` is the bucket's robust σ (the median is untouched by
    one jump); a normal return passes a 4 ŝ clip 99.99 % of the time, a 100 bps jump
    in a 1.2 bps/√s market is cut to ~5 bps.  No clip when half the returns are 0.
    Left-to-right sums (fixed order).
    """
    a: list = sorted([abs(r) for r in rets])
    n: cython.Py_ssize_t = len(a)
    half: cython.Py_ssize_t = n // 2
    med: cython.double
    if n % 2:
        med = a[half]
    else:
        med = 0.5 * (cython.cast(cython.double, a[half - 1]) + cython.cast(cython.double, a[half]))
    h: cython.double = clip_mad * med / 0.6745 if med > 0 else INF
    s: cython.double = 0.0
    q: cython.double = 0.0
    r: cython.double
    for x in rets:
        r = x
        if r > h:
            r = h
        elif r < -h:
            r = -h
        s += r
        q += r * r
    return s, q


@cython.boundscheck(False)
@cython.wraparound(False)
def drift_stats(runs: object, k: cython.Py_ssize_t) -> list:
    """Drift evidence per HMM state from the runs of buckets it holds.

    ``S_r`` is a run's summed standardised bucket return ``x = Σr̃ / √Σr̃²``, ``n_r``
    its length.  Returns, per state, ``(χ = Σ_r S_r²/n_r, R = number of runs, δ̂)``
    with the drift per bucket in noise units ``δ̂² = max(0, Σ_r (S_r² - n_r)) /
    Σ_r n_r²``.  Without drift each ``S_r²/n_r`` is χ²₁ (the signs of symmetric,
    independent returns are fair coins whatever their sizes), so ``χ ~ χ²_R``; a drift
    δ adds ``δ² n_r`` to each.  Sums in run order (fixed).
    """
    chi_a = _zeros(k)
    excess_a = _zeros(k)
    n2_a = _zeros(k)
    chi: cython.double[::1] = chi_a
    excess: cython.double[::1] = excess_a
    n2: cython.double[::1] = n2_a
    count: list = [0] * k
    j: cython.Py_ssize_t
    s_run: cython.double
    n_run: cython.longlong
    ss: cython.double
    for run in runs:
        j, s_run, n_run = run
        if j < 0 or j >= k:
            raise IndexError(f"run state {j} outside 0..{k - 1}")
        ss = s_run * s_run
        chi[j] += ss / cython.cast(cython.double, n_run)
        count[j] += 1
        excess[j] += ss - cython.cast(cython.double, n_run)
        n2[j] += cython.cast(cython.double, n_run * n_run)
    out: list = []
    e: cython.double
    for j in range(k):
        if n2[j] > 0:
            e = excess[j]
            out.append((chi[j], count[j], sqrt((e if e > 0.0 else 0.0) / n2[j])))
        else:
            out.append((chi[j], count[j], 0.0))
    return out


def argmax_runs(gamma: object, x: object) -> list:
    """Maximal stretches of buckets in one most probable state (the first of ties):
    ``[state, S = Σx, n]`` in time order, from the K columns of smoothed posteriors
    ``gamma`` and each bucket's ``x``."""
    k: cython.Py_ssize_t = len(gamma)
    runs: list = []
    t: cython.Py_ssize_t
    j: cython.Py_ssize_t
    i: cython.Py_ssize_t
    best: cython.double
    g: cython.double
    last: cython.Py_ssize_t = -1
    run: list = None
    xs: list = list(x)
    if len(xs) != len(gamma[0]):
        raise ValueError(f"{len(xs)} bucket values for {len(gamma[0])} posteriors")
    for t in range(len(xs)):
        xt = xs[t]
        j = 0
        best = gamma[0][t]
        for i in range(1, k):
            g = gamma[i][t]
            if g > best:
                j = i
                best = g
        if j == last:
            run[1] += xt
            run[2] += 1
        else:
            run = [j, xt, 1]
            runs.append(run)
            last = j
    return runs


def filter_step(
    p: object,
    a_cols: object,
    mus: object,
    ivs: object,
    consts: object,
    y0: cython.double,
    y1: cython.double,
) -> list:
    """One step of the §5 forward filter in its max-shifted scaled form (two features):
    the next filtered probabilities from ``p`` (see
    :meth:`framework.estimators.regime.RegimeEstimator._filter`)."""
    k: cython.Py_ssize_t = len(mus)
    logb_a = _zeros(k)
    logb: cython.double[::1] = logb_a
    j: cython.Py_ssize_t
    i: cython.Py_ssize_t
    d0: cython.double
    d1: cython.double
    mx: cython.double
    for j in range(k):
        mu = mus[j]
        iv = ivs[j]
        d0 = y0 - cython.cast(cython.double, mu[0])
        d1 = y1 - cython.cast(cython.double, mu[1])
        logb[j] = cython.cast(cython.double, consts[j]) - 0.5 * (
            d0 * d0 * cython.cast(cython.double, iv[0])
            + d1 * d1 * cython.cast(cython.double, iv[1])
        )
    mx = logb[0]
    for j in range(1, k):
        if logb[j] > mx:
            mx = logb[j]
    if len(p) != k or len(a_cols) != k:
        raise ValueError(f"{len(p)} probabilities, {len(a_cols)} columns of A for {k} states")
    x_a = _zeros(k)
    x: cython.double[::1] = x_a
    total: cython.double = 0.0
    s: cython.double
    v: cython.double
    for j in range(k):
        col = a_cols[j]
        s = 0.0  # fixed-order sums (sum() of floats changed in Python 3.12)
        for i in range(k):
            s += cython.cast(cython.double, p[i]) * cython.cast(cython.double, col[i])
        v = s * exp(logb[j] - mx)
        x[j] = v
        total += v
    return [x[j] / total for j in range(k)]


@cython.cclass
class ReturnBucket(Handler):
    """The open bucket of clock returns: a clock listener (``(t, r, k)`` per tick, ``r``
    None on an invalid tick) that keeps each tick's return and, once ``size`` ticks are
    in, calls ``fn(returns, extra_k)`` with them and the ticks beyond one that gap returns
    spanned, then starts the next bucket.  The estimator's Python runs once a bucket
    (30 s), not at every tick."""

    size = cython.declare(cython.Py_ssize_t, visibility="readonly")
    rets = cython.declare(list, visibility="public")
    extra_k = cython.declare(cython.longlong, visibility="public")
    fn = cython.declare(object, visibility="public")

    def __init__(self, size: cython.Py_ssize_t, fn: object) -> None:
        self.size = size
        self.rets = []
        self.extra_k = 0
        self.fn = fn

    @cython.ccall
    def on_return(self, t: cython.longlong, r: object, k: cython.longlong) -> cython.void:
        rets: list = self.rets
        rets.append(r)
        if k > 1:
            self.extra_k += k - 1
        if len(rets) >= self.size:
            extra: cython.longlong = self.extra_k
            self.rets = []
            self.extra_k = 0
            self.fn(rets, extra)
