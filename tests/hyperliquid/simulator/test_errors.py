"""Every documented perp order error, signature/nonce rejections, 422, limits."""

from __future__ import annotations

import re
import time

import eth_account
import pytest
from hyperliquid.exchange import Exchange

from framework.hyperliquid.simulator import errors as E
from tests.hyperliquid.simulator.conftest import Trader

pytestmark = pytest.mark.simulator


def test_tick_error(trader):
    assert trader.order(True, "25.0001", "1") == {"error": E.TICK}  # 6 significant figures
    assert trader.order(True, "24.99999", "1") == {"error": E.TICK}


def test_lot_error(trader):
    assert trader.order(True, "24.9", "1.001") == {"error": E.INVALID_SIZE}  # szDecimals 2


def test_min_notional_error(trader):
    assert trader.order(True, "24.9", "0.4") == {"error": "Order must have minimum value of $10."}


def test_reduce_only_error(trader):
    st = trader.order(False, "25.5", "1", reduce_only=True)
    assert st == {"error": "Reduce only order would increase position."}
    # long 1: a reduce-only buy would increase it; a reduce-only sell is fine and is clipped
    assert "filled" in trader.order(True, "25.01", "1", "Ioc")
    assert trader.order(True, "24.5", "1", reduce_only=True) == {"error": E.REDUCE_ONLY}
    st = trader.order(False, "26", "5", reduce_only=True)
    assert "resting" in st
    oo = trader.sim.info({"type": "openOrders", "user": trader.address})
    assert oo[0]["sz"] == "1.0"


def test_bad_alo_px_error(trader):
    st = trader.order(True, "25.01", "1", "Alo")
    assert st == {"error": "Post only order would have immediately matched, bbo was 25@25.01"}
    st = trader.order(False, "25", "1", "Alo")
    assert st["error"].startswith("Post only order would have immediately matched, bbo was ")
    assert "resting" in trader.order(True, "25", "1", "Alo")  # joins the bid: no cross


def test_ioc_cancel_error(trader):
    st = trader.order(True, "24.5", "1", "Ioc")
    assert st == {"error": "Order could not immediately match against any resting orders."}
    status = trader.sim.info({"type": "orderStatus", "user": trader.address, "oid": 1000001})
    assert status["order"]["status"] == "iocCancelRejected"


def test_a_place_reusing_a_cloid_is_refused(trader):
    """A retried place carries the same cloid: the venue must not rest it twice (our
    chosen text: the protocol reference does not give one)."""
    cloid = "0x" + "cd" * 16
    assert "resting" in trader.order(True, "24.5", "1", cloid=cloid)
    assert trader.order(True, "24.5", "1", cloid=cloid) == {
        "error": E.DUPLICATE_CLOID.format(cloid=cloid)
    }
    oo = trader.sim.info({"type": "openOrders", "user": trader.address})
    assert [o["cloid"] for o in oo] == [cloid]


def test_margin_error(sim_factory):
    wallet = eth_account.Account.create()
    sim = sim_factory(deposits={wallet.address.lower(): 20.0})
    t = Trader(sim, wallet)
    # 10 HYPE at 24.9 = $249 at 10x needs $24.9 of margin; the account has $20
    assert t.order(True, "24.9", "10") == {"error": "Insufficient margin to place order."}
    assert "resting" in t.order(True, "24.9", "0.5")  # $1.25 of margin fits


def test_cancel_missing_order(trader):
    resp = trader.act({"type": "cancel", "cancels": [{"a": 2, "o": 424242}]})
    assert resp == {
        "status": "ok",
        "response": {
            "type": "cancel",
            "data": {
                "statuses": [{"error": "Order was never placed, already canceled, or filled."}]
            },
        },
    }
    resp = trader.act(
        {"type": "cancelByCloid", "cancels": [{"asset": 2, "cloid": "0x" + "ab" * 16}]}
    )
    assert resp["response"]["data"]["statuses"] == [{"error": E.CANCEL_MISSING}]


def test_unknown_asset(trader):
    assert trader.order(True, "25", "1", asset=7) == {"error": E.UNKNOWN_ASSET.format(asset=7)}


def test_tampered_signature_is_unknown_wallet(trader):
    action = {
        "type": "order",
        "orders": [
            {"a": 2, "b": True, "p": "24.9", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}
        ],
        "grouping": "na",
    }
    env = trader.envelope(action)
    env["action"]["orders"][0]["p"] = "24.8"  # tampered after signing
    body = trader.sim.http.post("/exchange", json=env).json()
    assert body["status"] == "err"
    assert re.fullmatch(
        r"L1 error: User or API Wallet 0x[0-9a-f]{40} does not exist\.", body["response"]
    )
    assert trader.address not in body["response"]
    # signed as mainnet against a testnet simulator: same symptom
    body = trader.post(action, mainnet=True).json()
    assert body["response"].startswith("L1 error: User or API Wallet 0x")
    # key order inside the action is part of the hash: reorder -> different signer
    env = trader.envelope(action)
    env["action"] = {"orders": action["orders"], "type": "order", "grouping": "na"}
    assert "does not exist" in trader.sim.http.post("/exchange", json=env).json()["response"]


