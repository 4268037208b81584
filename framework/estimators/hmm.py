"""A small diagonal-Gaussian HMM: scaled forward-backward and MAP Baum-Welch (mm_math.md §5).

The recursions are the log-space ones of §5 with the usual max-shift: each row's
emission log-densities are shifted by their maximum before exponentiating, and the
forward vector is renormalised every step, so ``log L = Σ ln c_t + Σ shift_t`` and
nothing underflows.

Plain floats, fixed order **[ours: replay must be bit-exact on any CPU]**.  BLAS
(``@``) and numpy's reductions and transcendentals pick their kernel per CPU, and with
it the summation order or the last bit of ``exp``/``log``; a replay on another machine
then diverges at the first refit.  So nothing here computes with numpy: observations
and parameters are tuples / lists of Python floats, sums run left to right in a fixed
order (or :func:`math.fsum`, exact), and ``exp``/``log`` are
:mod:`framework.kernel.fpmath`'s per element (libm's differ between CPUs with and
without FMA).  The hot case (K = 3 states, D = 2 features: the regime
estimator's) is unrolled: one pass computes the emissions and the forward recursion,
one backward pass computes beta together with every M-step sum (posteriors, transition
counts, weighted first and second moments), so a Baum-Welch iteration is two loops
over the window of float arithmetic.  K = 2 (the other half of the BIC choice) is
unrolled the same way; both run in the typed kernel (:mod:`framework.kernel.hmm_estep`,
compiled C loops with the same operations in the same order); any other K or D runs the
same maths through the generic lists code here.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from framework.estimators.base import fmean, fvar
from framework.kernel.fpmath import exp, log
from framework.kernel.hmm_estep import estep22, estep32, fit_d2

LOG_2PI = log(2.0 * math.pi)

Vec = tuple[float, ...]
Mat = tuple[Vec, ...]


def _vec(x: Iterable[Any]) -> Vec:
    return tuple(float(v) for v in x)


def _mat(x: Iterable[Iterable[Any]]) -> Mat:
    return tuple(_vec(row) for row in x)


@attrs.frozen
class HmmParams:
    """K-state diagonal Gaussian HMM: ``pi`` (K), ``A`` (KxK), ``mu`` and ``var`` (KxD).

    Stored as tuples of Python floats (any nested sequence, numpy arrays included, is
    converted on construction).
    """

    pi: Vec = attrs.field(converter=_vec)
    A: Mat = attrs.field(converter=_mat)
    mu: Mat = attrs.field(converter=_mat)
    var: Mat = attrs.field(converter=_mat)

    @property
    def k(self) -> int:
        return len(self.pi)

    @property
    def d(self) -> int:
        return len(self.mu[0])

    def n_free(self) -> int:
        """Free parameters for BIC: ``K(K-1) + 2KD + (K-1)``."""
        k, d = self.k, self.d
        return k * (k - 1) + 2 * k * d + (k - 1)


@attrs.frozen
class FitResult:
    params: HmmParams
    loglik: float
    objective: float  # log posterior (log L + log Dirichlet prior)
    iterations: int
    tol_hit: bool
    occupancy: Vec  # Σ_t γ_t(j): expected buckets in each state
    gamma: list[list[float]]  # smoothed posteriors γ_t(j), K columns of T
    last_filtered: Vec  # K filtered probs at the last observation
    n: int  # observations in the window

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + self.params.n_free() * log(self.n)


def as_columns(y: Any) -> list[list[float]]:
    """Observations (T rows of D numbers: a sequence of tuples, a T x D array, or
    :class:`Observations`) as D columns of Python floats."""
    if isinstance(y, Observations):
        return y.cols
    rows = y.tolist() if hasattr(y, "tolist") else y
    return [[float(v) for v in col] for col in zip(*rows, strict=True)]


class Observations:
    """A window of observations transposed once: D columns of Python floats, and the
    ``array('d')`` columns and squares the E-step kernel reads.

    A refit runs several starts and Baum-Welch calls over the same window; each of them
    accepts this in place of the rows and reuses the columns (the same floats, so the
    same bits) instead of transposing the window again.
    """

    __slots__ = ("arrays", "cols", "squares")

    def __init__(self, y: Any) -> None:
        self._set(as_columns(y))

    @classmethod
    def from_columns(cls, cols: Sequence[Iterable[float]]) -> Observations:
        """From D columns of Python floats (a window kept by column: no transposing)."""
        obs = cls.__new__(cls)
        obs._set([list(col) for col in cols])
        return obs

    def _set(self, cols: list[list[float]]) -> None:
        self.cols = cols
        self.arrays = [array("d", col) for col in cols]
        self.squares = [array("d", [x * x for x in col]) for col in self.arrays]

    def __len__(self) -> int:
        return len(self.cols[0]) if self.cols else 0


def emission_consts(p: HmmParams) -> tuple[Mat, Mat, Vec]:
    """``(mu, 1/var, const)`` with ``log b_j(y) = const_j - ½ Σ_d (y_d - mu_jd)² / var_jd``.

    ``const_j = -½ (Σ_d ln var_jd + D ln 2π)``: the per-state constant of §5's
    ``log b_j``, summed over d in order.
    """
    ivs = tuple(tuple(1.0 / v for v in row) for row in p.var)
    consts = []
    for row in p.var:
        s = 0.0
        for v in row:
            s += log(v)
        consts.append(-0.5 * (s + len(row) * LOG_2PI))
    return p.mu, ivs, tuple(consts)


def log_emission(y: Any, p: HmmParams) -> list[list[float]]:
    """``log b_j(y_t)`` for every t, j (T lists of K floats)."""
    mus, ivs, consts = emission_consts(p)
    out = []
    for row in y.tolist() if hasattr(y, "tolist") else y:
        lb = []
        for mu, iv, c in zip(mus, ivs, consts, strict=True):
            q = 0.0
            for x, m, w in zip(row, mu, iv, strict=True):
                dx = x - m
                q += dx * dx * w
            lb.append(c - 0.5 * q)
        out.append(lb)
    return out


# ---- deterministic starts -------------------------------------------------------------


def _group_params(cols: list[list[float]], groups: list[list[int]], var_floor: Sequence[float]):
    mu = [[fmean([col[i] for i in g]) for col in cols] for g in groups]
    var = [
        [max(fvar([col[i] for i in g]), fl) for col, fl in zip(cols, var_floor, strict=True)]
        for g in groups
    ]
    return mu, var


def _start(k: int, mu: list[list[float]], var: list[list[float]]) -> HmmParams:
    a = [[(0.9 if i == j else 0.0) + 0.1 / k for j in range(k)] for i in range(k)]
    return HmmParams([1.0 / k] * k, a, mu, var)


def quantile_init(y: Any, k: int, var_floor: Sequence[float]) -> HmmParams:
    """Deterministic start: sort by y1, split into K quantile groups; ``A = 0.9 I + 0.1/K``.

    Groups as ``numpy.array_split`` makes them (the first ``T mod K`` one longer); the
    sort is stable, so ties keep time order.
    """
    cols = as_columns(y)
    y0 = cols[0]
    order = sorted(range(len(y0)), key=y0.__getitem__)
    n, extra = divmod(len(order), k)
    groups, at = [], 0
    for j in range(k):
        size = n + (1 if j < extra else 0)
        groups.append(order[at : at + size])
        at += size
    return _start(k, *_group_params(cols, groups, var_floor))


def _percentile(sorted_x: list[float], q: float) -> float:
    """numpy's default (linear) percentile of already sorted values."""
    pos = q / 100.0 * (len(sorted_x) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_x) - 1)
    t = pos - lo
    a, b = sorted_x[lo], sorted_x[hi]
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def width_init(y: Any, k: int, var_floor: Sequence[float]) -> HmmParams:
    """Deterministic start with equal-*width* y1 groups between its 2nd and 98th percentiles.

    **[ours]** Complements :func:`quantile_init` when one regime dominates the window
    (equal-count groups would split it and lump the rare ones together).
    """
    cols = as_columns(y)
    y0 = cols[0]
    s = sorted(y0)
    lo, hi = _percentile(s, 2.0), _percentile(s, 98.0)
    edges = [lo + (hi - lo) * j / k for j in range(1, k)]
    groups: list[list[int]] = [[] for _ in range(k)]
    for i, v in enumerate(y0):
        # numpy.searchsorted(edges, v) with side="left": the edges strictly below v.
        g = 0
        while g < k - 1 and edges[g] < v:
            g += 1
        groups[g].append(i)
    if min(len(g) for g in groups) < 2:
        return quantile_init(y, k, var_floor)
    return _start(k, *_group_params(cols, groups, var_floor))


