"""The order tracker: PnL accounting and order states from paper and live feedback."""

from __future__ import annotations

import pytest

from framework.book import MarketState
from framework.engine.core import Engine, ListSink
from framework.events.schema import Kind
from framework.orders import OrderTracker
from tests.strategies.venue import T0, Harness


def bare() -> Harness:
    """Market + tracker only: tests emit commands and feedback by hand."""
    h = Harness.__new__(Harness)
    h.sink = ListSink()
    h.engine = Engine([MarketState(), OrderTracker(coin="X")], seed=1, sink=h.sink)
    h.t = T0
    h.engine.start(T0)
    h.orders = h.engine.component("orders")
    h.book(10.0, 10.02)
    return h


def sim_fill(h: Harness, cloid: str, side: int, px: float, sz: float, fee: float = 0.0) -> None:
    h.engine.emit(Kind.SIM_FILLS, (cloid, "X", side, px, sz, fee, "maker", "trade_at", 0.0, 0))


def test_realized_unrealized_fees_and_funding():
    h = bare()
    o = h.orders
    sim_fill(h, "a", 1, 10.0, 2.0, fee=0.01)
    sim_fill(h, "b", 1, 11.0, 2.0, fee=0.01)  # avg entry 10.5
    sim_fill(h, "c", -1, 12.0, 1.0, fee=0.01)  # realizes 1.5
    assert o.position == pytest.approx(3.0 + 0.0)
    assert o.avg_entry == pytest.approx(10.5)
    assert o.realized_pnl == pytest.approx(1.5)
    assert o.fees == pytest.approx(0.03)
    h.engine.emit(Kind.SIM_FUNDING, ("X", 3.0, 10.0, 0.001, 0.03))
    assert o.funding == pytest.approx(0.03)
    # mark at the mid 10.01: unrealized = 3 * (10.01 - 10.5)
    assert o.unrealized_pnl == pytest.approx(3 * (10.01 - 10.5))
    eq = o.mark()
    assert eq == pytest.approx(o.initial_equity + 1.5 + 3 * (10.01 - 10.5) - 0.03 - 0.03)


def test_flip_through_zero_opens_the_rest_at_the_fill_price():
    h = bare()
    o = h.orders
    sim_fill(h, "a", 1, 10.0, 1.0)
    sim_fill(h, "b", -1, 12.0, 3.0)
    assert o.position == pytest.approx(-2.0)
    assert o.realized_pnl == pytest.approx(2.0)
    assert o.avg_entry == pytest.approx(12.0)


def test_max_drawdown_tracks_the_peak():
    h = bare()
    o = h.orders
    sim_fill(h, "a", 1, 10.0, 100.0)
    h.book(11.0, 11.02)
    o.mark()
    h.book(9.0, 9.02)
    o.mark()
    assert o.max_drawdown_usd == pytest.approx(200.0)
    assert o.max_drawdown == pytest.approx(200.0 / o.peak_equity)


def test_reported_max_drawdown_never_decreases():
    h = bare()
    o = h.orders
    sim_fill(h, "a", 1, 10.0, 100.0)  # 10 000 equity, 100 coins long
    h.book(9.0, 9.02)  # -100 USD from the 10 001 peak: 1.0 %
    o.mark()
    first = o.max_drawdown
    assert first == pytest.approx(100.0 / 10_001.0)
    h.book(40.0, 40.02)  # peak 13 001
    o.mark()
    h.book(38.98, 39.0)  # -102 USD: a larger USD drawdown, a smaller fraction (0.78 %)
    o.mark()
    assert o.max_drawdown_usd == pytest.approx(102.0)
    assert o.max_drawdown == pytest.approx(first)  # was 0.78 % before the fix


def test_live_responses_and_updates_drive_order_states():
    h = bare()
    o = h.orders
    e = h.engine
    cloid = e.next_cloid()
    e.emit(Kind.ORDER_COMMANDS, (cloid, "place", "X", 1, 9.9, 1.0, "Alo", False, None, 0, "t"))
    assert o.order(cloid)[3] == "pending"
    h.step(Kind.ORDER_RESPONSES, (cloid, 7, "place", "resting", None, None, None, 1))
    assert o.order(cloid)[3] == "resting"
    h.step(Kind.FILLS, ("X", 7, cloid, 1, 9.9, 0.4, 0.001, False, 1, 0.0, 0.0))
    assert o.order(cloid)[2] == pytest.approx(0.6) and o.position == pytest.approx(0.4)
    h.step(Kind.ORDER_UPDATES, ("X", 7, cloid, 1, 9.9, 0.6, 1.0, "marginCanceled"))
    assert o.order(cloid) is None
    rejected = e.next_cloid()
    e.emit(Kind.ORDER_COMMANDS, (rejected, "place", "X", -1, 9.0, 1.0, "Alo", False, None, 0, "t"))
    h.step(
        Kind.ORDER_RESPONSES,
        (
            rejected,
            None,
            "place",
            "error",
            "Post only order would have immediately matched",
            None,
            None,
            1,
        ),
    )
    assert o.order(rejected) is None and o.n_rejects == 1


