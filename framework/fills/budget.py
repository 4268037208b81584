"""The simulated address request budget (hyperliquid_protocol.md §6.2).

Each order, cancel or modify the venue processes consumes one request.  The cap is
``10000 + cumulative traded volume in USDC``; once it is exhausted one request per
10 s is still allowed, and cancels have the higher cap ``min(cap + 100000, 2 cap)``.
"""

from __future__ import annotations

from framework.kernel.venue import BASE_REQUESTS, THROTTLED_INTERVAL_NS, RequestBudget

__all__ = ["BASE_REQUESTS", "THROTTLED_INTERVAL_NS", "RequestBudget"]
