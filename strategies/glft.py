"""GLFT optimal quotes (Guéant 2017 eqs 4.6-4.7; mm_math §1.3 and §1.5).

All model maths is in bps of the fair price (mm_math §0: ``u = P/1e4``): ``sigma_bps``
per sqrt(s), ``k_per_bps`` per bps, ``A_per_s`` per s, ``gamma_per_bps`` per (bps·lot),
inventory ``q`` in lots (position / order size, ``Δ = 1``).  Only the final quote is
rounded to the venue grid (bids down, asks up) and then kept passive.
"""

from __future__ import annotations

import math

from framework.kernel.fpmath import log1p
from framework.kernel.fpmath import pow as fpow

# The per-quote arithmetic, typed in the kernel (framework.kernel.quotemath).
from framework.kernel.quotemath import microprice, quote_prices

__all__ = ["glft_coefficients", "half_spread_and_skew", "microprice", "quote_prices"]


def glft_coefficients(k: float, A: float, gamma: float, model: str = "B") -> tuple[float, float]:
    """``(c1, c2)`` of the GLFT closed form with ``Δ = 1``.

    Model A (CARA) takes ``ξ = γ``; model B (running inventory penalty) takes ``ξ = 0``,
    whose limit is ``c1 = 1/k`` and ``c2 = sqrt(γ e / (2 A k))``.

    Examples
    --------
    >>> c1, c2 = glft_coefficients(0.2, 1.0, 0.01, "B")
    >>> round(c1, 6), round(c2, 6)
    (5.0, 0.260686)
    >>> c1, c2 = glft_coefficients(0.2, 1.0, 0.01, "A")
    >>> round(c1, 4), round(c2, 4)
    (4.879, 0.2639)
    """
    if model == "B":
        return 1.0 / k, math.sqrt(gamma * math.e / (2.0 * A * k))
    xi = gamma
    c1 = log1p(xi / k) / xi
    c2 = math.sqrt(gamma / (2.0 * A * k) * fpow(1.0 + xi / k, k / xi + 1.0))
    return c1, c2


def half_spread_and_skew(
    sigma_bps: float, k_per_bps: float, A_per_s: float, gamma_per_bps: float, model: str = "B"
) -> tuple[float, float]:
    """GLFT half spread (bps) and skew per lot of inventory (bps).

    ``half_spread = c1 + σ c2 / 2`` and ``skew = σ c2``; the quotes are
    ``bid = S(1 - (skew q + hs)/1e4)``, ``ask = S(1 - (skew q - hs)/1e4)``.

    Examples
    --------
    >>> hs, skew = half_spread_and_skew(2.0, 0.2, 1.0, 0.01)
    >>> round(hs, 4), round(skew, 4)
    (5.2607, 0.5214)
    """
    c1, c2 = glft_coefficients(k_per_bps, A_per_s, gamma_per_bps, model)
    return c1 + 0.5 * sigma_bps * c2, sigma_bps * c2
