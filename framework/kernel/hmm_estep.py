"""The regime HMM's E-step for D = 2 features and K = 3 or 2 states, typed.

One call is one Baum-Welch E-step over the window: the shifted emissions and the
scaled forward recursion in one pass, then one backward pass that computes beta with
every M-step sum on the way (posteriors, transition counts, weighted first and second
moments), as :func:`framework.estimators.hmm._estep_any` does for any K and D.  The
maths and its derivation are in :mod:`framework.estimators.hmm`; this module only
holds the two hot cases in a form Cython compiles to plain C loops.

Bits **[ours: replay must be bit-exact on any CPU, compiled or not]**: every
expression is the interpreted one, operand for operand and in the same order (C
evaluates ``a * b * c`` as ``(a * b) * c`` as Python does, and the build forbids
contraction into fused multiply-adds); ``exp``/``log`` are
:mod:`framework.kernel.fpmath`'s on both paths (libm's vary with the CPU); the
log-likelihood's sums stay :func:`math.fsum`.  Division keeps Python's zero check (no
``cdivision``), and a negative normaliser raises as
:func:`~framework.kernel.fpmath.log` would, so a degenerate window fails the same way
on both paths.

Inputs are ``array('d')`` (or anything with the buffer protocol and ``double``
items; interpreted, any sequence of floats).  The result is the tuple
``(loglik, last_filtered, xi, occupancy, gy, gyy, gamma)`` of
:class:`framework.estimators.hmm._EStep`, as Python floats and lists; ``gamma``'s K
columns are ``array('d')`` (only the last E-step's are read as Python floats).
"""

from __future__ import annotations

import math
from array import array

import cython

if cython.compiled:  # a C call; interpreted, the Python module (the same bits)
    from cython.cimports.cpython.array import clone
    from cython.cimports.framework.kernel.fpmath import exp, log
    from cython.cimports.framework.kernel.fsum import fsum_view
else:
    from framework.kernel.fpmath import exp, log
    from framework.kernel.fsum import fsum_view

_DOUBLES = array("d")  # the template of _zeros' arrays
LOG_2PI = cython.declare(cython.double, log(2.0 * math.pi))
INF = cython.declare(cython.double, math.inf)


@cython.cfunc
def _zeros(n: cython.Py_ssize_t) -> object:
    if cython.compiled:
        return clone(_DOUBLES, n, True)
    return array("d", bytes(8 * n))


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _log_normalisers(c: cython.double[::1], out: cython.double[::1]) -> cython.void:
    """``out[t] = log(c[t])``, raising where ``log`` would (after the forward
    pass, as the interpreted reference takes its logs after it)."""
    t: cython.Py_ssize_t
    x: cython.double
    for t in range(len(c)):
        x = c[t]
        if x <= 0.0:  # 0 cannot reach here: 1/c_t raised first
            raise ValueError("math domain error")
        out[t] = log(x)


def _check(
    n: cython.Py_ssize_t, n1: cython.Py_ssize_t, n2: cython.Py_ssize_t, n3: cython.Py_ssize_t
) -> None:
    if n == 0:
        raise IndexError("an HMM E-step needs at least one observation")
    if n1 != n or n2 != n or n3 != n:
        raise ValueError(f"the E-step's columns differ in length: {n}, {n1}, {n2}, {n3}")


