"""What a sweep optimises: one figure of a trial's results, maximised or minimised.

A trial's objective is the mean of the figure over its recordings (the sum ranks the
same way; the mean keeps per-recording units).  A trial that failed on any recording,
or whose figure is undefined (``edge_bps`` without fills), has no objective: it ranks
last and Optuna is told it failed.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import attrs

from framework.exits import UsageError

__all__ = ["FIGURES", "MINIMISED", "Objective", "parse_objective"]

#: The figures of a trial on one recording that can be optimised: the backtest summary's
#: numbers (framework.environments.summary.summarize) and the readiness verdict's
#: (framework.calibration.readiness.assess).
FIGURES: tuple[str, ...] = (
    "net_pnl_usd",
    "realized_pnl_usd",
    "unrealized_pnl_usd",
    "fills",
    "volume_usd",
    "fees_usd",
    "funding_usd",
    "max_drawdown",
    "max_drawdown_usd",
    "final_inventory",
    "quotes",
    "orders",
    "risk_changes",
    "edge_bps",
    "edge_lo",
    "edge_hi",
    "edge_fills",
    "kelly_fills",
    "converged",
)

#: Figures where less is better: minimised unless the objective says ``max:``.
MINIMISED: frozenset[str] = frozenset({"fees_usd", "max_drawdown", "max_drawdown_usd"})


@attrs.frozen
class Objective:
    """A figure and its direction (``mode`` is ``max`` or ``min``, as Ray Tune says)."""

    key: str
    mode: str

    def __str__(self) -> str:
        return f"{self.mode}:{self.key}"

    def of(self, rows: list[dict[str, Any]]) -> float | None:
        """The trial's objective from its per-recording rows (None when undefined)."""
        values = [r.get(self.key) for r in rows]
        if not values or any(r.get("status") != "ok" for r in rows):
            return None
        if any(v is None or not math.isfinite(float(v)) for v in values):
            return None
        return math.fsum(float(v) for v in values) / len(values)

    def better(self, a: float | None, b: float | None) -> bool:
        """Whether ``a`` beats ``b`` (an undefined value beats nothing)."""
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.mode == "max" else a < b

    def rank_key(self, value: float | None) -> tuple[int, float]:
        """A sort key putting the best first and undefined values last."""
        if value is None:
            return (1, 0.0)
        return (0, -value if self.mode == "max" else value)


def parse_objective(text: str) -> Objective:
    """``KEY``, ``max:KEY`` or ``min:KEY`` as an :class:`Objective`.

    Raises
    ------
    UsageError
        The key is not a figure (naming the closest one and the list).
    """
    mode, sep, key = text.partition(":")
    if not sep:
        mode, key = ("min" if text in MINIMISED else "max"), text
    if mode not in ("max", "min"):
        raise UsageError(
            f"--objective {text!r}: the direction must be max: or min: (e.g. min:fees_usd)"
        )
    if key not in FIGURES:
        close = difflib.get_close_matches(key, FIGURES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"--objective {text!r}: not a result figure; {hint}use one of "
            f"{', '.join(FIGURES)} (prefix min: or max: to choose the direction)"
        )
    return Objective(key, mode)
