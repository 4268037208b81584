"""The fill-rate estimator (mm_math.md §6): exposure from orders resting at the venue
as the engine knows them, one fill per order, the depth buckets and the gate."""

from __future__ import annotations

from typing import Any

import pytest

from framework.estimators import FillRateEstimator, VolatilityEstimator
from framework.estimators.fill_rate import BUCKET
from framework.events.schema import Kind
from tests.estimators.helpers import COIN, SEC, T0, Driver, assert_flips_at


class Orders:
    """The engine's own order rows around one estimator: the strategy's ``quotes``
    target and ``order_commands``, and the paper venue's ``sim_orders`` /
    ``sim_fills`` answers, emitted at the engine's current time (move it with
    :meth:`at`); live venue rows are inputs stepped at a time."""

    def __init__(self, d: Driver) -> None:
        self.d = d
        self.e = d.engine
        self.side: dict[str, int] = {}
        self.px: dict[str, float] = {}

    def at(self, t: int) -> None:
        self.d.step(Kind.CLOCK, t, ("test",))

    def quote(self, bid: float | None, ask: float | None) -> None:
        self.d.quote(bid, ask)

    def send(self, side: int, px: float, target: str | None = None) -> str:
        cloid = self.e.next_cloid()
        action = "modify" if target else "place"
        self.e.emit(
            Kind.ORDER_COMMANDS,
            (cloid, action, COIN, side, px, 1.0, "Alo", False, target, 0, "test"),
        )
        self.side[cloid], self.px[cloid] = side, px
        return cloid

    def sim(self, cloid: str, status: str, sz: float = 1.0) -> None:
        side, px = self.side[cloid], self.px[cloid]
        self.e.emit(Kind.SIM_ORDERS, (cloid, COIN, side, px, sz, status, None, 0.0, 0))

    def rest(self, side: int, px: float) -> str:
        """Place and get the resting ack at once."""
        cloid = self.send(side, px)
        self.sim(cloid, "resting")
        return cloid

    def fill(self, cloid: str, sz: float = 1.0) -> None:
        side, px = self.side[cloid], self.px[cloid]
        self.e.emit(Kind.SIM_FILLS, (cloid, COIN, side, px, sz, 0.0, "maker", "trade_at", 0.0, 0))


def _driver(*more: Any) -> tuple[FillRateEstimator, Driver, Orders]:
    fr = FillRateEstimator()
    d = Driver(fr, *more)
    return fr, d, Orders(d)


# -- exposure comes from resting orders --------------------------------------------------


def test_exposure_starts_at_the_resting_ack_not_at_the_quote_or_command():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    o.quote(37.995, None)  # the strategy's target (bid 1.32 bps deep: bucket 1) ...
    cloid = o.send(+1, 37.995)  # ... the command, in flight for 2 s ...
    for k in range(1, 13):
        d.book(T0 + k * SEC, 37.999, 38.001)
        if k == 2:
            o.sim(cloid, "resting")  # ... resting from here
        if k == 12:
            o.sim(cloid, "canceled")  # censored: 10 s of exposure
    d.book(T0 + 20 * SEC, 37.999, 38.001)
    assert fr.exposure_s[1] == pytest.approx(10.0, abs=1e-9)
    assert sum(fr.exposure_s) == pytest.approx(10.0, abs=1e-9)
    assert fr.n_obs == 1 and sum(fr.fills) == 0


def test_rejected_and_in_flight_orders_accrue_no_exposure():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    o.quote(37.995, 38.005)
    rejected = o.send(+1, 37.995)
    o.send(-1, 38.005)  # never answered: in flight throughout
    for k in range(1, 31):  # 30 s of quotes with nothing resting (a reject back-off)
        d.book(T0 + k * SEC, 37.999, 38.001)
        if k == 1:
            o.sim(rejected, "rejected")
    assert sum(fr.exposure_s) == 0.0
    assert fr.n_obs == 0 and fr.resting == 0


