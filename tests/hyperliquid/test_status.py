"""``market-maker status`` against the local simulator: an account traded by an API
(agent) wallet, its position, balances, open orders and rate-limit headroom; the account
chosen from --address, MM_LIVE_ACCOUNT_ADDRESS or the key; venue flags."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from typer.testing import CliRunner

from cli import app
from framework.hyperliquid import wire
from framework.hyperliquid.dexes import AssetDirectory
from framework.hyperliquid.executor import Executor, OrderRequest
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import SimulatorThread

pytestmark = pytest.mark.simulator

MASTER_KEY = "0x" + "6d" * 32
AGENT_KEY = "0x" + "a9" * 32
MASTER = Signer.from_private_key(MASTER_KEY)
AGENT = Signer.from_private_key(AGENT_KEY)


async def _trade(base_url: str) -> dict:
    """The master approves the agent; the agent buys 1 HYPE (IOC) and rests a bid."""
    async with InfoClient(base_url) as info:
        directory = await AssetDirectory.load(info, dexes=None)

        def executor(signer: Signer) -> Executor:
            return Executor(
                signer=signer,
                nonces=NonceStore(None),
                directory=directory,
                is_mainnet=False,
                rest=info.rest,
            )

        approved = await executor(MASTER).approve_agent(AGENT.address, "mm")
        assert approved.ok, approved
        agent = executor(AGENT)
        book = await info.l2_book("HYPE")
        ask, bid = book.asks[0].px, book.bids[0].px
        take = wire.round_price(ask * 1.01, 2, False)
        res = await agent.place([OrderRequest("HYPE", True, take, "1", tif="Ioc")])
        assert res.statuses[0].status == "filled", res
        rest_px = wire.round_price(bid * 0.95, 2, True)
        cloid = wire.cloid_from_int(7)
        res = await agent.place([OrderRequest("HYPE", True, rest_px, "1", tif="Alo", cloid=cloid)])
        assert res.statuses[0].status == "resting", res
        return {"rest_px": float(rest_px), "oid": res.statuses[0].oid, "cloid": cloid}


@pytest.fixture(scope="module")
def traded():
    cfg = SimConfig(
        port=0, synthetic=True, asset="HYPE", seed=5, deposits={MASTER.address: 10_000.0}
    )
    with SimulatorThread(cfg) as handle:
        yield handle.base_url, asyncio.run(_trade(handle.base_url))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("MM_") or name.startswith("HL_"):
            monkeypatch.delenv(name)


def _status(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["status", *args], env=env)


def test_status_json_of_an_agent_traded_account(traded):
    base_url, placed = traded
    res = _status("--address", MASTER.address, "--base-url", base_url, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["account"] == MASTER.address and report["signer"] is None
    assert report["base_url"] == base_url and report["network"] == "mainnet"
    main = report["dexes"][0]
    assert main["dex"] == "" and [d["dex"] for d in report["dexes"][1:]] == ["hyena"]
    (pos,) = main["positions"]
    assert pos["coin"] == "HYPE" and pos["size"] == 1.0 and pos["entry_px"] > 0
    assert 0 < main["margin_used"] < main["account_value"] <= 10_000.0
    assert 0 < main["withdrawable"] < main["account_value"]
    (order,) = main["open_orders"]
    assert order["oid"] == placed["oid"] and order["cloid"] == placed["cloid"]
    assert order["side"] == "buy" and order["px"] == placed["rest_px"] and order["size"] == 1.0
    limit = report["rate_limit"]
    # approveAgent by the master, two orders by the agent: address actions of the account
    assert limit["requests_used"] >= 2 and limit["requests_cap"] >= 10_000
    assert limit["headroom"] == pytest.approx(1 - limit["requests_used"] / limit["requests_cap"])
    assert limit["forcing_below"] == 0.1 and limit["widen_below"] == 0.5
    # an agent's own address has no state: the venue keeps it under the account
    res = _status("--address", AGENT.address, "--base-url", base_url, "--json")
    assert json.loads(res.stdout)["dexes"][0]["positions"] == []


def test_status_text(traded):
    base_url, placed = traded
    res = _status("--address", MASTER.address, "--base-url", base_url, "--dex", "hyena")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert out.startswith(f"account  {MASTER.address}\nvenue    mainnet via {base_url}\n")
    assert "main dex: account value " in out and "withdrawable" in out
    assert "HYPE" in out and f"{placed['oid']}" in out and placed["cloid"] in out
    assert "rate limit: " in out and "headroom" in out
    assert "dex hyena: account value 10,000.00 USDC" in out  # its own clearinghouse
    assert "headroom 99.98%" in out


def test_status_account_from_the_environment_or_the_key(traded):
    base_url, _ = traded
    # the agent's key with the account configured: the account is read, the signer shown
    env = {"HL_PRIVATE_KEY": AGENT_KEY, "MM_LIVE_ACCOUNT_ADDRESS": MASTER.address}
    res = _status("--base-url", base_url, "--json", env=env)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["account"] == MASTER.address and report["signer"] is None
    # only a key: its address is the account
    res = _status("--base-url", base_url, "--json", env={"HL_PRIVATE_KEY": MASTER_KEY})
    report = json.loads(res.stdout)
    assert report["account"] == report["signer"] == MASTER.address
    assert report["dexes"][0]["positions"]
    # the venue from the environment too
    env = {"HL_PRIVATE_KEY": AGENT_KEY, "MM_LIVE_BASE_URL": base_url, "MM_LIVE_NETWORK": "testnet"}
    res = _status("--json", env=env)
    report = json.loads(res.stdout)
    assert report["network"] == "testnet" and report["base_url"] == base_url
    assert report["signer"] == AGENT.address and report["dexes"][0]["positions"] == []
    out = _status(env=env).stdout  # the agent's own address: nothing there, and a hint
    assert "the address of the key; with an API wallet pass the account's --address" in out
    assert "no request budget: the venue does not know this address" in out


def test_status_without_an_account_or_with_bad_flags_is_a_usage_error():
    res = _status("--base-url", "http://127.0.0.1:9")
    assert res.exit_code == 2
    assert "HL_PRIVATE_KEY is not set" in res.stderr
    res = _status("--address", "0x12", "--base-url", "http://127.0.0.1:9")
    assert res.exit_code == 2 and "--address '0x12': not an address" in res.stderr
    res = _status("--address", MASTER.address, "--network", "devnet")
    assert res.exit_code == 2 and "--network 'devnet': use mainnet or testnet" in res.stderr
    res = _status("--address", MASTER.address, "--base-url", "ftp://x")
    assert res.exit_code == 2 and "--base-url 'ftp://x': not an http(s) URL" in res.stderr


def test_status_of_an_unreachable_venue_fails_in_one_line():
    res = _status("--address", MASTER.address, "--base-url", "http://127.0.0.1:9")
    assert res.exit_code == 1
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error: http://127.0.0.1:9: ")
