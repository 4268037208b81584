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
    v = venue_with_book(cross_fills=True)
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


QUEUES = ["conservative", "risk_averse", "prob"]


def _random_stream(v, stream_seed: int) -> tuple[dict[int, float], dict[str, float]]:
    """Books, bbos (a fifth of them crossed), prints and post-only places; returns
    ``{trade seq: size}`` and ``{cloid: size}``."""
    import numpy as np

    r = np.random.Generator(np.random.PCG64(stream_seed))
    t, mid = T0, 100.0
    trade_sz: dict[int, float] = {}
    placed: dict[str, float] = {}
    for _ in range(600):
        t += int(r.integers(1, 40)) * MS
        mid = round(mid + 0.01 * int(r.integers(-1, 2)), 2)
        u = r.random()
        if u < 0.25:
            # A crossed update shifts one side through the mid, over our resting orders.
            shift = 0.01 * int(r.integers(3, 6)) if r.random() < 0.2 else 0.0
            down, up = (shift, 0.0) if r.random() < 0.5 else (0.0, shift)
            lv = [(round(mid + up - 0.01 * (j + 1), 2), float(r.integers(1, 6))) for j in range(4)]
            la = [
                (round(mid - down + 0.01 * (j + 1), 2), float(r.integers(1, 6))) for j in range(4)
            ]
            if r.random() < 0.5:
                v.book(t, lv, la)
            else:
                v.bbo(t, *lv[0], *la[0])
        elif u < 0.85:
            side = 1 if r.random() < 0.5 else -1
            px = round(mid + side * 0.01 * int(r.integers(-1, 3)), 2)
            sz = float(r.integers(1, 8)) / 2
            trade_sz[v.trade(t, side, px, sz)] = sz
        else:
            side = 1 if r.random() < 0.5 else -1
            sz = float(r.integers(1, 4))
            placed[v.place(t, side, round(mid - side * 0.01 * int(r.integers(1, 3)), 2), sz)] = sz
    v.tick(t + 1_000 * MS)  # deliver the outcomes still under response latency
    return trade_sz, placed


@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("stream_seed", [1, 2, 3])
def test_default_fills_never_exceed_traded_volume_even_with_crossed_books(queue, stream_seed):
    from tests.fills.harness import Venue

    v = Venue(seed=4, queue=queue)
    trade_sz, placed = _random_stream(v, stream_seed)
    by_cause: dict[int, float] = {}
    for f in v.fills():
        by_cause[f["cause_seq"]] = by_cause.get(f["cause_seq"], 0.0) + f["sz"]
    assert len(by_cause) > 5
    # Every fill is caused by a print (no cross fills), and within that print's size.
    assert set(by_cause) <= set(trade_sz)
    for seq, got in by_cause.items():
        assert got <= trade_sz[seq] + 1e-9
    assert sum(by_cause.values()) <= sum(trade_sz.values())
    assert {f["rule"] for f in v.fills()} <= {"trade_at", "trade_through"}
    assert v.sim.fills_by_rule["cross"] == 0
    for cloid, sz in placed.items():
        assert v.filled_sz(cloid) <= sz + 1e-9
    signed = sum(f["side"] * f["sz"] for f in v.fills())
    assert v.sim.position == pytest.approx(signed)


@pytest.mark.parametrize("stream_seed", [1, 2, 3])
def test_the_random_streams_do_cross_our_orders(stream_seed):
    """The same streams with the opt-in rule give cross fills: the test above would see them."""
    from tests.fills.harness import Venue

    v = Venue(seed=4, cross_fills=True)
    trade_sz, placed = _random_stream(v, stream_seed)
    cross = [f for f in v.fills() if f["rule"] == "cross"]
    assert len(cross) >= 3
    assert all(f["cause_seq"] not in trade_sz for f in cross)
    assert v.sim.fills_by_rule["cross"] == len(cross)
    for cloid, sz in placed.items():
        assert v.filled_sz(cloid) <= sz + 1e-9


@pytest.mark.parametrize("queue", QUEUES)
def test_by_default_a_crossed_book_neither_fills_nor_moves_the_queue(queue):
    v = venue_with_book(queue=queue)
    cloid = rest_bid(v, T0, 100.0, 3.0)
    v.book(T0 + 200 * MS, [(99.9, 3.0)], [(99.95, 1.0), (100.0, 1.5), (100.1, 4.0)])
    v.bbo(T0 + 300 * MS, 99.9, 1.0, 99.9, 2.0)
    assert v.fills(cloid) == []
    assert v.sim.open_orders[0].q == pytest.approx(5.0 if queue == "conservative" else 0.0)
    v.trade(T0 + 400 * MS, -1, 99.9, 2.0)  # a print through our bid still fills
    assert [(f["sz"], f["rule"]) for f in v.fills(cloid)] == [(2.0, "trade_through")]


def test_cross_fills_are_off_in_the_default_config():
    from framework.fills import FillSimConfig, FillSimulator

    assert FillSimConfig().cross_fills is False
    assert FillSimulator().config.cross_fills is False
    assert FillSimConfig().to_dict()["cross_fills"] is False