def test_three_partial_fills_of_one_order_count_once():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    cloid = o.rest(+1, 37.995)
    for k in range(1, 10):
        d.book(T0 + k * SEC, 37.999, 38.001)
        if k in (2, 4, 6):
            o.fill(cloid, 0.3)  # the first one ends the episode
        if k == 8:
            o.fill(cloid, 0.1)
            o.sim(cloid, "filled", 0.0)
    assert fr.fills == [0, 1, 0, 0, 0, 0, 0, 0]
    assert fr.n_obs == 1
    assert fr.exposure_s[1] == pytest.approx(2.0, abs=1e-9)  # ack to first fill
    assert fr.hazard(1.3) == pytest.approx(0.5)


def test_a_partially_filled_order_does_not_start_a_new_episode_on_a_later_open():
    # Live: an orderUpdates 'open' after a partial fill must not reopen the order.
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    cloid = o.send(+1, 37.995)
    o.at(T0 + SEC)
    d.step(Kind.ORDER_RESPONSES, T0 + SEC, (cloid, 7, "place", "resting", None, None, None, 0))
    fill = (COIN, 7, cloid, 1, 37.995, 0.4, 0.0, False, 1, 0.0, 0.0)
    d.step(Kind.FILLS, T0 + 3 * SEC, fill)
    upd = (COIN, 7, cloid, 1, 37.995, 0.6, 1.0, "open")
    d.step(Kind.ORDER_UPDATES, T0 + 3 * SEC, upd)
    d.step(Kind.FILLS, T0 + 5 * SEC, fill)
    d.step(Kind.ORDER_UPDATES, T0 + 9 * SEC, (COIN, 7, cloid, 1, 37.995, 0.2, 1.0, "canceled"))
    d.book(T0 + 20 * SEC, 37.999, 38.001)
    assert fr.fills[1] == 1 and fr.n_obs == 1
    assert fr.exposure_s[1] == pytest.approx(2.0, abs=1e-9)  # response to first fill


def test_live_rows_start_at_the_first_of_response_and_update_and_end_at_a_terminal():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    a = o.send(+1, 37.995)
    b = o.send(-1, 38.005)
    d.step(Kind.ORDER_UPDATES, T0 + SEC, (COIN, 1, a, 1, 37.995, 1.0, 1.0, "open"))
    d.step(Kind.ORDER_RESPONSES, T0 + 2 * SEC, (a, 1, "place", "resting", None, None, None, 0))
    d.step(Kind.ORDER_RESPONSES, T0 + 2 * SEC, (b, 2, "place", "resting", None, None, None, 0))
    d.step(Kind.ORDER_UPDATES, T0 + 3 * SEC, (COIN, 2, b, -1, 38.005, 1.0, 1.0, "open"))
    # a: a reduce-only style *Canceled status ends it; b: 'filled' before the fill row.
    d.step(Kind.ORDER_UPDATES, T0 + 6 * SEC, (COIN, 1, a, 1, 37.995, 1.0, 1.0, "marginCanceled"))
    d.step(Kind.ORDER_UPDATES, T0 + 7 * SEC, (COIN, 2, b, -1, 38.005, 0.0, 1.0, "filled"))
    d.step(Kind.FILLS, T0 + 7 * SEC, (COIN, 2, b, -1, 38.005, 1.0, 0.0, False, 2, 0.0, 0.0))
    d.book(T0 + 10 * SEC, 37.999, 38.001)
    # Both 1.32 bps deep: bucket 1; a rested 1 s .. 6 s, b 2 s .. 7 s.
    assert fr.exposure_s[1] == pytest.approx(10.0, abs=1e-9)
    assert fr.fills[1] == 1 and fr.n_obs == 2 and fr.resting == 0


def test_a_live_place_error_is_not_exposure_and_a_cancel_error_keeps_the_order():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    bad = o.send(+1, 37.995)
    d.step(Kind.ORDER_RESPONSES, T0 + SEC, (bad, None, "place", "error", "Post only", *[None] * 3))
    d.step(Kind.ORDER_UPDATES, T0 + SEC, (COIN, 9, bad, 1, 37.995, 1.0, 1.0, "open"))  # stray
    good = o.send(+1, 37.995)
    d.step(Kind.ORDER_RESPONSES, T0 + 2 * SEC, (good, 3, "place", "resting", *[None] * 4))
    d.step(Kind.ORDER_RESPONSES, T0 + 4 * SEC, (good, 3, "cancel", "error", "gone?", *[None] * 3))
    d.book(T0 + 6 * SEC, 37.999, 38.001)
    assert fr.exposure_s[1] == pytest.approx(4.0, abs=1e-9)
    assert fr.resting == 1 and fr.n_obs == 0
    d.step(Kind.ORDER_RESPONSES, T0 + 8 * SEC, (good, 3, "cancel", "success", *[None] * 4))
    assert fr.exposure_s[1] == pytest.approx(6.0, abs=1e-9)
    assert fr.resting == 0 and fr.n_obs == 1


