"""GLFT optimal quotes (Guéant 2017 eqs 4.6-4.7; mm_math §1.3 and §1.5).

All model maths is in bps of the fair price (mm_math §0: ``u = P/1e4``): ``sigma_bps``
per sqrt(s), ``k_per_bps`` per bps, ``A_per_s`` per s, ``gamma_per_bps`` per (bps·lot),
inventory ``q`` in lots (position / order size, ``Δ = 1``).  Only the final quote is
rounded to the venue grid (bids down, asks up) and then kept passive.
"""

from __future__ import annotations

import math

from framework.grid import round_price
from framework.kernel.fpmath import log1p
from framework.kernel.fpmath import pow as fpow

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


def microprice(bid: float, ask: float, bid_sz: float, ask_sz: float) -> float:
    """Size-weighted mid ``(b Q_a + a Q_b) / (Q_a + Q_b)`` (mm_math §1.5); mid if no sizes.

    Examples
    --------
    >>> round(microprice(10.0, 10.2, 3.0, 1.0), 6)  # more bid size: fair leans to the ask
    10.15
    """
    total = bid_sz + ask_sz
    if not total > 0:
        return (bid + ask) * 0.5
    return (bid * ask_sz + ask * bid_sz) / total


def quote_prices(
    fair: float,
    half_spread_bps: float,
    skew_bps: float,
    best_bid: float,
    best_ask: float,
    sz_decimals: int,
) -> tuple[float, float]:
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
    reservation = fair * (1.0 - skew_bps * 1e-4)
    offset = fair * half_spread_bps * 1e-4
    bid = round_price(reservation - offset, sz_decimals, 1)
    ask = round_price(reservation + offset, sz_decimals, -1)
    if best_bid == best_bid and bid > best_bid:  # x == x: not NaN
        bid = best_bid
    if best_ask == best_ask and ask < best_ask:
        ask = best_ask
    return bid, ask
