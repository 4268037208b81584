"""approveAgent: agent-signed orders trade for the master account; nonces per signer."""

from __future__ import annotations

import eth_account
import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from tests.hyperliquid.simulator.conftest import Trader

pytestmark = pytest.mark.simulator


def test_agent_trades_for_master(sim):
    master = eth_account.Account.create()
    ex = Exchange(master, sim.base_url)
    # the master's approveAgent (user-signed, EIP-712) registers both
    result, agent_key = ex.approve_agent()
    assert result == {"status": "ok", "response": {"type": "default"}}
    agent = eth_account.Account.from_key(agent_key)
    agent_ex = Exchange(agent, sim.base_url, account_address=master.address)
    r = agent_ex.order("HYPE", True, 1.0, 25.01, {"limit": {"tif": "Ioc"}})
    assert r["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "1.0"
    info = Info(sim.base_url, skip_ws=True)
    pos = info.user_state(master.address)["assetPositions"][0]["position"]
    assert pos["szi"] == "1.0"
    assert (
        info.user_fills(master.address)[0]["oid"]
        == r["response"]["data"]["statuses"][0]["filled"]["oid"]
    )
    # an agent address has no state of its own
    assert info.user_state(agent.address)["assetPositions"] == []
    r = agent_ex.order("HYPE", True, 1.0, 24.0, {"limit": {"tif": "Gtc"}})
    oid = r["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert [o["oid"] for o in info.open_orders(master.address)] == [oid]
    assert agent_ex.cancel("HYPE", oid)["response"]["data"]["statuses"] == ["success"]


def test_named_agent_and_unnamed_agent_signature(sim):
    master = eth_account.Account.create()
    ex = Exchange(master, sim.base_url)
    result, key = ex.approve_agent("bot")
    assert result["status"] == "ok"
    t = Trader(sim, eth_account.Account.from_key(key), account=master.address)
    assert "resting" in t.order(True, "24", "1")


def test_unapproved_agent_is_unknown(sim):
    master = Trader(sim)
    master.register()
    stranger = Trader(sim)  # never approved, never named
    r = stranger.act({"type": "noop"})
    assert r == {
        "status": "err",
        "response": f"L1 error: User or API Wallet {stranger.address} does not exist.",
    }


def test_agent_nonce_reuse_rejected(sim):
    master = eth_account.Account.create()
    _, key = Exchange(master, sim.base_url).approve_agent()
    agent = Trader(sim, eth_account.Account.from_key(key), account=master.address)
    n = Trader.nonce()
    assert agent.act({"type": "noop"}, nonce=n)["status"] == "ok"
    again = agent.act({"type": "noop"}, nonce=n)
    assert again["status"] == "err" and again["response"].startswith("Invalid nonce: duplicate")
    # nonces are per signer: the master may use the same number
    m = Trader(sim, master)
    assert m.act({"type": "noop"}, nonce=n)["status"] == "ok"


def test_agent_cannot_approve_agents(sim):
    master = eth_account.Account.create()
    _, key = Exchange(master, sim.base_url).approve_agent()
    result, _ = Exchange(eth_account.Account.from_key(key), sim.base_url).approve_agent()
    assert result["status"] == "err" and "API wallet" in result["response"]


def test_mainnet_simulator_rejects_testnet_signatures(sim_factory):
    sim = sim_factory(mainnet=True)
    t = Trader(sim)
    t.register()
    assert t.act({"type": "noop"})["response"].startswith("L1 error: User or API Wallet")
    ok = t.sim.http.post("/exchange", json=t.envelope({"type": "noop"}, mainnet=True)).json()
    assert ok == {"status": "ok", "response": {"type": "default"}}


def test_auto_accounts_option_funds_any_signer(sim_factory):
    sim = sim_factory(auto_accounts=True)
    t = Trader(sim)  # never named
    assert "resting" in t.order(True, "24", "1")


def test_usd_send_and_withdraw(sim):
    a, b = eth_account.Account.create(), eth_account.Account.create()
    info = Info(sim.base_url, skip_ws=True)
    info.user_state(a.address)
    ex = Exchange(a, sim.base_url)
    assert ex.usd_transfer(250.5, b.address) == {"status": "ok", "response": {"type": "default"}}
    assert info.user_state(b.address)["marginSummary"]["accountValue"] == "100250.5"
    assert info.user_state(a.address)["marginSummary"]["accountValue"] == "99749.5"
    assert ex.withdraw_from_bridge(49.5, a.address)["status"] == "ok"
    assert info.user_state(a.address)["marginSummary"]["accountValue"] == "99700.0"
    too_much = ex.usd_transfer(1_000_000, b.address)
    assert too_much["status"] == "err" and too_much["response"].startswith("Insufficient balance")
    # an unknown (never named) sender does not exist
    stranger = Exchange(eth_account.Account.create(), sim.base_url)
    assert "does not exist" in stranger.usd_transfer(1, b.address)["response"]
