"""The paper fill simulator and its swappable models (latency, queue, fees, budget).

Errors: bad settings raise ``ValueError`` (or ``TypeError`` for unknown keys) naming
the setting; a malformed order command raises ``ValueError`` naming its seq.
"""

from framework.fills.budget import RequestBudget
from framework.fills.config import FillSimConfig
from framework.fills.fees import FeeSchedule, funding_payment
from framework.fills.latency import ConstantLatency, EmpiricalLatency, make_latency
from framework.fills.queue import ConservativeQueue, ProbQueue, RiskAverseQueue, make_queue
from framework.fills.simulator import FillSimulator
from framework.fills.texts import VENUE_TEXT

__all__ = [
    "VENUE_TEXT",
    "ConservativeQueue",
    "ConstantLatency",
    "EmpiricalLatency",
    "FeeSchedule",
    "FillSimConfig",
    "FillSimulator",
    "ProbQueue",
    "RequestBudget",
    "RiskAverseQueue",
    "funding_payment",
    "make_latency",
    "make_queue",
]