@cython.ccall
@cython.boundscheck(False)
@cython.wraparound(False)
def estep32(
    y0s: cython.double[::1],
    y1s: cython.double[::1],
    q0s: cython.double[::1],
    q1s: cython.double[::1],
    mu: tuple,
    ivs: tuple,
    consts: tuple,
    a: tuple,
    pi: tuple,
) -> tuple:
    """One E-step for K = 3, D = 2: ``y*s`` the two features, ``q*s`` their squares,
    ``mu``/``ivs`` (3 x 2) the means and inverse variances, ``consts`` the emission
    constants, ``a`` (3 x 3) and ``pi`` the chain."""
    n: cython.Py_ssize_t = len(y0s)
    _check(n, len(y1s), len(q0s), len(q1s))
    t: cython.Py_ssize_t
    m00: cython.double
    m01: cython.double
    m10: cython.double
    m11: cython.double
    m20: cython.double
    m21: cython.double
    i00: cython.double
    i01: cython.double
    i10: cython.double
    i11: cython.double
    i20: cython.double
    i21: cython.double
    k0: cython.double
    k1: cython.double
    k2: cython.double
    a00: cython.double
    a01: cython.double
    a02: cython.double
    a10: cython.double
    a11: cython.double
    a12: cython.double
    a20: cython.double
    a21: cython.double
    a22: cython.double
    p0: cython.double
    p1: cython.double
    p2: cython.double
    (m00, m01), (m10, m11), (m20, m21) = mu
    (i00, i01), (i10, i11), (i20, i21) = ivs
    k0, k1, k2 = consts
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = a
    p0, p1, p2 = pi
    u: cython.double
    v: cython.double
    uu: cython.double
    vv: cython.double
    d: cython.double
    e: cython.double
    l0: cython.double
    l1: cython.double
    l2: cython.double
    mx: cython.double
    b0: cython.double
    b1: cython.double
    b2: cython.double
    x0: cython.double
    x1: cython.double
    x2: cython.double
    s: cython.double
    r: cython.double
    e0: cython.double[::1] = _zeros(n)
    e1: cython.double[::1] = _zeros(n)
    e2: cython.double[::1] = _zeros(n)
    f0: cython.double[::1] = _zeros(n)
    f1: cython.double[::1] = _zeros(n)
    f2: cython.double[::1] = _zeros(n)
    c: cython.double[::1] = _zeros(n)
    shifts = _zeros(n)
    sh: cython.double[::1] = shifts
    # Forward, with the shifted emissions computed on the way (kept for the backward).
    # The step before t = 0 is pi itself, not pi A.
    for t in range(n):
        u = y0s[t]
        v = y1s[t]
        d = u - m00
        e = v - m01
        l0 = k0 - 0.5 * (d * d * i00 + e * e * i01)
        d = u - m10
        e = v - m11
        l1 = k1 - 0.5 * (d * d * i10 + e * e * i11)
        d = u - m20
        e = v - m21
        l2 = k2 - 0.5 * (d * d * i20 + e * e * i21)
        mx = l0 if l0 >= l1 else l1
        if l2 > mx:
            mx = l2
        # The largest is exp(0.0), exactly 1.0 on both paths: not computed.
        d = l0 - mx
        b0 = 1.0 if d == 0.0 else exp(d)
        d = l1 - mx
        b1 = 1.0 if d == 0.0 else exp(d)
        d = l2 - mx
        b2 = 1.0 if d == 0.0 else exp(d)
        e0[t] = b0
        e1[t] = b1
        e2[t] = b2
        sh[t] = mx
        if t == 0:
            x0 = p0 * b0
            x1 = p1 * b1
            x2 = p2 * b2
        else:
            x0 = (p0 * a00 + p1 * a10 + p2 * a20) * b0
            x1 = (p0 * a01 + p1 * a11 + p2 * a21) * b1
            x2 = (p0 * a02 + p1 * a12 + p2 * a22) * b2
        s = x0 + x1 + x2
        c[t] = s
        r = 1.0 / s
        p0 = x0 * r
        p1 = x1 * r
        p2 = x2 * r
        f0[t] = p0
        f1[t] = p1
        f2[t] = p2
    last = (p0, p1, p2)
    logc = _zeros(n)
    _log_normalisers(c, logc)
    loglik = fsum_view(logc) + fsum_view(shifts)
    # t = T-1: beta = 1, gamma = alpha.
    gam0 = _zeros(n)
    gam1 = _zeros(n)
    gam2 = _zeros(n)
    gc0: cython.double[::1] = gam0
    gc1: cython.double[::1] = gam1
    gc2: cython.double[::1] = gam2
    g0: cython.double
    g1: cython.double
    g2: cython.double
    al0: cython.double
    al1: cython.double
    al2: cython.double
    w0: cython.double
    w1: cython.double
    w2: cython.double
    q0: cython.double = 1.0
    q1: cython.double = 1.0
    q2: cython.double = 1.0
    t = n - 1
    u = y0s[t]
    v = y1s[t]
    uu = q0s[t]
    vv = q1s[t]
    s = p0 + p1 + p2
    g0 = p0 / s
    g1 = p1 / s
    g2 = p2 / s
    gc0[t] = g0
    gc1[t] = g1
    gc2[t] = g2
    n0: cython.double = g0
    n1: cython.double = g1
    n2: cython.double = g2
    s00: cython.double = g0 * u
    s01: cython.double = g0 * v
    s10: cython.double = g1 * u
    s11: cython.double = g1 * v
    s20: cython.double = g2 * u
    s21: cython.double = g2 * v
    t00: cython.double = g0 * uu
    t01: cython.double = g0 * vv
    t10: cython.double = g1 * uu
    t11: cython.double = g1 * vv
    t20: cython.double = g2 * uu
    t21: cython.double = g2 * vv
    x00: cython.double = 0.0
    x01: cython.double = 0.0
    x02: cython.double = 0.0
    x10: cython.double = 0.0
    x11: cython.double = 0.0
    x12: cython.double = 0.0
    x20: cython.double = 0.0
    x21: cython.double = 0.0
    x22: cython.double = 0.0
    # t = T-2 ... 0: beta_t from b_{t+1}, beta_{t+1}, c_{t+1}; every sum on the way.
    for t in range(n - 2, -1, -1):
        r = 1.0 / c[t + 1]
        w0 = e0[t + 1] * q0 * r
        w1 = e1[t + 1] * q1 * r
        w2 = e2[t + 1] * q2 * r
        al0 = f0[t]
        al1 = f1[t]
        al2 = f2[t]
        x00 += al0 * w0
        x01 += al0 * w1
        x02 += al0 * w2
        x10 += al1 * w0
        x11 += al1 * w1
        x12 += al1 * w2
        x20 += al2 * w0
        x21 += al2 * w1
        x22 += al2 * w2
        q0 = a00 * w0 + a01 * w1 + a02 * w2
        q1 = a10 * w0 + a11 * w1 + a12 * w2
        q2 = a20 * w0 + a21 * w1 + a22 * w2
        g0 = al0 * q0
        g1 = al1 * q1
        g2 = al2 * q2
        s = g0 + g1 + g2
        g0 = g0 / s
        g1 = g1 / s
        g2 = g2 / s
        gc0[t] = g0
        gc1[t] = g1
        gc2[t] = g2
        n0 += g0
        n1 += g1
        n2 += g2
        u = y0s[t]
        v = y1s[t]
        uu = q0s[t]
        vv = q1s[t]
        s00 += g0 * u
        s01 += g0 * v
        s10 += g1 * u
        s11 += g1 * v
        s20 += g2 * u
        s21 += g2 * v
        t00 += g0 * uu
        t01 += g0 * vv
        t10 += g1 * uu
        t11 += g1 * vv
        t20 += g2 * uu
        t21 += g2 * vv
    return (
        loglik,
        last,
        [
            [a00 * x00, a01 * x01, a02 * x02],
            [a10 * x10, a11 * x11, a12 * x12],
            [a20 * x20, a21 * x21, a22 * x22],
        ],
        [n0, n1, n2],
        [[s00, s01], [s10, s11], [s20, s21]],
        [[t00, t01], [t10, t11], [t20, t21]],
        [gam0, gam1, gam2],
    )


