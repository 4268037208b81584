"""The model moves the quotes: σ, κ, the Q action and inventory (issue: trustworthy backtests).

Inventory is counted in reference lots (``base_notional_usd``), so Kelly raising the
order size does not weaken the skew per coin; sizes obey the venue minimum at each
side's own price and §7's top-of-book and margin caps.
"""

from __future__ import annotations

import math

import pytest

from framework.config import PROFILES
from framework.events.schema import Kind
from strategies.qlearning import ACTIONS
from tests.strategies.venue import Harness

# QUOTES payload after (seq, ts, recv_ts): coin, bid_px, bid_sz, ask_px, ask_sz, fair, hs, skew, inv
BID, BSZ, ASK, ASZ, FAIR, HS, SKEW = 4, 5, 6, 7, 8, 9, 10

#: A converged-looking market: κ about 1.1 per bps and A 0.4 per s (the synthetic HYPE's).
MARKET = {"k_per_bps_default": 1.1, "A_per_s_default": 0.4}


class KellyStub:
    """What the strategy reads of the Kelly estimator."""

    name = "kelly"

    def __init__(self, fraction: float) -> None:
        self.ready = True
        self.fraction = fraction


def quoted(strategy: dict, *, position: float = 0.0, kelly: float | None = None) -> tuple:
    """The quote a fresh strategy makes on a 40.000/40.010 book, at ``position`` coins."""
    h = Harness({**MARKET, **strategy})
    if kelly is not None:
        h.mm.kelly = KellyStub(kelly)
    h.orders.position = position
    h.book(40.0, 40.01)
    return h.last_quote()


def spread_bps(q: tuple) -> float:
    return (q[ASK] - q[BID]) / q[FAIR] * 1e4


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_doubling_sigma_widens_the_quotes_inside_the_band(profile):
    lo, hi = PROFILES[profile].band_bps
    calm = quoted({"spread_profile": profile, "sigma_bps_default": 2.0})
    wild = quoted({"spread_profile": profile, "sigma_bps_default": 4.0})
    assert wild[HS] > calm[HS] + 0.5  # the GLFT σ term: about 1 bp of half spread
    assert spread_bps(wild) > spread_bps(calm)
    for q in (calm, wild):
        assert lo <= spread_bps(q) <= hi


def test_a_faster_decaying_market_gives_tighter_quotes():
    thin = quoted({"spread_profile": "hip3", "k_per_bps_default": 0.7})
    dense = quoted({"spread_profile": "hip3", "k_per_bps_default": 1.4})
    assert dense[HS] < thin[HS] - 0.5  # c1 = 1/k
    assert spread_bps(dense) < spread_bps(thin)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_two_q_spread_actions_give_two_spreads_and_the_band_holds(profile):
    lo, hi = PROFILES[profile].band_bps
    spreads = {}
    for a, (m_hs, m_skew) in enumerate(ACTIONS):
        if m_skew != 1.0:
            continue
        h = Harness({**MARKET, "spread_profile": profile})
        h.book(40.0, 40.01)
        h.mm.action, h.mm.m_hs, h.mm.m_skew = a, m_hs, m_skew
        h.mm._requote(True)
        q = h.last_quote()
        assert lo <= spread_bps(q) <= hi
        spreads[m_hs] = spread_bps(q)
    assert spreads[0.8] < spreads[1.25] < spreads[2.0]  # the action moves the spread


def test_the_band_holds_in_an_extreme_market():
    for sigma in (0.1, 50.0):
        for k in (0.05, 20.0):
            q = quoted({"spread_profile": "aggressive", "sigma_bps_default": sigma,
                        "k_per_bps_default": k})  # fmt: skip
            assert 10.0 <= spread_bps(q) <= 20.0


def test_kelly_size_does_not_weaken_the_skew_per_coin():
    """Inventory counts in reference lots: the same 10 coins skew the same whatever size
    Kelly picks (before, q = position / order size made a 20x size a 20x weaker skew)."""
    base = quoted({"spread_profile": "aggressive"}, position=10.0)
    big = quoted({"spread_profile": "aggressive", "tob_share": 0.99}, position=10.0, kelly=0.2)
    assert big[ASZ] * big[ASK] > 5 * base[ASZ] * base[ASK]  # Kelly did raise the size
    assert big[SKEW] == pytest.approx(base[SKEW])
    assert base[SKEW] > 0.5  # 10 coins = 4 reference lots of $100: a real skew (bps)
    flat = quoted({"spread_profile": "aggressive"})
    assert base[BID] < flat[BID] and base[ASK] < flat[ASK]


def test_skew_grows_linearly_with_inventory_in_reference_lots():
    s1 = quoted({}, position=2.5)[SKEW]  # one reference lot ($100) at $40
    s4 = quoted({}, position=10.0)[SKEW]
    assert s4 == pytest.approx(4 * s1, rel=1e-3)


