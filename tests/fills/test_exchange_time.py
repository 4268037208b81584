"""The venue runs on exchange time: market rows stamped ``ts`` are received ``feed_ms``
later; requests reach the venue at ``t + L``; outcomes reach the engine at
``max(now, τ + L_response)`` (mm_math.md §8.1).  Defaults: place 100, cancel 50,
response 50 ms."""

from __future__ import annotations

import pytest

from framework.events.schema import Kind
from framework.fills.latency import DEFAULT_LATENCY_MS
from tests.fills.harness import BOOK_ASKS, BOOK_BIDS, MS, T0, Venue

PLACE = 100 * MS
CANCEL = 50 * MS
RESP = 50 * MS


def venue(feed_ms: float = 70.0, **config) -> Venue:
    """The venue's default latencies, a feed ``feed_ms`` behind, a book stamped ``T0``."""
    v = Venue(feed_ms=feed_ms, **config)
    v.book(T0, BOOK_BIDS, BOOK_ASKS)  # received at T0 + feed
    return v


def test_the_defaults_are_the_documented_table():
    v = Venue()
    cfg = v.sim.config
    assert (cfg.place_ms, cfg.cancel_ms, cfg.response_ms) == (100.0, 50.0, 50.0)
    assert dict(DEFAULT_LATENCY_MS) == {"place": 100.0, "cancel": 50.0, "response": 50.0}


def test_a_print_stamped_before_arrival_never_fills_even_if_received_after():
    v = venue()
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.0, 1.0)  # reaches the venue at exchange time sent + 100
    arrive = sent + PLACE
    # Stamped 10 ms before the order arrived, received 60 ms after it.
    v.trade(arrive - 10 * MS, -1, 99.9, 10.0)
    assert v.fills(cloid) == []
    assert [r["status"] for r in v.orders(cloid)] == ["resting"]
    assert v.sim.open_orders[0].t_arrive == arrive
    # Stamped after arrival: fills, and the engine hears it when the print is received.
    seq = v.trade(arrive + 10 * MS, -1, 99.9, 10.0)
    (fill,) = v.fills(cloid)
    assert (fill["rule"], fill["sz"], fill["cause_seq"]) == ("trade_through", 1.0, seq)
    assert fill["ts"] == arrive + 10 * MS + 70 * MS  # max(now, τ + 50 ms) = now


def test_the_first_print_at_or_after_arrival_processes_it_before_matching():
    v = venue(feed_ms=20.0)
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.0, 1.0)
    arrive = sent + PLACE
    # A print stamped exactly at arrival (received 20 ms later, before the quiet-market
    # timer at arrive + 50 ms) can fill the order: arrivals go before market events of
    # the same ts.
    v.trade(arrive, -1, 99.9, 10.0)
    assert v.sim.position == 1.0  # the venue's state changed at exchange time
    assert v.orders(cloid) == []  # ... the engine hears of it L_response later
    v.tick(arrive + RESP)
    rows = [(k, r[1]) for k, r in v.sink.rows if k in (Kind.SIM_ORDERS, Kind.SIM_FILLS)]
    assert rows == [
        (Kind.SIM_ORDERS, arrive + RESP),  # resting
        (Kind.SIM_FILLS, arrive + RESP),
        (Kind.SIM_ORDERS, arrive + RESP),  # filled
    ]
    assert [r["status"] for r in v.orders(cloid)] == ["resting", "filled"]


def test_an_in_flight_cancel_loses_to_prints_stamped_before_it_takes_effect():
    v = venue()
    cloid = v.place(T0 + 100 * MS, 1, 100.0, 1.0)
    v.tick(T0 + 300 * MS)  # acked (quiet market: at arrival + 50 ms)
    sent = T0 + 400 * MS
    v.cancel(sent, cloid)
    effective = sent + CANCEL
    # Stamped 30 ms before the cancel takes effect, received 40 ms after it (before the
    # quiet-market deadline effective + 50 ms): the order is still there and fills.
    v.trade(effective - 30 * MS, -1, 99.9, 0.4)
    assert v.filled_sz(cloid) == 0.4
    # Stamped after the cancel took effect: the order is gone.
    v.trade(effective + 5 * MS, -1, 99.9, 5.0)
    assert v.filled_sz(cloid) == 0.4
    last = v.orders(cloid)[-1]
    assert (last["status"], last["sz"]) == ("canceled", 0.6)
    assert last["ts"] == effective + RESP  # processed by the quiet-market timer
    assert v.sim.open_orders == []


