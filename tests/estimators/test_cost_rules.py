"""What the cost work must not change: the book tape's lookups, κ's pre-trade mid, the
scaled regime filter against the log-space one, the refit cadence, the publication
cadences, and which estimators run per market event."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from framework.estimators import (
    AdverseSelectionEstimator,
    KappaEstimator,
    RegimeEstimator,
    default_estimators,
)
from framework.estimators.base import book_tape
from framework.estimators.hmm import HmmParams, filter_step, log_emission
from framework.events.schema import Kind
from tests.estimators.helpers import SEC, T0, Driver


def test_book_tape_lookups_are_strictly_before():
    d = Driver()
    tape = book_tape(d.engine)
    assert book_tape(d.engine) is tape  # one tape per engine
    d.book(T0, 37.999, 38.001)
    d.book(T0 + SEC, 38.001, 37.999)  # crossed: not a valid mid
    d.book(T0 + 2 * SEC, 38.009, 38.011)
    assert tape.before_ts(T0 + 2 * SEC) == (37.999, 38.001, T0)  # skips the crossed one
    assert tape.before_ts(T0 + 3 * SEC) == (38.009, 38.011, T0 + 2 * SEC)
    assert tape.before_ts(T0) is None
    assert tape.mid_before(T0 + 2 * SEC) == pytest.approx(38.0)
    assert tape.mid_before(T0 + 2 * SEC + 1) == pytest.approx(38.01)
    assert math.isnan(tape.mid_before(T0))


def test_kappa_ignores_the_post_trade_book_with_the_trades_ts():
    kap = KappaEstimator(delta0_bps=0.0, refit_s=1.0, window_s=3600.0)
    d = Driver(kap)
    d.book(T0, 37.999, 38.001)  # mid 38.000, half-spread one tick
    t = T0 + SEC // 2
    # The feed delivers the post-trade book (same exchange ts) before the prints.
    d.book(t, 38.003, 38.005)
    d.trade(t, +1, 38.001, "0x01")
    d.trade(t, +1, 38.004, "0x01")  # worst print: 4 ticks above the pre-trade mid
    d.book(T0 + 2 * SEC, 38.003, 38.005)
    assert kap.events_seen == 1 and kap.events_kept == 1
    # Depth vs 38.000 (not 38.004): hs = 1 tick, floor = touch + 1 tick, so j = 2.
    assert kap._sweeps.sum_j == 2  # the window's Σ j (kept in the kernel)


def test_kappa_judges_the_books_age_on_the_exchange_clock():
    """Staleness is trade ts minus the book's ts (the clock the book was found by), not
    engine time: a late delivery does not age a book, a late book is not fresh."""
    kap = KappaEstimator(delta0_bps=0.0, refit_s=1.0, window_s=3600.0, stale_s=5.0)
    d = Driver(kap)
    # 1: book at exchange T0; the trade 1 s later on the exchange, delivered 8 s later.
    d.book(T0, 37.999, 38.001)
    d.trade(T0 + 8 * SEC, +1, 38.004, "0x01", ts=T0 + SEC)
    # 2: a book stamped 6 s before the trade, delivered just before it.
    t2 = T0 + 20 * SEC
    d.book(t2 + SEC // 2, 37.999, 38.001, ts=t2 - 6 * SEC)
    d.trade(t2 + SEC, +1, 38.004, "0x02", ts=t2)
    d.book(T0 + 30 * SEC, 37.999, 38.001)  # a refit closes the last sweep
    assert kap.events_seen == 2
    # Engine time would keep the second (0.5 s old on arrival) and drop the first (8 s).
    assert kap.events_kept == 1 and kap._sweeps.events[0][0] == T0 + 8 * SEC


def test_scaled_regime_filter_equals_the_log_space_step():
    rng = np.random.default_rng(3)
    reg = RegimeEstimator()
    mu = np.array([[-14.0, 0.1], [-12.0, 0.15], [-13.0, 0.5]])
    var = np.array([[0.2, 0.01], [0.3, 0.02], [0.25, 0.03]])
    a = np.array([[0.96, 0.02, 0.02], [0.03, 0.95, 0.02], [1e-320, 0.05, 0.95]])
    p = HmmParams(np.full(3, 1 / 3), a, mu, var)
    reg._filt = (
        mu.tolist(),
        (1.0 / var).tolist(),
        (-0.5 * (np.log(var).sum(axis=1) + 2 * math.log(2 * math.pi))).tolist(),
    )
    reg._a_cols = np.maximum(a, 1e-300).T.tolist()
    reg._p = [0.2, 0.5, 0.3]
    log_l = np.log(reg._p)
    log_a = np.log(np.maximum(a, 1e-300))
    for _ in range(200):
        y = (float(rng.normal(-13.0, 1.5)), float(rng.uniform(0.0, 1.0)))
        reg._filter(y)
        log_l = filter_step(log_l, log_emission(np.array([y]), p)[0], log_a)
        assert np.exp(log_l) == pytest.approx(reg._p, abs=1e-12)


def _regime_books(d: Driver, buckets: int) -> None:
    rng = np.random.default_rng(7)
    mid = 38.0
    specs = [(1.0, 0.0), (5.0, 0.0), (2.0, 1.5)]
    for k in range(2 * 10 * buckets):
        sigma, drift = specs[(k // 240) % 3]
        sign = 1.0 if (k // 720) % 2 else -1.0
        mid *= np.exp((sign * drift * 0.5 + sigma * np.sqrt(0.5) * rng.standard_normal()) / 1e4)
        m = round(mid, 5)
        d.book(T0 + k * SEC // 2, round(m - 0.00005, 5), round(m + 0.00005, 5), tick=1e-5)


def test_regime_refits_fast_until_stable_then_slower():
    reg = RegimeEstimator(bucket_s=10.0, first_fit=60, refit_every=20, refit_every_stable=60)
    at: list[tuple[int, bool]] = []
    refit = reg._refit

    def spy() -> None:
        refit()
        at.append((reg.buckets, reg.fit_ok))

    reg._refit = spy  # type: ignore[method-assign]
    _regime_books(Driver(reg), 420)
    assert at[0][0] == 60
    gaps = [(b - a, ok) for (a, ok), (b, _) in itertools.pairwise(at)]
    assert all(g == (60 if ok else 20) for g, ok in gaps), at
    assert any(ok for _, ok in gaps) and any(not ok for _, ok in gaps)


def test_kappa_publishes_every_30_s_and_at_every_flip():
    kap = KappaEstimator(delta0_bps=0.0, window_s=3600.0, refit_s=10.0)
    d = Driver(kap)
    bid, ask = 37.999, 38.001
    for n in range(300):
        t = T0 + n * SEC
        d.book(t, bid, ask)
        d.trade(t + SEC // 4, +1, round(ask + 0.001 * (1 + n % 7), 3), f"0x{n:04x}")
    rows = d.estimates("kappa", "k")
    assert [r["n_obs"] for r in rows if r["n_obs"] in (49, 50)]  # the documented count
    flips = {r["ts"] for a, r in itertools.pairwise(rows) if a["converged"] != r["converged"]}
    counts = {r["ts"] for r in rows if r["n_obs"] in (kap.min_obs - 1, kap.min_obs)}
    ts = [r["ts"] for r in rows if r["ts"] not in flips | counts]
    assert all(b - a >= 30 * SEC for a, b in itertools.pairwise(ts))
    assert len(rows) < 300 / 10  # fewer rows than refits
    assert kap.converged


def test_only_the_tape_and_fill_rate_run_per_book_event():
    d = Driver(*default_estimators())
    handlers = d.engine._handlers
    # MarketState, the shared book tape, the fill rate's range test; nothing else.
    assert len(handlers[Kind.BOOK]) == 3 and len(handlers[Kind.BBO]) == 3
    assert len(handlers[Kind.TRADES]) == 2  # MarketState and κ's sweeps
    assert len(handlers[Kind.CLOCK]) == 1  # one shared checkpoint handler (rare rows)
    fr = d.engine.component("fill_rate")
    # Its range test and the rebucketing it wakes both run in the kernel: no Python
    # handler of the estimator is called per book event (tests/estimators/test_fill_rate
    # checks what the rebucketing does).
    assert fr._wake in [h.target for h in handlers[Kind.BOOK]]
    assert fr._wake.fn is None


def test_markouts_need_no_market_subscription_and_mature_on_timers():
    ase = AdverseSelectionEstimator(horizons_s=(1.0,), gate_horizon_s=1.0)
    d = Driver(ase)
    d.book(T0, 99.99, 100.01, tick=0.01)
    d.trade(T0 + SEC // 10, -1, 99.99)
    d.sim_fill(+1, 99.99)  # at T0 + 100 ms: the mid before is the book's
    assert d.engine.snapshot()["pending_timers"] == 1
    d.step(Kind.ASSET_CTX, T0 + 2 * SEC, ("HYPE", 100.0, 100.0, 100.0, 0.0, 0.0, 1e6, 1e6))
    assert len(ase.stats[1.0].as_bps) == 1  # matured on a non-market event's time
