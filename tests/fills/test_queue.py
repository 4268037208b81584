"""Queue position and resting fills: trade-at, trade-through, cross, volume caps."""

from __future__ import annotations

import pytest

from framework.fills.order import SimOrder
from framework.fills.queue import PROB_VARIANTS, ProbQueue, make_queue
from tests.fills.harness import BOOK_ASKS, MS, T0, rest_bid, venue_with_book


def test_queue_ahead_starts_at_displayed_size_and_only_trades_at_our_price_advance_it():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 2.0)
    assert v.orders(cloid)[0]["queue_ahead"] == 5.0
    v.book(T0 + 200 * MS, [(100.0, 1.0), (99.9, 3.0)], BOOK_ASKS)  # decrease without a trade
    assert v.sim.open_orders[0].q == 5.0
    v.trade(T0 + 300 * MS, -1, 100.1, 9.0)  # a sell print above our bid: not at our price
    v.trade(T0 + 310 * MS, 1, 100.0, 9.0)  # a buy-aggressor print: not against bids
    assert v.sim.open_orders[0].q == 5.0
    v.trade(T0 + 400 * MS, -1, 100.0, 4.0)
    assert v.sim.open_orders[0].q == 1.0
    assert v.fills(cloid) == []
    v.trade(T0 + 500 * MS, -1, 100.0, 2.0)  # 1 left ahead, 1 fills us
    (fill,) = v.fills(cloid)
    assert (fill["sz"], fill["rule"], fill["liquidity"], fill["px"]) == (
        1.0,
        "trade_at",
        "maker",
        100.0,
    )
    assert v.sim.open_orders[0].sz == 1.0
    v.trade(T0 + 600 * MS, -1, 100.0, 3.0)
    assert v.filled_sz(cloid) == 2.0
    assert v.orders(cloid)[-1]["status"] == "filled"
    assert v.sim.open_orders == []


def test_risk_averse_model_advances_on_a_depth_decrease():
    v = venue_with_book(queue="risk_averse")
    cloid = rest_bid(v, T0, 100.0, 2.0)
    v.book(T0 + 200 * MS, [(100.0, 1.0), (99.9, 3.0)], BOOK_ASKS)
    assert v.sim.open_orders[0].q == 1.0
    v.trade(T0 + 300 * MS, -1, 100.0, 4.0)
    assert v.filled_sz(cloid) == 2.0


def test_trade_at_volume_is_shared_by_our_orders_at_one_price():
    v = venue_with_book()
    a = rest_bid(v, T0, 100.0, 2.0)
    b = rest_bid(v, T0 + 200 * MS, 100.0, 2.0)
    assert v.orders(b)[0]["queue_ahead"] == 7.0  # 5 displayed + our 2 ahead
    v.trade(T0 + 400 * MS, -1, 100.0, 8.0)
    assert v.filled_sz(a) == 2.0
    assert v.filled_sz(b) == 1.0  # 8 traded: 5 public ahead, 2 to a, 1 to b
    assert sum(f["sz"] for f in v.fills()) <= 8.0 - 5.0


def test_trade_through_fills_the_rest_capped_by_the_sweep_beyond_our_price():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 3.0)
    v.trade(T0 + 200 * MS, -1, 100.0, 5.0)  # consumes the queue ahead exactly
    assert v.fills(cloid) == []
    v.trade(T0 + 200 * MS, -1, 99.9, 1.0)
    v.trade(T0 + 200 * MS, -1, 99.8, 0.5)
    fills = [(f["px"], f["sz"], f["rule"]) for f in v.fills(cloid)]
    assert fills == [(100.0, 1.0, "trade_through"), (100.0, 0.5, "trade_through")]
    assert v.sim.open_orders[0].sz == 1.5


def test_trade_through_fills_the_whole_order_when_the_print_is_big_enough():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 3.0)
    v.trade(T0 + 200 * MS, -1, 99.9, 50.0)
    assert v.filled_sz(cloid) == 3.0
    assert [r["status"] for r in v.orders(cloid)] == ["resting", "filled"]


