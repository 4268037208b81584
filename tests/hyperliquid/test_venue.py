"""The venue (--network, --base-url, MM_LIVE_*, [live]) and `--list-dexs` as the seed
writes it (a global option printing what `list-dexs` prints)."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from cli import app
from framework.config import ConfigError
from framework.exits import UsageError
from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import SimulatorThread
from framework.hyperliquid.venue import Venue, resolve_venue


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("MM_"):
            monkeypatch.delenv(name)


def test_venue_precedence_flags_environment_file_default(tmp_path):
    assert resolve_venue(environ={}) == Venue("mainnet", MAINNET_API_URL)
    assert resolve_venue("testnet", environ={}) == Venue("testnet", TESTNET_API_URL)
    cfg = tmp_path / "mm.toml"
    cfg.write_text('[live]\nnetwork = "testnet"\nbase_url = "http://10.0.0.1:3001/"\n')
    assert resolve_venue(config=cfg, environ={}) == Venue("testnet", "http://10.0.0.1:3001")
    env = {"MM_LIVE_BASE_URL": "http://127.0.0.1:3001", "MM_LIVE_NETWORK": "mainnet"}
    v = resolve_venue(config=cfg, environ=env)
    assert v == Venue("mainnet", "http://127.0.0.1:3001")
    assert v.is_mainnet and v.ws_url == "ws://127.0.0.1:3001/ws"
    v = resolve_venue("testnet", "https://proxy.example:8443", cfg, env)
    assert v == Venue("testnet", "https://proxy.example:8443") and not v.is_mainnet
    assert v.ws_url == "wss://proxy.example:8443/ws"


def test_signing_network_never_comes_from_the_url():
    local = Venue("mainnet", "http://127.0.0.1:3001")
    assert local.is_mainnet  # the URL does not turn it into testnet, as the SDK would
    assert "--network testnet" in (local.signing_note() or "")
    assert Venue("testnet", "http://127.0.0.1:3001").signing_note() is None
    assert Venue("mainnet", MAINNET_API_URL).signing_note() is None


def test_bad_venue_values_name_their_flag_or_variable():
    with pytest.raises(UsageError, match="--network 'main': use mainnet or testnet"):
        resolve_venue("main", environ={})
    with pytest.raises(UsageError, match="--base-url 'ws://x': not an http"):
        resolve_venue(None, "ws://x", environ={})
    with pytest.raises(ConfigError, match="environment variable MM_LIVE_NETWORK=devnet: "):
        resolve_venue(environ={"MM_LIVE_NETWORK": "devnet"})


@pytest.fixture(scope="module")
def sim_url():
    with SimulatorThread(SimConfig(port=0, synthetic=True, asset="HYPE", seed=3)) as handle:
        yield handle.base_url


@pytest.mark.simulator
def test_global_list_dexs_prints_what_list_dexs_prints(sim_url):
    plain = CliRunner().invoke(app, ["list-dexs", "--base-url", sim_url])
    assert plain.exit_code == 0, plain.output
    assert "dex 1 hyena (" in plain.stdout and "isolated-only" in plain.stdout
    assert "oiCap=" in plain.stdout and "constraints: an order is at least $10" in plain.stdout
    glob = CliRunner().invoke(app, ["--list-dexs", "--base-url", sim_url])
    assert glob.exit_code == 0, glob.output
    assert glob.stdout == plain.stdout
    env = CliRunner().invoke(app, ["--list-dexs"], env={"MM_LIVE_BASE_URL": sim_url})
    assert env.exit_code == 0 and env.stdout == plain.stdout
    # the older --testnet flag still works (and a URL still wins over the network's)
    old = CliRunner().invoke(app, ["list-dexs", "--testnet", "--base-url", sim_url])
    assert old.exit_code == 0 and old.stdout == plain.stdout


def test_venue_flags_before_a_command_are_refused():
    res = CliRunner().invoke(app, ["--network", "testnet", "status"])
    assert res.exit_code == 2
    assert "only go with --list-dexs; put them after the command" in res.stderr
    res = CliRunner().invoke(app, ["--debug"])
    assert res.exit_code == 2 and "Missing command" in res.stderr
