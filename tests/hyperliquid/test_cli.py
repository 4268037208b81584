"""``market-maker list-dexs`` and ``record`` against the local simulator (loopback)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from framework.events.schema import Kind
from framework.hyperliquid.commands import base_url_for
from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import SimulatorThread
from framework.journal.reader import JournalReader

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(SimConfig(port=0, synthetic=True, asset="HYPE", seed=3)) as handle:
        yield handle


def test_base_url_defaults_to_mainnet():
    assert base_url_for(None, False) == MAINNET_API_URL
    assert base_url_for(None, True) == TESTNET_API_URL
    assert base_url_for("http://127.0.0.1:3001/", True) == "http://127.0.0.1:3001"


def test_list_dexs(sim):
    res = CliRunner().invoke(app, ["list-dexs", "--base-url", sim.base_url])
    assert res.exit_code == 0, res.output
    assert "dex 0 (main)" in res.output
    lines = [ln.split() for ln in res.output.splitlines() if ln.startswith("  ")]
    ids = {parts[1]: int(parts[0]) for parts in lines}
    assert ids["HYPE"] >= 0
    hip3 = {c: i for c, i in ids.items() if ":" in c}
    assert hip3 and all(i >= 110000 for i in hip3.values())


def test_record_writes_a_journal(sim, tmp_path):
    out = tmp_path / "rec"
    args = [
        "record",
        "--asset",
        "HYPE",
        "--duration",
        "1.0",
        "--out",
        str(out),
        "--base-url",
        sim.base_url,
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "recorded HYPE" in res.output
    reader = JournalReader(out)
    assert reader.count(Kind.BOOK) > 0
    states = [r["state"] for r in reader.table(Kind.CONNECTION).to_pylist()]
    assert states[0] == "connected" and states[-1] == "disconnected"
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already holds a journal" in again.output


def test_record_unknown_asset_fails_clearly(sim, tmp_path):
    args = [
        "record",
        "--asset",
        "NOPE",
        "--duration",
        "1",
        "--out",
        str(tmp_path / "x"),
        "--base-url",
        sim.base_url,
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2  # as paper: the flag names what is not there
    assert "--asset NOPE: coin 'NOPE' not found" in res.output


def test_record_against_a_closed_port_names_the_url_and_writes_nothing(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "x"
    args = ["record", "--asset", "HYPE", "--duration", "1", "--out", str(out), "--base-url", url]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1
    assert f"{url}/info: cannot connect" in res.output
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["record", "--asset", "HYPE", "--dex", "nosuch", "--duration", "1", "--out", "{tmp}/r"],
        ["paper", "--asset", "HYPE", "--dex", "nosuch", "--duration", "1", "--out", "{tmp}/p"],
        ["status", "--address", "0x" + "ab" * 20, "--dex", "nosuch"],
    ],
    ids=["record", "paper", "status"],
)
def test_an_unknown_dex_is_a_flag_error_naming_the_venues_dexes(sim, tmp_path, args):
    # It was the venue's raw "HTTP 422: Failed to deserialize ..." with exit 1 (and
    # paper asked whether the exchange was running).
    argv = [a.format(tmp=tmp_path) for a in args] + ["--base-url", sim.base_url]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    err = res.stderr
    assert "--dex nosuch: no such perp dex on this venue (it has hyena)" in err
    assert "422" not in err and "running there" not in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "p").exists()