def test_one_print_is_spent_once_across_orders_best_price_first():
    v = venue_with_book()
    high = rest_bid(v, T0, 100.05, 1.0)
    low = rest_bid(v, T0 + 200 * MS, 100.0, 1.0)
    v.trade(T0 + 400 * MS, -1, 99.9, 1.5)
    assert (v.filled_sz(high), v.filled_sz(low)) == (1.0, 0.5)


def test_ask_side_mirrors_the_bid_side():
    v = venue_with_book()
    cloid = v.place(T0, -1, 100.1, 2.0)
    v.tick(T0 + 100 * MS)
    assert v.orders(cloid)[0]["queue_ahead"] == 4.0
    v.trade(T0 + 200 * MS, -1, 100.1, 9.0)  # sell aggressor never fills our ask
    v.trade(T0 + 300 * MS, 1, 100.1, 5.0)
    assert v.filled_sz(cloid) == 1.0
    v.trade(T0 + 400 * MS, 1, 100.2, 4.0)
    assert v.filled_sz(cloid) == 2.0
    assert v.sim.position == -2.0
    assert {f["side"] for f in v.fills(cloid)} == {-1}


def test_book_cross_fills_up_to_the_crossing_size_then_bbo_cross_fills_the_rest():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 3.0)
    v.book(T0 + 200 * MS, [(99.9, 3.0)], [(99.95, 1.0), (100.0, 1.5), (100.1, 4.0)])
    fills = [(f["px"], f["sz"], f["rule"], f["liquidity"]) for f in v.fills(cloid)]
    assert fills == [(100.0, 2.5, "cross", "maker")]
    v.bbo(T0 + 300 * MS, 99.9, 1.0, 100.0, 2.0)
    assert v.filled_sz(cloid) == 3.0
    assert v.orders(cloid)[-1]["status"] == "filled"


def test_uncrossed_book_update_does_not_fill():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 3.0)
    v.book(T0 + 200 * MS, [(100.0, 1.0)], [(100.05, 1.0)])
    v.bbo(T0 + 300 * MS, 100.0, 1.0, 100.01, 2.0)
    assert v.fills(cloid) == []


def _order(q: float, depth: float) -> SimOrder:
    o = SimOrder("0x1", "TEST", 1, 100.0, 1.0, "Alo", False, 1)
    o.q, o.depth = q, depth
    return o


def test_prob_queue_power3_matches_the_reference_formula():
    model = ProbQueue("power3", 3.0)
    o = _order(10.0, 10.0)
    model.on_depth(o, 15.0)  # others joined behind us
    assert o.q == 10.0
    model.on_depth(o, 11.0)  # 4 cancelled somewhere
    p = 1 - (10 / 15) ** 3
    assert o.q == pytest.approx(10 - (1 - p) * 4)
    o.q -= 2.0  # a trade of 2 at our price, as the simulator applies it
    o.cum_trade += 2.0
    q = o.q
    model.on_depth(o, 9.0)  # the decrease is explained by the trade: no move
    assert o.q == pytest.approx(q)


def test_prob_queue_through_the_engine_advances_on_cancels_but_less_than_risk_averse():
    qs = {}
    for queue in ("conservative", "prob", "risk_averse"):
        v = venue_with_book(queue=queue, queue_prob_variant="power", queue_prob_n=2.0)
        rest_bid(v, T0, 100.0, 1.0)
        v.book(T0 + 200 * MS, [(100.0, 8.0)], BOOK_ASKS)
        v.book(T0 + 300 * MS, [(100.0, 4.0)], BOOK_ASKS)
        qs[queue] = v.sim.open_orders[0].q
    assert qs["conservative"] == 5.0
    assert qs["risk_averse"] == 4.0
    # front 5, back 3: p = 9 / 34 of the 4 cancelled were behind us
    assert qs["prob"] == pytest.approx(5 - (1 - 9 / 34) * 4)