def test_book_and_bbo_of_the_same_exchange_time_cross_only_once():
    v = venue_with_book(cross_fills=True)
    cloid = rest_bid(v, T0, 100.0, 3.0)
    t = T0 + 200 * MS
    v.book(t, [(99.9, 3.0)], [(99.95, 1.0), (100.1, 4.0)])
    v.bbo(t, 99.9, 3.0, 99.95, 1.5)  # the same update on the bbo channel
    assert v.filled_sz(cloid) == 1.0


def test_a_persisting_cross_spends_each_level_once_and_fills_only_a_larger_size():
    v = venue_with_book(cross_fills=True)
    cloid = rest_bid(v, T0, 100.0, 5.0)
    t = T0 + 200 * MS
    v.book(t, [(99.9, 3.0)], [(99.95, 1.0), (100.0, 0.5), (100.1, 4.0)])
    assert v.filled_sz(cloid) == 1.5
    v.bbo(t + MS, 99.9, 3.0, 99.95, 1.0)  # the same level, same size: nothing new
    v.book(t + 2 * MS, [(99.9, 3.0)], [(99.95, 0.5), (100.0, 0.5)])  # smaller: nothing
    assert v.filled_sz(cloid) == 1.5
    v.bbo(t + 3 * MS, 99.9, 3.0, 99.95, 1.75)  # larger: only the 0.75 beyond the used 1
    assert v.filled_sz(cloid) == 2.25
    v.book(t + 4 * MS, [(99.9, 3.0)], [(99.95, 1.75), (99.98, 0.25), (100.0, 1.0)])
    assert v.filled_sz(cloid) == 3.0  # a new level 0.25, and 0.5 beyond the used 0.5 at 100
    assert [f["cause_seq"] for f in v.fills(cloid)] == sorted({f["cause_seq"] for f in v.fills()})
    assert v.sim.fills_by_rule == {"trade_at": 0, "trade_through": 0, "cross": 3, "taker": 0}


def test_the_cross_memory_clears_when_the_book_uncrosses_our_bid():
    v = venue_with_book(cross_fills=True)
    cloid = rest_bid(v, T0, 100.0, 3.0)
    t = T0 + 200 * MS
    v.bbo(t, 99.9, 3.0, 99.95, 1.0)
    v.bbo(t + MS, 99.9, 3.0, 100.05, 1.0)  # the cross ends
    v.bbo(t + 2 * MS, 99.9, 3.0, 99.95, 1.0)  # a new cross: the same size fills again
    assert v.filled_sz(cloid) == 2.0


def test_the_ask_side_cross_memory_mirrors_the_bid_side():
    v = venue_with_book(cross_fills=True)
    bid = rest_bid(v, T0, 100.0, 2.0)
    ask = v.place(T0 + 100 * MS, -1, 100.1, 2.0)
    v.tick(T0 + 200 * MS)
    v.bbo(T0 + 300 * MS, 99.9, 1.0, 99.95, 1.0)  # asks cross our bid
    v.bbo(T0 + 400 * MS, 100.15, 1.0, 100.2, 1.0)  # bids cross our ask; bid side uncrossed
    v.bbo(T0 + 500 * MS, 100.15, 1.0, 100.2, 1.0)
    assert (v.filled_sz(bid), v.filled_sz(ask)) == (1.0, 1.0)


def test_a_gtc_that_took_crossing_levels_is_not_cross_filled_from_them_again():
    v = venue_with_book(cross_fills=True)
    v.book(T0 + 10 * MS, [(99.9, 3.0)], [(99.95, 1.0), (100.0, 0.5), (100.1, 4.0)])
    cloid = v.place(T0 + 20 * MS, 1, 100.0, 3.0, tif="Gtc")
    v.tick(T0 + 120 * MS)
    assert [(f["px"], f["sz"], f["rule"]) for f in v.fills(cloid)] == [
        (99.95, 1.0, "taker"),
        (100.0, 0.5, "taker"),
    ]
    assert v.orders(cloid)[-1]["status"] == "resting"
    v.book(T0 + 200 * MS, [(99.9, 3.0)], [(99.95, 1.0), (100.0, 0.5), (100.1, 4.0)])
    assert v.filled_sz(cloid) == 1.5
    v.book(T0 + 300 * MS, [(99.9, 3.0)], [(99.95, 1.0), (100.0, 1.5), (100.1, 4.0)])
    assert v.filled_sz(cloid) == 2.5
    assert v.fills(cloid)[-1]["rule"] == "cross"


def test_cross_fills_setting_is_validated_and_accepted_by_the_session_config():
    from framework.config import ConfigError, config_from_dict
    from framework.fills import FillSimConfig

    with pytest.raises(ValueError, match="cross_fills='yes'"):
        FillSimConfig(cross_fills="yes")
    cfg = config_from_dict({"fills": {"cross_fills": True}})
    assert cfg.fills.options == {"cross_fills": True}
    with pytest.raises(ConfigError, match="cross_fills"):
        config_from_dict({"fills": {"cross_fills": 1}})
