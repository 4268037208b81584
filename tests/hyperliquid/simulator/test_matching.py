"""Matching, the conservative queue model, PnL, fees and hourly funding."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from websockets.sync.client import connect

from framework.hyperliquid.simulator.market import write_demo_journal
from framework.hyperliquid.simulator.matching import CoinBook, UserOrder
from framework.journal import JournalReader
from tests.hyperliquid.simulator.conftest import Trader

pytestmark = pytest.mark.simulator


def _order(oid, side, px, sz, user="0xa"):
    return UserOrder(oid, user, "X", "", side, px, str(px), sz, False, "Gtc", None, 0)


def _book():
    b = CoinBook("X")
    b.set_snapshot([10.0, 9.9], [5.0, 5.0], [1, 1], [10.1, 10.2], [5.0, 5.0], [1, 1])
    return b


def test_queue_ahead_advances_only_on_trades_at_our_price():
    b = _book()
    o = _order(1, +1, 10.0, 3.0)
    b.rest(o)
    assert o.queue_ahead == 5.0
    assert b.on_trade(-1, 10.1, 100.0) == []  # a buy-side print elsewhere: nothing
    assert b.on_trade(+1, 10.0, 100.0) == []  # a buy aggressor never fills a bid
    assert b.on_trade(-1, 10.0, 4.0) == [] and o.queue_ahead == 1.0
    fills = b.on_trade(-1, 10.0, 2.0)  # 1 clears the queue, 1 fills us
    assert [(f[1], f[2], f[3]) for f in fills] == [(10.0, 1.0, "trade_at")]
    fills = b.on_trade(-1, 9.9, 50.0)  # through our price: the rest fills
    assert [(f[1], f[2], f[3]) for f in fills] == [(10.0, 2.0, "trade_through")]


def test_fills_never_exceed_traded_volume():
    b = _book()
    o1, o2 = _order(1, +1, 10.0, 3.0), _order(2, +1, 10.0, 3.0, user="0xb")
    b.rest(o1)
    b.rest(o2)
    assert o2.queue_ahead == 8.0  # the market's 5 plus o1's 3
    fills = b.on_trade(-1, 9.9, 4.0)
    assert sum(f[2] for f in fills) == 4.0
    assert [(f[0].oid, f[2]) for f in fills] == [(1, 3.0), (2, 1.0)]


def test_snapshot_crossing_a_resting_order_fills_it_at_its_price():
    b = _book()
    o = _order(1, -1, 10.15, 4.0)
    b.rest(o)
    fills = b.set_snapshot([10.2], [1.5], [1], [10.3], [1.0], [1])
    assert [(f[1], f[2], f[3]) for f in fills] == [(10.15, 1.5, "cross")]
    assert o.sz == 2.5


def test_taker_walks_levels_and_self_trade_cancels_own_resting():
    b = _book()
    mine = _order(1, -1, 10.1, 2.0, user="0xme")
    theirs = _order(2, -1, 10.1, 2.0, user="0xother")
    b.rest(mine)
    b.rest(theirs)
    fills, canceled = b.take(+1, 10.2, 9.0, "0xme")
    assert [(f[0].oid if f[0] else None, f[1], f[2]) for f in fills] == [
        (None, 10.1, 5.0),
        (2, 10.1, 2.0),
        (None, 10.2, 2.0),
    ]
    assert canceled == [mine]


def test_resting_order_fills_from_market_trades(sim):
    t = Trader(sim)
    t.register()
    with connect(sim.ws_url) as ws:
        ws.send(
            json.dumps(
                {"method": "subscribe", "subscription": {"type": "userFills", "user": t.address}}
            )
        )
        oid = t.order(True, "25", "5")["resting"]["oid"]  # behind 10 displayed at 25.00
        sim.step(2)  # ctx; sell 4 @ 25.00 -> queue 6
        assert sim.info({"type": "userFills", "user": t.address}) == []
        sim.step(1)  # sell 10 @ 25.00 -> 4 beyond the queue fill us
        fills = sim.info({"type": "userFills", "user": t.address})
        assert [(f["px"], f["sz"], f["crossed"]) for f in fills] == [("25.0", "4.0", False)]
        assert abs(float(fills[0]["fee"]) - 25.0 * 4 * 0.00015) < 1e-9
        st = sim.info({"type": "orderStatus", "user": t.address, "oid": oid})
        assert st["order"]["status"] == "open" and st["order"]["order"]["sz"] == "1.0"
        sim.step(1)  # sell 3 @ 24.98 trades through: the last 1 fills
        st = sim.info({"type": "orderStatus", "user": t.address, "oid": oid})
        assert st["order"]["status"] == "filled"
        assert sim.info({"type": "openOrders", "user": t.address}) == []
        bids = sim.info({"type": "l2Book", "coin": "HYPE"})["levels"][0]
        assert bids[0] == {"px": "25.0", "sz": "10.0", "n": 1}  # only the market's size
        msgs = []
        while len([m for m in msgs if m["channel"] == "userFills"]) < 3:
            msgs.append(json.loads(ws.recv(timeout=2)))
        streamed = [
            m["data"]["fills"][0]["sz"]
            for m in msgs
            if m["channel"] == "userFills" and not m["data"].get("isSnapshot")
        ]
        assert streamed == ["4.0", "1.0"]
    pos = sim.info({"type": "clearinghouseState", "user": t.address})["assetPositions"]
    assert pos[0]["position"]["szi"] == "5.0" and pos[0]["position"]["entryPx"] == "25.0"


def test_pnl_and_hourly_funding(sim):
    t = Trader(sim)
    t.register()
    t.order(True, "25.01", "10", "Ioc")  # long 10 @ 25.01, taker fee 0.112545
    sim.step(1)  # ctx: mark 25.005, funding 0.0001
    st = sim.info({"type": "clearinghouseState", "user": t.address})
    p = st["assetPositions"][0]["position"]
    assert float(p["unrealizedPnl"]) == pytest.approx(10 * (25.005 - 25.01))
    assert float(st["marginSummary"]["accountValue"]) == pytest.approx(
        100_000 - 25.01 * 10 * 0.00045 + 10 * (25.005 - 25.01)
    )
    assert float(p["marginUsed"]) == pytest.approx(10 * 25.005 / 10)
    sim.step(4)  # trades, book; no hour boundary yet
    assert sim.info({"type": "userFunding", "user": t.address}) == []
    sim.step(1)  # an hour later: longs pay 10 * 25.005 * 0.0001
    funding = sim.info({"type": "userFunding", "user": t.address})
    assert len(funding) == 1 and float(funding[0]["delta"]["usdc"]) == pytest.approx(-0.025005)
    p = sim.info({"type": "clearinghouseState", "user": t.address})["assetPositions"][0]
    assert float(p["position"]["cumFunding"]["allTime"]) == pytest.approx(0.025005, abs=1e-6)
    # close at the bid: realised PnL (25.00 - 25.01) * 10 in the fill's closedPnl
    t.order(False, "25", "10", "Ioc")
    f = sim.info({"type": "userFills", "user": t.address})[0]
    assert f["dir"] == "Close Long" and float(f["closedPnl"]) == pytest.approx(-0.1)


def test_flip_direction_and_entry(trader):
    trader.order(True, "25.01", "2", "Ioc")
    trader.order(False, "25", "5", "Ioc")
    f = trader.sim.info({"type": "userFills", "user": trader.address})[0]
    assert f["dir"] == "Long > Short" and f["startPosition"] == "2.0"
    p = trader.sim.info({"type": "clearinghouseState", "user": trader.address})
    pos = p["assetPositions"][0]["position"]
    assert pos["szi"] == "-3.0" and pos["entryPx"] == "25.0"


def test_demo_journal_is_deterministic(tmp_path):
    a = write_demo_journal(tmp_path / "a", seed=3, n_steps=50)
    b = write_demo_journal(tmp_path / "b", seed=3, n_steps=50)
    c = write_demo_journal(tmp_path / "c", seed=4, n_steps=50)
    for kind in ("book", "trades", "asset_ctx"):
        ta, tb = JournalReader(a).table(kind), JournalReader(b).table(kind)
        assert ta.equals(tb)
    assert not JournalReader(a).table("book").equals(JournalReader(c).table("book"))
    assert isinstance(JournalReader(a).table("book"), pa.Table)


def test_synthetic_market_serves_and_is_seeded(sim_factory):
    s1 = sim_factory(step=0, recording=None, synthetic=True, seed=11, speed=0)
    s2 = sim_factory(step=0, recording=None, synthetic=True, seed=11, speed=0)
    s1.step(40)
    s2.step(40)
    b1 = s1.info({"type": "l2Book", "coin": "HYPE"})
    b2 = s2.info({"type": "l2Book", "coin": "HYPE"})
    assert b1["levels"] == b2["levels"] and b1["levels"][0]
    assert (
        s1.info({"type": "allMids", "dex": "hyena"})["hyena:HYPE"]
        == s1.info({"type": "allMids"})["HYPE"]
    )


def test_users_match_each_other(sim):
    maker, taker = Trader(sim), Trader(sim)
    maker.register()
    taker.register()
    assert "resting" in maker.order(False, "25.005", "2", "Alo")  # inside the spread
    st = taker.order(True, "25.005", "3", "Ioc")
    assert st["filled"]["totalSz"] == "2.0" and st["filled"]["avgPx"] == "25.005"
    mf = sim.info({"type": "userFills", "user": maker.address})
    tf = sim.info({"type": "userFills", "user": taker.address})
    assert [(f["side"], f["sz"], f["crossed"]) for f in mf] == [("A", "2.0", False)]
    assert [(f["side"], f["sz"], f["crossed"]) for f in tf] == [("B", "2.0", True)]
    assert sim.info({"type": "openOrders", "user": maker.address}) == []