def test_a_cancel_is_processed_before_the_first_market_row_at_or_after_it():
    v = venue(feed_ms=20.0)
    cloid = v.place(T0 + 100 * MS, 1, 100.0, 1.0)
    v.tick(T0 + 300 * MS)
    sent = T0 + 400 * MS
    v.cancel(sent, cloid)
    effective = sent + CANCEL
    v.trade(effective - 10 * MS, -1, 99.9, 0.3)  # received at effective + 10 ms: fills
    v.book(effective, BOOK_BIDS, BOOK_ASKS)  # received at effective + 20 ms
    assert v.sim.open_orders == []  # the cancel went before this row
    v.trade(effective + 1 * MS, -1, 99.9, 5.0)  # received at effective + 21 ms
    assert v.sim.position == 0.3
    v.tick(effective + RESP)
    assert [(r["status"], r["ts"]) for r in v.orders(cloid)][-1] == (
        "canceled",
        effective + RESP,
    )


def test_the_known_bias_a_late_received_print_cannot_fill_a_processed_cancel():
    # Documented in the simulator: once the quiet-market timer processed the cancel
    # (engine time effective + 50 ms), a print stamped before `effective` that is
    # received later still (feed 70 ms) finds the order gone.
    v = venue()
    cloid = v.place(T0 + 100 * MS, 1, 100.0, 1.0)
    v.tick(T0 + 300 * MS)
    sent = T0 + 400 * MS
    v.cancel(sent, cloid)
    effective = sent + CANCEL
    v.trade(effective - 5 * MS, -1, 99.9, 5.0)  # received at effective + 65 ms
    assert v.fills(cloid) == []
    assert v.orders(cloid)[-1]["status"] == "canceled"


def test_an_ack_in_a_quiet_market_arrives_at_arrival_plus_response_latency():
    v = venue()
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.0, 1.0)
    v.tick(sent + PLACE)  # the order is at the venue now, the engine cannot know yet
    v.tick(sent + PLACE + RESP - 1)
    assert v.orders(cloid) == []
    v.tick(sent + PLACE + RESP)
    (row,) = v.orders(cloid)
    assert (row["status"], row["ts"], row["queue_ahead"]) == ("resting", sent + PLACE + RESP, 5.0)


def test_a_reject_in_a_quiet_market_also_arrives_after_the_response_latency():
    v = venue()
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.1, 1.0)  # post-only at the ask: rejected
    v.tick(sent + PLACE + RESP)
    (row,) = v.orders(cloid)
    assert (row["status"], row["ts"]) == ("rejected", sent + PLACE + RESP)


def test_fills_reach_the_engine_after_the_response_latency_and_in_order():
    # Feed 10 ms (< 50 ms response): each outcome waits for τ + 50 ms.
    v = venue(feed_ms=10.0)
    cloid = v.place(T0 + 100 * MS, 1, 100.0, 3.0)
    v.tick(T0 + 300 * MS)
    tau = T0 + 400 * MS
    a = v.trade(tau, -1, 99.9, 1.0)
    b = v.trade(tau + 5 * MS, -1, 99.9, 1.0)
    c = v.trade(tau + 6 * MS, -1, 99.9, 5.0)
    assert v.fills(cloid) == [] and v.sim.position == 3.0
    v.tick(tau + RESP - 1)
    assert v.fills(cloid) == []
    v.tick(tau + 200 * MS)
    fills = v.fills(cloid)
    assert [(f["cause_seq"], f["ts"]) for f in fills] == [
        (a, tau + RESP),
        (b, tau + 5 * MS + RESP),
        (c, tau + 6 * MS + RESP),
    ]
    assert [f["position"] for f in fills] == [1.0, 2.0, 3.0]
    last = v.orders(cloid)[-1]
    assert (last["status"], last["ts"]) == ("filled", tau + 6 * MS + RESP)


