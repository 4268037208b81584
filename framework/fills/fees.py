"""Trading fees and hourly funding (mm_math.md §10.2-10.3).

Fees are a positive cost in bps of notional (base tier: maker 1.5, taker 4.5); a
negative rate is a rebate.  Funding settles on the hour on the position held then:
``payment = position * oracle_px * rate_1h``, so longs pay when the rate is positive.
"""

from __future__ import annotations

import math

import attrs

HOUR_NS = 3_600_000_000_000


@attrs.frozen(slots=True)
class FeeSchedule:
    """Maker and taker fee rates in bps of notional.

    Parameters
    ----------
    maker_bps : float, default 1.5
        Fee on fills where our order rested (negative = rebate).
    taker_bps : float, default 4.5
        Fee on fills where our order took liquidity.
    """

    maker_bps: float = 1.5
    taker_bps: float = 4.5

    def __attrs_post_init__(self) -> None:
        for name in ("maker_bps", "taker_bps"):
            v = getattr(self, name)
            if not math.isfinite(v) or abs(v) > 100:
                raise ValueError(f"{name}={v!r}: must be a finite fee in bps, |fee| <= 100")

    @property
    def maker_rate(self) -> float:
        """Maker fee as a fraction of notional."""
        return self.maker_bps * 1e-4

    @property
    def taker_rate(self) -> float:
        """Taker fee as a fraction of notional."""
        return self.taker_bps * 1e-4

    def fee(self, notional: float, *, maker: bool) -> float:
        """Fee in USDC for a fill of ``notional`` USDC.

        Examples
        --------
        >>> round(FeeSchedule().fee(10_000.0, maker=True), 6)
        1.5
        """
        return notional * (self.maker_rate if maker else self.taker_rate)


def funding_payment(position: float, oracle_px: float, rate_1h: float) -> float:
    """USDC paid at an hourly settlement (positive = we paid; longs pay a positive rate).

    Examples
    --------
    >>> funding_payment(2.0, 100.0, 0.0000125)
    0.0025
    """
    return position * oracle_px * rate_1h


def next_hour_ns(t_ns: int) -> int:
    """The first hour boundary strictly after ``t_ns`` (epoch ns)."""
    return (t_ns // HOUR_NS + 1) * HOUR_NS
