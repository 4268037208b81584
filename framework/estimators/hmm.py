"""A small diagonal-Gaussian HMM: scaled forward-backward and MAP Baum-Welch (mm_math.md §5).

The recursions are the log-space ones of §5 with the usual max-shift: each row's
emission log-densities are shifted by their maximum before exponentiating, and the
forward vector is renormalised every step, so ``log L = Σ ln c_t + Σ shift_t`` and
nothing underflows.  Only the two recursions loop in Python (K <= 3); everything
else is vectorised.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


@attrs.frozen
class HmmParams:
    """K-state diagonal Gaussian HMM: ``pi`` (K), ``A`` (KxK), ``mu`` and ``var`` (KxD)."""

    pi: np.ndarray
    A: np.ndarray
    mu: np.ndarray
    var: np.ndarray

    @property
    def k(self) -> int:
        return len(self.pi)

    def n_free(self) -> int:
        """Free parameters for BIC: ``K(K-1) + 2KD + (K-1)``."""
        k, d = self.mu.shape
        return k * (k - 1) + 2 * k * d + (k - 1)


@attrs.frozen
class FitResult:
    params: HmmParams
    loglik: float
    objective: float  # log posterior (log L + log Dirichlet prior)
    iterations: int
    tol_hit: bool
    gamma: np.ndarray  # T x K smoothed posteriors
    last_filtered: np.ndarray  # K filtered probs at the last observation

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + self.params.n_free() * math.log(len(self.gamma))


def log_emission(y: np.ndarray, p: HmmParams) -> np.ndarray:
    """``log b_j(y_t)`` for every t, j (T x K)."""
    diff = y[:, None, :] - p.mu[None, :, :]
    return -0.5 * (np.log(p.var)[None] + LOG_2PI + diff * diff / p.var[None]).sum(axis=2)


def quantile_init(y: np.ndarray, k: int, var_floor: np.ndarray) -> HmmParams:
    """Deterministic start: sort by y1, split into K quantile groups; ``A = 0.9 I + 0.1/K``."""
    order = np.argsort(y[:, 0], kind="stable")
    groups = np.array_split(order, k)
    mu = np.array([y[g].mean(axis=0) for g in groups])
    var = np.array([np.maximum(y[g].var(axis=0), var_floor) for g in groups])
    a = 0.9 * np.eye(k) + 0.1 / k
    return HmmParams(np.full(k, 1.0 / k), a, mu, var)


def width_init(y: np.ndarray, k: int, var_floor: np.ndarray) -> HmmParams:
    """Deterministic start with equal-*width* y1 groups between its 2nd and 98th percentiles.

    **[ours]** Complements :func:`quantile_init` when one regime dominates the window
    (equal-count groups would split it and lump the rare ones together).
    """
    lo, hi = np.percentile(y[:, 0], [2.0, 98.0])
    edges = lo + (hi - lo) * np.arange(1, k) / k
    grp = np.searchsorted(edges, y[:, 0])
    if np.bincount(grp, minlength=k).min() < 2:
        return quantile_init(y, k, var_floor)
    mu = np.array([y[grp == j].mean(axis=0) for j in range(k)])
    var = np.array([np.maximum(y[grp == j].var(axis=0), var_floor) for j in range(k)])
    a = 0.9 * np.eye(k) + 0.1 / k
    return HmmParams(np.full(k, 1.0 / k), a, mu, var)


def forward_backward(
    logb: np.ndarray, p: HmmParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Scaled forward-backward: ``(alpha_hat, beta_hat, c, loglik)``.

    ``alpha_hat[t]`` are the filtered probabilities, ``c[t]`` the one-step normalisers of
    the shifted emissions.
    """
    alpha, beta, c, loglik, _ = _forward_backward(logb, p)
    return alpha, beta, c, loglik