def test_random_response_latencies_never_reorder_outcomes():
    # Draws of 80 ms and 1 ms: a later outcome with a short draw waits behind an earlier
    # one with a long draw; none reaches the engine before τ + its smallest latency.
    v = venue(
        feed_ms=5.0,
        latency="empirical",
        place_samples_ms=[100],
        cancel_samples_ms=[50],
        response_samples_ms=[80, 1],
    )
    placed = [v.place(T0 + 100 * MS + k * MS, 1, 100.0, 1.0) for k in range(6)]
    v.tick(T0 + 400 * MS)
    stamped = {}
    for k in range(12):
        ts = T0 + 500 * MS + k * 7 * MS
        stamped[v.trade(ts, -1, 100.0 if k < 6 else 99.9, 1.0)] = ts
    v.tick(T0 + 2_000 * MS)
    outcomes = [r for k, r in v.sink.rows if k in (Kind.SIM_ORDERS, Kind.SIM_FILLS)]
    times = [r[1] for r in outcomes]
    assert times == sorted(times)
    fills = v.fills()
    assert len(fills) >= 4
    assert all(f["ts"] >= stamped[f["cause_seq"]] + 1 * MS for f in fills)
    assert [f["cause_seq"] for f in fills] == sorted(f["cause_seq"] for f in fills)
    assert sum(f["sz"] for f in fills) == pytest.approx(v.sim.position)
    assert {r["cloid"] for r in v.orders() if r["status"] == "filled"} <= set(placed)


def test_queue_position_ignores_rows_stamped_before_arrival():
    v = venue(queue="risk_averse")
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.0, 2.0)
    arrive = sent + PLACE
    v.tick(arrive + RESP)  # processed (quiet market), queue ahead 5
    assert v.orders(cloid)[0]["queue_ahead"] == 5.0
    # Received after the order was processed, stamped before it arrived: no effect.
    v.book(arrive - 20 * MS, [(100.0, 1.0), (99.9, 3.0)], BOOK_ASKS)
    v.trade(arrive - 10 * MS, -1, 100.0, 4.0)
    assert v.sim.open_orders[0].q == 5.0
    assert v.fills(cloid) == []
    # Stamped after arrival: the depth decrease and the print move the queue.
    v.book(arrive + 10 * MS, [(100.0, 3.0), (99.9, 3.0)], BOOK_ASKS)
    assert v.sim.open_orders[0].q == 3.0
    v.trade(arrive + 20 * MS, -1, 100.0, 4.0)
    assert v.filled_sz(cloid) == 1.0  # 3 ahead, the 1 beyond fills us


def test_cross_fills_ignore_updates_stamped_before_arrival():
    v = venue(cross_fills=True)
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.0, 2.0)
    arrive = sent + PLACE
    v.tick(arrive + RESP)
    crossed = [(99.95, 1.0), (100.1, 4.0)]
    v.book(arrive - 5 * MS, [(99.9, 3.0)], crossed)  # stamped before: no cross
    assert v.fills(cloid) == []
    assert v.sim.open_orders[0].q == 5.0
    v.book(arrive + 5 * MS, [(99.9, 3.0)], crossed)
    assert [(f["rule"], f["sz"]) for f in v.fills(cloid)] == [("cross", 1.0)]


def test_an_arrival_sees_the_book_before_the_row_that_triggered_it():
    # The triggering book (stamped after arrival) moves the ask down to our bid: the
    # venue had the order before that update, so it rests with the earlier queue.
    v = venue(feed_ms=20.0)
    sent = T0 + 100 * MS
    cloid = v.place(sent, 1, 100.0, 1.0)
    arrive = sent + PLACE
    v.book(arrive + 1 * MS, [(100.0, 9.0)], [(100.05, 1.0)])
    v.tick(arrive + RESP)
    (row,) = v.orders(cloid)
    assert (row["status"], row["queue_ahead"]) == ("resting", 5.0)
    # A second order after that book sees it (queue 9 + our 1).
    later = v.place(arrive + 100 * MS, 1, 100.0, 1.0)
    v.tick(arrive + 100 * MS + PLACE + RESP)
    assert v.orders(later)[0]["queue_ahead"] == 10.0
