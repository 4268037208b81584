"""The Q-learner's per-row scans, typed: the largest value and where it is.

Every Q-learning step (17 280 a day at 5 s) scans a row of 15 action values twice: the
greedy action (:func:`row_argmax`) and the next state's value (:func:`row_max`).  The
table stays the strategy's lists of Python floats; compiled, the scans read them as C
doubles.  numpy's rules, as the Python they replace: the first maximum wins, and a NaN
is the answer (its index, or the NaN itself) as soon as one is met.  Comparisons only:
the same bits on every path.
"""

from __future__ import annotations

import cython

if cython.compiled:  # a C call; interpreted, the Python function (the same bits)
    from cython.cimports.framework.kernel.fpmath import pow as fpow
else:
    from framework.kernel.fpmath import pow as fpow


@cython.ccall
def row_argmax(row: list) -> cython.Py_ssize_t:
    """numpy's argmax on a list: the first maximum, or the first NaN if there is one."""
    best: cython.double = row[0]
    at: cython.Py_ssize_t = 0
    if best != best:
        return 0
    v: cython.double
    i: cython.Py_ssize_t
    for i in range(1, len(row)):
        v = row[i]
        if v != v:
            return i
        if v > best:
            best = v
            at = i
    return at


@cython.ccall
def row_max(row: list) -> cython.double:
    """numpy's max on a list: NaN if any value is NaN."""
    best: cython.double = row[0]
    v: cython.double
    i: cython.Py_ssize_t
    for i in range(len(row)):
        v = row[i]
        if v != v:
            return v
        if v > best:
            best = v
    return best


def epsilon(counts: list, eps0: cython.double, eps_min: cython.double) -> cython.double:
    """The exploration rate ``max(ε_min, ε0 / (1 + N(s)/100))`` of a state whose action
    visit counts are ``counts`` (their sum is exact: integers)."""
    total: cython.longlong = 0
    c: cython.longlong
    i: cython.Py_ssize_t
    for i in range(len(counts)):
        c = counts[i]  # a typed local, not cython.cast: interpreted, a cast is a call
        total += c
    share: cython.double = total
    eps: cython.double = eps0 / (1.0 + share / 100.0)
    return eps if eps > eps_min else eps_min


def greedy(q_row: list, n_row: list, trust: cython.longlong, default: cython.Py_ssize_t) -> int:
    """The row's greedy action once it has ``trust`` visits, else ``default``."""
    a: cython.Py_ssize_t = row_argmax(q_row)
    visits: cython.longlong = n_row[a]
    return a if visits >= trust else default


def watkins(
    row: list,
    counts: list,
    a: cython.Py_ssize_t,
    reward: cython.double,
    discount: cython.double,
    omega: cython.double,
    next_row: list,
) -> None:
    """Watkins' update of action ``a`` of ``row`` (``α = 1/(1+N)^ω``, the target the
    reward plus the discounted best of ``next_row``) and its visit count."""
    n: cython.longlong = counts[a]
    alpha: cython.double = 1.0 / fpow(1.0 + n, omega)  # n as a double, exact (< 2**53)
    target: cython.double = reward + discount * row_max(next_row)
    old: cython.double = row[a]
    row[a] = old + alpha * (target - old)
    counts[a] = n + 1