def test_a_taker_fill_and_a_fill_of_an_unacked_order_are_not_counted():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    cloid = o.send(+1, 38.001)
    o.at(T0 + SEC)
    o.fill(cloid)  # took liquidity on arrival: never rested
    o.sim(cloid, "filled", 0.0)
    assert sum(fr.fills) == 0 and fr.n_obs == 0 and sum(fr.exposure_s) == 0.0


def test_a_modify_ends_the_old_episode_when_the_new_order_rests():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    old = o.rest(+1, 37.995)  # bucket 1
    o.at(T0 + 4 * SEC)
    new = o.send(+1, 37.99, target=old)  # 2.63 bps: bucket 2
    o.at(T0 + 5 * SEC)
    o.sim(new, "resting")  # a venue that says nothing about `old` still replaced it
    d.book(T0 + 9 * SEC, 37.999, 38.001)
    assert fr.exposure_s[1] == pytest.approx(5.0, abs=1e-9)
    assert fr.exposure_s[2] == pytest.approx(4.0, abs=1e-9)
    assert fr.n_obs == 1 and fr.resting == 1
    # A rejected modify leaves the order it targeted resting.
    o.at(T0 + 10 * SEC)
    newer = o.send(+1, 37.98, target=new)
    o.sim(newer, "rejected")
    d.book(T0 + 12 * SEC, 37.999, 38.001)
    assert fr.resting == 1 and fr.exposure_s[2] == pytest.approx(7.0, abs=1e-9)


def test_an_order_resting_before_a_valid_mid_starts_its_exposure_at_the_first_one():
    fr, d, o = _driver()
    d.book(T0, 38.001, 37.999)  # crossed: no valid mid
    o.rest(+1, 37.995)
    d.book(T0 + 3 * SEC, 38.001, 37.999)
    d.book(T0 + 5 * SEC, 37.999, 38.001)  # the first valid mid buckets it
    d.book(T0 + 9 * SEC, 37.999, 38.001)
    assert fr.exposure_s[1] == pytest.approx(4.0, abs=1e-9)
    assert sum(fr.exposure_s) == pytest.approx(4.0, abs=1e-9)


# -- buckets, the count and the gate (ported from quote rows to resting orders) ---------


