"""Order size: a base notional until Kelly is ready, then fractional Kelly (mm_math §7),
clipped by the caps the strategy computes (top-of-book share, margin).

Sizes are in coins on the lot grid (``10**-sz_decimals``) and, at the price the order
is quoted at, never below the venue's minimum order notional ($10 on Hyperliquid).
"""

from __future__ import annotations

import math

from framework.kernel.quotemath import order_size as _order_size  # the arithmetic, typed

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
    cap_notional: float = math.inf,
) -> float:
    """Size in coins for one quote at price ``px``; 0 when no valid order fits the cap.

    Parameters
    ----------
    px : float
        The quote's price: the notional (and the venue's minimum) is checked at it.
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
    cap_notional : float
        Further cap in USD (top-of-book share, margin room); below ``min_notional``
        no order fits and the size is 0.

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
    >>> order_size(39.97, 1e4, -0.1, base_notional=100, min_notional=10,
    ...            max_notional=2000, size_mult=1.0, sz_decimals=2)  # 0.25 x 39.97 < $10
    0.26
    >>> order_size(40.0, 1e4, 0.05, base_notional=100, min_notional=10,
    ...            max_notional=2000, size_mult=1.0, sz_decimals=2, cap_notional=5.0)
    0.0
    """
    return _order_size(
        px,
        equity,
        kelly_fraction,
        base_notional,
        min_notional,
        max_notional,
        size_mult,
        sz_decimals,
        cap_notional,
    )