# ---- one E-step: emissions, forward-backward and the M-step sums -----------------------


@attrs.frozen
class _EStep:
    loglik: float
    last_filtered: Vec
    xi: list[list[float]]  # Σ_t ξ_t(i, j)
    occupancy: list[float]  # Σ_t γ_t(j)
    gy: list[list[float]]  # Σ_t γ_t(j) y_td
    gyy: list[list[float]]  # Σ_t γ_t(j) y_td²
    gamma: Sequence[Sequence[float]]  # γ_t(j) as K columns of T (array('d') from the kernel)


def _estep(cols: list[array], sqs: list[array], p: HmmParams) -> _EStep:
    """One E-step; the regime estimator's cases (D = 2, K = 3 or 2) run in the typed
    kernel (:mod:`framework.kernel.hmm_estep`: :func:`_estep_any` unrolled, same bits)."""
    if len(cols) == 2 and p.k in (2, 3):
        mu, ivs, consts = emission_consts(p)
        step = estep32 if p.k == 3 else estep22
        return _EStep(*step(cols[0], cols[1], sqs[0], sqs[1], mu, ivs, consts, p.A, p.pi))
    return _estep_any(cols, sqs, p)


def _estep_any(
    cols: Sequence[Sequence[float]], sqs: Sequence[Sequence[float]], p: HmmParams
) -> _EStep:
    """One E-step for any K and D: the sums the kernel's ``estep32`` does, in its order."""
    k = p.k
    rk = range(k)
    b, shifts = _shifted_emissions(cols, p)
    alpha, c = _forward(b, p.A, p.pi)
    loglik = math.fsum(map(log, c)) + math.fsum(shifts)
    a = p.A
    rows = list(zip(*cols, strict=True))
    sq_rows = list(zip(*sqs, strict=True))
    t_len = len(rows)
    beta = [1.0] * k
    xs = [[0.0] * k for _ in rk]
    occ = [0.0] * k
    gy = [[0.0] * len(cols) for _ in rk]
    gyy = [[0.0] * len(cols) for _ in rk]
    gamma: list[list[float]] = [[0.0] * t_len for _ in rk]
    for t in range(t_len - 1, -1, -1):
        al = alpha[t]
        if t < t_len - 1:
            r = 1.0 / c[t + 1]
            w = [bj * qj * r for bj, qj in zip(b[t + 1], beta, strict=True)]
            for i in rk:
                xi_row, ai = xs[i], al[i]
                for j in rk:
                    xi_row[j] += ai * w[j]
            beta = [_ldot(a[i], w) for i in rk]
        g = [ai * bi for ai, bi in zip(al, beta, strict=True)]
        s = _lsum(g)
        g = [v / s for v in g]
        for j in rk:
            gj = gamma[j][t] = g[j]
            occ[j] += gj
            gy_j, gyy_j = gy[j], gyy[j]
            for d, (x, xx) in enumerate(zip(rows[t], sq_rows[t], strict=True)):
                gy_j[d] += gj * x
                gyy_j[d] += gj * xx
    xi = [[a[i][j] * xs[i][j] for j in rk] for i in rk]
    return _EStep(loglik, tuple(alpha[-1]), xi, occ, gy, gyy, gamma)


