"""Spread profiles: the band the total quoted spread lives in, and the model parameters
(half-spread floor, γ) that put the GLFT quote inside it.

The numbers live in :data:`framework.config.PROFILES` (one place per number):
``default`` 40-50 bps, ``hip3`` 15-25 bps, ``aggressive`` 10-20 bps of total spread.
"""

from __future__ import annotations

from framework.config import PROFILES, ConfigError, SpreadProfile
from framework.kernel.quotemath import clamp_half_spread  # per quote: typed in the kernel

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