def test_unrecoverable_signature(trader):
    env = trader.envelope({"type": "noop"})
    env["signature"] = {"r": "0x0", "s": "0x0", "v": 27}
    assert trader.sim.http.post("/exchange", json=env).json() == {
        "status": "err",
        "response": "Unable to recover signer.",
    }


def test_undeserialisable_action_is_422(trader):
    env = trader.envelope({"type": "noop"})
    env["action"] = {"orders": []}  # no type
    r = trader.sim.http.post("/exchange", json=env)
    assert r.status_code == 422
    assert r.text.startswith("Failed to deserialize the JSON body into the target type")
    bad = {
        "type": "order",
        "orders": [
            {"a": "2", "b": True, "p": "25", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}
        ],
        "grouping": "na",
    }
    assert trader.post(bad).status_code == 422
    for px in ("NaN", "inf", "1e999"):  # not decimal strings: 422, not a server error
        order = dict(bad["orders"][0], a=2, p=px)
        r = trader.post(dict(bad, orders=[order]))
        assert r.status_code == 422 and "is not a decimal string" in r.text
    assert trader.sim.http.post("/exchange", content=b"{not json").status_code == 422
    assert trader.sim.http.post("/info", json={"type": "nope"}).status_code == 422


def test_nonce_rules(trader):
    n = Trader.nonce()
    assert trader.act({"type": "noop"}, nonce=n) == {
        "status": "ok",
        "response": {"type": "default"},
    }
    again = trader.act({"type": "noop"}, nonce=n)
    assert again["status"] == "err" and again["response"].startswith("Invalid nonce")
    old = trader.act({"type": "noop"}, nonce=int(time.time() * 1000) - 3 * 86_400_000)
    assert old["status"] == "err" and "outside the allowed window" in old["response"]
    future = trader.act({"type": "noop"}, nonce=int(time.time() * 1000) + 2 * 86_400_000)
    assert future["status"] == "err"


def test_nonce_must_exceed_smallest_of_100_highest(trader):
    base = Trader.nonce()
    for i in range(100):
        assert trader.act({"type": "noop"}, nonce=base + 10 + i)["status"] == "ok"
    low = trader.act({"type": "noop"}, nonce=base + 5)  # unused but below the smallest kept
    assert low["status"] == "err" and "not greater than the smallest" in low["response"]
    assert trader.act({"type": "noop"}, nonce=base + 200)["status"] == "ok"


def test_address_budget(sim_factory):
    sim = sim_factory(initial_budget=3)
    t = Trader(sim)
    t.register()
    for _ in range(3):
        assert t.act({"type": "noop"})["status"] == "ok"
    # exhausted: one request per 10 s still passes, the next is refused
    assert t.act({"type": "noop"})["status"] == "ok"
    refused = t.act({"type": "noop"})
    assert refused["status"] == "err"
    assert (
        refused["response"]
        == "Too many cumulative requests sent (4 > 3) for cumulative volume traded $0.0."
    )
    # cancels have the higher cap min(cap + 100000, 2 * cap) = 6
    cancel = {"type": "cancel", "cancels": [{"a": 2, "o": 1}]}
    assert t.act(cancel)["status"] == "ok"
    assert t.act(cancel)["status"] == "ok"
    assert t.act(cancel)["status"] == "err"
    rl = sim.info({"type": "userRateLimit", "user": t.address})
    assert rl["nRequestsUsed"] == 6 and rl["nRequestsCap"] == 3 and rl["cumVlm"] == "0.0"


def test_budget_grows_with_volume(trader):
    assert "filled" in trader.order(True, "25.05", "40", "Ioc")  # ~ $1000 traded
    rl = trader.sim.info({"type": "userRateLimit", "user": trader.address})
    vlm = float(rl["cumVlm"])
    assert 1000 < vlm < 1002
    assert rl["nRequestsCap"] == 10_000 + int(vlm)
    assert rl["nRequestsUsed"] == 1


def test_open_order_cap(sim_factory):
    sim = sim_factory(open_order_cap=2)
    t = Trader(sim)
    t.register()
    assert "resting" in t.order(True, "24", "1")
    assert "resting" in t.order(True, "24.1", "1")
    assert t.order(True, "24.2", "1") == {"error": E.OPEN_ORDER_CAP.format(n=2, cap=2)}


def test_ip_weight_429(sim_factory):
    sim = sim_factory(step=0, ip_weight_per_min=45)
    assert sim.http.post("/info", json={"type": "meta"}).status_code == 200  # 20
    assert sim.http.post("/info", json={"type": "meta"}).status_code == 200  # 40
    assert sim.http.post("/info", json={"type": "l2Book", "coin": "HYPE"}).status_code == 200
    r = sim.http.post("/info", json={"type": "meta"})
    assert r.status_code == 429


