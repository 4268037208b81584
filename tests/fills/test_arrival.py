"""Arrival at the venue: post-only rejects, taking orders, checks."""

from __future__ import annotations

import pytest

from framework.fills.texts import VENUE_TEXT, bad_alo_text, wire_number
from tests.fills.harness import MS, T0, venue_with_book


def arrive(v, side, px, sz, tif="Alo", reduce_only=False):
    """Send an order 1 ms after the engine's current time and step past its arrival."""
    t = v.engine.now + MS
    cloid = v.place(t, side, px, sz, tif, reduce_only)
    v.tick(t + 100 * MS)
    return cloid


def test_post_only_crossing_the_book_is_rejected_with_the_venue_text():
    v = venue_with_book()
    cloid = arrive(v, 1, 100.1, 1.0)
    (row,) = v.orders(cloid)
    assert row["status"] == "rejected"
    assert row["reason"] == "Post only order would have immediately matched, bbo was 100@100.1"
    sell = arrive(v, -1, 99.95, 1.0)
    assert v.orders(sell)[0]["reason"].endswith("bbo was 100@100.1")
    assert v.fills() == []


def test_post_only_inside_the_spread_rests():
    v = venue_with_book()
    cloid = arrive(v, 1, 100.05, 1.0)
    (row,) = v.orders(cloid)
    assert (row["status"], row["queue_ahead"]) == ("resting", 0.0)


def test_wire_number_prints_like_the_venue():
    assert bad_alo_text(64990.0, 64991.0).endswith("bbo was 64990@64991")
    assert wire_number(0.00012) == "0.00012"


def test_gtc_walks_levels_as_taker_and_rests_the_remainder():
    v = venue_with_book()
    cloid = arrive(v, 1, 100.2, 12.0, tif="Gtc")
    fills = [(f["px"], f["sz"], f["liquidity"], f["rule"]) for f in v.fills(cloid)]
    assert fills == [(100.1, 4.0, "taker", "taker"), (100.2, 6.0, "taker", "taker")]
    fee = v.fills(cloid)[0]["fee"]
    assert fee == pytest.approx(100.1 * 4.0 * 4.5e-4)
    (row,) = v.orders(cloid)
    assert (row["status"], row["sz"]) == ("resting", 2.0)
    assert v.sim.position == 10.0
    assert v.fills(cloid)[-1]["position"] == 10.0
    assert v.sim.fills_by_rule["taker"] == 2


def test_ioc_fills_what_it_can_and_cancels_the_rest():
    v = venue_with_book()
    cloid = arrive(v, -1, 99.9, 10.0, tif="Ioc")
    assert [(f["px"], f["sz"]) for f in v.fills(cloid)] == [(100.0, 5.0), (99.9, 3.0)]
    (row,) = v.orders(cloid)
    assert (row["status"], row["sz"], row["reason"]) == (
        "canceled",
        2.0,
        VENUE_TEXT["ioc_remainder"],
    )
    assert v.sim.open_orders == []


def test_ioc_fully_filled_reports_filled():
    v = venue_with_book()
    cloid = arrive(v, 1, 100.1, 3.0, tif="Ioc")
    assert [r["status"] for r in v.orders(cloid)] == ["filled"]
    assert v.filled_sz(cloid) == 3.0


def test_ioc_that_cannot_match_is_rejected():
    v = venue_with_book()
    cloid = arrive(v, 1, 99.0, 1.0, tif="Ioc")
    (row,) = v.orders(cloid)
    assert (row["status"], row["reason"]) == ("rejected", VENUE_TEXT["ioc_cancel"])


def test_order_below_ten_dollars_is_rejected():
    v = venue_with_book()
    cloid = arrive(v, 1, 99.0, 0.1)
    assert v.orders(cloid)[0]["reason"] == VENUE_TEXT["min_notional"]


def test_reduce_only_that_would_increase_position_is_rejected_and_capped_otherwise():
    v = venue_with_book()
    first = arrive(v, 1, 99.0, 1.0, reduce_only=True)
    assert v.orders(first)[0]["reason"] == VENUE_TEXT["reduce_only"]
    v.place(T0 + 200 * MS, 1, 100.1, 2.0, "Ioc")  # long 2
    v.tick(T0 + 300 * MS)
    sell = v.place(T0 + 400 * MS, -1, 99.8, 5.0, "Gtc", True)
    v.tick(T0 + 500 * MS)
    assert v.filled_sz(sell) == 2.0  # capped at the position
    assert v.sim.position == 0.0
    assert v.orders(sell)[-1]["status"] == "canceled"


def test_invalid_tif_is_rejected_naming_the_field():
    v = venue_with_book()
    cloid = arrive(v, 1, 99.0, 1.0, tif="Day")
    assert "tif='Day'" in v.orders(cloid)[0]["reason"]


def test_unknown_action_raises_naming_the_seq():
    v = venue_with_book()
    with pytest.raises(ValueError, match=r"order_commands row seq \d+: action='replace'"):
        v.command(T0 + MS, ("0x1", "replace", "TEST", 1, 1.0, 1.0, "Alo", False, None, 0, None))
