"""Each risk rule fires, is journaled as a risk row, and shapes the quotes."""

from __future__ import annotations

import itertools
import math

import pytest

from framework.events.schema import Kind
from tests.strategies.venue import Harness

BID, BSZ, ASK, ASZ, FAIR, HS = 4, 5, 6, 7, 8, 9
RULE, STATE, VALUE, LIMIT, REASON = 3, 4, 5, 6, 7


def risk_rows(h: Harness, rule: str | None = None) -> list[tuple]:
    return [r for r in h.rows(Kind.RISK) if rule is None or r[RULE] == rule]


def test_position_cap_quotes_only_the_reducing_side():
    h = Harness({"base_notional_usd": 200.0}, {"max_position": 8.0})
    h.book(40.0, 40.01)
    h.venue.fill(1)  # 4.99 long
    h.book(40.0, 40.01)
    h.venue.fill(1)  # 9.98 long: over 8
    h.clock(1.0)
    rows = risk_rows(h, "position")
    assert rows and rows[-1][STATE] == "tripped" and "cap" in rows[-1][REASON]
    q = h.last_quote()
    assert q[BID] is None and q[ASK] is not None
    assert h.risk.sides_allowed == (False, True)
    h.venue.fill(-1)  # sold back under the cap
    h.clock(1.0)
    assert risk_rows(h, "position")[-1][STATE] == "ok"
    assert h.last_quote()[BID] is not None


def test_bid_size_shrinks_to_the_room_left_under_the_cap():
    h = Harness({"base_notional_usd": 200.0}, {"max_position": 7.0})
    h.book(40.0, 40.01)
    h.venue.fill(1)  # ~5 long ($200 at the bid's price), ~2 of room
    h.book(40.0, 40.01)
    q = h.last_quote()
    pos = h.orders.position
    assert 4.9 < pos < 5.1
    assert q[BSZ] == pytest.approx(round(7.0 - pos, 2))
    assert q[ASZ] == pytest.approx(math.floor(200.0 / q[ASK] * 100) / 100)  # $200 at its price


def test_drawdown_kill_switch_cancels_everything_for_good():
    h = Harness(
        {"base_notional_usd": 2000.0, "max_order_notional_usd": 5000.0},
        {
            "max_drawdown": 0.01,
            "max_position_usd": 50_000.0,
            "max_position": 1e6,
            "max_daily_loss_usd": 1e6,
        },
    )
    h.book(40.0, 40.01)
    h.venue.fill(1)  # ~50 coins long
    for px in (39.0, 36.0, 32.0):  # -20 %: about -400 USD on 10 000
        h.book(px, px + 0.01, dt=1.0)
    rows = risk_rows(h, "drawdown")
    assert len(rows) == 1 and rows[0][STATE] == "tripped" and rows[0][VALUE] >= 0.01
    assert h.risk.quoting_allowed is False
    q = h.last_quote()
    assert q[BID] is None and q[ASK] is None
    cmds = h.rows(Kind.ORDER_COMMANDS)
    assert cmds[-1][4] == "cancel"
    assert not h.orders.open
    h.book(40.0, 40.01, dt=1.0)  # the market recovers; the switch stays off
    assert h.risk.quoting_allowed is False and not h.orders.open


def test_daily_loss_limit_trips_and_resets_next_utc_day():
    h = Harness(
        {"base_notional_usd": 2000.0, "max_order_notional_usd": 5000.0},
        {
            "max_daily_loss_usd": 50.0,
            "max_drawdown": 0.5,
            "max_position_usd": 1e6,
            "max_position": 1e6,
        },
    )
    h.book(40.0, 40.01)
    h.venue.fill(1)
    h.book(38.0, 38.01, dt=1.0)  # ~ -100 USD
    h.clock(1.0)  # losses are checked on fills and every check_interval_s
    rows = risk_rows(h, "daily_loss")
    assert rows[-1][STATE] == "tripped" and rows[-1][LIMIT] == 50.0
    assert not h.risk.quoting_allowed
    h.book(38.0, 38.01, dt=6_500.0)  # T0 is 80 000 s into a UTC day: this crosses midnight
    h.clock(1.0)  # (the long silence also paused the quote gate; fresh data resumes it)
    assert risk_rows(h, "daily_loss")[-1][STATE] == "ok"
    assert h.risk.quoting_allowed