@cython.ccall
@cython.boundscheck(False)
@cython.wraparound(False)
def estep22(
    y0s: cython.double[::1],
    y1s: cython.double[::1],
    q0s: cython.double[::1],
    q1s: cython.double[::1],
    mu: tuple,
    ivs: tuple,
    consts: tuple,
    a: tuple,
    pi: tuple,
) -> tuple:
    """:func:`estep32` for K = 2 (the other half of the BIC choice)."""
    n: cython.Py_ssize_t = len(y0s)
    _check(n, len(y1s), len(q0s), len(q1s))
    t: cython.Py_ssize_t
    m00: cython.double
    m01: cython.double
    m10: cython.double
    m11: cython.double
    i00: cython.double
    i01: cython.double
    i10: cython.double
    i11: cython.double
    k0: cython.double
    k1: cython.double
    a00: cython.double
    a01: cython.double
    a10: cython.double
    a11: cython.double
    p0: cython.double
    p1: cython.double
    (m00, m01), (m10, m11) = mu
    (i00, i01), (i10, i11) = ivs
    k0, k1 = consts
    (a00, a01), (a10, a11) = a
    p0, p1 = pi
    u: cython.double
    v: cython.double
    uu: cython.double
    vv: cython.double
    d: cython.double
    e: cython.double
    l0: cython.double
    l1: cython.double
    mx: cython.double
    b0: cython.double
    b1: cython.double
    x0: cython.double
    x1: cython.double
    s: cython.double
    r: cython.double
    e0: cython.double[::1] = _zeros(n)
    e1: cython.double[::1] = _zeros(n)
    f0: cython.double[::1] = _zeros(n)
    f1: cython.double[::1] = _zeros(n)
    c: cython.double[::1] = _zeros(n)
    shifts = _zeros(n)
    sh: cython.double[::1] = shifts
    for t in range(n):
        u = y0s[t]
        v = y1s[t]
        d = u - m00
        e = v - m01
        l0 = k0 - 0.5 * (d * d * i00 + e * e * i01)
        d = u - m10
        e = v - m11
        l1 = k1 - 0.5 * (d * d * i10 + e * e * i11)
        mx = l0 if l0 >= l1 else l1
        # The largest is exp(0.0), exactly 1.0 on both paths: not computed.
        d = l0 - mx
        b0 = 1.0 if d == 0.0 else exp(d)
        d = l1 - mx
        b1 = 1.0 if d == 0.0 else exp(d)
        e0[t] = b0
        e1[t] = b1
        sh[t] = mx
        if t == 0:
            x0 = p0 * b0
            x1 = p1 * b1
        else:
            x0 = (p0 * a00 + p1 * a10) * b0
            x1 = (p0 * a01 + p1 * a11) * b1
        s = x0 + x1
        c[t] = s
        r = 1.0 / s
        p0 = x0 * r
        p1 = x1 * r
        f0[t] = p0
        f1[t] = p1
    last = (p0, p1)
    logc = _zeros(n)
    _log_normalisers(c, logc)
    loglik = fsum_view(logc) + fsum_view(shifts)
    gam0 = _zeros(n)
    gam1 = _zeros(n)
    gc0: cython.double[::1] = gam0
    gc1: cython.double[::1] = gam1
    g0: cython.double
    g1: cython.double
    al0: cython.double
    al1: cython.double
    w0: cython.double
    w1: cython.double
    q0: cython.double = 1.0
    q1: cython.double = 1.0
    t = n - 1
    u = y0s[t]
    v = y1s[t]
    uu = q0s[t]
    vv = q1s[t]
    s = p0 + p1
    g0 = p0 / s
    g1 = p1 / s
    gc0[t] = g0
    gc1[t] = g1
    n0: cython.double = g0
    n1: cython.double = g1
    s00: cython.double = g0 * u
    s01: cython.double = g0 * v
    s10: cython.double = g1 * u
    s11: cython.double = g1 * v
    t00: cython.double = g0 * uu
    t01: cython.double = g0 * vv
    t10: cython.double = g1 * uu
    t11: cython.double = g1 * vv
    x00: cython.double = 0.0
    x01: cython.double = 0.0
    x10: cython.double = 0.0
    x11: cython.double = 0.0
    for t in range(n - 2, -1, -1):
        r = 1.0 / c[t + 1]
        w0 = e0[t + 1] * q0 * r
        w1 = e1[t + 1] * q1 * r
        al0 = f0[t]
        al1 = f1[t]
        x00 += al0 * w0
        x01 += al0 * w1
        x10 += al1 * w0
        x11 += al1 * w1
        q0 = a00 * w0 + a01 * w1
        q1 = a10 * w0 + a11 * w1
        g0 = al0 * q0
        g1 = al1 * q1
        s = g0 + g1
        g0 = g0 / s
        g1 = g1 / s
        gc0[t] = g0
        gc1[t] = g1
        n0 += g0
        n1 += g1
        u = y0s[t]
        v = y1s[t]
        uu = q0s[t]
        vv = q1s[t]
        s00 += g0 * u
        s01 += g0 * v
        s10 += g1 * u
        s11 += g1 * v
        t00 += g0 * uu
        t01 += g0 * vv
        t10 += g1 * uu
        t11 += g1 * vv
    return (
        loglik,
        last,
        [[a00 * x00, a01 * x01], [a10 * x10, a11 * x11]],
        [n0, n1],
        [[s00, s01], [s10, s11]],
        [[t00, t01], [t10, t11]],
        [gam0, gam1],
    )


