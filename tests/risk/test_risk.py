"""Each risk rule fires, is journaled as a risk row, and shapes the quotes."""

from __future__ import annotations

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
    h.venue.fill(1)  # 4.99 long, 2.01 of room
    h.book(40.0, 40.01)
    q = h.last_quote()
    assert q[BSZ] == pytest.approx(2.01) and q[ASZ] == pytest.approx(4.99)


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


def test_low_headroom_widens_by_one_over_sqrt_h():
    h1 = Harness()
    h1.book(40.0, 40.01)
    h1.clock(1.0)
    base = h1.last_quote()[HS]
    h = Harness(headroom=0.25)
    h.book(40.0, 40.01)
    h.clock(1.0)
    rows = risk_rows(h, "rate_limit")
    assert rows[0][STATE] == "widened" and rows[0][VALUE] == 0.25
    assert h.risk.spread_mult == pytest.approx(2.0)
    assert h.last_quote()[HS] == pytest.approx(2.0 * base)


def test_headroom_below_ten_percent_quotes_only_the_reducing_side():
    h = Harness()
    h.book(40.0, 40.01)
    h.venue.fill(1)  # long
    h.venue.headroom = 0.05
    h.clock(1.0)
    assert risk_rows(h, "rate_limit")[-1][STATE] == "forcing"
    q = h.last_quote()
    assert q[BID] is None and q[ASK] is not None
    ask_cmd = [c for c in h.rows(Kind.ORDER_COMMANDS) if c[6] == -1][-1]
    assert ask_cmd[10] is True and ask_cmd[8] == pytest.approx(h.orders.position)  # reduce-only
    h.venue.fill(-1)  # flat: no side reduces anything
    h.clock(1.0)
    q = h.last_quote()
    assert q[BID] is None and q[ASK] is None


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
    assert h.risk.spread_mult == pytest.approx(1 / 0.49**0.5)


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