def _lsum(xs: Iterable[float]) -> float:
    """Left-to-right sum (fixed order, whatever the Python version's ``sum`` does)."""
    s = 0.0
    for x in xs:
        s += x
    return s


def _ldot(a: Sequence[float], b: Sequence[float]) -> float:
    s = 0.0
    for x, y in zip(a, b, strict=True):
        s += x * y
    return s


def _shifted_emissions(
    cols: list[list[float]], p: HmmParams
) -> tuple[list[list[float]], list[float]]:
    """``exp(log b_j(y_t) - max_j log b_j(y_t))`` per t (T lists of K) and the maxima."""
    b, shifts = [], []
    for lb in log_emission(list(zip(*cols, strict=True)), p):
        mx = max(lb)
        shifts.append(mx)
        b.append([exp(v - mx) for v in lb])
    return b, shifts


def _forward(b: list[list[float]], a: Mat, pi: Vec) -> tuple[list[list[float]], list[float]]:
    """Scaled forward recursion: filtered probabilities and the normalisers ``c_t``."""
    k = len(pi)
    rk = range(k)
    cols = [[a[i][j] for i in rk] for j in rk]
    alpha: list[list[float]] = []
    c: list[float] = []
    prev = [pi[j] * b[0][j] for j in rk]
    for t in range(len(b)):
        if t:
            ap, bt = alpha[-1], b[t]
            prev = [_ldot(ap, cols[j]) * bt[j] for j in rk]
        s = _lsum(prev)
        c.append(s)
        alpha.append([v / s for v in prev])
    return alpha, c


