"""Number formatting as the venue prints it (decimal strings) and the wall clock."""

from __future__ import annotations

import math
from decimal import Decimal

from framework.hyperliquid import wire
from framework.hyperliquid.nonce import wall_clock_ms as now_ms  # the venue's wall clock

__all__ = ["now_ms", "px_s", "s"]


def s(x: float | None, nd: int = 8) -> str | None:
    """A float as a decimal string (plain, no trailing zeros; ``"0.0"`` style for zero)."""
    if x is None:
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return None
    t = f"{x:.{nd}f}".rstrip("0")
    if t.endswith("."):
        t += "0"
    return "0.0" if t in ("-0.0", "0.0", "-0") else t


def px_s(x: float | None) -> str | None:
    """A price as the venue prints it (repr of the float, wire-normalised)."""
    if x is None:
        return None
    out = wire.to_wire(Decimal(repr(float(x))).quantize(Decimal("1e-8")))
    return out if "." in out else out + ".0"