def test_live_rejected_modify_and_scheduled_cancel_via_order_updates():
    h = bare()
    o = h.orders
    e = h.engine
    old = e.next_cloid()
    e.emit(Kind.ORDER_COMMANDS, (old, "place", "X", 1, 9.9, 1.0, "Alo", False, None, 0, "t"))
    h.step(Kind.ORDER_UPDATES, ("X", 7, old, 1, 9.9, 1.0, 1.0, "open"))
    new = e.next_cloid()
    e.emit(Kind.ORDER_COMMANDS, (new, "modify", "X", 1, 9.5, 1.0, "Alo", False, old, 0, "t"))
    assert o.order(old)[3] == "canceling"
    # plain "rejected" (not only the *Rejected variants) is a rejection: the original stays
    h.step(Kind.ORDER_UPDATES, ("X", 8, new, 1, 9.5, 1.0, 1.0, "rejected"))
    assert o.order(new) is None and o.order(old)[3] == "resting"
    # the dead man's switch ends the order although its status has no *Canceled suffix
    h.step(Kind.ORDER_UPDATES, ("X", 7, old, 1, 9.9, 1.0, 1.0, "scheduledCancel"))
    assert o.order(old) is None and o.open == {}


def test_rejected_modify_leaves_the_original_resting():
    h = bare()
    o = h.orders
    e = h.engine
    old = e.next_cloid()
    e.emit(Kind.ORDER_COMMANDS, (old, "place", "X", 1, 9.9, 1.0, "Alo", False, None, 0, "t"))
    e.emit(Kind.SIM_ORDERS, (old, "X", 1, 9.9, 1.0, "resting", None, 0.0, 0))
    new = e.next_cloid()
    e.emit(Kind.ORDER_COMMANDS, (new, "modify", "X", 1, 9.5, 1.0, "Alo", False, old, 0, "t"))
    assert o.order(old)[3] == "canceling"
    e.emit(Kind.SIM_ORDERS, (new, "X", 1, 9.5, 1.0, "rejected", "bad", None, 0))
    assert o.order(new) is None and o.order(old)[3] == "resting"


def test_the_position_is_a_sum_of_venue_sizes_without_float_drift():
    # 0.24 + 0.2 is 0.44000000000000006 in binary floats and 0.1 + 0.2 - 0.3 is not 0:
    # a reduce-only close sized from a drifted position (rounded down to the lot) once
    # left a dust position that no order could close.
    h = bare()
    o = h.orders
    sim_fill(h, "a", 1, 10.0, 0.24)
    sim_fill(h, "b", 1, 10.0, 0.2)
    assert o.position == 0.44
    sim_fill(h, "c", -1, 10.0, 0.44)
    assert o.position == 0.0
    for sz in (0.1, 0.2):
        sim_fill(h, "d", 1, 10.0, sz)
    assert o.position == 0.3
    sim_fill(h, "e", -1, 10.0, 0.3)
    assert o.position == 0.0 and o.avg_entry == 0.0


def test_closed_orders_keep_the_newest_4096_statuses_oldest_dropped_first():
    from framework.orders import CLOSED_KEEP

    h = bare()
    o = h.orders
    e = h.engine
    cloids = []
    for j in range(CLOSED_KEEP + 10):
        cloid = e.next_cloid()
        cloids.append(cloid)
        e.emit(Kind.ORDER_COMMANDS, (cloid, "place", "X", 1, 9.9, 1.0, "Alo", False, None, 0, "t"))
        status = "rejected" if j % 2 else "canceled"
        e.emit(Kind.SIM_ORDERS, (cloid, "X", 1, 9.9, 1.0, status, None, None, 0))
    assert len(o.closed) == CLOSED_KEEP
    assert list(o.closed) == cloids[10:]  # the oldest ten went, in closing order
    assert o.state(cloids[9]) is None
    assert o.state(cloids[10]) == "canceled" and o.state(cloids[11]) == "rejected"
    assert o.open == {}
