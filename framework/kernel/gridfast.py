"""The price grid's float fast paths (:mod:`framework.grid`), typed.

A quote rounds two prices and two sizes; the exact path (``Decimal``) costs ~5 µs a
call, the float path these functions take about 0.1 µs compiled.  Each returns the
float :mod:`framework.grid`'s exact decimal rounding gives, or NaN where a float
could disagree with it (a value within ``FAST_MARGIN`` of a rounding boundary, a
price within 1e-12 of a power of ten, a value out of range): the caller then takes
the exact path.  ``tests/synth/test_grid.py`` checks them against that path.

The arithmetic is Python's, step for step: ``floor``, products by exact powers of
ten (``10**d`` for ``d <= 6``), and one correctly rounded division ``k / 10**d``
(``k < 2**53``), so compiled and interpreted give the same bits.
"""

from __future__ import annotations

import math

import cython
from cython.cimports.libc.math import copysign, floor, log10

NAN = cython.declare(cython.double, math.nan)
#: How close (in ticks or lots) a scaled value may come to a rounding boundary before
#: the fast path defers to exact decimal arithmetic.  A float's error at these
#: magnitudes (< 1e15 ticks) is far below it, so outside this margin both agree.
FAST_MARGIN = cython.declare(cython.double, 1e-6)
#: Decimals a perp price may carry at most, before subtracting szDecimals, and its
#: significant figures (framework.grid's MAX_PERP_DECIMALS and MAX_SIG_FIGS).
MAX_PERP_DECIMALS = cython.declare(cython.int, 6)
MAX_SIG_FIGS = cython.declare(cython.int, 5)
# 10**e for e = -9..9: exact doubles for e >= 0, and 1 / 10**-e correctly rounded
# (what framework.grid.pow10 gives) below.
_POW10 = tuple(1 / 10**-e if e < 0 else float(10**e) for e in range(-9, 10))


@cython.cfunc
@cython.inline
def _rounded(x: cython.double, side: cython.int) -> cython.double:
    """``x`` rounded down (+1), up (-1) or half-even (0), as a float integer; NaN when
    ``x`` is within FAST_MARGIN of a boundary."""
    k: cython.double = floor(x)
    f: cython.double = x - k
    if f < FAST_MARGIN or f > 1.0 - FAST_MARGIN:
        return NAN
    if side > 0:
        return k
    if side < 0:
        return k + 1.0
    if abs(f - 0.5) < FAST_MARGIN:
        return NAN
    return k + 1.0 if f > 0.5 else k


def round_price_fast(px: cython.double, sz_decimals: cython.int, side: cython.int) -> cython.double:
    """``framework.grid.round_price(px, sz_decimals, side)`` in floats, NaN where only
    the exact path can decide (or would raise)."""
    if not (1e-8 < px < 1e9) or not 0 <= sz_decimals <= MAX_PERP_DECIMALS:
        return NAN
    # log10's last bit may differ between CPUs (libm); prices that close to a power of
    # ten take the exact path, so the result does not.
    m: cython.int = cython.cast(cython.int, floor(log10(px)))
    decade: cython.double = _POW10[m + 9]
    if px < decade * (1.0 + 1e-12) or px > decade * (10.0 - 1e-11):
        return NAN
    d: cython.int = MAX_PERP_DECIMALS - sz_decimals
    figs: cython.int = MAX_SIG_FIGS - 1 - m
    if figs < d:
        d = figs
    if d < 0:
        d = 0
    scale: cython.double = _POW10[d + 9]
    k: cython.double = _rounded(px * scale, side)
    if not k > 0.0:
        return NAN  # undecidable (NaN), or 0 (the exact path raises)
    return k / scale


def round_size_fast(x: cython.double, sz_decimals: cython.int, down: cython.bint) -> cython.double:
    """``framework.grid.round_size(x, sz_decimals, down=down)`` in floats for a finite
    ``x`` and ``sz_decimals`` in 0..6; NaN where only the exact path can decide."""
    scale: cython.double = _POW10[sz_decimals + 9]
    y: cython.double = abs(x) * scale
    if not y < 1e9:  # the scaled float's error stays far below FAST_MARGIN
        return NAN
    k: cython.double = _rounded(y, 1 if down else 0)
    if k != k:
        return NAN
    return copysign(k / scale, x)
