"""Risk: position caps, drawdown and daily-loss kill switches, the quote gate, rate limits.

:class:`RiskManager` is the engine component (name ``"risk"``); its state changes are
journaled as ``risk`` rows.
"""

from framework.risk.manager import RiskManager

__all__ = ["RiskManager"]
