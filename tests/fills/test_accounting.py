"""Fees, cash, funding, the request budget."""

from __future__ import annotations

import pytest

from framework.events.schema import Kind
from framework.fills.budget import RequestBudget
from framework.fills.fees import FeeSchedule, next_hour_ns
from framework.fills.texts import VENUE_TEXT
from tests.fills.harness import HOUR, MS, T0, rest_bid, venue_with_book


def test_maker_and_taker_fees_and_cash():
    v = venue_with_book()
    bid = rest_bid(v, T0, 100.0, 1.0)
    v.trade(T0 + 200 * MS, -1, 99.9, 5.0)
    (maker,) = v.fills(bid)
    assert maker["fee"] == pytest.approx(100.0 * 1.5e-4)
    take = v.place(T0 + 300 * MS, -1, 100.0, 1.0, "Ioc")
    v.tick(T0 + 400 * MS)
    (taker,) = v.fills(take)
    assert (taker["liquidity"], taker["fee"]) == ("taker", pytest.approx(100.0 * 4.5e-4))
    sim = v.sim
    assert sim.position == 0.0
    assert sim.fees_paid == pytest.approx(0.015 + 0.045)
    assert sim.cash == pytest.approx(-0.06)  # bought and sold at 100: only the fees
    assert sim.volume == pytest.approx(200.0)


def test_fee_rates_are_configurable_and_may_be_rebates():
    v = venue_with_book(maker_bps=-0.2, taker_bps=3.0)
    bid = rest_bid(v, T0, 100.0, 1.0)
    v.trade(T0 + 200 * MS, -1, 99.9, 5.0)
    assert v.fills(bid)[0]["fee"] == pytest.approx(-0.002)
    with pytest.raises(ValueError, match="maker_bps=nan"):
        FeeSchedule(float("nan"))


def test_hourly_funding_on_the_position_with_the_latest_ctx():
    v = venue_with_book()
    v.ctx(T0, 100.0, 0.0001)
    v.place(T0 + MS, 1, 100.1, 2.0, "Ioc")
    v.tick(T0 + 200 * MS)
    assert v.sim.position == 2.0
    hour = next_hour_ns(T0)
    v.ctx(hour - 1000, 101.0, 0.0002)  # the latest before settlement
    v.tick(hour + 5 * MS)
    (row,) = v.rows(Kind.SIM_FUNDING)
    assert row["ts"] == hour
    assert (row["position"], row["oracle_px"], row["rate"]) == (2.0, 101.0, 0.0002)
    assert row["payment"] == pytest.approx(2.0 * 101.0 * 0.0002)  # longs pay positive rates
    assert v.sim.funding_paid == pytest.approx(0.0404)
    v.ctx(hour + HOUR // 2, 101.0, -0.0001)
    v.tick(hour + HOUR + 1)
    second = v.rows(Kind.SIM_FUNDING)[1]
    assert second["payment"] == pytest.approx(-0.0202)  # negative rate: longs receive


def test_no_funding_row_when_flat():
    v = venue_with_book()
    v.ctx(T0, 100.0, 0.0001)
    v.tick(T0 + 3 * HOUR)
    assert v.rows(Kind.SIM_FUNDING) == []


def test_budget_counts_requests_and_volume_raises_the_cap():
    b = RequestBudget(used=5000, cum_vlm=0.0)
    assert b.headroom == 0.5
    b.add_volume(10_000.0)
    assert (b.cap, b.headroom) == (20_000, 0.75)
    # headroom is kept as used and cum_vlm change, however they change
    assert b.take(0) and b.headroom == 1.0 - 5001 / 20_000
    b.used = 19_000
    assert b.headroom == 1.0 - 19_000 / 20_000
    b.cum_vlm = 30_000.7
    assert (b.cap, b.headroom) == (40_000, 1.0 - 19_000 / 40_000)


def test_each_order_and_cancel_consumes_one_request():
    v = venue_with_book(budget_used=100)
    cloid = rest_bid(v, T0)
    v.cancel(T0 + 200 * MS, cloid)
    v.cancel(T0 + 300 * MS, "0xunknown")
    v.tick(T0 + 400 * MS)
    assert v.sim.budget.used == 103
    assert v.sim.headroom == pytest.approx(1 - 103 / 10_000)
    assert v.engine.component("fills").headroom == v.sim.headroom


def test_exhausted_budget_rejects_orders_but_cancels_still_pass():
    v = venue_with_book(budget_used=9_999)
    first = rest_bid(v, T0)  # uses the last request
    assert v.sim.headroom == 0.0
    second = v.place(T0 + 200 * MS, 1, 99.0, 1.0)
    third = v.place(T0 + 201 * MS, 1, 99.0, 1.0)
    v.tick(T0 + 400 * MS)
    assert v.orders(second)[0]["status"] == "resting"  # one request per 10 s when exhausted
    (row,) = v.orders(third)
    assert row["status"] == "rejected"
    assert row["reason"].startswith("Too many cumulative requests sent (10001 > 10000)")
    v.cancel(T0 + 500 * MS, first)
    v.tick(T0 + 600 * MS)
    assert v.orders(first)[-1]["status"] == "canceled"


def test_cancel_of_unknown_order_is_rejected_with_the_venue_text():
    v = venue_with_book()
    v.cancel(T0, "0x" + "ab" * 16)
    v.tick(T0 + 100 * MS)
    (row,) = v.orders()
    assert (row["status"], row["reason"]) == ("cancel_rejected", VENUE_TEXT["cancel_missing"])