def _forward_backward(
    logb: np.ndarray, p: HmmParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """:func:`forward_backward` plus the shifted emissions ``b`` (the M-step reuses them)."""
    k = logb.shape[1]
    shift = logb.max(axis=1)
    b = np.exp(logb - shift[:, None])
    if k == 3:
        b0s, b1s, b2s = b.T.tolist()
        alpha, beta, c = _fb3(b0s, b1s, b2s, p.A.tolist(), p.pi.tolist())
    else:
        al, bl, c = _fb_any(b.tolist(), p.A.tolist(), p.pi.tolist())
        alpha, beta = np.asarray(al), np.asarray(bl)
    c_arr = np.asarray(c)
    loglik = float(np.log(c_arr).sum() + shift.sum())
    return alpha, beta, c_arr, loglik, b


def _fb_any(
    bl: list[list[float]], a: list[list[float]], pi: list[float]
) -> tuple[list[list[float]], list[list[float]], list[float]]:
    """Scaled recursions for any K (plain lists: K is tiny, numpy per step is slower)."""
    t_len, k = len(bl), len(pi)
    rk = range(k)
    cols = [[a[i][j] for i in rk] for j in rk]
    alpha: list[list[float]] = [[]] * t_len
    c = [0.0] * t_len
    prev = [pi[j] * bl[0][j] for j in rk]
    s = sum(prev)
    c[0] = s
    alpha[0] = [v / s for v in prev]
    for t in range(1, t_len):
        ap, bt = alpha[t - 1], bl[t]
        cur = [sum(map(float.__mul__, ap, cols[j])) * bt[j] for j in rk]
        s = sum(cur)
        c[t] = s
        alpha[t] = [v / s for v in cur]
    beta: list[list[float]] = [[1.0] * k for _ in range(t_len)]
    for t in range(t_len - 2, -1, -1):
        nb, bt, ct = beta[t + 1], bl[t + 1], c[t + 1]
        w = [bt[j] * nb[j] for j in rk]
        beta[t] = [sum(map(float.__mul__, a[i], w)) / ct for i in rk]
    return alpha, beta, c


def _fb3(
    b0s: list[float],
    b1s: list[float],
    b2s: list[float],
    a: list[list[float]],
    pi: list[float],
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """:func:`_fb_any` unrolled for K = 3 (the refit's hot loop): ``(alpha, beta, c)``.

    Takes the emission columns as three lists and keeps alpha / beta as three columns
    each (appends through bound methods, no per-step list), so the loop body is only
    float arithmetic and the conversion to arrays is one cheap call per pass.
    """
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = a
    b0, b1, b2 = b0s[0], b1s[0], b2s[0]
    x0, x1, x2 = pi[0] * b0, pi[1] * b1, pi[2] * b2
    s = x0 + x1 + x2
    c = [s]
    p0, p1, p2 = x0 / s, x1 / s, x2 / s
    f0, f1, f2 = [p0], [p1], [p2]
    c_app, f0_app, f1_app, f2_app = c.append, f0.append, f1.append, f2.append
    for b0, b1, b2 in zip(b0s[1:], b1s[1:], b2s[1:], strict=True):
        x0 = (p0 * a00 + p1 * a10 + p2 * a20) * b0
        x1 = (p0 * a01 + p1 * a11 + p2 * a21) * b1
        x2 = (p0 * a02 + p1 * a12 + p2 * a22) * b2
        s = x0 + x1 + x2
        c_app(s)
        r = 1.0 / s
        p0, p1, p2 = x0 * r, x1 * r, x2 * r
        f0_app(p0)
        f1_app(p1)
        f2_app(p2)
    q0 = q1 = q2 = 1.0
    g0, g1, g2 = [1.0], [1.0], [1.0]
    g0_app, g1_app, g2_app = g0.append, g1.append, g2.append
    # beta_t from b_{t+1}, beta_{t+1} and c_{t+1}, for t = T-2 ... 0 (built reversed).
    for b0, b1, b2, ct in zip(b0s[:0:-1], b1s[:0:-1], b2s[:0:-1], c[:0:-1], strict=True):
        r = 1.0 / ct
        w0, w1, w2 = b0 * q0 * r, b1 * q1 * r, b2 * q2 * r
        q0 = a00 * w0 + a01 * w1 + a02 * w2
        q1 = a10 * w0 + a11 * w1 + a12 * w2
        q2 = a20 * w0 + a21 * w1 + a22 * w2
        g0_app(q0)
        g1_app(q1)
        g2_app(q2)
    alpha = np.array((f0, f1, f2)).T
    beta = np.array((g0, g1, g2))[:, ::-1].T
    return alpha, beta, c


def baum_welch(
    y: np.ndarray,
    start: HmmParams,
    *,
    sticky_diag: float = 20.0,
    sticky_off: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 200,
    var_floor: np.ndarray,
) -> FitResult:
    """MAP Baum-Welch with sticky Dirichlet pseudo-counts on the transition rows.

    Stops when the per-observation gain of the log posterior is below ``tol`` or after
    ``max_iter`` iterations (§5).

    Raises
    ------
    ArithmeticError
        If the log posterior decreases by more than 1e-9 (EM/MAP is monotone: a bug).
    """
    p = start
    k = p.k
    t_len = len(y)
    prior = np.full((k, k), sticky_off) + np.eye(k) * (sticky_diag - sticky_off)
    prev_obj = -math.inf
    tol_hit = False
    it = 0
    gamma = np.full((t_len, k), 1.0 / k)
    alpha = gamma
    yy = y * y
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        logb = log_emission(y, p)
        alpha, beta, c, loglik, b = _forward_backward(logb, p)
        obj = loglik + float(((prior - 1.0) * np.log(np.maximum(p.A, 1e-300))).sum())
        if obj < prev_obj - 1e-9 * max(1.0, abs(prev_obj)):
            raise ArithmeticError(f"Baum-Welch log posterior fell: {prev_obj} -> {obj}")
        if (obj - prev_obj) / t_len < tol:
            tol_hit = True
            gamma = alpha * beta
            gamma /= gamma.sum(axis=1, keepdims=True)
            break
        prev_obj = obj
        gamma = alpha * beta
        gamma /= gamma.sum(axis=1, keepdims=True)
        xi = p.A * (alpha[:-1].T @ (b[1:] * beta[1:] / c[1:, None]))
        a_new = (xi + prior - 1.0) / (
            xi.sum(axis=1, keepdims=True) + (prior - 1.0).sum(axis=1)[:, None]
        )
        w = gamma.sum(axis=0)
        alive = w > 1e-8  # an empty state keeps its emission (no 0/0)
        wd = np.where(alive, w, 1.0)[:, None]
        mu = np.where(alive[:, None], (gamma.T @ y) / wd, p.mu)
        var = np.where(
            alive[:, None],
            np.maximum((gamma.T @ yy) / wd - mu * mu, var_floor[None, :]),
            p.var,
        )
        p = HmmParams(gamma[0] / gamma[0].sum(), a_new, mu, var)
    return FitResult(p, loglik, obj, it, tol_hit, gamma, alpha[-1])


def filter_step(log_l: np.ndarray, logb: np.ndarray, log_a: np.ndarray) -> np.ndarray:
    """One log-space forward step: ``ℓ_t = u - LSE(u)``, ``u = log b + LSE_i(ℓ_{t-1} + log A)``."""
    m = log_l[:, None] + log_a
    mx = m.max(axis=0)
    u = logb + mx + np.log(np.exp(m - mx[None, :]).sum(axis=0))
    umax = u.max()
    return u - (umax + math.log(float(np.exp(u - umax).sum())))
