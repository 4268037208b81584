"""Wire formatting (reference §5.5), the price/size grid (§5.6) and action key order (§4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hyperliquid.utils.signing import float_to_wire

from framework.hyperliquid import wire
from framework.hyperliquid.errors import MinNotionalError, WireError


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (100, "100"),
        (1670.1, "1670.1"),
        (0.0147, "0.0147"),
        (1e-8, "0.00000001"),
        (Decimal("0.3"), "0.3"),
        (1900.50, "1900.5"),
        (Decimal("1900.50"), "1900.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0"), "0"),
        (0, "0"),
        ("12.3400", "12.34"),
        (Decimal("100.000"), "100"),
    ],
)
def test_to_wire_examples(x, expected):
    assert wire.to_wire(x) == expected


@pytest.mark.parametrize("x", [100, 1670.1, 0.0147, 1e-8, 1900.5, 0.001234, 69172.0, 3.5e-5])
def test_to_wire_matches_sdk_float_to_wire(x):
    assert wire.to_wire(x) == float_to_wire(x)


def test_to_wire_refuses_more_than_eight_decimals():
    with pytest.raises(WireError, match="more than 8 decimals"):
        wire.to_wire(1.123456789)
    with pytest.raises(WireError, match="more than 8 decimals"):
        wire.to_wire(0.1 + 0.2)  # 0.30000000000000004: round first
    with pytest.raises(WireError, match="bool"):
        wire.to_wire(True)
    with pytest.raises(WireError, match="not finite"):
        wire.to_wire(float("nan"))


@pytest.mark.parametrize(
    ("px", "sz_dec", "ok"),
    [
        ("1234.5", 0, True),
        ("1234.56", 0, False),
        ("0.001234", 0, True),
        ("0.0012345", 0, False),
        ("0.01234", 1, True),
        ("0.012345", 1, False),
        ("123456", 5, True),  # integer prices always valid
        ("69172", 5, True),
        ("69172.5", 5, False),  # 6 sig figs
        ("3012.1", 4, True),
        ("3012.15", 4, False),
    ],
)
def test_price_validity_examples(px, sz_dec, ok):
    assert wire.is_valid_price(px, sz_dec) is ok


def test_round_price_bids_down_asks_up():
    assert wire.round_price("1234.56", 0, is_buy=True) == Decimal("1234.5")
    assert wire.round_price("1234.56", 0, is_buy=False) == Decimal("1234.6")
    assert wire.round_price("69172.7", 5, is_buy=True) == Decimal("69172")
    assert wire.round_price("69172.2", 5, is_buy=False) == Decimal("69173")
    assert wire.round_price("99999.5", 5, is_buy=False) == Decimal("100000")
    assert wire.round_price("9.99995", 0, is_buy=False) == Decimal("10")
    # not passive: an Ioc price cap rounds the aggressive way
    assert wire.round_price("1234.56", 0, is_buy=True, passive=False) == Decimal("1234.6")
    for px in ("0.0123456", "1.234567", "98765.4321", "5"):
        for sz_dec in range(6):
            if Decimal(px) < Decimal(1).scaleb(sz_dec - 6):
                with pytest.raises(WireError, match="below"):
                    wire.round_price(px, sz_dec, is_buy=True)
                continue
            for is_buy in (True, False):
                r = wire.round_price(px, sz_dec, is_buy)
                assert wire.is_valid_price(r, sz_dec)
                assert (r <= Decimal(px)) if is_buy else (r >= Decimal(px))


def test_round_size_and_min_notional():
    assert wire.round_size("1.23456", 3) == Decimal("1.234")
    assert wire.round_size("1.2349", 3, down=False) == Decimal("1.235")
    assert wire.is_valid_size("1.001", 3) and not wire.is_valid_size("1.0001", 3)
    wire.check_min_notional("10", "1")
    with pytest.raises(MinNotionalError, match=r"below the minimum of \$10"):
        wire.check_min_notional("9.99", "1")


def test_cloid_format():
    assert wire.cloid_from_int(1) == "0x00000000000000000000000000000001"
    assert (
        wire.check_cloid("0xABCDEF0123456789ABCDEF0123456789")
        == "0xabcdef0123456789abcdef0123456789"
    )
    for bad in ("0x1234", "1234567890abcdef1234567890abcdef", "0x" + "g" * 32):
        with pytest.raises(WireError, match="cloid"):
            wire.check_cloid(bad)
    with pytest.raises(WireError):
        wire.cloid_from_int(-1)


def test_order_action_key_order_and_optional_keys():
    o = wire.order_wire(
        0, True, Decimal("1900.50"), "0.1", False, wire.limit("Alo"), wire.cloid_from_int(7)
    )
    assert list(o) == ["a", "b", "p", "s", "r", "t", "c"]
    assert o["p"] == "1900.5"
    o2 = wire.order_wire(3, False, "103", "1", True, wire.trigger("103", True, "sl"))
    assert "c" not in o2
    assert list(o2["t"]["trigger"]) == ["isMarket", "triggerPx", "tpsl"]
    a = wire.order_action([o, o2], "normalTpsl", {"b": "0x" + "AB" * 20, "f": 10})
    assert list(a) == ["type", "orders", "grouping", "builder"]
    assert a["builder"] == {"b": "0x" + "ab" * 20, "f": 10}
    assert "builder" not in wire.order_action([o])
    with pytest.raises(WireError, match="tif"):
        wire.limit("FOK")
    with pytest.raises(WireError, match="grouping"):
        wire.order_action([o], "oco")
    with pytest.raises(WireError, match="at least one"):
        wire.order_action([])


def test_other_actions_key_order():
    assert list(wire.cancel_action([(0, 5)])["cancels"][0]) == ["a", "o"]
    assert list(wire.cancel_by_cloid_action([(0, wire.cloid_from_int(1))])["cancels"][0]) == [
        "asset",
        "cloid",
    ]
    assert list(wire.update_leverage_action(1, True, 10)) == [
        "type",
        "asset",
        "isCross",
        "leverage",
    ]
    assert wire.schedule_cancel_action() == {"type": "scheduleCancel"}
    assert wire.schedule_cancel_action(5) == {"type": "scheduleCancel", "time": 5}
    m = wire.modify_action(
        wire.cloid_from_int(3), wire.order_wire(0, True, "1", "10", False, wire.limit("Gtc"))
    )
    assert list(m) == ["type", "oid", "order"]
    assert wire.noop_action() == {"type": "noop"}


def test_exchange_weight():
    o = wire.order_wire(0, True, "1", "10", False, wire.limit("Gtc"))
    assert wire.exchange_weight(wire.order_action([o])) == 1
    assert wire.exchange_weight(wire.order_action([o] * 39)) == 1
    assert wire.exchange_weight(wire.order_action([o] * 79)) == 2
    assert wire.exchange_weight(wire.order_action([o] * 80)) == 3
    assert wire.exchange_weight(wire.noop_action()) == 1
