"""The ONE table of error strings the simulator answers with.

Documented strings (reference §4.9, §1) are reproduced verbatim.  Strings the reference
marks **[UNCERTAIN]** are *chosen* by us; they are listed under ``CHOSEN`` so a reader
(and a client's error classifier) knows which texts are ours, not the venue's.
Format fields are filled with ``str.format``.

Texts the paper venue also answers with are taken from :mod:`framework.fills.texts`
(``VENUE_TEXT``), so the simulator and the paper fill simulator cannot drift apart.
"""

from __future__ import annotations

import math

from framework.fills.texts import VENUE_TEXT, bad_alo_text

# -- documented verbatim (reference §4.9 per-order table and top-level strings) ------------
TICK = "Price must be divisible by tick size."
MIN_TRADE_NTL = VENUE_TEXT["min_notional"]
PERP_MARGIN = "Insufficient margin to place order."
REDUCE_ONLY = VENUE_TEXT["reduce_only"]
# {bbo} renders as "<bid>@<ask>" [UNCERTAIN format; the choice is explained in fills.texts]
BAD_ALO_PX = VENUE_TEXT["bad_alo_px"]
IOC_CANCEL = VENUE_TEXT["ioc_cancel"]
# when: a trigger order whose triggerPx is not a positive price on the tick grid [our choice]
BAD_TRIGGER_PX = "Invalid TP/SL price."
# when: a FrontendMarket order that fills nothing (an Ioc gets IOC_CANCEL) [our choice]
MARKET_NO_LIQUIDITY = "No liquidity available for market order."
# when: |px / oracle - 1| > SimConfig.oracle_band (0.8, a chosen band) [our choice]
ORACLE = "Order price too far from oracle"
CANCEL_MISSING = VENUE_TEXT["cancel_missing"]
UNKNOWN_SIGNER = "L1 error: User or API Wallet {address} does not exist."
# when: an L1 action by an account that never held USDC (deposit 0, nothing received)
MUST_DEPOSIT = "Must deposit before performing actions. User: {address}"
UNRECOVERABLE = "Unable to recover signer."

# -- CHOSEN by us: the reference marks these [UNCERTAIN] or does not give a text -----------
NONCE_REUSED = "Invalid nonce: duplicate nonce {nonce} for signer {signer}."  # chosen
NONCE_TOO_LOW = (  # chosen
    "Invalid nonce: nonce {nonce} is not greater than the smallest of the 100 highest "
    "nonces of signer {signer} ({smallest})."
)
NONCE_WINDOW = (  # chosen
    "Invalid nonce: nonce {nonce} is outside the allowed window ({lo}, {hi}) ms."
)
ADDRESS_BUDGET = VENUE_TEXT["rate_limited"]  # chosen (text from secondary sources)
OPEN_ORDER_CAP = "Too many open orders ({n} >= {cap})."  # chosen
EXPIRED = "Action expired: expiresAfter {expires_after} < {now}."  # chosen
INVALID_SIZE = "Order has invalid size."  # chosen
UNKNOWN_ASSET = "Order has invalid asset {asset}."  # chosen
TRIGGER_UNSUPPORTED = "Trigger orders are not supported by the simulator."  # chosen
MODIFY_MISSING = VENUE_TEXT["modify_missing"]  # chosen ([UNCERTAIN] in §4.4)
LEVERAGE_INVALID = "Invalid leverage value {leverage} for asset {asset} (max {max})."  # chosen
CROSS_NOT_ALLOWED = "Cross margin is not allowed for this asset."  # chosen
LEVERAGE_UNKNOWN_ASSET = "Invalid asset {asset}."  # chosen
SCHEDULE_TOO_EARLY = (  # chosen
    "Scheduled cancel time too early, must be at least 5 seconds from now."
)
SCHEDULE_TOO_MANY = "Too many scheduled cancel triggers today (max 10)."  # chosen
AGENT_SIGNED_USER_ACTION = (  # chosen
    "User-signed action {type} must be signed by the account, not by an API wallet."
)
USER_NONCE_MISMATCH = "Envelope nonce {nonce} does not equal the action's nonce {action_nonce}."
UNSUPPORTED_ACTION = "Action type {type} is not supported by the simulator."  # chosen
VAULT_UNSUPPORTED = "Vault and sub-account trading are not supported by the simulator."  # chosen
TRANSFER_AMOUNT = "Invalid transfer amount {amount}."  # chosen
TRANSFER_INSUFFICIENT = (
    "Insufficient balance for transfer of {amount} (withdrawable {free})."  # chosen
)
FAULT_REJECT = "Order rejected: injected fault."  # chosen (fault injection)
# when: a place whose cloid an earlier order of the account already used [UNCERTAIN: the
# venue's behaviour and text; we refuse, so a resent place can never make a second order]
DUPLICATE_CLOID = "Order has duplicate cloid {cloid}."  # chosen
FAULT_429 = "429 Too Many Requests (injected fault)"  # chosen (fault injection, HTTP/WS 429)
DESERIALIZE = "Failed to deserialize the JSON body into the target type: {detail}"  # §1 [UNC.]
RATE_LIMITED = "Too many requests: IP weight limit of {cap} per minute exceeded."  # chosen (429)
WS_PARSE = "Error parsing JSON into valid websocket request: {raw}"  # chosen ([UNCERTAIN] §3.1)
WS_ALREADY_SUBSCRIBED = "Already subscribed: {sub}"  # documented example
WS_NOT_SUBSCRIBED = "Already unsubscribed: {sub}"  # chosen
WS_SUB_INVALID = "Invalid subscription: {sub}"  # chosen
WS_TOO_MANY_SUBS = "Cannot track more than {cap} total subscriptions"  # chosen (§6.1 limit)
WS_TOO_MANY_USERS = "Cannot track more than {cap} total users"  # chosen (§6.1 limit)