def test_expires_after(trader):
    now = int(time.time() * 1000)
    env = trader.envelope({"type": "noop"}, expires_after=now + 60_000)
    assert trader.sim.http.post("/exchange", json=env).json()["status"] == "ok"
    env = trader.envelope({"type": "noop"}, expires_after=now - 1)
    body = trader.sim.http.post("/exchange", json=env).json()
    assert body["status"] == "err" and body["response"].startswith("Action expired")
    rl = trader.sim.info({"type": "userRateLimit", "user": trader.address})
    assert rl["nRequestsUsed"] == 1 + 5  # a stale action costs 5x


def test_vault_trading_refused(trader):
    env = trader.envelope({"type": "noop"}, vault="0x" + "12" * 20)
    body = trader.sim.http.post("/exchange", json=env).json()
    assert body == {"status": "err", "response": E.VAULT_UNSUPPORTED}


def test_resting_orders_reserve_margin(sim_factory):
    wallet = eth_account.Account.create()
    sim = sim_factory(deposits={wallet.address.lower(): 30.0})
    t = Trader(sim, wallet)
    assert "resting" in t.order(True, "24.9", "5")  # $12.45 of margin at 10x
    assert "resting" in t.order(True, "24.8", "5")  # $12.40 more
    assert t.order(True, "24.7", "5") == {"error": E.PERP_MARGIN}
    # an ask on the other side only needs max(buys, sells): still fits
    assert "resting" in t.order(False, "26", "5")


def _trigger(trader, px: str, trigger_px) -> dict:
    o = {
        "a": 2,
        "b": False,
        "p": px,
        "s": "1",
        "r": True,
        "t": {"trigger": {"isMarket": True, "triggerPx": trigger_px, "tpsl": "sl"}},
    }
    resp = trader.act({"type": "order", "orders": [o], "grouping": "na"})
    return resp["response"]["data"]["statuses"][0]


def test_bad_trigger_px_error(trader):
    assert _trigger(trader, "24", "0") == {"error": "Invalid TP/SL price."}
    assert _trigger(trader, "24", "24.00001") == {"error": E.BAD_TRIGGER_PX}  # off the grid
    assert _trigger(trader, "24", "-3") == {"error": E.BAD_TRIGGER_PX}
    # a valid trigger price gets past the check (triggers are not simulated)
    assert _trigger(trader, "24", "24.5") == {"error": E.TRIGGER_UNSUPPORTED}


def test_market_order_no_liquidity_error(trader):
    # a market order (FrontendMarket) that cannot fill at its limit: no liquidity for it
    st = trader.order(True, "24.5", "1", "FrontendMarket")
    assert st == {"error": "No liquidity available for market order."}
    oid = 1000001
    status = trader.sim.info({"type": "orderStatus", "user": trader.address, "oid": oid})
    assert status["order"]["status"] == "marketOrderNoLiquidityRejected"
    assert "filled" in trader.order(True, "25.01", "1", "FrontendMarket")  # liquidity: fills
    assert trader.order(True, "24.5", "1", "Ioc") == {"error": E.IOC_CANCEL}  # Ioc unchanged


def test_price_too_far_from_oracle_error(trader):
    trader.sim.step(1)  # the asset ctx: oracle 25.005
    assert trader.order(True, "4", "3") == {"error": "Order price too far from oracle"}
    assert trader.order(False, "46", "1") == {"error": E.ORACLE}
    assert "resting" in trader.order(True, "6", "2")  # 76% below: inside the 80% band
    status = trader.sim.info({"type": "orderStatus", "user": trader.address, "oid": 1000001})
    assert status["order"]["status"] == "oracleRejected"


def test_must_deposit_error(sim_factory):
    poor, rich = eth_account.Account.create(), eth_account.Account.create()
    sim = sim_factory(deposits={poor.address.lower(): 0.0, rich.address.lower(): 100.0})
    p = Trader(sim, poor)
    body = p.act({"type": "noop"})
    assert body == {
        "status": "err",
        "response": f"Must deposit before performing actions. User: {p.address}",
    }
    # funds received by usdSend make it an account that may act
    Exchange(rich, sim.base_url).usd_transfer(20.0, poor.address)
    assert p.act({"type": "noop"})["status"] == "ok"


def test_every_documented_string_is_produced_by_a_test():
    """The documented (non-CHOSEN) strings of the table, each asserted in this file or by
    the SDK / WS tests named here.  The reference's OI-cap, spot and margin-tier strings are
    not modelled by the simulator (it has no OI caps, no spot, one margin tier)."""
    import inspect
    import sys

    documented = {
        n for n, v in vars(E).items() if n.isupper() and isinstance(v, str) and n not in E.CHOSEN
    }
    src = inspect.getsource(sys.modules[__name__])
    elsewhere = {"WS_ALREADY_SUBSCRIBED": "tests/hyperliquid/simulator/test_ws.py"}
    for name in sorted(documented):
        text = getattr(E, name)
        head = text.split("{")[0]
        assert f"E.{name}" in src or head in src or name in elsewhere, (
            f"{name} ({text!r}) is not produced by any test"
        )