def test_bids_at_the_minimum_notional_pass_the_venue_check_at_their_own_price():
    """With no proven edge Kelly gives the $10 minimum; 0.25 HYPE at the rounded bid
    (below fair) was worth less than $10 and the venue rejected it."""
    for mid in (39.991, 40.0, 40.004, 39.97):
        h = Harness({**MARKET, "spread_profile": "aggressive"})
        h.mm.kelly = KellyStub(0.0)
        h.book(mid - 0.005, mid + 0.005)
        q = h.last_quote()
        assert q[BSZ] * q[BID] >= 10.0 and q[ASZ] * q[ASK] >= 10.0
        assert q[BSZ] * q[BID] < 10.0 + q[BID] * 0.01  # and no more than one lot over it
    cmds = [c for k, c in h.sink.rows if k == Kind.ORDER_COMMANDS and c[4] != "cancel"]
    assert all(c[7] * c[8] >= 10.0 for c in cmds)


def test_kelly_size_is_capped_by_a_top_of_book_share():
    h = Harness({**MARKET, "tob_share": 0.25})
    h.mm.kelly = KellyStub(0.5)  # $5000 a quote: far more than the book shows
    h.book(40.0, 40.01, bsz=50.0, asz=50.0)  # $2000 at each touch
    h.mm.on_params(h.t)  # the smoothed top-of-book notional
    h.mm._requote(True)
    q = h.last_quote()
    assert q[BSZ] * q[BID] == pytest.approx(0.25 * 2000.0, rel=0.01)
    assert q[ASZ] * q[ASK] == pytest.approx(0.25 * 2000.0, rel=0.01)


def test_margin_room_caps_the_side_that_grows_worst_case_inventory():
    # $1 000 equity at 3x with 50 % usage: at most $1 500 of worst-case inventory.
    h = Harness(
        {**MARKET, "base_notional_usd": 400.0},
        {"max_position_usd": 1e6},
        orders={"initial_equity_usd": 1000.0},
    )
    h.book(40.0, 40.01)
    h.orders.position, h.orders.cash = 30.0, -30.0 * 40.005  # $1 200 long, bought at the mid
    h.book(40.0, 40.01)
    h.mm._requote(True)
    q = h.last_quote()
    room = 1500.0 - 30.0 * q[BID]  # ~$300 left: worst case (30 + bid size) x px <= $1 500
    assert room - q[BID] * 0.01 < q[BSZ] * q[BID] <= room
    assert q[ASZ] * q[ASK] == pytest.approx(400.0, abs=0.5)  # selling reduces: full size
    rc = h.risk.cfg
    sigma_t = h.mm.sigma_bps * 1e-4 * math.sqrt(rc.inventory_horizon_s)
    assert 1000.0 / (rc.inventory_k_sigma * sigma_t + 0.5 / rc.max_leverage) > 1500.0


class _Est:
    """An estimator as the strategy reads it: converged, with the given values."""

    def __init__(self, **values: float) -> None:
        self.converged = True
        self.__dict__.update(values)


@pytest.mark.parametrize("model", ["A", "B"])
def test_parameter_refresh_gives_the_glft_half_spread_and_skew_bit_for_bit(model):
    """The strategy keeps the GLFT coefficients of the last (k, A) and recomputes them
    when κ's fit moves; every refresh equals half_spread_and_skew of its σ, k and A."""
    from strategies.glft import half_spread_and_skew

    h = Harness({**MARKET, "model": model})
    mm = h.mm
    h.book(40.0, 40.01)
    kappa = _Est(k_per_bps=1.1, A_per_s=0.4)
    vol = _Est(sigma_bps=2.0)
    mm.kappa, mm.vol = kappa, vol
    steps = [(2.0, 1.1, 0.4), (2.5, 1.1, 0.4), (2.5, 0.7, 0.4), (3.1, 0.7, 0.9), (3.1, 1.1, 0.4)]
    steps += [(1.7, 0.7, 0.9), (1.7, float("nan"), 0.9), (0.9, 0.7, -1.0), (0.9, 0.7, 0.9)]
    for sigma, k, a in steps:
        vol.sigma_bps, kappa.k_per_bps, kappa.A_per_s = sigma, k, a
        mm.on_params(h.t)
        usable = k == k and k > 0 and a > 0
        k_used, a_used = (k, a) if usable else (mm.cold[1], mm.cold[2])
        assert (mm.k_per_bps, mm.A_per_s) == (k_used, a_used)
        want = half_spread_and_skew(sigma, k_used, a_used, mm.gamma, model)
        assert (mm.hs_bps, mm.skew_bps) == want  # exact: the same floats