def test_fill_rate_flips_at_200_episodes():
    fr, d, o = _driver()
    live: str | None = None
    for k in range(1200):
        t = T0 + k * SEC
        d.book(t, 37.999, 38.001)
        if k % 4 == 0:
            # Re-quoted 1.3 / 1.4 bps deep (bucket 1): cancel (if not filled) and place.
            if live is not None:
                o.sim(live, "canceled")
            off = 0.005 if (k // 4) % 2 else 0.0053
            live = o.rest(+1, round(38.0 - off, 4))
        if k % 8 == 3 and live is not None:
            o.fill(live)
            o.sim(live, "filled", 0.0)
            live = None
    rows = d.estimates("fill_rate", "k_f")
    assert_flips_at(rows, 200)
    assert fr.fills[1] >= 20 and fr.exposure_s[1] >= 600


def test_fill_rate_gate_needs_exposure():
    # 260 episodes in 260 s of exposure: past the count but short of 10 min.
    fr, d, o = _driver()
    live: str | None = None
    for k in range(260):
        d.book(T0 + k * SEC, 37.999, 38.001)
        if live is not None:
            o.sim(live, "canceled")
        off = 0.005 if k % 2 else 0.0053
        live = o.rest(+1, round(38.0 - off, 4))
        if k % 3 == 0:
            o.fill(live)
            o.sim(live, "filled", 0.0)
            live = None
    assert fr.n_obs >= 259 and fr.fills[1] >= 20
    assert sum(fr.exposure_s) < 600
    assert not fr.converged
    lo, hi = fr.interval(1)
    assert lo < fr.hazard(1.3) < hi
    assert 0 < fr.p_fill(1.3, 10.0) < 1


def test_fill_rate_exposure_follows_the_mid_across_buckets():
    # Bid 37.995 and ask 38.010 while the mid moves 38.000 -> 38.004 -> 38.000: each
    # order's exposure goes to the bucket its depth was in (checked by hand, in seconds).
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    bid = o.rest(+1, 37.995)  # bid depth 1.32 bps: bucket 1
    d.book(T0 + 5 * SEC, 37.999, 38.001)
    o.rest(-1, 38.010)  # ask depth 2.63 bps: bucket 2
    for k in range(6, 40):  # mid 38.004 from 10 s to 25 s (bid 2.37 bps, ask 1.58 bps)
        m = 38.004 if 10 <= k < 25 else 38.0
        d.book(T0 + k * SEC, round(m - 0.001, 3), round(m + 0.001, 3))
        if k == 30:
            o.sim(bid, "canceled")  # bid withdrawn: a censored episode
    d.book(T0 + 40 * SEC, 37.999, 38.001)
    assert fr.bucket_of(1.32) == 1 and fr.bucket_of(2.37) == 2
    bid_s = {1: 10 + 5, 2: 15}
    ask_s = {2: 5 + 15, 1: 15}
    assert fr.exposure_s[1] == pytest.approx(bid_s[1] + ask_s[1], abs=1e-9)
    assert fr.exposure_s[2] == pytest.approx(bid_s[2] + ask_s[2], abs=1e-9)
    assert sum(fr.exposure_s) == pytest.approx(30 + 35, abs=1e-9)
    assert fr.n_obs == 1


def test_fill_rate_exposure_unchanged_by_the_one_side_update():
    # Both sides resting; the mid walks so only one side at a time leaves its range.
    fr, d, o = _driver(VolatilityEstimator())
    d.book(T0, 37.999, 38.001)
    o.rest(+1, 37.995)
    o.rest(-1, 38.004)
    mids = [38.0, 38.001, 38.002, 38.003, 38.002, 37.999, 37.998, 38.0]
    for k, m in enumerate(mids * 5, start=1):
        d.book(T0 + k * SEC, round(m - 0.001, 3), round(m + 0.001, 3))
    d.book(T0 + 50 * SEC, 37.999, 38.001)
    # By hand: per second, each order's depth bucket from the mid in effect.
    want = [0.0] * len(fr.edges)
    path = [38.0] + mids * 5 + [38.0] * 9  # T0 ... T0 + 50 s, one mid per second
    assert len(path) == 50
    for m in path:
        for p, s in ((37.995, +1), (38.004, -1)):
            want[fr.bucket_of(s * (m - p) / m * 1e4)] += 1.0
    assert fr.exposure_s == pytest.approx(want, abs=1e-9)
    with pytest.raises(ValueError, match="edges_bps"):
        FillRateEstimator(edges_bps=(0.0, 2.0, 1.0))


def test_a_book_inside_every_order_range_costs_one_test():
    fr, d, o = _driver()
    d.book(T0, 37.999, 38.001)
    o.rest(+1, 37.995)
    o.rest(-1, 38.010)
    lo, hi = fr._lo2, fr._hi2
    assert lo < 37.999 + 38.001 < hi  # the resting orders' common range, times two
    before = {cloid: list(rec) for cloid, rec in fr._orders.items()}
    d.book(T0 + SEC, 37.9995, 38.0015)  # mid moves a little: one test, nothing changes
    assert {c: list(r) for c, r in fr._orders.items()} == before
    assert (fr._lo2, fr._hi2) == (lo, hi)
    d.book(T0 + 2 * SEC, 38.003, 38.005)  # mid 38.004: both orders change bucket
    assert (fr._lo2, fr._hi2) != (lo, hi)
    assert all(rec[BUCKET] != before[c][BUCKET] for c, rec in fr._orders.items())
    assert len(fr._orders) == 2
