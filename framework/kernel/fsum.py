"""Exactly rounded sums: :func:`math.fsum`'s values without a Python float per term.

The engine's fixed-order statistics sum with ``math.fsum`` (exactly rounded, so the
same bits on every CPU; see :mod:`framework.estimators.base`).  ``math.fsum`` takes
any iterable and turns each term into a Python float; over an ``array('d')`` window,
as the regime HMM's E-step and its starts have, that is most of its cost.  Here the
same algorithm runs over the C doubles of a list of floats or a ``double`` buffer.

The algorithm is Shewchuk's (the one ``math.fsum`` documents): the running sum is kept
as non-overlapping partials (each addition splits into the rounded sum and its exact
error by two-sum), and the partials are added from the largest down with the final
correction that makes the result the exact sum rounded half-even.  The result is
defined by the exact sum, so it equals ``math.fsum``'s bit for bit; a term that is not
finite, an intermediate overflow, or anything that is not a list or tuple of floats
or a double buffer goes to ``math.fsum`` itself (its values and errors).  Zero
results keep ``math.fsum``'s sign rule: exact zeros are not kept as partials, so a
sum of zeros is ``+0.0``.  Interpreted, every function is ``math.fsum``.
"""

from __future__ import annotations

import math

import cython

if cython.compiled:
    from cython.cimports.cpython.float import PyFloat_AS_DOUBLE
    from cython.cimports.libc.math import fabs, isfinite

_fsum = math.fsum

# Partials kept at most: non-overlapping doubles span the exponent range in fewer than
# 40, so more means something odd; math.fsum then decides.
_MAX_PARTIALS = cython.declare(cython.Py_ssize_t, 64)
_GIVE_UP = cython.declare(cython.Py_ssize_t, -1)  # math.fsum decides


@cython.cfunc
@cython.inline
@cython.boundscheck(False)
@cython.wraparound(False)
def _add(ps: cython.p_double, n: cython.Py_ssize_t, x: cython.double) -> cython.Py_ssize_t:
    """Add ``x`` to the ``n`` partials ``ps`` (increasing magnitude); the new count, or
    _GIVE_UP for a term that is not finite, a sum that left the finite range or
    partials that ran out."""
    if not isfinite(x):
        return _GIVE_UP
    i: cython.Py_ssize_t = 0
    j: cython.Py_ssize_t
    y: cython.double
    t: cython.double
    hi: cython.double
    lo: cython.double
    for j in range(n):
        y = ps[j]
        if fabs(x) < fabs(y):
            t = x
            x = y
            y = t
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            ps[i] = lo
            i += 1
        x = hi
    if x != 0.0:
        if not isfinite(x) or i >= _MAX_PARTIALS:
            return _GIVE_UP
        ps[i] = x
        i += 1
    return i


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _total(ps: cython.p_double, n: cython.Py_ssize_t) -> cython.double:
    """The partials' exact sum, rounded half-even."""
    hi: cython.double = 0.0
    lo: cython.double = 0.0
    x: cython.double
    y: cython.double
    yr: cython.double
    if n == 0:
        return hi
    n -= 1
    hi = ps[n]
    while n > 0:  # from the largest down, until the sum is inexact
        x = hi
        n -= 1
        y = ps[n]
        hi = x + y
        yr = hi - x
        lo = y - yr
        if lo != 0.0:
            break
    # hi + lo is exact; hi is rounded half-even unless lo is exactly half an ulp and
    # the next partial down, of the same sign, breaks the tie away from hi.
    if n > 0 and ((lo < 0.0 and ps[n - 1] < 0.0) or (lo > 0.0 and ps[n - 1] > 0.0)):
        y = lo * 2.0
        x = hi + y
        yr = x - hi
        if y == yr:
            hi = x
    return hi


def fsum(xs: object) -> cython.double:
    """``math.fsum(xs)``: a list or tuple of floats, or a double buffer such as
    ``array('d')``, is summed in C; anything else by ``math.fsum``."""
    if not cython.compiled:
        return _fsum(xs)
    ps = cython.declare(cython.double[64])
    n: cython.Py_ssize_t = 0
    if type(xs) is list or type(xs) is tuple:
        for v in xs:
            if type(v) is not float:
                return _fsum(xs)
            n = _add(ps, n, PyFloat_AS_DOUBLE(v))
            if n < 0:
                return _fsum(xs)
        return _total(ps, n)
    view: cython.const[cython.double][::1]
    try:
        view = xs
    except (TypeError, ValueError):
        return _fsum(xs)
    return fsum_view(view)


@cython.boundscheck(False)
@cython.wraparound(False)
def fsum_view(xs: cython.const[cython.double][::1]) -> cython.double:
    """``math.fsum`` of a contiguous buffer of doubles (``array('d')``, a float64
    array), for kernel modules that hold one as a typed view."""
    if not cython.compiled:
        return _fsum(xs)
    ps = cython.declare(cython.double[64])
    n: cython.Py_ssize_t = 0
    j: cython.Py_ssize_t
    for j in range(xs.shape[0]):
        n = _add(ps, n, xs[j])
        if n < 0:
            return _fsum(xs)
    return _total(ps, n)


def _var_py(x: object, m: float, n: cython.Py_ssize_t, ddof: cython.Py_ssize_t) -> float:
    """The squared deviations' sum as :func:`framework.estimators.base.fvar` writes it."""
    d = [v - m for v in x]
    return _fsum([a * a for a in d]) / (n - ddof)


def fvar(x: object, ddof: cython.Py_ssize_t = 0) -> cython.double:
    """``Σ(x - x̄)² / (n - ddof)`` with ``x̄ = fsum(x) / n``, each sum :func:`fsum`
    (NaN when ``n <= ddof``): :func:`framework.estimators.base.fvar`'s value."""
    n: cython.Py_ssize_t = len(x)
    if n <= ddof:
        return math.nan
    m: cython.double = fsum(x) / n
    if not cython.compiled or type(x) is not list:
        return _var_py(x, m, n, ddof)
    ps = cython.declare(cython.double[64])
    k: cython.Py_ssize_t = 0
    e: cython.double
    for v in x:
        if type(v) is not float:
            return _var_py(x, m, n, ddof)
        e = PyFloat_AS_DOUBLE(v) - m
        k = _add(ps, k, e * e)
        if k < 0:
            return _var_py(x, m, n, ddof)
    return _total(ps, k) / (n - ddof)
