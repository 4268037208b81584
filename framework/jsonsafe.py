"""JSON has no NaN or infinity: what the framework prints or serves as JSON has them as null."""

from __future__ import annotations

import math
from typing import Any


def finite(x: Any) -> Any:
    """``x`` with every NaN or infinite float replaced by None, recursively through dicts,
    lists and tuples (tuples become lists)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x
