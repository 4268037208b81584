"""The venue state machine without sockets: scheduleCancel triggers, nonce window edges."""

from __future__ import annotations

import pytest

from framework.hyperliquid.simulator import SimConfig
from framework.hyperliquid.simulator import errors as E
from framework.hyperliquid.simulator.errors import Reject
from framework.hyperliquid.simulator.state import Exchange
from framework.hyperliquid.simulator.validation import OrderSpec


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def _exchange():
    clock = Clock(1_767_225_600_000)
    ex = Exchange(SimConfig(port=0), clock_ms=clock)
    ex.on_book("HYPE", [25.0], [10.0], [1], [25.01], [10.0], [1])
    return ex, clock


def test_schedule_cancel_triggers_and_daily_cap():
    ex, clock = _exchange()
    acct = ex.account("0x" + "aa" * 20)
    spec = OrderSpec(2, True, "24", "1", False, "Gtc", None)
    for _ in range(10):
        ex.place(acct, spec, clock.t)
        ex._act_scheduleCancel(acct, {"type": "scheduleCancel", "time": clock.t + 5000}, clock.t)
        clock.t += 5000
        ex.run_scheduled_cancels()
        assert acct.open == {}
    assert acct.schedule_count == 10
    with pytest.raises(Reject, match="Too many scheduled cancel"):
        ex._act_scheduleCancel(acct, {"type": "scheduleCancel", "time": clock.t + 6000}, clock.t)
    clock.t += 86_400_000  # next UTC day
    ex._act_scheduleCancel(acct, {"type": "scheduleCancel", "time": clock.t + 6000}, clock.t)
    # omitting time clears the schedule
    ex._act_scheduleCancel(acct, {"type": "scheduleCancel"}, clock.t)
    assert acct.schedule_ms is None
    with pytest.raises(Reject, match=E.SCHEDULE_TOO_EARLY[:20]):
        ex._act_scheduleCancel(acct, {"type": "scheduleCancel", "time": clock.t + 4999}, clock.t)


def test_nonce_window_edges():
    ex, clock = _exchange()
    now = clock.t
    with pytest.raises(Reject):
        ex._check_nonce("0xs", now - 2 * 86_400_000, now)  # open interval
    ex._check_nonce("0xs", now - 2 * 86_400_000 + 1, now)
    ex._check_nonce("0xs", now + 86_400_000 - 1, now)
    with pytest.raises(Reject):
        ex._check_nonce("0xs", now + 86_400_000, now)


def test_funding_only_on_hour_boundaries():
    ex, clock = _exchange()
    acct = ex.account("0x" + "bb" * 20)
    ex.on_ctx("HYPE", 25.0, 25.0, 25.0, 0.001, 0.0, 1.0, 1.0)
    ex.place(acct, OrderSpec(2, False, "25", "2", False, "Ioc", None), clock.t)  # short 2
    hour = 3_600_000_000_000
    ex.on_market_time(10 * hour + 1)
    ex.on_market_time(10 * hour + 5)
    assert acct.funding == []
    ex.on_market_time(11 * hour)
    assert len(acct.funding) == 1
    assert float(acct.funding[0]["usdc"]) == pytest.approx(2 * 25.0 * 0.001)  # shorts receive
    ex.on_market_time(11 * hour + 3)
    assert len(acct.funding) == 1


def test_modify_refused_for_unknown_asset_or_trigger_keeps_the_old_order():
    ex, clock = _exchange()
    acct = ex.account("0x" + "cc" * 20)
    oid = ex.place(acct, OrderSpec(2, True, "24", "1", False, "Gtc", None), clock.t)["resting"][
        "oid"
    ]
    bad_asset = OrderSpec(999, True, "24.5", "1", False, "Gtc", None)
    assert ex.modify(acct, oid, bad_asset, clock.t) == {"error": E.UNKNOWN_ASSET.format(asset=999)}
    trig = OrderSpec(2, True, "24.5", "1", False, None, None, {"triggerPx": "24.5"})
    assert ex.modify(acct, oid, trig, clock.t) == {"error": E.TRIGGER_UNSUPPORTED}
    assert list(acct.open) == [oid] and oid in ex.books["HYPE"].orders
    # a valid replacement still cancels the old order and rests the new one
    st = ex.modify(acct, oid, OrderSpec(2, True, "24.5", "1", False, "Gtc", None), clock.t)
    assert "resting" in st and list(acct.open) == [st["resting"]["oid"]]
    assert acct.orders[oid].status == "canceled"


def test_ws_post_info_pays_the_per_item_weight_like_http():
    from framework.hyperliquid.simulator.app import Simulator

    sim = Simulator(SimConfig(port=0))
    addr = "0x" + "dd" * 20
    sim.exchange.account(addr).fills.extend({"tid": i} for i in range(45))
    resp = sim._post_response("1.2.3.4", "info", {"type": "userFills", "user": addr})
    assert resp["type"] == "info" and len(resp["payload"]["data"]) == 45
    assert sim.limiter.used("1.2.3.4") == 20 + 45 // 20
    resp = sim._post_response("1.2.3.4", "info", {"type": "l2Book", "coin": "HYPE"})
    assert sim.limiter.used("1.2.3.4") == 22 + 2