# ---- the Baum-Welch loop -------------------------------------------------------------


@cython.cfunc
def _emission_consts(mu: tuple, var: tuple) -> tuple:
    """:func:`framework.estimators.hmm.emission_consts` of D = 2 rows, as C doubles."""
    ivs: list = []
    consts: list = []
    s: cython.double
    v0: cython.double
    v1: cython.double
    for row in var:
        v0, v1 = row
        ivs.append((1.0 / v0, 1.0 / v1))
        s = 0.0
        s += log(v0)
        s += log(v1)
        consts.append(-0.5 * (s + 2.0 * LOG_2PI))
    return mu, tuple(ivs), tuple(consts)


@cython.ccall
def fit_d2(
    y0s: cython.double[::1],
    y1s: cython.double[::1],
    q0s: cython.double[::1],
    q1s: cython.double[::1],
    pi: tuple,
    a: tuple,
    mu: tuple,
    var: tuple,
    sticky_diag: cython.double,
    sticky_off: cython.double,
    tol: cython.double,
    max_iter: cython.Py_ssize_t,
    floor0: cython.double,
    floor1: cython.double,
) -> tuple:
    """:func:`framework.estimators.hmm.baum_welch` for D = 2 and K = 3 or 2, from the
    start ``(pi, a, mu, var)`` (tuples of floats): the E-steps above called as C
    functions, the M-step's few sums in C, each in the reference's order.

    Returns ``(pi, a, mu, var, loglik, objective, iterations, tol_hit, occupancy,
    gamma, last_filtered)``: the fitted chain (tuples) and the last E-step's figures
    (``gamma`` its K ``array('d')`` columns).
    """
    k: cython.Py_ssize_t = len(pi)
    if k != 2 and k != 3:
        raise ValueError(f"fit_d2 fits K = 2 or 3 states, not {k}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    n: cython.Py_ssize_t = len(y0s)
    i: cython.Py_ssize_t
    j: cython.Py_ssize_t
    # Dirichlet pseudo-counts minus one (a_ij - 1) and each row's left-to-right sum.
    pm1: list = [
        [(sticky_diag if i == j else sticky_off) - 1.0 for j in range(k)] for i in range(k)
    ]
    pm1_row: list = []
    s: cython.double
    for row in pm1:
        s = 0.0
        for x in row:
            s += cython.cast(cython.double, x)
        pm1_row.append(s)
    prev_obj: cython.double = -INF
    obj: cython.double = -INF
    tol_hit: cython.bint = False
    it: cython.Py_ssize_t = 0
    lp: cython.double
    v: cython.double
    w: cython.double
    den: cython.double
    m0: cython.double
    m1: cython.double
    g: cython.double
    est: tuple = None
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        mus, ivs, consts = _emission_consts(mu, var)
        if k == 3:
            est = estep32(y0s, y1s, q0s, q1s, mus, ivs, consts, a, pi)
        else:
            est = estep22(y0s, y1s, q0s, q1s, mus, ivs, consts, a, pi)
        lp = 0.0
        for i in range(k):
            a_row = a[i]
            pm1_i = pm1[i]
            for j in range(k):
                v = a_row[j]
                v = 1e-300 if v < 1e-300 else v  # max(A_ij, 1e-300)
                lp += cython.cast(cython.double, pm1_i[j]) * log(v)
        obj = cython.cast(cython.double, est[0]) + lp
        w = prev_obj if prev_obj >= 0 else -prev_obj  # abs(prev_obj)
        w = w if w > 1.0 else 1.0  # max(1.0, abs(prev_obj))
        if obj < prev_obj - 1e-9 * w:
            raise ArithmeticError(f"Baum-Welch log posterior fell: {prev_obj} -> {obj}")
        if (obj - prev_obj) / n < tol:
            tol_hit = True
            break
        prev_obj = obj
        xi_all: list = est[2]
        occ: list = est[3]
        gy: list = est[4]
        gyy: list = est[5]
        a_new: list = []
        for i in range(k):
            xi: list = xi_all[i]
            pm1_i = pm1[i]
            den = 0.0
            for x in xi:
                den += cython.cast(cython.double, x)
            den += cython.cast(cython.double, pm1_row[i])
            a_new.append(
                tuple(
                    [
                        (cython.cast(cython.double, xi[j]) + cython.cast(cython.double, pm1_i[j]))
                        / den
                        for j in range(k)
                    ]
                )
            )
        mu_new: list = []
        var_new: list = []
        for j in range(k):
            w = occ[j]
            if w > 1e-8:
                m0 = cython.cast(cython.double, gy[j][0]) / w
                m1 = cython.cast(cython.double, gy[j][1]) / w
                mu_new.append((m0, m1))
                v = cython.cast(cython.double, gyy[j][0]) / w - m0 * m0
                g = cython.cast(cython.double, gyy[j][1]) / w - m1 * m1
                var_new.append((floor0 if floor0 > v else v, floor1 if floor1 > g else g))
            else:  # an empty state keeps its emission (no 0/0)
                mu_new.append(mu[j])
                var_new.append(var[j])
        gamma: list = est[6]
        g0: list = [gamma[j][0] for j in range(k)]
        s = 0.0
        for x in g0:
            s += cython.cast(cython.double, x)
        pi = tuple([cython.cast(cython.double, x) / s for x in g0])
        a, mu, var = tuple(a_new), tuple(mu_new), tuple(var_new)
    return (
        pi,
        a,
        mu,
        var,
        est[0],
        obj,
        it,
        tol_hit,
        tuple(est[3]),
        est[6],
        est[1],
    )