def forward_backward(
    y: Any, p: HmmParams
) -> tuple[list[list[float]], list[list[float]], list[float], float]:
    """Scaled forward-backward: ``(alpha_hat, beta_hat, c, loglik)`` (T lists of K).

    ``alpha_hat[t]`` are the filtered probabilities, ``c[t]`` the one-step normalisers of
    the shifted emissions.  (Baum-Welch does not call this: it folds the backward pass
    into the M-step sums; this is the reference and the smoother.)
    """
    cols = as_columns(y)
    b, shifts = _shifted_emissions(cols, p)
    alpha, c = _forward(b, p.A, p.pi)
    k = p.k
    rk = range(k)
    t_len = len(b)
    beta = [[1.0] * k for _ in range(t_len)]
    for t in range(t_len - 2, -1, -1):
        r = 1.0 / c[t + 1]
        w = [bj * qj * r for bj, qj in zip(b[t + 1], beta[t + 1], strict=True)]
        beta[t] = [_ldot(p.A[i], w) for i in rk]
    loglik = math.fsum(map(log, c)) + math.fsum(shifts)
    return alpha, beta, c, loglik


def smoothed(y: Any, p: HmmParams) -> list[list[float]]:
    """Smoothed posteriors ``γ_t(j)`` (T lists of K) under fixed parameters."""
    alpha, beta, _, _ = forward_backward(y, p)
    out = []
    for al, be in zip(alpha, beta, strict=True):
        g = [x * z for x, z in zip(al, be, strict=True)]
        s = _lsum(g)
        out.append([v / s for v in g])
    return out


# ---- Baum-Welch ---------------------------------------------------------------------


def baum_welch(
    y: Any,
    start: HmmParams,
    *,
    sticky_diag: float = 20.0,
    sticky_off: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 200,
    var_floor: Sequence[float],
) -> FitResult:
    """MAP Baum-Welch with sticky Dirichlet pseudo-counts on the transition rows.

    ``y`` is T rows of D floats (tuples, lists or a T x D array) or
    :class:`Observations`.  Stops when the
    per-observation gain of the log posterior is below ``tol`` or after ``max_iter``
    iterations (§5).

    Raises
    ------
    ArithmeticError
        If the log posterior decreases by more than 1e-9 (EM/MAP is monotone: a bug).
    """
    # array('d') columns: the kernel reads them as C doubles, without a conversion.
    obs = y if isinstance(y, Observations) else Observations(y)
    cols, sqs = obs.arrays, obs.squares
    floor = [float(v) for v in var_floor]
    if len(cols) == 2 and start.k in (2, 3) and max_iter >= 1 and len(floor) == 2:
        # The regime estimator's shapes: the whole loop in the kernel (the same bits).
        pi, a, mu, var, loglik, obj, it, tol_hit, occ, gamma, last = fit_d2(
            cols[0], cols[1], sqs[0], sqs[1], start.pi, start.A, start.mu, start.var,
            sticky_diag, sticky_off, tol, max_iter, floor[0], floor[1],
        )  # fmt: skip
        return FitResult(
            HmmParams(pi, a, mu, var),
            loglik,
            obj,
            it,
            tol_hit,
            occ,
            [list(col) for col in gamma],
            last,
            len(cols[0]),
        )
    return _baum_welch_lists(cols, sqs, start, sticky_diag, sticky_off, tol, max_iter, floor)


