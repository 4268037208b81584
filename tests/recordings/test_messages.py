"""parse_ws_message: every imported channel, skipped channels, and malformed messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from framework.events.columns import Columns
from framework.events.schema import Kind, spec
from framework.recordings import MessageError, UnknownChannelError, parse_ws_message

BOOK: dict[str, Any] = {
    "channel": "l2Book",
    "data": {
        "coin": "BTC",
        "time": 1787195067883,
        "levels": [
            [
                {"px": "69172.0", "sz": "1.21098", "n": 5},
                {"px": "69171.0", "sz": "0.35315", "n": 2},
            ],
            [{"px": "69173.0", "sz": "8.45682", "n": 30}],
        ],
    },
}
TRADES = {
    "channel": "trades",
    "data": [
        {"coin": "BTC", "side": "A", "px": "69170.0", "sz": "0.00018", "time": 1787195046105,
         "hash": "0xabc", "tid": 456615105517601, "users": ["0x1", "0x2"]},
        {"coin": "BTC", "side": "B", "px": "69171.0", "sz": "0.5", "time": 1787195046105,
         "hash": "0xabc", "tid": 456615105517602, "users": ["0x1", "0x3"]},
    ],
}  # fmt: skip
BBO = {
    "channel": "bbo",
    "data": {"coin": "BTC", "time": 1787195068169,
             "bbo": [{"px": "69172.0", "sz": "0.92185", "n": 4}, None]},
}  # fmt: skip
CTX = {
    "channel": "activeAssetCtx",
    "data": {"coin": "BTC", "ctx": {
        "funding": "0.0000125", "openInterest": "34524.51236", "prevDayPx": "64319.0",
        "dayNtlVlm": "5691036987.81", "premium": "-0.0001329822", "oraclePx": "69182.2",
        "markPx": "69172.0", "midPx": "69172.5", "impactPxs": ["69172.0", "69173.0"],
        "dayBaseVlm": "84496.56164"}},
}  # fmt: skip
RECV = 1787195068000000000


def _one(msg: dict[str, Any]) -> tuple[Kind, tuple[Any, ...]]:
    rows = parse_ws_message(msg, RECV)
    assert len(rows) == 1
    return rows[0]


def test_book_gives_one_snapshot_best_first() -> None:
    kind, row = _one(BOOK)
    assert kind is Kind.BOOK
    assert row == (
        1787195067883_000_000, RECV, "BTC",
        [69172.0, 69171.0], [1.21098, 0.35315], [5, 2],
        [69173.0], [8.45682], [30],
    )  # fmt: skip


def test_trades_give_one_row_per_print_with_signed_side() -> None:
    rows = parse_ws_message(TRADES, RECV)
    assert [k for k, _ in rows] == [Kind.TRADES, Kind.TRADES]
    assert rows[0][1] == (1787195046105_000_000, RECV, "BTC", -1, 69170.0, 0.00018,
                          456615105517601, "0xabc")  # fmt: skip
    assert rows[1][1][3] == 1


def test_bbo_null_side_is_null() -> None:
    kind, row = _one(BBO)
    assert kind is Kind.BBO
    assert row == (1787195068169_000_000, RECV, "BTC", 69172.0, 0.92185, None, None)


def test_asset_ctx_uses_recv_time_as_ts() -> None:
    kind, row = _one(CTX)
    assert kind is Kind.ASSET_CTX
    assert row == (RECV, RECV, "BTC", 69172.0, 69182.2, 69172.5, 1.25e-5, -0.0001329822,
                   34524.51236, 5691036987.81)  # fmt: skip


@pytest.mark.parametrize("msg", [BOOK, TRADES, BBO, CTX])
def test_rows_fit_the_table_schema(msg: dict[str, Any]) -> None:
    rows = parse_ws_message(msg, RECV)
    kind = rows[0][0]
    full = [(i + 1, *r) for i, (_, r) in enumerate(rows)]
    cols = Columns.from_rows(kind, full)
    assert len(full[0]) == len(spec(kind).columns)
    assert cols.recv_ts[0] == RECV


@pytest.mark.parametrize("channel", ["subscriptionResponse", "pong", "post"])
def test_skipped_channels_give_no_rows(channel: str) -> None:
    assert parse_ws_message({"channel": channel, "data": {}}, RECV) == []


def test_empty_trades_batch_gives_no_rows() -> None:
    assert parse_ws_message({"channel": "trades", "data": []}, RECV) == []


def test_unknown_channel_is_named() -> None:
    with pytest.raises(UnknownChannelError, match="unknown channel 'candle'"):
        parse_ws_message({"channel": "candle", "data": {}}, RECV)


def _broken(msg: dict[str, Any], path: list[Any], value: Any = KeyError) -> dict[str, Any]:
    m = copy.deepcopy(msg)
    obj = m
    for p in path[:-1]:
        obj = obj[p]
    if value is KeyError:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return m


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (_broken(BOOK, ["data", "levels", 0, 1, "px"]), r"levels\[0\] \(bids\)\[1\] has no 'px'"),
        (_broken(BOOK, ["data", "levels", 1, 0, "sz"], "abc"), r"\.sz is 'abc'"),
        (_broken(BOOK, ["data", "levels", 0, 1, "px"], "69999.0"), "best-first"),
        (_broken(BOOK, ["data", "levels"], [[]]), r"levels must be \[bids, asks\]"),
        (_broken(BOOK, ["data", "time"], "soon"), r"time is 'soon'"),
        (_broken(BOOK, ["data", "coin"]), r"coin is missing"),
        (_broken(BOOK, ["data", "levels", 0, 0, "n"]), r"\.n is missing"),
        (_broken(TRADES, ["data", 1, "side"], "S"), r"trades\[1\]\.side is 'S'"),
        (_broken(TRADES, ["data", 0, "tid"], "7"), r"trades\[0\]\.tid"),
        (_broken(TRADES, ["data", 0, "px"], "-1"), "positive"),
        (_broken(TRADES, ["data", 0, "sz"], "nan"), "decimal number"),
        (_broken(BBO, ["data", "bbo"], [None]), r"bbo must be \[bid, ask\]"),
        (_broken(CTX, ["data", "ctx", "markPx"]), "has no 'markPx'"),
        (_broken(CTX, ["data", "ctx"], None), "ctx is missing"),
        ({"channel": "trades"}, "has no 'data'"),
        ({"data": {}}, "no 'channel'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_malformed_messages_name_the_field(msg: Any, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        parse_ws_message(msg, RECV)
