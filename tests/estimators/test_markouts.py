"""Markouts on a hand-built fill and mid path, through a real engine."""

from __future__ import annotations

import pytest

from framework.estimators import AdverseSelectionEstimator, KellyEstimator
from framework.estimators.adverse_selection import Markout
from tests.estimators.helpers import SEC, T0, Driver

MS = SEC // 1000


def _mid_book(d: Driver, t: int, mid: float) -> None:
    d.book(t, round(mid - 0.01, 4), round(mid + 0.01, 4), tick=0.01)


def test_markouts_of_one_buy_at_each_horizon():
    ase = AdverseSelectionEstimator()
    seen: list[Markout] = []
    ase.add_listener(seen.append)
    d = Driver(ase)
    _mid_book(d, T0, 100.0)
    # Our bid at 99.99 fills (live fill input) at T0 + 100 ms; fee 0.3 bps of notional.
    t_fill = T0 + 100 * MS
    d.fill(t_fill, +1, 99.99, sz=2.0, fee=99.99 * 2.0 * 0.3e-4)
    _mid_book(d, T0 + 500 * MS, 100.05)  # as of t + 1 s
    _mid_book(d, t_fill + 5 * SEC - 1, 99.95)  # just before t + 5 s: counts
    # Exactly at t + 5 s: after the horizon (m(h) = m⁻(t + h), as m = m⁻(t)); this
    # book is the first event with ts >= t + 5 s, so the 5 s markout matures on it.
    _mid_book(d, t_fill + 5 * SEC, 100.30)
    assert [m.h_s for m in seen] == [1.0, 5.0]
    _mid_book(d, T0 + 6 * SEC, 100.50)  # after t + 5 s
    _mid_book(d, T0 + 20 * SEC, 100.20)  # as of t + 30 s
    assert [m.h_s for m in seen] == [1.0, 5.0]  # the 30 s markout has not matured yet
    d.trade(t_fill + 30 * SEC - 1, +1, 100.21)
    assert len(seen) == 2
    d.trade(t_fill + 30 * SEC, +1, 100.21)  # the first event with ts >= t + 30 s
    by_h = {m.h_s: m for m in seen}
    assert sorted(by_h) == [1.0, 5.0, 30.0]
    assert by_h[1.0].sc_bps == pytest.approx(1.0)
    assert by_h[1.0].as_bps == pytest.approx(-5.0)
    assert by_h[5.0].as_bps == pytest.approx(5.0)
    assert by_h[30.0].as_bps == pytest.approx(-20.0)
    assert by_h[30.0].mo_bps == pytest.approx((100.20 - 99.99) / 99.99 * 1e4)
    assert by_h[5.0].fee_bps == pytest.approx(0.3)
    assert by_h[5.0].net_bps == pytest.approx(by_h[5.0].mo_bps - 0.3)
    assert ase.mean_bps(5) == pytest.approx(5.0)
    assert ase.mean_bps(30.0) == pytest.approx(-20.0)
    rows = d.estimates("adverse_selection")
    assert {r["param"] for r in rows} == {"as_1s", "as_5s", "as_30s"}
    assert all(r["n_obs"] == 1 and not r["converged"] for r in rows)


def test_mid_before_is_strictly_before_the_fill():
    ase = AdverseSelectionEstimator(horizons_s=(1.0,), gate_horizon_s=1.0)
    seen: list[Markout] = []
    ase.add_listener(seen.append)
    d = Driver(ase)
    _mid_book(d, T0, 100.0)
    _mid_book(d, T0 + SEC, 101.0)
    d.sim_fill(-1, 101.01)  # emitted at the book's time: the mid before is 100
    _mid_book(d, T0 + 3 * SEC, 101.0)
    assert seen[0].sc_bps == pytest.approx(-1 * (100.0 - 101.01) / 100.0 * 1e4)
    assert seen[0].as_bps == pytest.approx(100.0)  # sold, the mid went up 1 %


def test_fifo_and_no_mid_fills():
    ase = AdverseSelectionEstimator()
    d = Driver(ase)
    d.fill(T0, +1, 100.0)  # no book yet: cannot be measured
    assert ase.fills_no_mid == 1
    _mid_book(d, T0 + 1, 100.0)
    for k in range(5):
        d.fill(T0 + (k + 1) * 100 * MS, +1 if k % 2 else -1, 100.0)
    _mid_book(d, T0 + 2 * SEC, 100.1)
    assert len(ase.stats[1.0].as_bps) == 5
    assert len(ase.stats[5.0].as_bps) == 0


def test_kelly_reads_net_markouts_at_h_star():
    ase = AdverseSelectionEstimator()
    kel = KellyEstimator(h_star_s=1.0, c=0.25)
    d = Driver(ase, kel)
    _mid_book(d, T0, 100.0)
    for k in range(25):
        t = T0 + (2 * k + 1) * SEC
        d.fill(t, +1, 99.99)  # buy at the bid, mid unchanged: +1 bp (net of zero fee)
        _mid_book(d, t + SEC // 2, 100.0 + (0.01 if k % 2 else 0.0))
        _mid_book(d, t + SEC, 100.0)
    assert kel.n_obs >= 20 and kel.ready
    assert kel.mu_lcb > 0 and kel.converged
    assert 0 < kel.fraction <= kel.f_max


def test_kelly_needs_adverse_selection():
    with pytest.raises(KeyError, match="adverse_selection"):
        Driver(KellyEstimator())


def test_kelly_takes_its_edge_over_the_measured_holding_time():
    """Kelly's horizon is the markout horizon at or beyond the inventory's holding time
    (Little's law over our fills), not a fixed 5 s that ignores holding inventory."""
    ase = AdverseSelectionEstimator()
    kel = KellyEstimator()  # h_star_s = 0: the holding-time rule
    d = Driver(ase, kel)
    assert kel.c == 0.1  # a conservative fraction by default (mm_math §7: 0.1-0.25)
    assert kel.h_star == 30.0  # before two fills: the longest horizon up to 30 s
    _mid_book(d, T0, 100.0)
    # Round trips: buy, hold 90 s, sell; flat 10 s in between.
    t = T0
    for _ in range(4):
        t += 10 * SEC
        d.fill(t, +1, 99.99)
        t += 90 * SEC
        d.fill(t, -1, 100.01)
    # ∫|pos| dt = 4 x 90 s, traded 8 coins: H = 360 / 4 = 90 s -> the 120 s markouts.
    assert kel.holding_s == pytest.approx(90.0)
    assert kel.h_star == 120.0
    short = KellyEstimator()
    d2 = Driver(AdverseSelectionEstimator(), short)
    _mid_book(d2, T0, 100.0)
    for k in range(6):
        d2.fill(T0 + k * SEC, +1 if k % 2 == 0 else -1, 100.0)  # held 1 s at a time
    assert short.h_star == 1.0
