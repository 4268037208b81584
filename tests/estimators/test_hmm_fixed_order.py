"""The plain-float HMM and statistics against the numpy implementation they replaced.

The engine's HMM, n_eff and means / variances no longer use BLAS or numpy reductions
(their kernels, and so their last bits, depend on the CPU; replay must not).  The old
numpy implementation is kept here, verbatim, as the oracle: on fixed data the new code
must agree to floating noise (1e-9 relative) and take the same EM path.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import attrs
import numpy as np
import pytest

from framework.estimators import hmm
from framework.estimators.base import fmean, fstd, fvar, n_eff_autocorr

REPO = Path(__file__).resolve().parents[2]

# ---- the oracle: framework/estimators/hmm.py before the fixed-order rewrite --------------

LOG_2PI = math.log(2.0 * math.pi)


@attrs.frozen
class OldParams:
    pi: np.ndarray
    A: np.ndarray
    mu: np.ndarray
    var: np.ndarray

    @property
    def k(self) -> int:
        return len(self.pi)


def old_log_emission(y, p):
    diff = y[:, None, :] - p.mu[None, :, :]
    return -0.5 * (np.log(p.var)[None] + LOG_2PI + diff * diff / p.var[None]).sum(axis=2)


def old_quantile_init(y, k, var_floor):
    order = np.argsort(y[:, 0], kind="stable")
    groups = np.array_split(order, k)
    mu = np.array([y[g].mean(axis=0) for g in groups])
    var = np.array([np.maximum(y[g].var(axis=0), var_floor) for g in groups])
    a = 0.9 * np.eye(k) + 0.1 / k
    return OldParams(np.full(k, 1.0 / k), a, mu, var)


def old_width_init(y, k, var_floor):
    lo, hi = np.percentile(y[:, 0], [2.0, 98.0])
    edges = lo + (hi - lo) * np.arange(1, k) / k
    grp = np.searchsorted(edges, y[:, 0])
    if np.bincount(grp, minlength=k).min() < 2:
        return old_quantile_init(y, k, var_floor)
    mu = np.array([y[grp == j].mean(axis=0) for j in range(k)])
    var = np.array([np.maximum(y[grp == j].var(axis=0), var_floor) for j in range(k)])
    a = 0.9 * np.eye(k) + 0.1 / k
    return OldParams(np.full(k, 1.0 / k), a, mu, var)


def old_forward_backward(
    logb: np.ndarray, p: OldParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """:func:`forward_backward` plus the shifted emissions ``b`` (the M-step reuses them)."""
    k = logb.shape[1]
    shift = logb.max(axis=1)
    b = np.exp(logb - shift[:, None])
    if k == 3:
        b0s, b1s, b2s = b.T.tolist()
        alpha, beta, c = old_fb3(b0s, b1s, b2s, p.A.tolist(), p.pi.tolist())
    else:
        al, bl, c = old_fb_any(b.tolist(), p.A.tolist(), p.pi.tolist())
        alpha, beta = np.asarray(al), np.asarray(bl)
    c_arr = np.asarray(c)
    loglik = float(np.log(c_arr).sum() + shift.sum())
    return alpha, beta, c_arr, loglik, b


def old_fb_any(
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


def old_fb3(
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


def old_baum_welch(
    y, start, *, sticky_diag=20.0, sticky_off=1.0, tol=1e-6, max_iter=200, var_floor
):
    p = start
    k = p.k
    t_len = len(y)
    prior = np.full((k, k), sticky_off) + np.eye(k) * (sticky_diag - sticky_off)
    prev_obj = -math.inf
    tol_hit = False
    it = 0
    yy = y * y
    for it in range(1, max_iter + 1):  # noqa: B007
        logb = old_log_emission(y, p)
        alpha, beta, c, loglik, b = old_forward_backward(logb, p)
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
        alive = w > 1e-8
        wd = np.where(alive, w, 1.0)[:, None]
        mu = np.where(alive[:, None], (gamma.T @ y) / wd, p.mu)
        var = np.where(
            alive[:, None],
            np.maximum((gamma.T @ yy) / wd - mu * mu, var_floor[None, :]),
            p.var,
        )
        p = OldParams(gamma[0] / gamma[0].sum(), a_new, mu, var)
    return p, loglik, obj, it, tol_hit, gamma, alpha[-1]


def old_n_eff(x, max_lag):
    d = np.asarray(x, dtype=np.float64)
    n = len(d)
    if n < 3 or max_lag < 1:
        return float(n)
    d = d - d.mean()
    var = float(d @ d)
    if var <= 0:
        return float(n)
    s = sum(float(d[:-lag] @ d[lag:]) for lag in range(1, min(max_lag, n - 1) + 1)) / var
    return n / (1.0 + 2.0 * max(0.0, s))


# ---- fixed data ----------------------------------------------------------------------------


def _chain(k: int, n: int, seed: int) -> np.ndarray:
    """Bucket-like observations (ln RV, a trend score) from a sticky K-state chain."""
    rng = np.random.default_rng(seed)
    z = np.zeros(n, dtype=int)
    for t in range(1, n):
        z[t] = z[t - 1] if rng.random() < 0.95 else rng.integers(k)
    mu = np.array([[-14.5, 0.7], [-12.5, 0.9], [-13.5, 2.0]])[:k]
    return mu[z] + rng.standard_normal((n, 2)) * np.array([0.3, 0.5])


RTOL = 1e-9


def _close(new, old) -> None:
    np.testing.assert_allclose(np.asarray(new, dtype=float), old, rtol=RTOL, atol=1e-300)


@pytest.mark.parametrize(("k", "seed", "dims"), [(3, 1, 2), (3, 2, 2), (2, 3, 2), (3, 4, 1)])
def test_baum_welch_matches_the_numpy_oracle(k, seed, dims):
    y = _chain(3, 500, seed)[:, :dims]
    floor = 1e-3 * y.var(axis=0) + 1e-12
    for init_new, init_old in (
        (hmm.quantile_init, old_quantile_init),
        (hmm.width_init, old_width_init),
    ):
        s_new = init_new([tuple(r) for r in y.tolist()], k, floor.tolist())
        s_old = init_old(y, k, floor)
        _close(s_new.mu, s_old.mu)
        _close(s_new.var, s_old.var)
        fit = hmm.baum_welch(y, s_new, var_floor=floor.tolist())
        p, loglik, obj, it, tol_hit, gamma, last = old_baum_welch(y, s_old, var_floor=floor)
        assert (fit.iterations, fit.tol_hit) == (it, tol_hit)
        assert it > 3  # the comparison covers several M-steps
        assert fit.loglik == pytest.approx(loglik, rel=RTOL)
        assert fit.objective == pytest.approx(obj, rel=RTOL)
        for name in ("pi", "A", "mu", "var"):
            _close(getattr(fit.params, name), getattr(p, name))
        _close(fit.occupancy, gamma.sum(axis=0))
        _close(np.asarray(fit.gamma).T, gamma)
        _close(fit.last_filtered, last)
        assert fit.n == len(y)


def test_forward_backward_and_emissions_match_the_oracle():
    y = _chain(3, 400, 5)
    floor = 1e-3 * y.var(axis=0)
    p_old = old_quantile_init(y, 3, floor)
    p_old = attrs.evolve(p_old, A=np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]]))
    p_new = hmm.HmmParams(p_old.pi, p_old.A, p_old.mu, p_old.var)
    _close(hmm.log_emission(y, p_new), old_log_emission(y, p_old))
    alpha, beta, c, loglik = hmm.forward_backward(y, p_new)
    o_alpha, o_beta, o_c, o_loglik, _ = old_forward_backward(old_log_emission(y, p_old), p_old)
    _close(alpha, o_alpha)
    _close(beta, o_beta)
    _close(c, o_c)
    assert loglik == pytest.approx(o_loglik, rel=RTOL)
    g = o_alpha * o_beta
    _close(hmm.smoothed(y, p_new), g / g.sum(axis=1, keepdims=True))


def test_fixed_order_statistics_match_numpy():
    rng = np.random.default_rng(9)
    for n in (3, 20, 257, 1000):
        x = rng.standard_t(3, n) * 7.0 + 0.5
        assert fmean(x.tolist()) == pytest.approx(float(x.mean()), rel=1e-12)
        assert fvar(x.tolist(), 1) == pytest.approx(float(x.var(ddof=1)), rel=1e-12)
        assert fstd(x, 1) == pytest.approx(float(x.std(ddof=1)), rel=1e-12)
        for lag in (1, 5, 50):
            assert n_eff_autocorr(x, lag) == pytest.approx(old_n_eff(x, lag), rel=1e-9)
    assert math.isnan(fmean([])) and math.isnan(fvar([1.0], 1))


ENGINE_MODULES = ("framework/estimators/hmm.py", "framework/estimators/regime.py",
                  "framework/estimators/base.py")  # fmt: skip


@pytest.mark.parametrize("path", ENGINE_MODULES)
def test_engine_hmm_modules_compute_nothing_with_numpy(path):
    """The refit, filter and the shared statistics import neither numpy nor scipy."""
    tree = ast.parse((REPO / path).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert not imported & {"numpy", "scipy"}, imported


@pytest.mark.parametrize("k", [2, 3])
def test_a_window_transposed_once_fits_to_the_same_bits(k):
    """Observations (the regime refit's window, transposed once for every start and
    fit) give the starts and the fit exactly what the rows give."""
    rows = [tuple(r) for r in _chain(3, 400, 7).tolist()]
    obs = hmm.Observations(rows)
    assert len(obs) == 400 and hmm.as_columns(obs) is obs.cols
    floor = [1e-3, 1e-3]
    for init in (hmm.quantile_init, hmm.width_init):
        start = init(rows, k, floor)
        assert init(obs, k, floor) == start
        a, b = (
            hmm.baum_welch(rows, start, var_floor=floor),
            hmm.baum_welch(obs, start, var_floor=floor),
        )
        assert a.iterations > 3
        assert repr(attrs.astuple(a)) == repr(attrs.astuple(b))  # every float, to the bit
