"""The strategy component through the engine: grid, profile, skew, requote economy."""

from __future__ import annotations

import pytest

from framework.events.schema import Kind
from framework.grid import is_valid_price, is_valid_size
from tests.strategies.venue import Harness

# QUOTES payload after (seq, ts, recv_ts): coin, bid_px, bid_sz, ask_px, ask_sz, fair, hs, skew, inv
BID, BSZ, ASK, ASZ, FAIR = 4, 5, 6, 7, 8


def commands(h: Harness) -> list[tuple]:
    return h.rows(Kind.ORDER_COMMANDS)


@pytest.mark.parametrize(
    "profile, band", [("default", (40, 50)), ("hip3", (15, 25)), ("aggressive", (10, 20))]
)
def test_quotes_are_on_the_grid_and_inside_the_profile(profile, band):
    h = Harness({"spread_profile": profile})
    for j in range(40):
        h.book(38.0 + 0.013 * (j % 9), 38.004 + 0.013 * (j % 9))
    quotes = h.rows(Kind.QUOTES)
    assert quotes
    for q in quotes:
        assert is_valid_price(q[BID], 2) and is_valid_price(q[ASK], 2)
        assert is_valid_size(q[BSZ], 2) and q[BSZ] * q[BID] >= 10.0
        assert band[0] <= (q[ASK] - q[BID]) / q[FAIR] * 1e4 <= band[1]
    for c in commands(h):
        if c[4] != "cancel":
            assert c[9] == "Alo" and is_valid_price(c[7], 2)


def test_long_inventory_lowers_both_quotes_and_short_raises_them():
    h = Harness()
    h.book(40.0, 40.01)
    flat = h.last_quote()
    h.venue.fill(1)  # our bid filled: long
    h.book(40.0, 40.01)
    long_q = h.last_quote()
    assert h.orders.position > 0
    assert long_q[BID] < flat[BID] and long_q[ASK] < flat[ASK]
    h2 = Harness()
    h2.book(40.0, 40.01)
    h2.venue.fill(-1)
    h2.book(40.0, 40.01)
    short_q = h2.last_quote()
    assert short_q[BID] > flat[BID] and short_q[ASK] > flat[ASK]


def test_small_moves_do_not_requote_and_big_moves_modify():
    h = Harness({"requote_tolerance_bps": 3.0})
    h.book(40.0, 40.01)
    n0 = len(commands(h))
    assert n0 == 2  # one place a side
    for j in range(10):  # 1 tick wiggles: 0.25 bps, far under 3 bps
        h.book(40.0 + 0.001 * (j % 2), 40.01 + 0.001 * (j % 2))
    assert len(commands(h)) == n0
    h.book(40.03, 40.04)  # +7.5 bps
    new = commands(h)[n0:]
    assert [c[4] for c in new] == ["modify", "modify"]
    assert all(c[11] is not None for c in new)  # target_cloid names the replaced order


def test_requote_timer_catches_up_when_the_market_is_quiet():
    h = Harness({"requote_interval_s": 2.0})
    h.book(40.0, 40.01)
    before = len(h.rows(Kind.QUOTES))
    h.mm.m_skew = 50.0  # something changed outside the hot path (as the Q layer does)
    h.orders.position = 10.0
    h.clock(2.5)
    assert len(h.rows(Kind.QUOTES)) > before


def test_qlearning_runs_on_its_timer_and_is_seeded():
    def run(seed):
        h = Harness({"qlearning": True, "q_step_s": 1.0, "q_epsilon0": 0.9}, seed=seed)
        for j in range(200):
            h.book(40.0 + 0.01 * (j % 13), 40.01 + 0.01 * (j % 13))
        return h

    a, b, c = run(3), run(3), run(4)
    assert a.mm.learner.updates > 50
    assert a.sink.rows == b.sink.rows
    assert a.mm.learner.explored > 0
    assert [r for k, r in a.sink.rows if k == Kind.QUOTES] != [
        r for k, r in c.sink.rows if k == Kind.QUOTES
    ]


def test_tick_cache_takes_the_exact_decade_of_a_fair_just_below_a_power_of_ten():
    # a symmetric microprice around 1000 is 999.9999999999999, where log10 gives 3.0
    h = Harness({"sz_decimals": 2, "fair_price": "microprice"})
    h.step(Kind.BOOK, ("X", [999.9], [27.26], [1], [1000.1], [27.26], [1]))
    assert h.mm._tick_band[:2] == (100.0, 1000.0) and h.mm._tick_band[2] == 0.01
    h.step(Kind.BOOK, ("X", [1500.0], [27.26], [1], [1500.1], [27.26], [1]))
    assert h.mm._tick_band == (1000.0, 10000.0, 0.1)  # the real tick of the 1000s


def test_the_requote_timer_cancels_resting_orders_the_strategy_does_not_track():
    h = Harness({"requote_interval_s": 2.0})
    h.book(40.0, 40.01)
    mine = {c[3] for c in commands(h)}
    e = h.engine
    stray = e.next_cloid()  # an order the strategy never placed, resting at the venue
    e.emit(Kind.ORDER_COMMANDS, (stray, "place", "X", 1, 39.5, 1.0, "Alo", False, None, 0, "t"))
    h.venue.resting[stray] = [1, 39.5, 1.0]
    e.emit(Kind.SIM_ORDERS, (stray, "X", 1, 39.5, 1.0, "resting", None, 0.0, 0))
    n0 = len(commands(h))
    h.clock(2.5)
    swept = [c for c in commands(h)[n0:] if c[4] == "cancel"]
    assert [(c[3], c[6], c[-1]) for c in swept] == [(stray, 1, "orphan")]
    assert h.orders.order(stray) is None
    assert all(h.orders.order(c) is not None for c in mine)  # its own orders still rest


def test_a_subclass_override_is_called_by_the_compiled_paths():
    """The hot paths run in the kernel (framework.kernel.quoter), compiled where built;
    a Python subclass that overrides one of their methods is still called in its place:
    sizing called from the quote, and a timer the engine fires."""
    from strategies.market_maker import MarketMaker

    class Fixed(MarketMaker):
        params_calls = 0

        def _size(self, side: int, px: float, pos: float) -> float:
            return 0.5  # 0.5 x 40 = 20 USD, above the 10 USD minimum

        def on_params(self, t: int) -> None:
            type(self).params_calls += 1
            super().on_params(t)

    h = Harness({"param_interval_s": 1.0}, cls=Fixed)
    h.book(40.0, 40.01)
    h.clock(2.5)
    q = h.last_quote()
    assert (q[BSZ], q[ASZ]) == (0.5, 0.5)
    assert [c[8] for c in commands(h)] == [0.5, 0.5]
    assert Fixed.params_calls >= 2
    assert h.mm.sigma_bps == h.mm.cold[0]  # the base class's body ran too


def test_the_config_is_read_only_once_taken():
    """The hot paths read the config's figures from C fields set by configure(): a new
    config assigned later would go unseen, so the attribute refuses it."""
    h = Harness()
    with pytest.raises(AttributeError):
        h.mm.cfg = h.mm.cfg
    assert h.mm.cfg.coin == "X"
