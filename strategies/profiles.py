"""Spread profiles: the band the total quoted spread lives in, and the model parameters
(half-spread floor, γ) that put the GLFT quote inside it.

The numbers live in :data:`framework.config.PROFILES` (one place per number):
``default`` 40-50 bps, ``hip3`` 15-25 bps, ``aggressive`` 10-20 bps of total spread.
"""

from __future__ import annotations

from framework.config import PROFILES, ConfigError, SpreadProfile

__all__ = ["PROFILES", "clamp_half_spread", "profile", "profile_band"]


def profile(name: str) -> SpreadProfile:
    """The profile called ``name``.

    Raises
    ------
    ConfigError
        When the profile is unknown (naming the known ones).
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"spread profile {name!r} is unknown; use one of {', '.join(PROFILES)}"
        ) from None


def profile_band(name: str) -> tuple[float, float]:
    """The (min, max) total spread in bps of a profile."""
    return profile(name).band_bps


def clamp_half_spread(half_spread_bps: float, band: tuple[float, float], tick_bps: float) -> float:
    """Clamp a half spread so the rounded total spread lands inside ``band``.

    Rounding to the grid moves each side outwards by less than one tick, so the upper
    bound keeps one tick of room per side.

    Examples
    --------
    >>> clamp_half_spread(5.0, (40.0, 50.0), 0.25), clamp_half_spread(40.0, (40.0, 50.0), 0.25)
    (20.0, 24.75)
    """
    lo = band[0] * 0.5
    hi = max(lo, band[1] * 0.5 - tick_bps)
    if half_spread_bps < lo:
        return lo
    if half_spread_bps > hi:
        return hi
    return half_spread_bps
