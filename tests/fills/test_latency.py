"""Latency: orders act at the venue L after they are sent; outcomes reach the engine
L_response after the venue decides them (tests/fills/test_exchange_time.py has the
exchange-time rules with a feed delay)."""

from __future__ import annotations

import numpy as np
import pytest

from framework.fills.latency import ConstantLatency, EmpiricalLatency, make_latency
from framework.fills.texts import VENUE_TEXT
from tests.fills.harness import MS, T0, rest_bid, venue_with_book


def test_place_becomes_active_only_after_place_latency():
    v = venue_with_book()
    cloid = v.place(T0 + 1 * MS, 1, 100.0, 1.0)
    # A trade-through 1 ms before arrival cannot fill an order still in flight.
    v.trade(T0 + 100 * MS, -1, 99.9, 10.0)
    assert v.orders(cloid) == []
    v.tick(T0 + 101 * MS)
    (resting,) = v.orders(cloid)
    assert resting["status"] == "resting"
    assert resting["ts"] == T0 + 101 * MS
    assert resting["queue_ahead"] == 5.0
    v.trade(T0 + 200 * MS, -1, 99.9, 10.0)
    (fill,) = v.fills(cloid)
    assert (fill["px"], fill["sz"], fill["rule"], fill["ts"]) == (
        100.0,
        1.0,
        "trade_through",
        T0 + 200 * MS,
    )


def test_order_can_partially_fill_while_cancel_is_in_flight():
    v = venue_with_book()
    cloid = rest_bid(v, T0)
    v.cancel(T0 + 200 * MS, cloid)
    v.trade(T0 + 230 * MS, -1, 99.9, 0.4)  # during the 50 ms cancel latency
    assert v.filled_sz(cloid) == 0.4
    v.tick(T0 + 250 * MS)
    last = v.orders(cloid)[-1]
    assert (last["status"], last["sz"], last["ts"]) == ("canceled", 0.6, T0 + 250 * MS)
    assert v.sim.open_orders == []


def test_order_filled_while_cancel_in_flight_gets_cancel_rejected():
    v = venue_with_book()
    cloid = rest_bid(v, T0)
    v.cancel(T0 + 200 * MS, cloid)
    v.trade(T0 + 249 * MS, -1, 99.9, 5.0)
    v.tick(T0 + 250 * MS)
    statuses = [(r["status"], r["reason"]) for r in v.orders(cloid)]
    assert statuses == [
        ("resting", None),
        ("filled", None),
        ("cancel_rejected", VENUE_TEXT["cancel_missing"]),
    ]


def test_fifo_keeps_a_quick_cancel_behind_its_place():
    # cancel (50 ms) sent 10 ms after the place (100 ms) would overtake it; FIFO prevents it.
    v = venue_with_book()
    cloid = v.place(T0 + 1 * MS, 1, 100.0, 1.0)
    v.cancel(T0 + 11 * MS, cloid)
    v.tick(T0 + 200 * MS)
    assert [r["status"] for r in v.orders(cloid)] == ["resting", "canceled"]


def test_without_fifo_a_cancel_can_overtake_its_place():
    v = venue_with_book(fifo=False)
    cloid = v.place(T0 + 1 * MS, 1, 100.0, 1.0)
    v.cancel(T0 + 11 * MS, cloid)
    v.tick(T0 + 200 * MS)
    assert [r["status"] for r in v.orders(cloid)] == ["cancel_rejected", "resting"]


def test_response_latency_delays_emission_but_not_the_venue_state():
    v = venue_with_book(response_ms=20.0)
    cloid = v.place(T0, 1, 100.0, 1.0)
    v.tick(T0 + 100 * MS)  # arrival: the order rests at exchange time T0 + 100 ms ...
    assert v.orders(cloid) == []
    v.tick(T0 + 120 * MS)  # ... and the engine hears of it 20 ms later
    (resting,) = v.orders(cloid)
    assert resting["ts"] == T0 + 120 * MS
    v.trade(T0 + 200 * MS, -1, 99.9, 5.0)
    assert v.sim.position == 1.0  # filled at exchange time
    assert v.fills(cloid) == []
    v.tick(T0 + 220 * MS)
    assert v.fills(cloid)[0]["ts"] == T0 + 220 * MS


def test_constant_latency_never_draws():
    rng = np.random.Generator(np.random.PCG64(1))
    state = rng.bit_generator.state
    lat = ConstantLatency(100, 50, 0)
    assert (lat.place_ns(rng), lat.cancel_ns(rng), lat.response_ns(rng)) == (100 * MS, 50 * MS, 0)
    assert rng.bit_generator.state == state


def test_empirical_latency_draws_from_samples_with_the_given_rng():
    lat = EmpiricalLatency([10.0, 20.0, 30.0], None, [1.0, 2.0])
    a = [lat.place_ns(np.random.Generator(np.random.PCG64(5))) for _ in range(3)]
    b = [lat.place_ns(np.random.Generator(np.random.PCG64(5))) for _ in range(3)]
    assert a == b
    rng = np.random.Generator(np.random.PCG64(9))
    draws = {lat.place_ns(rng) for _ in range(200)}
    assert draws == {10 * MS, 20 * MS, 30 * MS}
    assert {lat.cancel_ns(rng) for _ in range(200)} == draws  # cancel defaults to place
    assert lat.response_min_ns == 1 * MS


def test_response_latency_defaults_to_the_documented_50_ms_in_both_models():
    assert ConstantLatency().response_min_ns == 50 * MS
    lat = EmpiricalLatency([10.0])
    assert lat.response_min_ns == 50 * MS
    assert lat.response_ns(np.random.Generator(np.random.PCG64(1))) == 50 * MS
    assert EmpiricalLatency([10.0], None, [0.0]).response_min_ns == 0


def test_bad_latency_settings_name_the_field():
    with pytest.raises(ValueError, match="cancel_ms=-1"):
        ConstantLatency(100, -1)
    with pytest.raises(ValueError, match="place_samples_ms is empty"):
        EmpiricalLatency([])
    with pytest.raises(ValueError, match="latency='fast'"):
        make_latency("fast")


@pytest.mark.parametrize("ms", [1e300, 86_400_001.0, -1.0, float("nan")])
def test_a_latency_beyond_a_day_or_not_finite_is_refused_naming_the_field(ms):
    with pytest.raises(ValueError, match=r"place_ms=.*0\.\.86400000"):
        ConstantLatency(place_ms=ms)
