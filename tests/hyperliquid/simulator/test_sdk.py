"""The official SDK against the simulator over real sockets (the SDK signs localhost as testnet)."""

from __future__ import annotations

import threading
import time

import eth_account
import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

pytestmark = pytest.mark.simulator


def _wait(pred, timeout=5.0, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return False


def test_sdk_reads_meta_and_dexes(sim):
    info = Info(sim.base_url, skip_ws=True)
    meta = info.meta()
    assert [u["name"] for u in meta["universe"]] == ["BTC", "ETH", "HYPE"]
    assert meta["universe"][2] == {
        "name": "HYPE",
        "szDecimals": 2,
        "maxLeverage": 10,
        "marginTableId": 10,
    }
    dexes = info.perp_dexs()
    assert dexes[0] is None and dexes[1]["name"] == "hyena"
    hmeta = info.meta(dex="hyena")
    assert hmeta["universe"][0]["name"] == "hyena:HYPE" and hmeta["collateralToken"] == 0
    both = Info(sim.base_url, skip_ws=True, perp_dexs=["", "hyena"])
    assert both.coin_to_asset["hyena:HYPE"] == 110000
    assert both.coin_to_asset["HYPE"] == 2
    m, ctxs = info.meta_and_asset_ctxs()
    assert len(ctxs) == len(m["universe"])
    assert ctxs[2]["midPx"] == "25.005" and ctxs[0]["midPx"] is None
    book = info.l2_snapshot("HYPE")
    assert book["levels"][0][0] == {"px": "25.0", "sz": "10.0", "n": 1}
    assert book["levels"][1][0] == {"px": "25.01", "sz": "10.0", "n": 1}
    assert info.all_mids()["HYPE"] == "25.005"
    assert info.all_mids("hyena")["hyena:HYPE"] == "25.005"


def test_sdk_order_modify_cancel_fill(sim):
    wallet = eth_account.Account.create()
    info = Info(sim.base_url, skip_ws=True)
    assert info.user_state(wallet.address)["marginSummary"]["accountValue"] == "100000.0"
    ex = Exchange(wallet, sim.base_url)

    cloid = Cloid.from_int(7)
    r = ex.order("HYPE", True, 2.0, 24.5, {"limit": {"tif": "Gtc"}}, cloid=cloid)
    assert r["status"] == "ok" and r["response"]["type"] == "order"
    resting = r["response"]["data"]["statuses"][0]["resting"]
    assert resting["cloid"] == cloid.to_raw()
    oid = resting["oid"]
    oo = info.frontend_open_orders(wallet.address)
    assert oo[0]["oid"] == oid and oo[0]["tif"] == "Gtc" and oo[0]["cloid"] == cloid.to_raw()
    assert info.query_order_by_cloid(wallet.address, cloid)["order"]["status"] == "open"

    r = ex.modify_order(oid, "HYPE", True, 3.0, 24.6, {"limit": {"tif": "Gtc"}})
    assert r["status"] == "ok" and r["response"]["type"] == "order"
    new_oid = r["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert new_oid != oid
    oo = info.open_orders(wallet.address)
    assert [(o["oid"], o["limitPx"], o["sz"]) for o in oo] == [(new_oid, "24.6", "3.0")]
    assert info.query_order_by_oid(wallet.address, oid)["order"]["status"] == "canceled"

    r = ex.cancel("HYPE", new_oid)
    assert r == {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}}
    assert info.open_orders(wallet.address) == []
    r = ex.cancel("HYPE", new_oid)
    assert r["response"]["data"]["statuses"][0]["error"].startswith("Order was never placed")

    # taker buy walks two levels: 10 @ 25.01 + 5 @ 25.02
    r = ex.order("HYPE", True, 15.0, 25.02, {"limit": {"tif": "Ioc"}})
    filled = r["response"]["data"]["statuses"][0]["filled"]
    assert filled["totalSz"] == "15.0"
    assert abs(float(filled["avgPx"]) - (10 * 25.01 + 5 * 25.02) / 15) < 1e-4
    fills = info.user_fills(wallet.address)
    assert [(f["px"], f["sz"], f["crossed"], f["dir"]) for f in fills] == [
        ("25.02", "5.0", True, "Open Long"),
        ("25.01", "10.0", True, "Open Long"),
    ]
    assert abs(float(fills[1]["fee"]) - 25.01 * 10 * 0.00045) < 1e-6
    st = info.user_state(wallet.address)
    pos = st["assetPositions"][0]["position"]
    assert pos["coin"] == "HYPE" and pos["szi"] == "15.0"
    assert pos["leverage"] == {"type": "cross", "value": 10}

    r = ex.market_close("HYPE")  # SDK Ioc at mid -5%: sells into the bids
    assert r["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "15.0"
    assert info.user_state(wallet.address)["assetPositions"] == []
    closes = info.user_fills(wallet.address)[:2]
    assert {f["dir"] for f in closes} == {"Close Long"}

    r = ex.update_leverage(5, "HYPE")
    assert r == {"status": "ok", "response": {"type": "default"}}
    r = ex.update_leverage(50, "HYPE")
    assert r["status"] == "err"


def test_sdk_hip3_order(sim):
    wallet = eth_account.Account.create()
    info = Info(sim.base_url, skip_ws=True)
    info.user_state(wallet.address, dex="hyena")
    ex = Exchange(wallet, sim.base_url, perp_dexs=["", "hyena"])
    r = ex.order("hyena:HYPE", False, 1.0, 25.0, {"limit": {"tif": "Ioc"}})
    assert r["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "1.0"
    st = info.user_state(wallet.address, dex="hyena")
    pos = st["assetPositions"][0]["position"]
    assert pos["coin"] == "hyena:HYPE" and pos["szi"] == "-1.0"
    assert pos["leverage"]["type"] == "isolated"
    assert info.user_state(wallet.address)["assetPositions"] == []  # main dex untouched
    r = ex.update_leverage(3, "hyena:HYPE", is_cross=True)
    assert r["status"] == "err"


def test_sdk_websocket_manager_gets_book_and_fills(sim_factory, scripted_journal):
    sim = sim_factory(step=0, speed=0)
    wallet = eth_account.Account.create()
    info = Info(sim.base_url, skip_ws=False)
    books, fills = [], []
    got_fill = threading.Event()

    def on_fills(msg):
        fills.append(msg)
        if msg["data"]["fills"]:
            got_fill.set()

    try:
        info.subscribe({"type": "l2Book", "coin": "HYPE"}, books.append)
        info.subscribe({"type": "userFills", "user": wallet.address}, on_fills)
        assert _wait(lambda: fills)  # the isSnapshot message arrives first
        assert fills[0]["data"]["isSnapshot"] is True and fills[0]["data"]["fills"] == []
        sim.step(1)  # the book event
        assert _wait(lambda: books)
        assert books[0]["channel"] == "l2Book"
        assert books[0]["data"]["levels"][1][0]["px"] == "25.01"
        ex = Exchange(wallet, sim.base_url)
        r = ex.order("HYPE", False, 1.0, 25.0, {"limit": {"tif": "Ioc"}})
        assert "filled" in r["response"]["data"]["statuses"][0]
        assert got_fill.wait(5)
        f = fills[-1]["data"]["fills"][0]
        assert f["side"] == "A" and f["px"] == "25.0" and f["sz"] == "1.0" and f["crossed"]
        assert not fills[-1]["data"].get("isSnapshot")
    finally:
        info.disconnect_websocket()


def test_sdk_schedule_cancel(sim):
    wallet = eth_account.Account.create()
    info = Info(sim.base_url, skip_ws=True)
    info.user_state(wallet.address)
    ex = Exchange(wallet, sim.base_url)
    assert ex.schedule_cancel(int(time.time() * 1000) + 1000)["status"] == "err"
    r = ex.order("HYPE", True, 1.0, 24.0, {"limit": {"tif": "Gtc"}})
    oid = r["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert ex.schedule_cancel(int(time.time() * 1000) + 5200)["status"] == "ok"
    assert info.open_orders(wallet.address)
    # open orders (weight 20) polled slowly: the IP budget is 1200 per minute
    assert _wait(lambda: not info.open_orders(wallet.address), timeout=8, interval=0.5)
    status = info.query_order_by_oid(wallet.address, oid)
    assert status["order"]["status"] == "scheduledCancel"