def test_quote_gate_pauses_on_a_stall_and_resumes_on_fresh_data():
    h = Harness(risk={"stale_s": 15.0})
    h.book(40.0, 40.01)
    assert len(h.orders.open) == 2
    for _ in range(20):  # 20 s of clock ticks, no market data
        h.clock(1.0)
    rows = risk_rows(h, "quote_gate")
    assert [r[STATE] for r in rows] == ["paused"]
    assert rows[0][VALUE] >= 15.0
    assert not h.orders.open and h.last_quote()[BID] is None
    h.book(40.0, 40.01)
    h.clock(1.0)
    assert [r[STATE] for r in risk_rows(h, "quote_gate")] == ["paused", "resumed"]
    assert len(h.orders.open) == 2 and h.last_quote()[BID] is not None


def test_low_headroom_widens_by_sqrt_threshold_over_h():
    h1 = Harness()
    h1.book(40.0, 40.01)
    h1.clock(1.0)
    base = h1.last_quote()[HS]
    h = Harness(headroom=0.125)
    h.book(40.0, 40.01)
    h.clock(1.0)
    rows = risk_rows(h, "rate_limit")
    assert rows[0][STATE] == "widened" and rows[0][VALUE] == 0.125
    assert h.risk.spread_mult == pytest.approx(2.0)  # sqrt(0.5 / 0.125)
    assert h.last_quote()[HS] == pytest.approx(2.0 * base)


def test_widening_is_continuous_in_headroom():
    """No jump at the threshold: 1.0 at h = 0.5 and just below it (today: 1.41)."""
    mults = []
    for h in (0.51, 0.5, 0.499, 0.3, 0.2, 0.11):
        hr = Harness(headroom=h)
        hr.book(40.0, 40.01)
        hr.clock(1.0)
        mults.append(hr.risk.spread_mult)
    assert mults[0] == mults[1] == 1.0
    assert mults[2] == pytest.approx(1.0, abs=2e-3)
    assert all(b > a for a, b in itertools.pairwise(mults[1:]))
    assert mults[-1] == pytest.approx((0.5 / 0.11) ** 0.5)


def test_headroom_below_ten_percent_forces_inventory_out_at_the_touch():
    h = Harness()
    h.book(40.0, 40.05)  # a 5-tick spread: room to improve the touch
    h.venue.fill(1)  # long
    h.venue.headroom = 0.05
    h.clock(1.0)
    assert risk_rows(h, "rate_limit")[-1][STATE] == "forcing"
    assert h.risk.spread_mult > 3.0  # the budget widening, which forcing must not apply
    q = h.last_quote()
    assert q[BID] is None and q[ASK] is not None
    assert q[ASK] == pytest.approx(40.049)  # one tick inside the best ask: gets filled
    ask_cmd = [c for c in h.rows(Kind.ORDER_COMMANDS) if c[6] == -1][-1]
    assert ask_cmd[10] is True and ask_cmd[8] == pytest.approx(h.orders.position)  # reduce-only
    h.book(40.02, 40.03)
    assert h.last_quote()[ASK] == pytest.approx(40.029)
    h.book(40.029, 40.03)  # a one-tick spread ($0.001 at $40): join the best ask
    assert h.last_quote()[ASK] == pytest.approx(40.03)


def test_forcing_while_flat_quotes_both_sides_at_minimum_size_with_throttled_modifies():
    h = Harness({"forcing_requote_s": 10.0}, headroom=0.05)
    h.book(40.0, 40.01)
    h.clock(1.0)
    assert h.risk.forcing and h.orders.position == 0.0
    q = h.last_quote()
    assert q[BID] is not None and q[ASK] is not None
    assert q[BSZ] == pytest.approx(0.26) and q[ASZ] == pytest.approx(0.25)  # $10 at each price
    assert q[BSZ] * q[BID] >= 10.0 and q[ASZ] * q[ASK] >= 10.0

    def modifies() -> int:
        return sum(1 for c in h.rows(Kind.ORDER_COMMANDS) if c[4] == "modify")

    n0 = modifies()
    for j in range(8):  # the market moves 10 bps every 0.5 s for 4 s
        h.book(40.04 * (j + 1) + 40.0 - 40.04 * j, 40.04 * (j + 1) + 40.01 - 40.04 * j)
    assert modifies() - n0 <= 2  # one per side per forcing_requote_s, not one per move
    for _ in range(12):
        h.clock(1.0)
    assert modifies() - n0 >= 2  # after the throttle, the sides catch up


def test_rate_limit_states_have_hysteresis():
    h = Harness()
    h.book(40.0, 40.01)
    seen = []
    for hr in (0.09, 0.11, 0.125, 0.2, 0.49, 0.51, 0.53, 0.49):
        h.venue.headroom = hr
        h.clock(1.0)
        seen.append(h.risk.states.get("rate_limit", "ok"))
    assert seen == [
        "forcing",
        "forcing",  # 0.11: not yet 0.02 above the 0.10 threshold
        "widened",
        "widened",
        "widened",
        "widened",  # 0.51: not yet 0.02 above 0.5
        "ok",
        "widened",
    ]
    assert len(risk_rows(h, "rate_limit")) == 4


