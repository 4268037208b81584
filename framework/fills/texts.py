"""The paper venue's reject and status texts: one table, as the protocol reference asks.

Documented strings are reproduced verbatim (hyperliquid_protocol.md §4.9).  Where the
reference marks a text **[UNCERTAIN]** we pick one fixed string here and say so; the
``[ours]`` entries are statuses the venue has no text for.

The Hyperliquid simulator's error table (``framework.hyperliquid.simulator.errors``) takes
the texts both venues answer with from here, so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np

VENUE_TEXT: dict[str, str] = {
    # Documented (BadAloPx); the table in §4.9 ends it with "." but the response example
    # and user reports do not [UNCERTAIN]: we follow the example, without the period.
    "bad_alo_px": "Post only order would have immediately matched, bbo was {bid}@{ask}",
    # Documented (Cancel: MissingOrder).
    "cancel_missing": "Order was never placed, already canceled, or filled.",
    # Documented (IocCancel).
    "ioc_cancel": "Order could not immediately match against any resting orders.",
    # Documented (MinTradeNtl).
    "min_notional": "Order must have minimum value of $10.",
    # Documented (ReduceOnly).
    "reduce_only": "Reduce only order would increase position.",
    # [UNCERTAIN: text] modify of a canceled or filled order.
    "modify_missing": "Cannot modify canceled or filled order",
    # [UNCERTAIN: text] address request budget exhausted.
    "rate_limited": (
        "Too many cumulative requests sent ({used} > {cap}) for cumulative volume traded ${vlm}."
    ),
    # [ours] reasons on SIM_ORDERS rows that the venue reports without text.
    "canceled": "canceled",
    "modified": "canceled by modify (queue position lost)",
    "ioc_remainder": "Ioc remainder canceled",
    "reduce_only_canceled": "reduce-only order canceled: position closed",
    "bad_order": "invalid order: {detail}",
}


def wire_number(x: float) -> str:
    """A price as the venue prints it: shortest decimal, no exponent, no trailing ``.0``.

    Examples
    --------
    >>> wire_number(64990.0), wire_number(1891.3), wire_number(0.00012)
    ('64990', '1891.3', '0.00012')
    """
    if x != x:  # NaN: an empty side of the book
        return "None"
    return np.format_float_positional(x, trim="-")


def bad_alo_text(bid: float, ask: float) -> str:
    """The post-only reject text with the book's best bid and ask."""
    return VENUE_TEXT["bad_alo_px"].format(bid=wire_number(bid), ask=wire_number(ask))