def _baum_welch_lists(
    cols: list[array],
    sqs: list[array],
    start: HmmParams,
    sticky_diag: float,
    sticky_off: float,
    tol: float,
    max_iter: int,
    floor: list[float],
) -> FitResult:
    """:func:`baum_welch`'s loop for any K and D, in Python (the kernel's
    :func:`~framework.kernel.hmm_estep.fit_d2` runs the same steps for D = 2, K = 2 or 3)."""
    p = start
    k, dims = p.k, len(cols)
    rk, rd = range(k), range(dims)
    t_len = len(cols[0])
    # Dirichlet pseudo-counts minus one: a_ij - 1, and each row's sum.
    pm1 = [[(sticky_diag if i == j else sticky_off) - 1.0 for j in rk] for i in rk]
    pm1_row = [_lsum(row) for row in pm1]
    prev_obj = -math.inf
    tol_hit = False
    it = 0
    est: _EStep | None = None
    obj = -math.inf
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        est = _estep(cols, sqs, p)
        lp = 0.0
        for i in rk:
            for j in rk:
                lp += pm1[i][j] * log(max(p.A[i][j], 1e-300))
        obj = est.loglik + lp
        if obj < prev_obj - 1e-9 * max(1.0, abs(prev_obj)):
            raise ArithmeticError(f"Baum-Welch log posterior fell: {prev_obj} -> {obj}")
        if (obj - prev_obj) / t_len < tol:
            tol_hit = True
            break
        prev_obj = obj
        a_new = []
        for i in rk:
            xi = est.xi[i]
            den = _lsum(xi) + pm1_row[i]
            a_new.append([(xi[j] + pm1[i][j]) / den for j in rk])
        mu, var = [], []
        for j in rk:
            w = est.occupancy[j]
            if w > 1e-8:
                m = [est.gy[j][d] / w for d in rd]
                mu.append(m)
                var.append([max(est.gyy[j][d] / w - m[d] * m[d], floor[d]) for d in rd])
            else:  # an empty state keeps its emission (no 0/0)
                mu.append(p.mu[j])
                var.append(p.var[j])
        g0 = [col[0] for col in est.gamma]
        s0 = _lsum(g0)
        p = HmmParams([v / s0 for v in g0], a_new, mu, var)
    assert est is not None, "max_iter must be >= 1"
    gamma = [list(col) for col in est.gamma]  # the last E-step's, as Python floats
    return FitResult(
        p, est.loglik, obj, it, tol_hit, tuple(est.occupancy), gamma, est.last_filtered, t_len
    )


def filter_step(
    log_l: Sequence[float], logb: Sequence[float], log_a: Sequence[Sequence[float]]
) -> list[float]:
    """One log-space forward step: ``ℓ_t = u - LSE(u)``, ``u = log b + LSE_i(ℓ_{t-1} + log A)``.

    The reference form of §5 (the estimator runs its scaled equivalent).
    """
    k = len(log_l)
    u = []
    for j in range(k):
        m = [log_l[i] + log_a[i][j] for i in range(k)]
        mx = max(m)
        u.append(logb[j] + mx + log(_lsum(exp(v - mx) for v in m)))
    umax = max(u)
    lse = umax + log(_lsum(exp(v - umax) for v in u))
    return [v - lse for v in u]