@pytest.mark.parametrize("variant", sorted(PROB_VARIANTS))
def test_prob_variants_put_cancels_behind_at_the_head_and_ahead_at_the_tail(variant):
    p = PROB_VARIANTS[variant](3.0)
    assert p(0.0, 5.0) == pytest.approx(1.0)  # at the head: every cancel is behind us
    assert p(5.0, 0.0) == pytest.approx(0.0)  # at the tail: every cancel is ahead
    assert 0.0 < p(2.0, 3.0) < 1.0


def test_depth_change_never_fills_and_q_stays_non_negative():
    model = ProbQueue("power", 2.0)
    o = _order(1.0, 1.0)
    model.on_depth(o, 0.0)
    assert o.q == 0.0
    assert o.sz == 1.0


def test_unknown_queue_model_names_the_setting():
    with pytest.raises(ValueError, match="queue='fifo'"):
        make_queue("fifo")
    with pytest.raises(ValueError, match="queue_prob_variant='cubic'"):
        make_queue("prob", "cubic")


@pytest.mark.parametrize("queue", ["conservative", "risk_averse", "prob"])
@pytest.mark.parametrize("stream_seed", [1, 2, 3])
def test_fills_never_exceed_the_print_that_caused_them_nor_the_order_size(queue, stream_seed):
    import numpy as np

    from tests.fills.harness import Venue

    v = Venue(seed=4, queue=queue)
    r = np.random.Generator(np.random.PCG64(stream_seed))
    t, mid = T0, 100.0
    trade_sz: dict[int, float] = {}
    placed: dict[str, float] = {}
    for _ in range(600):
        t += int(r.integers(1, 40)) * MS
        mid = round(mid + 0.01 * int(r.integers(-1, 2)), 2)
        u = r.random()
        if u < 0.25:
            lv = [(round(mid - 0.01 * (j + 1), 2), float(r.integers(1, 6))) for j in range(4)]
            la = [(round(mid + 0.01 * (j + 1), 2), float(r.integers(1, 6))) for j in range(4)]
            v.book(t, lv, la)
        elif u < 0.85:
            side = 1 if r.random() < 0.5 else -1
            px = round(mid + side * 0.01 * int(r.integers(-1, 3)), 2)
            sz = float(r.integers(1, 8)) / 2
            trade_sz[v.trade(t, side, px, sz)] = sz
        else:
            side = 1 if r.random() < 0.5 else -1
            sz = float(r.integers(1, 4))
            placed[v.place(t, side, round(mid - side * 0.01 * int(r.integers(1, 3)), 2), sz)] = sz
    by_cause: dict[int, float] = {}
    for f in v.fills():
        by_cause[f["cause_seq"]] = by_cause.get(f["cause_seq"], 0.0) + f["sz"]
    trade_fills = [(seq, got) for seq, got in by_cause.items() if seq in trade_sz]
    assert len(trade_fills) > 5
    for seq, got in trade_fills:
        assert got <= trade_sz[seq] + 1e-9
    for cloid, sz in placed.items():
        assert v.filled_sz(cloid) <= sz + 1e-9
    signed = sum(f["side"] * f["sz"] for f in v.fills())
    assert v.sim.position == pytest.approx(signed)


def test_book_and_bbo_of_the_same_exchange_time_cross_only_once():
    v = venue_with_book()
    cloid = rest_bid(v, T0, 100.0, 3.0)
    t = T0 + 200 * MS
    v.book(t, [(99.9, 3.0)], [(99.95, 1.0), (100.1, 4.0)])
    v.bbo(t, 99.9, 3.0, 99.95, 1.0)  # the same update on the bbo channel
    assert v.filled_sz(cloid) == 1.0
    v.bbo(t + MS, 99.9, 3.0, 99.95, 1.0)  # a later update showing a cross fills again
    assert v.filled_sz(cloid) == 2.0
