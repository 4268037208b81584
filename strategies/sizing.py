"""Order size: a base notional until Kelly is ready, then fractional Kelly (mm_math §7).

Sizes are in coins on the lot grid (``10**-sz_decimals``) and never below the venue's
minimum order notional ($10 on Hyperliquid).
"""

from __future__ import annotations

import math

__all__ = ["order_size"]


def order_size(
    px: float,
    equity: float,
    kelly_fraction: float,
    *,
    base_notional: float,
    min_notional: float,
    max_notional: float,
    size_mult: float,
    sz_decimals: int,
) -> float:
    """Size in coins for one quote at price ``px``.

    Parameters
    ----------
    px : float
        Quote price (the notional is computed at it).
    equity : float
        Account equity in USD.
    kelly_fraction : float
        Fractional-Kelly notional per quote as a fraction of equity, or NaN while the
        Kelly estimator is not ready (then ``base_notional`` is used).  A fraction
        ``<= 0`` (no proven edge) gives the minimum size.
    base_notional, min_notional, max_notional : float
        USD notionals: the cold-start size and the clip range.
    size_mult : float
        Risk's size multiplier (e.g. 0.5 for Marginal readiness).
    sz_decimals : int
        The asset's szDecimals.

    Examples
    --------
    >>> order_size(40.0, 1e4, float("nan"), base_notional=100, min_notional=10,
    ...            max_notional=2000, size_mult=1.0, sz_decimals=2)
    2.5
    >>> order_size(40.0, 1e4, 0.05, base_notional=100, min_notional=10,
    ...            max_notional=2000, size_mult=0.5, sz_decimals=2)
    6.25
    >>> order_size(40.0, 1e4, -0.1, base_notional=100, min_notional=10,
    ...            max_notional=2000, size_mult=1.0, sz_decimals=2)
    0.25
    """
    if not px > 0:
        return 0.0
    if kelly_fraction != kelly_fraction:  # NaN: not ready
        notional = base_notional
    elif kelly_fraction <= 0:
        notional = min_notional
    else:
        notional = kelly_fraction * equity
    notional = min(max(notional * size_mult, min_notional), max_notional)
    lot = 10.0**-sz_decimals
    lots = math.floor(notional / px / lot + 1e-9)
    min_lots = math.ceil(min_notional / px / lot - 1e-9)
    return round(max(lots, min_lots) * lot, sz_decimals)
