"""Hyperliquid's perp price and size grid.

A perp price may have at most 5 significant figures and at most ``6 - szDecimals``
decimals; an integer price is always valid.  A size is a multiple of
``10**-szDecimals``.  The tick therefore depends on the price's magnitude: HYPE
(szDecimals 2) trades in steps of 0.001 between $10 and $100 and 0.01 from $100.

Floats go in and out, but every rounding is done on the exact decimal value of the
float's shortest repr (``Decimal(repr(px))``), so there is no float drift: the result
is the float nearest to a grid decimal, and ``repr`` gives back the wire string.

Bids round down and asks round up (``side`` +1 / -1), so a rounded quote never
becomes more aggressive than the model asked for.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import numpy as np

from framework.kernel.gridfast import round_price_fast, round_size_fast

#: Decimals a perp price may carry at most, before subtracting szDecimals.
MAX_PERP_DECIMALS = 6
#: Positions and fill remainders are rounded to this many decimals: they are sums of
#: venue sizes (at most MAX_PERP_DECIMALS decimals), and a binary float sum drifts
#: (0.24 + 0.2 - 0.44 is not 0) until a reduce-only close rounded down leaves a dust
#: position no order can close.
POSITION_DECIMALS = 9
#: Significant figures a non-integer price may carry at most.
MAX_SIG_FIGS = 5

_ROUNDING = {1: ROUND_FLOOR, -1: ROUND_CEILING, 0: ROUND_HALF_EVEN}


def _check_sz_decimals(sz_decimals: int) -> int:
    """``sz_decimals`` as an int; ValueError unless it is an integer in 0..6."""
    try:
        n = int(sz_decimals)
    except (TypeError, ValueError):
        n = -1
    if n != sz_decimals or not 0 <= n <= MAX_PERP_DECIMALS:
        raise ValueError(
            f"sz_decimals={sz_decimals!r}: must be an integer in 0..{MAX_PERP_DECIMALS} "
            "(the asset's szDecimals from the meta endpoint)"
        )
    return n


def _exact(px: float, name: str = "px") -> Decimal:
    x = float(px)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name}={px!r}: a price must be a finite number > 0")
    return Decimal(repr(x))


def price_decimals(px: float, sz_decimals: int) -> int:
    """Decimals allowed for a price of this magnitude.

    Parameters
    ----------
    px : float
        A positive price.
    sz_decimals : int
        The asset's ``szDecimals``.

    Returns
    -------
    int
        ``min(6 - sz_decimals, 4 - floor(log10(px)))`` floored at 0.

    Examples
    --------
    >>> price_decimals(38.123, 2), price_decimals(150.0, 2), price_decimals(105055.0, 5)
    (3, 2, 0)
    """
    return _decimals(_exact(px), sz_decimals)


def _decimals(exact: Decimal, sz_decimals: int) -> int:
    _check_sz_decimals(sz_decimals)
    magnitude = exact.adjusted()  # floor(log10(px)), exactly
    return max(0, min(MAX_PERP_DECIMALS - sz_decimals, MAX_SIG_FIGS - 1 - magnitude))


def _step(decimals: int) -> Decimal:
    """``10**-decimals`` as an exact decimal."""
    return Decimal(1).scaleb(-decimals)


def pow10(e: int) -> float:
    """``10**e`` correctly rounded, for any integer ``e`` (Python's int division is).

    Not ``10.0 ** e``: that is libm's ``pow``, whose FMA and non-FMA variants (picked
    by the CPU) may round differently (see :mod:`framework.kernel.fpmath`).

    Examples
    --------
    >>> pow10(2), pow10(-2), pow10(0)
    (100.0, 0.01, 1.0)
    """
    return float(10**e) if e >= 0 else 1 / 10**-e


def decade(px: float) -> float:
    """The power of ten at or below ``px``, exactly (``log10`` rounds up just below one).

    Examples
    --------
    >>> decade(38.5), decade(100.0), decade(999.9999999999999), decade(0.0123)
    (10.0, 100.0, 100.0, 0.01)
    """
    return pow10(_exact(px).adjusted())


def tick_size(px: float, sz_decimals: int) -> float:
    """The price step at ``px``.

    Examples
    --------
    >>> tick_size(38.0, 2), tick_size(150.0, 2), tick_size(2405.0, 4), tick_size(105055.0, 5)
    (0.001, 0.01, 0.1, 1.0)
    >>> tick_size(0.5, 2)  # capped by 6 - szDecimals
    0.0001
    """
    return float(_step(price_decimals(px, sz_decimals)))


def round_price(px: float, sz_decimals: int, side: int = 0) -> float:
    """Round ``px`` onto the grid: bids (+1) down, asks (-1) up, 0 to nearest.

    The tick is the one at ``px``; rounding up across a power of ten lands on that
    power, which is valid on both grids.

    Raises
    ------
    ValueError
        ``px`` is not a finite positive number, ``side`` is not +1/-1/0, or the result
        would be 0 (a price below the smallest tick rounded down).

    Examples
    --------
    >>> round_price(38.12345, 2, +1), round_price(38.12345, 2, -1), round_price(38.1236, 2)
    (38.123, 38.124, 38.124)
    >>> round_price(99.9996, 2, -1), round_price(100.005, 2, +1)
    (100.0, 100.0)
    >>> round_price(105055.7, 5, 0)  # integer prices are always valid
    105056.0
    """
    if side not in _ROUNDING:
        raise ValueError(f"side={side!r}: use +1 (bid, rounds down), -1 (ask, up) or 0")
    fast = _fast_round_price(px, sz_decimals, side)
    if fast is not None:
        return fast
    exact = _exact(px)
    step = _step(_decimals(exact, sz_decimals))
    rounded = exact.quantize(step, rounding=_ROUNDING[side])
    if rounded == 0:
        raise ValueError(
            f"px={px!r} rounds to 0 on the {step} tick (sz_decimals={sz_decimals}): "
            "below the smallest valid price"
        )
    return float(rounded)


def _fast_round_price(px: float, sz_decimals: int, side: int) -> float | None:
    """:func:`round_price`'s float fast path alone (:func:`round_price_fast`): its
    float, or None where it defers to the exact decimal path."""
    if sz_decimals.__class__ is not int or not 0 <= sz_decimals <= MAX_PERP_DECIMALS:
        return None
    fast = round_price_fast(px, sz_decimals, side)
    return None if fast != fast else fast


def is_valid_price(px: float, sz_decimals: int) -> bool:
    """True when ``px`` is on the grid (a positive price the venue accepts).

    Examples
    --------
    >>> is_valid_price(38.123, 2), is_valid_price(38.1234, 2), is_valid_price(123456.0, 5)
    (True, False, True)
    >>> is_valid_price(1234.5, 2), is_valid_price(1234.56, 2), is_valid_price(0.0012345, 0)
    (True, False, False)
    """
    try:
        exact = _exact(px)
    except ValueError:
        return False
    return exact % _step(_decimals(exact, sz_decimals)) == 0


def round_size(sz: float, sz_decimals: int, *, down: bool = False) -> float:
    """Round a size to a multiple of ``10**-sz_decimals`` (nearest, or towards zero).

    The sign is kept, so signed positions round symmetrically.

    Examples
    --------
    >>> round_size(1.23456, 2), round_size(1.239, 2, down=True), round_size(-0.005, 2, down=True)
    (1.23, 1.23, -0.0)
    """
    sz_decimals = _check_sz_decimals(sz_decimals)
    x = float(sz)
    if not math.isfinite(x):
        raise ValueError(f"sz={sz!r}: a size must be a finite number")
    fast = round_size_fast(x, sz_decimals, down)
    if fast == fast:  # NaN: only the exact path below can decide
        return fast
    step = _step(sz_decimals)
    mode = ROUND_FLOOR if down else ROUND_HALF_EVEN
    magnitude = Decimal(repr(abs(x))).quantize(step, rounding=mode)
    return math.copysign(float(magnitude), x)


def is_valid_size(sz: float, sz_decimals: int) -> bool:
    """True when ``sz`` is a multiple of the lot ``10**-sz_decimals``.

    Examples
    --------
    >>> is_valid_size(1.23, 2), is_valid_size(1.234, 2)
    (True, False)
    """
    _check_sz_decimals(sz_decimals)
    x = float(sz)
    if not math.isfinite(x):
        return False
    return Decimal(repr(x)) % _step(sz_decimals) == 0


def price_decimals_array(px: np.ndarray, sz_decimals: int) -> np.ndarray:
    """Vectorised :func:`price_decimals` for positive float arrays (int64 result).

    Uses ``floor(log10(px))`` in floating point: exactly at a power of ten this may
    pick the coarser tick, which is still on the finer grid, so never invalid.
    """
    _check_sz_decimals(sz_decimals)
    magnitude = np.floor(np.log10(np.asarray(px, dtype=np.float64))).astype(np.int64)
    return np.clip(MAX_SIG_FIGS - 1 - magnitude, 0, MAX_PERP_DECIMALS - sz_decimals)
