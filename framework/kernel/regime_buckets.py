"""The regime estimator's per-bucket work, typed: bucket sums, run drift, the filter step.

Every bucket close (2 880 a day at 30 s) runs :meth:`RegimeCore._close_bucket`: the
bucket's features (:func:`bucket_sums`), the window, and, between refits, the filter
step (:func:`filter_step`), the runs, the labels (:func:`drift_stats`,
:func:`label_states`) and the published state; every refit runs :func:`argmax_runs`
over the window.  :class:`RegimeCore` is the base of
:class:`framework.estimators.regime.RegimeEstimator`, whose refit (Baum-Welch) and
configuration stay Python.  The maths and its reasons are in
:mod:`framework.estimators.regime` (mm_math.md §5); this module only holds those loops
in a form Cython compiles to C.

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
    from cython.cimports.framework.kernel.fpmath import exp, log
    from cython.cimports.framework.kernel.handler import Handler
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

    from framework.kernel.fpmath import exp, log
    from framework.kernel.handler import Handler

INF = math.inf

#: The published regimes, by index (RegimeEstimator.state).
LABELS: tuple[str, ...] = ("calm", "volatile", "trending")


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


@cython.ccall
def label_states(
    p: object, drift: object, trend_min: cython.double, trend_alpha: cython.double
) -> list:
    """:func:`framework.estimators.regime.label_states` with every argument in place."""
    # Plain loops (this runs every bucket): the first largest δ̂ and the first smallest
    # μ_lnRV, as max/min by (value, index) pick them; NaN never replaces.
    k: cython.Py_ssize_t = len(p.pi)
    out: list = [0] * k
    trend: cython.Py_ssize_t = -1
    i: cython.Py_ssize_t
    j: cython.Py_ssize_t
    chi: cython.double
    runs: cython.longlong
    d: cython.double
    best_d: cython.double = 0.0
    if drift is not None and k >= 2:
        for j, item in enumerate(drift):
            chi, runs, d = item
            if (
                runs > 0
                and d >= trend_min
                and (trend < 0 or d > best_d)
                and chi > chi2_quantile(1.0 - trend_alpha, runs)
            ):
                trend = j
                best_d = d
        if trend >= 0:
            out[trend] = 2
    mu = p.mu
    calm: cython.Py_ssize_t = -1
    m_i: cython.double
    m_calm: cython.double = 0.0
    for i in range(k):
        if i != trend:
            m_i = mu[i][0]
            if calm < 0 or m_i < m_calm:
                calm = i
                m_calm = m_i
    for i in range(k):
        if i != trend:
            out[i] = 0 if i == calm else 1
    return out


@cython.cclass
class RegimeCore:
    """The regime estimator's window, filter, runs and published state, and its
    per-bucket path in C (see the module doc; RegimeEstimator sets every field and
    keeps the refit, which this calls as its ``_refit``)."""

    # configuration
    window = cython.declare(cython.Py_ssize_t, visibility="public")
    first_fit = cython.declare(cython.longlong, visibility="public")
    refit_every = cython.declare(cython.longlong, visibility="public")
    refit_every_stable = cython.declare(cython.longlong, visibility="public")
    eps = cython.declare(cython.double, visibility="public")
    hysteresis = cython.declare(cython.double, visibility="public")
    min_valid_frac = cython.declare(cython.double, visibility="public")
    clip_mad = cython.declare(cython.double, visibility="public")
    trend_min = cython.declare(cython.double, visibility="public")
    trend_alpha = cython.declare(cython.double, visibility="public")
    # EstimatorBase's figures (it sets them; set_converged and emit read them)
    n_obs = cython.declare(cython.longlong, visibility="public")
    converged = cython.declare(cython.bint, visibility="public")
    engine = cython.declare(object, visibility="public")
    # the window and the fit's state
    _trend = cython.declare(object, visibility="public")  # deque: the last buckets' Σr̃
    obs = cython.declare(tuple, visibility="public")  # (ln RV, continuation) deques
    _x = cython.declare(object, visibility="public")  # deque: standardised returns
    _runs = cython.declare(object, visibility="public")  # deque of [state, Σx, n]
    buckets = cython.declare(cython.longlong, visibility="public")
    buckets_skipped = cython.declare(cython.longlong, visibility="public")
    _next_refit = cython.declare(cython.longlong, visibility="public")
    params = cython.declare(object, visibility="public")
    labels = cython.declare(object, visibility="public")
    drift = cython.declare(object, visibility="public")
    _filt = cython.declare(object, visibility="public")
    _a_cols = cython.declare(object, visibility="public")
    _p = cython.declare(object, visibility="public")
    _by_label = cython.declare(object, visibility="public")
    fit_ok = cython.declare(cython.bint, visibility="public")
    state = cython.declare(cython.int, visibility="public")
    label = cython.declare(object, visibility="public")

    # The clock's returns go to the kernel's open bucket (ReturnBucket), which calls
    # this once a bucket is full.
    @cython.ccall
    def _close_bucket(self, rets: list, extra_k: cython.longlong) -> cython.void:
        n: cython.Py_ssize_t = len(rets)
        valid: list = [r for r in rets if r is not None]
        rk: cython.longlong = len(valid) + extra_k
        if not valid or rk < self.min_valid_frac * n:
            self.buckets_skipped += 1
            return
        s: cython.double
        q: cython.double
        s, q = bucket_sums(valid, self.clip_mad)
        trend = self._trend
        ts: cython.double = 0.0
        bs: cython.double
        for v in trend:
            bs = v
            ts += bs
        trend.append(s)
        # Continuation: this bucket's standardised return, signed by the trend before it.
        x: cython.double = s / sqrt(q) if q > 0 else 0.0
        cont: cython.double = (x if ts > 0 else -x) if ts != 0 else 0.0
        # Returns span rk ticks of the bucket's n: scale RV to the whole bucket.
        y0: cython.double = log(q * n / rk + self.eps)
        runs = self._runs
        xs = self._x
        if runs and len(xs) == self.window:
            # The oldest bucket leaves the window: it leaves its run too.
            first = runs[0]
            first[1] -= xs[0]
            first[2] -= 1
            if not first[2]:
                runs.popleft()
        self.obs[0].append(y0)
        self.obs[1].append(cont)
        xs.append(x)
        self.buckets += 1
        self.n_obs = len(self.obs[0])
        j: cython.Py_ssize_t
        i: cython.Py_ssize_t
        if self.buckets >= self.first_fit and (
            self.params is None or self.buckets >= self._next_refit
        ):
            self._refit()
            # [ours] Refit every `refit_every` buckets while the gate's fit is not stable
            # (warm-up, regime structure changing), every `refit_every_stable` once it is.
            step: cython.longlong = self.refit_every_stable if self.fit_ok else self.refit_every
            self._next_refit = self.buckets + step
        elif self.params is not None:
            self._filter((y0, cont))
            # Labels follow the data between refits [ours]: the bucket joins the runs of
            # its most probable (filtered) state and the drift test is re-run.
            p: list = self._p
            j = 0  # the most probable state, the first of equals (max by (p, -index))
            best: cython.double = p[0]
            pi: cython.double
            for i in range(1, len(p)):
                pi = p[i]
                if pi > best:
                    j = i
                    best = pi
            if runs and runs[-1][0] == j:
                last = runs[-1]
                last[1] += x
                last[2] += 1
            else:
                runs.append([j, x, 1])
            self._relabel()
        self._publish()

    @cython.ccall
    def _relabel(self) -> cython.void:
        self.drift = drift_stats(self._runs, len(self.params.pi))
        self.labels = label_states(self.params, self.drift, self.trend_min, self.trend_alpha)

    @cython.ccall
    def _filter(self, y: tuple) -> cython.void:
        """One step of the §5 forward filter in plain floats (K <= 3, two features).

        The log-space recursion ``ℓ_t = u - LSE(u)``, ``u = log b + LSE_i(ℓ_{t-1} + log
        A)`` is evaluated in its max-shifted scaled form: ``p_t = exp(ℓ_t)`` is kept
        normalised and the emissions are ``exp(log b - max_j log b)``, so the largest is
        1 and nothing underflows that matters (a state's probability below 1e-308 reads
        as 0; A's floor keeps it reachable).  Same result as
        :func:`~framework.estimators.hmm.filter_step`, without a log/exp per term.
        """
        mus, ivs, consts = self._filt
        self._p = filter_step(self._p, self._a_cols, mus, ivs, consts, y[0], y[1])

    @cython.ccall
    def _publish(self) -> cython.void:
        if self._p is None:
            self.set_converged(False)
            self.emit("state", None, None)  # a bucket before the first fit: unknown
            return
        by_label: list = [0.0, 0.0, 0.0]
        p = self._p
        j: cython.Py_ssize_t
        for j, lab in enumerate(self.labels):
            by_label[lab] += p[j]
        b0: cython.double = by_label[0]
        b1: cython.double = by_label[1]
        b2: cython.double = by_label[2]
        # by_label.index(max(by_label)): the first largest (NaN never replaces)
        cand: cython.int = 0
        top: cython.double = b0
        if b1 > b0:
            cand = 1
            top = b1
        if b2 > top:
            cand = 2
        won: cython.double = by_label[cand]
        if self.state < 0 or (cand != self.state and won > self.hysteresis):
            self.state = cand
        self.label = LABELS[self.state]
        self._by_label = by_label
        self.set_converged(self.fit_ok)
        self.emit("state", float(self.state), 1.0 - by_label[self.state])


# Last: framework.estimators imports the regime estimator, which imports this module.
from framework.estimators.base import chi2_quantile  # noqa: E402
