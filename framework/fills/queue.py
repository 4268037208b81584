"""Queue-position models for resting orders (mm_math.md §8.2, hftbacktest ``models/queue.rs``).

Every resting :class:`~framework.fills.order.SimOrder` carries ``q``, the public
quantity ahead of it.  On arrival ``q`` is the displayed size at our price (we join the
back).  The simulator applies trades at our price itself (``q -= v``; the excess fills
us); a model only decides what a change of the displayed size at our price does:

* ``conservative`` (default): nothing.  Only trades at our price advance us; a depth
  decrease without a trade is assumed to be a cancel behind us.  The most pessimistic.
* ``risk_averse``: hftbacktest ``RiskAdverseQueueModel``: ``q <- min(q, S')``.
* ``prob``: hftbacktest ``ProbQueueModel``: a decrease not explained by trades happened
  behind us with probability ``p(front, back)`` (Power, Power2, Power3, Log, Log2).

A depth change never fills: ``q`` is kept ``>= 0`` here and fills come only from
trades and crosses.  The models are deterministic (expected values, no draws).

``p(front, back)`` is the share of an unexplained decrease that happened *behind* us
(the update is ``q <- front - (1-p) chg + min(back - p chg, 0)``), so every variant
gives ``p = 1`` at the head (``front = 0``) and ``p = 0`` at the tail (``back = 0``), as
in hftbacktest.  mm_math.md §8.2's sentence "p = 0 at the head, p = 1 at the tail"
has the two ends swapped relative to its own formulas; we follow the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from framework.fills.order import SimOrder
from framework.kernel.fpmath import log1p
from framework.kernel.fpmath import pow as fpow

ProbFn = Callable[[float, float], float]


def prob_power(n: float) -> ProbFn:
    """``Bk^n / (Bk^n + F^n)``."""
    return lambda f, b: fpow(b, n) / (fpow(b, n) + fpow(f, n))


def prob_power2(n: float) -> ProbFn:
    """``Bk^n / (Bk + F)^n``."""
    return lambda f, b: fpow(b, n) / fpow(b + f, n)


def prob_power3(n: float) -> ProbFn:
    """``1 - (F / (F + Bk))^n``."""
    return lambda f, b: 1.0 - fpow(f / (f + b), n)


def prob_log(n: float = 1.0) -> ProbFn:
    """``ln(1+Bk) / (ln(1+Bk) + ln(1+F))`` (``n`` unused)."""
    return lambda f, b: log1p(b) / (log1p(b) + log1p(f))


def prob_log2(n: float = 1.0) -> ProbFn:
    """``ln(1+Bk) / ln(1+Bk+F)`` (``n`` unused)."""
    return lambda f, b: log1p(b) / log1p(b + f)


PROB_VARIANTS: dict[str, Callable[[float], ProbFn]] = {
    "power": prob_power,
    "power2": prob_power2,
    "power3": prob_power3,
    "log": prob_log,
    "log2": prob_log2,
}


class ConservativeQueue:
    """Only trades at our price advance the queue; depth changes are ignored."""

    name = "conservative"
    uses_depth = False

    def on_depth(self, o: SimOrder, new_depth: float) -> None:
        o.depth = new_depth


class RiskAverseQueue:
    """hftbacktest ``RiskAdverseQueueModel``: ``q <- min(q, S')`` on every depth change."""

    name = "risk_averse"
    uses_depth = True

    def on_depth(self, o: SimOrder, new_depth: float) -> None:
        if new_depth < o.q:
            o.q = new_depth
        o.depth = new_depth
        o.cum_trade = 0.0


class ProbQueue:
    """hftbacktest ``ProbQueueModel``.

    Parameters
    ----------
    variant : str, default "power3"
        One of ``power``, ``power2``, ``power3``, ``log``, ``log2``.
    n : float, default 3.0
        The exponent of the power variants.
    """

    name = "prob"
    uses_depth = True

    def __init__(self, variant: str = "power3", n: float = 3.0) -> None:
        if variant not in PROB_VARIANTS:
            raise ValueError(
                f"queue_prob_variant={variant!r}: unknown; use one of {', '.join(PROB_VARIANTS)}"
            )
        if not (math.isfinite(n) and n > 0):
            raise ValueError(f"queue_prob_n={n!r}: must be a positive exponent")
        self.variant = variant
        self.n = n
        self.prob = PROB_VARIANTS[variant](n)

    def on_depth(self, o: SimOrder, new_depth: float) -> None:
        prev = o.depth
        # Trades at our price already moved q; only the rest of the decrease is cancels.
        chg = prev - new_depth - o.cum_trade
        o.cum_trade = 0.0
        o.depth = new_depth
        if chg < 0:
            if new_depth < o.q:
                o.q = new_depth
            return
        front = o.q
        back = max(prev - front, 0.0)
        try:
            p = self.prob(front, back)
        except ZeroDivisionError:
            p = 1.0
        if not math.isfinite(p):
            p = 1.0
        est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
        est = min(est, new_depth)
        o.q = est if est > 0.0 else 0.0


QueueModel = ConservativeQueue | RiskAverseQueue | ProbQueue


def make_queue(name: str, variant: str = "power3", n: float = 3.0) -> QueueModel:
    """Build a queue model by name: ``conservative``, ``risk_averse`` or ``prob``."""
    if name == "conservative":
        return ConservativeQueue()
    if name == "risk_averse":
        return RiskAverseQueue()
    if name == "prob":
        return ProbQueue(variant, n)
    raise ValueError(
        f"queue={name!r}: unknown queue model; use 'conservative', 'risk_averse' or 'prob'"
    )
