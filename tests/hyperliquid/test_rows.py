"""User-stream and account rows match the journal schema."""

from __future__ import annotations

import pytest

from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.hyperliquid.errors import ProtocolError
from framework.hyperliquid.rows import account_row, parse_user_message, rate_limit_row
from framework.hyperliquid.types import ClearinghouseState, UserRateLimit, structure

FILL = {
    "coin": "BTC",
    "px": "69172.0",
    "sz": "0.001",
    "side": "B",
    "time": 1724361546645,
    "startPosition": "0.0",
    "dir": "Open Long",
    "closedPnl": "0.0",
    "hash": "0x1",
    "oid": 7,
    "crossed": False,
    "fee": "-0.0001",
    "tid": 99,
    "feeToken": "USDC",
    "cloid": "0x" + "0" * 31 + "1",
}
UPDATE = {
    "order": {
        "coin": "BTC",
        "side": "A",
        "limitPx": "69173.0",
        "sz": "0.0",
        "oid": 8,
        "timestamp": 1724361546645,
        "origSz": "0.002",
        "cloid": None,
    },
    "status": "filled",
    "statusTimestamp": 1724361546650,
}


def _full(kind, rows):
    return Columns.from_rows(kind, [(i, *r) for i, (k, r) in enumerate(rows) if k == kind])


def test_order_updates_and_fills_rows_fit_the_schema():
    rows = parse_user_message({"channel": "orderUpdates", "data": [UPDATE]}, 5)
    assert rows == [
        (
            Kind.ORDER_UPDATES,
            (1724361546650 * 10**6, 5, "BTC", 8, None, -1, 69173.0, 0.0, 0.002, "filled"),
        )
    ]
    _full(Kind.ORDER_UPDATES, rows)
    fills = parse_user_message(
        {"channel": "userFills", "data": {"isSnapshot": False, "user": "0x", "fills": [FILL]}}, 6
    )
    assert fills[0][1][2:] == (
        "BTC",
        7,
        FILL["cloid"],
        1,
        69172.0,
        0.001,
        -0.0001,
        False,
        99,
        0.0,
        0.0,
    )
    _full(Kind.FILLS, fills)
    snap = {"channel": "userFills", "data": {"isSnapshot": True, "fills": [FILL]}}
    assert parse_user_message(snap, 7) == []
    assert len(parse_user_message(snap, 7, include_snapshot=True)) == 1
    assert len(parse_user_message({"channel": "user", "data": {"fills": [FILL, FILL]}}, 8)) == 2
    assert parse_user_message({"channel": "user", "data": {"funding": {}}}, 8) == []
    assert parse_user_message({"channel": "l2Book", "data": {}}, 8) == []


def test_malformed_user_messages_name_the_field():
    with pytest.raises(ProtocolError, match=r"orderUpdates\[0\]"):
        parse_user_message({"channel": "orderUpdates", "data": [{"order": {}}]}, 1)
    with pytest.raises(ProtocolError, match=r"fills\[0\].side"):
        parse_user_message({"channel": "user", "data": {"fills": [{**FILL, "side": "X"}]}}, 1)


def test_account_and_rate_limit_rows():
    state = structure(
        {
            "assetPositions": [
                {
                    "position": {
                        "coin": "BTC",
                        "szi": "-0.002",
                        "entryPx": "69000",
                        "unrealizedPnl": "1.5",
                        "leverage": {"type": "cross", "value": 20},
                    },
                    "type": "oneWay",
                }
            ],
            "marginSummary": {
                "accountValue": "1000",
                "totalMarginUsed": "7",
                "totalNtlPos": "138",
                "totalRawUsd": "1",
            },
            "crossMarginSummary": {
                "accountValue": "1000",
                "totalMarginUsed": "7",
                "totalNtlPos": "138",
                "totalRawUsd": "1",
            },
            "withdrawable": "993",
            "time": 1000,
        },
        ClearinghouseState,
    )
    kind, row = account_row(state, "BTC", 5)
    assert row == (10**9, 5, "BTC", 1000.0, 7.0, -0.002, 69000.0, 1.5, 993.0)
    assert account_row(state, "ETH", 5)[1][5:8] == (0.0, None, 0.0)
    _full(kind, [(kind, row)])
    rl = UserRateLimit(cum_vlm=5.0, n_requests_used=3, n_requests_cap=10005)
    k2, r2 = rate_limit_row(rl, 9)
    assert r2 == (9, 9, 5.0, 3, 10005)
    _full(k2, [(k2, r2)])
