"""``exp``, ``log``, ``log1p`` and ``pow`` that give the same bits on every CPU.

Why **[ours: replay must be bit-exact on any CPU]**: glibc's ``exp``, ``log``, ``pow``
(and what builds on them) come in FMA and non-FMA variants chosen at run time by the
CPU (ifunc).  Measured on this project's machines (glibc 2.36): over 200,000 random
inputs each, 139 ``exp``, 2 ``log``, 158 ``x ** 0.7`` and even 145 ``x ** 2`` results
differ in the last bit between the two, so a journal written on a CPU with FMA did not
always verify on one without.  Python's :mod:`math` calls those functions, as does C
code that uses ``libc.math``.

These functions use only IEEE-754 basic operations (``+ - * /``, which are correctly
rounded everywhere), exact scaling by powers of two (``frexp``/``ldexp``) and
comparisons, in a fixed order, and the build forbids contraction into fused
multiply-adds: compiled or interpreted, on any x86-64 or ARM CPU, the same input gives
the same output.  They are not correctly rounded (``exp`` and ``log`` are within about
1 ulp of the true value, ``log1p`` 2, ``pow`` about ``1 + |y ln x|`` ulp); they do not
need to be, only identical everywhere.

The algorithms (standard ones, written from their maths here):

* ``exp(x)``: ``x = k ln2 + r`` with ``k = round(x / ln2)``, ``|r| <= ln2 / 2``, ``ln2``
  split in a 32-bit head (``k * LN2_HI`` is exact) and a tail; ``e^r - 1`` by its Taylor
  series to ``r^13/13!`` (the next term is below 2^-57 of the result) in Horner form;
  then ``ldexp(1 + (e^r - 1), k)``.
* ``log(x)``: ``x = 2^k m`` with ``sqrt(1/2) <= m < sqrt(2)``, ``f = m - 1`` (exact),
  ``s = f / (2 + f)``; ``log(1 + f) = 2 atanh(s) = f - (f²/2 - s (f²/2 + R))`` with
  ``R = Σ 2 s^{2n} / (2n + 1)`` to ``n = 11`` (|s| <= 0.172: the rest is below 2^-58 of
  the result); ``log x = k LN2_HI - ((f²/2 - (s (f²/2 + R) + k LN2_LO)) - f)``.
* ``log1p(x) = log(u) · x / (u - 1)`` with ``u = 1 + x`` rounded (``x`` when ``u == 1``):
  the factor corrects the rounding of ``u``.
* ``pow(x, y) = exp(y · log x)`` for ``x > 0``; integer powers in the engine are written
  as products instead (:func:`square` where an overflow must raise, as ``x ** 2`` does).

Errors follow :mod:`math`: ``log`` of 0 or a negative number raises ``ValueError``
("math domain error"), ``exp`` of more than ~709.78 raises ``OverflowError`` ("math
range error"); NaN gives NaN.
"""

from __future__ import annotations

import math

import cython
from cython.cimports.libc.math import copysign, floor, frexp, ldexp

INF = cython.declare(cython.double, math.inf)  # a C double: no boxing in the hot tests

# ln 2 split: a 32-bit head (k * LN2_HI is exact for |k| < 2^21) and the rest.
LN2_HI = cython.declare(cython.double, float.fromhex("0x1.62e42fef00000p-1"))
LN2_LO = cython.declare(cython.double, float.fromhex("0x1.473de6af278edp-34"))
INV_LN2 = cython.declare(cython.double, float.fromhex("0x1.71547652b82fep+0"))
SQRT_HALF = cython.declare(cython.double, float.fromhex("0x1.6a09e667f3bcdp-1"))
# exp overflows above log(DBL_MAX), underflows to 0 below log(2^-1075).
EXP_MAX = cython.declare(cython.double, float.fromhex("0x1.62e42fefa39efp+9"))
EXP_MIN = cython.declare(cython.double, -745.1332191019412)

# 1/n! for n = 2..13, correctly rounded (1.0 / math.factorial(n)).
C2 = cython.declare(cython.double, 0.5)
C3 = cython.declare(cython.double, float.fromhex("0x1.5555555555555p-3"))
C4 = cython.declare(cython.double, float.fromhex("0x1.5555555555555p-5"))
C5 = cython.declare(cython.double, float.fromhex("0x1.1111111111111p-7"))
C6 = cython.declare(cython.double, float.fromhex("0x1.6c16c16c16c17p-10"))
C7 = cython.declare(cython.double, float.fromhex("0x1.a01a01a01a01ap-13"))
C8 = cython.declare(cython.double, float.fromhex("0x1.a01a01a01a01ap-16"))
C9 = cython.declare(cython.double, float.fromhex("0x1.71de3a556c734p-19"))
C10 = cython.declare(cython.double, float.fromhex("0x1.27e4fb7789f5cp-22"))
C11 = cython.declare(cython.double, float.fromhex("0x1.ae64567f544e4p-26"))
C12 = cython.declare(cython.double, float.fromhex("0x1.1eed8eff8d898p-29"))
C13 = cython.declare(cython.double, float.fromhex("0x1.6124613a86d09p-33"))

