"""A quote's arithmetic, typed: GLFT prices on the grid, the profile's clamp, the order
size (the reference strategy's :mod:`strategies.glft`, :mod:`strategies.profiles` and
:mod:`strategies.sizing` export these; mm_math §1.3, §1.5 and §7).

Every quote evaluation (7,000 a backtest day) prices both sides and sizes each; the
kernel's quoter calls these as C functions.  The arithmetic is the former Python's,
operation for operation, and the grid's float fast paths
(:mod:`framework.kernel.gridfast`) hand anything they cannot decide to
:mod:`framework.grid`'s exact decimal path, as ``round_price`` and ``round_size`` do:
the same floats, compiled or interpreted.
"""

from __future__ import annotations

import math

import cython

from framework import grid
from framework.kernel.fpmath import round_digits

if cython.compiled:  # C calls; interpreted, the Python functions (the same bits)
    from cython.cimports.framework.kernel.gridfast import round_price_fast, round_size_fast
else:
    from framework.kernel.gridfast import round_price_fast, round_size_fast

_MAX_DECIMALS = cython.declare(cython.int, grid.MAX_PERP_DECIMALS)
# The lot of each size precision a perp can have (grid.pow10(-d), d = 0..max), read
# without a Python call per order size.
_LOTS = cython.declare(tuple, tuple(grid.pow10(-d) for d in range(grid.MAX_PERP_DECIMALS + 1)))
# math.floor and math.ceil as Python calls: ints, and an error on NaN or inf, as always.
_floor = math.floor
_ceil = math.ceil


@cython.cfunc
def _round_price(px: cython.double, sz_decimals: cython.int, side: cython.int) -> cython.double:
    """``framework.grid.round_price(px, sz_decimals, side)`` (side +1 or -1)."""
    r: cython.double = round_price_fast(px, sz_decimals, side)
    if r == r:
        return r
    return grid.round_price(px, sz_decimals, side)


def round_size_down(x: cython.double, sz_decimals: cython.int) -> cython.double:
    """``framework.grid.round_size(x, sz_decimals, down=True)``."""
    r: cython.double
    if 0 <= sz_decimals <= _MAX_DECIMALS:
        r = round_size_fast(x, sz_decimals, True)
        if r == r:  # NaN: only the exact path can decide (or raise)
            return r
    return grid.round_size(x, sz_decimals, down=True)


def clamp_half_spread(
    half_spread_bps: cython.double, band: object, tick_bps: cython.double
) -> cython.double:
    """Clamp a half spread so the rounded total spread lands inside ``band``.

    Rounding to the grid moves each side outwards by less than one tick, so the upper
    bound keeps one tick of room per side.

    Examples
    --------
    >>> clamp_half_spread(5.0, (40.0, 50.0), 0.25), clamp_half_spread(40.0, (40.0, 50.0), 0.25)
    (20.0, 24.75)
    """
    b0: cython.double = band[0]
    b1: cython.double = band[1]
    lo: cython.double = b0 * 0.5
    hi: cython.double = b1 * 0.5 - tick_bps
    hi = hi if hi > lo else lo  # max(lo, hi): lo unless hi is larger
    if half_spread_bps < lo:
        return lo
    if half_spread_bps > hi:
        return hi
    return half_spread_bps


def microprice(
    bid: cython.double, ask: cython.double, bid_sz: cython.double, ask_sz: cython.double
) -> cython.double:
    """Size-weighted mid ``(b Q_a + a Q_b) / (Q_a + Q_b)`` (mm_math §1.5); mid if no sizes.

    Examples
    --------
    >>> round(microprice(10.0, 10.2, 3.0, 1.0), 6)  # more bid size: fair leans to the ask
    10.15
    """
    total: cython.double = bid_sz + ask_sz
    if not total > 0:
        return (bid + ask) * 0.5
    return (bid * ask_sz + ask * bid_sz) / total


def quote_prices(
    fair: cython.double,
    half_spread_bps: cython.double,
    skew_bps: cython.double,
    best_bid: cython.double,
    best_ask: cython.double,
    sz_decimals: cython.int,
) -> tuple:
    """Grid-rounded, passive bid and ask around ``fair``.

    ``skew_bps`` is the total reservation shift (``skew per lot × q``): positive when
    long, so both quotes move down.  Bids round down and asks up; then
    ``bid = min(bid, best_bid)`` and ``ask = max(ask, best_ask)`` so neither crosses.

    Examples
    --------
    >>> quote_prices(40.0, 20.0, 0.0, 39.99, 40.01, 2)
    (39.92, 40.08)
    >>> quote_prices(40.0, 20.0, 5.0, 39.99, 40.01, 2)  # long: both lower
    (39.9, 40.06)
    """
    reservation: cython.double = fair * (1.0 - skew_bps * 1e-4)
    offset: cython.double = fair * half_spread_bps * 1e-4
    bid: cython.double = _round_price(reservation - offset, sz_decimals, 1)
    ask: cython.double = _round_price(reservation + offset, sz_decimals, -1)
    if best_bid == best_bid and bid > best_bid:  # x == x: not NaN
        bid = best_bid
    if best_ask == best_ask and ask < best_ask:
        ask = best_ask
    return bid, ask


def order_size(
    px: cython.double,
    equity: cython.double,
    kelly_fraction: cython.double,
    base_notional: cython.double,
    min_notional: cython.double,
    max_notional: cython.double,
    size_mult: cython.double,
    sz_decimals: cython.int,
    cap_notional: cython.double,
) -> cython.double:
    """:func:`strategies.sizing.order_size` with every argument in place (see there)."""
    notional: cython.double
    if not px > 0 or cap_notional < min_notional:
        return 0.0
    if kelly_fraction != kelly_fraction:  # NaN: not ready
        notional = base_notional
    elif kelly_fraction <= 0:
        notional = min_notional
    else:
        notional = kelly_fraction * equity
    # min / max written out, same values and tie rule.
    notional *= size_mult
    notional = min_notional if min_notional > notional else notional
    notional = max_notional if max_notional < notional else notional
    notional = cap_notional if cap_notional < notional else notional
    lot: cython.double
    if 0 <= sz_decimals <= _MAX_DECIMALS:
        lot = _LOTS[sz_decimals]
    else:
        lot = grid.pow10(-sz_decimals)
    lots = _floor(notional / px / lot + 1e-9)
    least = _ceil(min_notional / px / lot - 1e-9)
    lots = least if least > lots else lots
    sz: cython.double = round_digits(lots * lot, sz_decimals)
    if sz * px < min_notional:  # float rounding at the boundary: one lot more
        sz = round_digits((lots + 1) * lot, sz_decimals)
    return sz