def test_position_cap_has_hysteresis():
    h = Harness(risk={"max_position": 5.0, "position_release": 0.8})
    h.book(40.0, 40.01)
    h.venue.fill(1)
    h.venue.fill(1)  # 5 coins long: tripped
    h.clock(1.0)
    assert risk_rows(h, "position")[-1][STATE] == "tripped"
    for pos, want in ((4.9, "tripped"), (4.1, "tripped"), (3.9, "ok"), (4.9, "ok")):
        h.orders.position = pos
        h.clock(1.0)
        assert risk_rows(h, "position")[-1][STATE] == want, pos
    assert len(risk_rows(h, "position")) == 2  # one trip, one release: no flapping


def test_live_rate_limit_input_drives_headroom():
    h = Harness()
    h.book(40.0, 40.01)
    h.step(Kind.RATE_LIMIT, (0.0, 9_500, 10_000))
    assert h.risk.headroom == pytest.approx(0.05)
    assert risk_rows(h, "rate_limit")[-1][STATE] == "forcing"
    h.clock(1.0)  # the paper venue's headroom no longer overrides live numbers
    assert h.risk.headroom == pytest.approx(0.05)


def test_marginal_readiness_widens_spread_and_halves_size():
    ready = Harness()
    ready.book(40.0, 40.01)
    ready.clock(1.0)
    marginal = Harness(risk={"readiness": "marginal"})
    marginal.book(40.0, 40.01)
    marginal.clock(1.0)
    r, m = ready.last_quote(), marginal.last_quote()
    assert m[HS] == pytest.approx(1.5 * r[HS])
    assert m[BSZ] == pytest.approx(0.5 * r[BSZ], abs=0.01)
    rows = risk_rows(marginal, "readiness")
    assert rows and rows[0][STATE] == "widened"


def test_custom_marginal_multipliers_apply():
    h = Harness(
        risk={"readiness": "marginal", "marginal_spread_mult": 2.0, "marginal_size_mult": 0.25}
    )
    assert h.risk.spread_mult == 2.0 and h.risk.size_mult == 0.25


def test_a_healthy_budget_does_not_widen():
    h = Harness(headroom=0.8)  # 20 % used: above widen_headroom (0.5)
    h.book(40.0, 40.01)
    h.clock(1.0)
    assert h.risk.spread_mult == 1.0 and not risk_rows(h, "rate_limit")
    h.venue.headroom = 0.49  # just below: widened, journaled with its value
    h.clock(1.0)
    rows = risk_rows(h, "rate_limit")
    assert [r[STATE] for r in rows] == ["widened"] and rows[0][VALUE] == pytest.approx(0.49)
    assert h.risk.spread_mult == pytest.approx((0.5 / 0.49) ** 0.5)


def test_usd_position_cap_trips_before_the_contract_cap():
    h = Harness(
        {"base_notional_usd": 200.0},
        {"max_position": 1_000.0, "max_position_usd": 300.0},  # 300 USD = 7.5 coins at 40
    )
    h.book(40.0, 40.01)
    h.venue.fill(1)  # ~5 coins: 200 USD, under both caps
    h.clock(1.0)
    assert not risk_rows(h, "position")
    h.book(40.0, 40.01)
    h.venue.fill(1)  # the bid was sized to the room left: ~7.5 coins, just under 300 USD
    h.clock(1.0)
    assert not risk_rows(h, "position")
    h.book(45.0, 45.01)  # the same coins are now worth ~337 USD: over the USD cap only
    h.clock(1.0)
    rows = risk_rows(h, "position")
    assert rows[-1][STATE] == "tripped" and "USD" in rows[-1][REASON]
    assert h.risk.sides_allowed == (False, True)
    assert h.last_quote()[BID] is None


def test_forcing_with_a_dust_position_quotes_as_flat_instead_of_going_silent():
    # A remainder below one lot (0.004 HYPE with szDecimals 2) cannot be reduced by any
    # order; forcing used to quote only the reducing side, i.e. nothing, for the rest of
    # the session (a 7-day backtest went silent after 21 h).
    h = Harness({"forcing_requote_s": 10.0}, headroom=0.05)
    h.book(40.0, 40.01)
    h.clock(1.0)
    h.venue.fill(1, 0.004)  # a partial fill of the bid: 0.004 long
    h.clock(1.0)
    assert h.risk.forcing and h.orders.position == pytest.approx(0.004)
    q = h.last_quote()
    assert q[BID] is not None and q[ASK] is not None
    assert q[BSZ] * q[BID] >= 10.0 and q[ASZ] * q[ASK] >= 10.0