# 2 / (2n + 1) for n = 1..11, correctly rounded.
L1 = cython.declare(cython.double, float.fromhex("0x1.5555555555555p-1"))
L2 = cython.declare(cython.double, float.fromhex("0x1.999999999999ap-2"))
L3 = cython.declare(cython.double, float.fromhex("0x1.2492492492492p-2"))
L4 = cython.declare(cython.double, float.fromhex("0x1.c71c71c71c71cp-3"))
L5 = cython.declare(cython.double, float.fromhex("0x1.745d1745d1746p-3"))
L6 = cython.declare(cython.double, float.fromhex("0x1.3b13b13b13b14p-3"))
L7 = cython.declare(cython.double, float.fromhex("0x1.1111111111111p-3"))
L8 = cython.declare(cython.double, float.fromhex("0x1.e1e1e1e1e1e1ep-4"))
L9 = cython.declare(cython.double, float.fromhex("0x1.af286bca1af28p-4"))
L10 = cython.declare(cython.double, float.fromhex("0x1.8618618618618p-4"))
L11 = cython.declare(cython.double, float.fromhex("0x1.642c8590b2164p-4"))


def exp(x: cython.double) -> cython.double:
    """``e^x``, the same bits on every CPU (see the module doc)."""
    k: cython.double
    r: cython.double
    p: cython.double
    if x != x or x == INF:
        return x
    if x > EXP_MAX:
        raise OverflowError("math range error")
    if x < EXP_MIN:
        return 0.0
    k = floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = C12 + r * C13
    p = C11 + r * p
    p = C10 + r * p
    p = C9 + r * p
    p = C8 + r * p
    p = C7 + r * p
    p = C6 + r * p
    p = C5 + r * p
    p = C4 + r * p
    p = C3 + r * p
    p = C2 + r * p
    p = r + (r * r) * p
    return ldexp(1.0 + p, cython.cast(cython.int, k))


def log(x: cython.double) -> cython.double:
    """``ln x``, the same bits on every CPU (see the module doc)."""
    m: cython.double
    e: cython.int
    f: cython.double
    s: cython.double
    z: cython.double
    r: cython.double
    hfsq: cython.double
    dk: cython.double
    if x != x:
        return x
    if x <= 0.0:
        raise ValueError("math domain error")
    if x == INF:
        return x
    e = 0
    if cython.compiled:
        m = frexp(x, cython.address(e))
    else:
        m, e = math.frexp(x)  # exact, as C's: the same (m, e)
    if m < SQRT_HALF:
        m = m + m
        e -= 1
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = L10 + z * L11
    r = L9 + z * r
    r = L8 + z * r
    r = L7 + z * r
    r = L6 + z * r
    r = L5 + z * r
    r = L4 + z * r
    r = L3 + z * r
    r = L2 + z * r
    r = L1 + z * r
    r = z * r
    hfsq = 0.5 * f * f
    dk = e
    return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f)


def log1p(x: cython.double) -> cython.double:
    """``ln(1 + x)``, the same bits on every CPU (see the module doc)."""
    u: cython.double
    if x != x:
        return x
    if x <= -1.0:
        raise ValueError("math domain error")
    if x == INF:
        return x
    u = 1.0 + x
    if u == 1.0:
        return x
    return log(u) * (x / (u - 1.0))


def pow(x: cython.double, y: cython.double) -> cython.double:
    """``x ** y`` for ``x >= 0``, the same bits on every CPU (see the module doc).

    ``y == 0`` or ``x == 1`` gives 1; ``0 ** y`` is 0 for ``y > 0`` and raises
    ``ZeroDivisionError`` for ``y < 0`` (as Python's ``0.0 ** -1.0``).  A negative
    ``x`` raises ``ValueError``: the engine has no use for one.
    """
    if y == 0.0 or x == 1.0:
        return 1.0
    if x != x or y != y:
        return x + y
    if x < 0.0:
        raise ValueError(f"pow({x!r}, {y!r}): a negative base")
    if x == 0.0:
        if y < 0.0:
            raise ZeroDivisionError("0.0 cannot be raised to a negative power")
        return 0.0
    return exp(y * log(x))


def square(x: cython.double) -> cython.double:
    """``x * x``, exact IEEE, raising ``OverflowError`` where a finite ``x`` overflows
    (as ``x ** 2`` does, which is libm's ``pow``)."""
    r: cython.double = x * x
    if r == INF and x - x == 0.0:
        raise OverflowError("math range error")
    return r


# 10**n for n = 0..15, exact doubles (10**22 is the last power of ten a double holds).
_POW10 = (1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15)
# The scaled value's distance from a half below which only Python's round decides:
# |x| 10^n < 1e9 is within 1.2e-7 of its float product (one rounding), far inside it.
_HALF_MARGIN = cython.declare(cython.double, 1e-6)


def round_digits(x: cython.double, ndigits: cython.int) -> cython.double:
    """``round(x, ndigits)``: the same float, without the decimal string Python's
    ``round`` writes and parses back (about 2,000 instructions a call).

    Python rounds ``x``'s exact binary value half-even at ``ndigits`` decimals and
    returns the double nearest that decimal ``K / 10^n``.  Where ``y = |x| 10^n`` is
    below 1e9 and not within 1e-6 of a half, ``y``'s rounding error cannot move it
    across the half, so ``K`` is ``floor(y)`` or one more; ``K`` and ``10^n`` are exact
    doubles and IEEE division is correctly rounded, so ``K / 10^n`` is that nearest
    double.  Anything else (a near-half, a large value, NaN, inf, ``ndigits`` outside
    0..15) is Python's ``round``.
    """
    if 0 <= ndigits <= 15:
        scale: cython.double = _POW10[ndigits]
        y: cython.double = abs(x) * scale
        if y < 1e9:
            k: cython.double = floor(y)
            f: cython.double = y - k
            if abs(f - 0.5) >= _HALF_MARGIN:
                if f > 0.5:
                    k += 1.0
                return copysign(k / scale, x)
    return round(x, ndigits)