#: Names of the strings above that are our choice, not documented verbatim.
CHOSEN = frozenset(
    {
        "NONCE_REUSED",
        "NONCE_TOO_LOW",
        "NONCE_WINDOW",
        "ADDRESS_BUDGET",
        "OPEN_ORDER_CAP",
        "EXPIRED",
        "INVALID_SIZE",
        "UNKNOWN_ASSET",
        "TRIGGER_UNSUPPORTED",
        "MODIFY_MISSING",
        "LEVERAGE_INVALID",
        "CROSS_NOT_ALLOWED",
        "LEVERAGE_UNKNOWN_ASSET",
        "SCHEDULE_TOO_EARLY",
        "SCHEDULE_TOO_MANY",
        "AGENT_SIGNED_USER_ACTION",
        "USER_NONCE_MISMATCH",
        "UNSUPPORTED_ACTION",
        "VAULT_UNSUPPORTED",
        "FAULT_REJECT",
        "FAULT_429",
        "TRANSFER_AMOUNT",
        "TRANSFER_INSUFFICIENT",
        "DESERIALIZE",
        "RATE_LIMITED",
        "WS_PARSE",
        "WS_NOT_SUBSCRIBED",
        "WS_SUB_INVALID",
        "WS_TOO_MANY_SUBS",
        "WS_TOO_MANY_USERS",
    }
)

#: orderUpdates / orderStatus status of an order rejected with a per-order error string.
REJECT_STATUS = {
    TICK: "tickRejected",
    MIN_TRADE_NTL: "minTradeNtlRejected",
    PERP_MARGIN: "perpMarginRejected",
    REDUCE_ONLY: "reduceOnlyRejected",
    IOC_CANCEL: "iocCancelRejected",
    BAD_TRIGGER_PX: "badTriggerPxRejected",
    MARKET_NO_LIQUIDITY: "marketOrderNoLiquidityRejected",
    ORACLE: "oracleRejected",
}


def bad_alo_px(bid: float | None, ask: float | None) -> str:
    """The post-only reject text for the book's best bid and ask (None: empty side)."""
    return bad_alo_text(math.nan if bid is None else bid, math.nan if ask is None else ask)


def reject_status(text: str) -> str:
    """The order status for a rejection text (``badAloPxRejected`` for the bbo template)."""
    if text.startswith(BAD_ALO_PX.partition("{")[0]):
        return "badAloPxRejected"
    return REJECT_STATUS.get(text, "rejected")


class Reject(Exception):
    """A whole request rejected: answered ``{"status": "err", "response": text}``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Undeserializable(Exception):
    """An action that does not parse: answered with HTTP 422 and a plain-text body."""

    def __init__(self, detail: str) -> None:
        super().__init__(DESERIALIZE.format(detail=detail))
        self.text = DESERIALIZE.format(detail=detail)
