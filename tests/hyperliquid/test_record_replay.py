"""``market-maker record`` against the running simulator, then ``replay DIR --verify``."""

from __future__ import annotations

import threading

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from framework.events.schema import Kind
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import SimulatorThread
from framework.journal.reader import JournalReader

pytestmark = pytest.mark.simulator


def test_record_from_the_simulator_replays_verified(tmp_path):
    out = tmp_path / "rec"
    cfg = SimConfig(port=0, synthetic=True, asset="HYPE", seed=5, speed=30.0)
    with SimulatorThread(cfg) as sim:
        # a mid-recording drop of every socket: the journal must hold the reconnect too
        drop = threading.Timer(
            0.8, lambda: httpx.post(sim.base_url + "/admin/fault", json={"kind": "drop"})
        )
        drop.start()
        args = ["record", "--asset", "HYPE", "--duration", "2.5", "--out", str(out)]
        res = CliRunner().invoke(app, [*args, "--base-url", sim.base_url])
        drop.join()
    assert res.exit_code == 0, res.output
    reader = JournalReader(out)
    for kind in (Kind.BOOK, Kind.TRADES, Kind.ASSET_CTX):
        assert reader.count(kind) > 0, kind
    conn = reader.table(Kind.CONNECTION).to_pylist()
    ws_states = [r["state"] for r in conn if r["link"] == "ws"]
    assert ws_states.count("disconnected") >= 2, ws_states  # the drop, then the final close
    assert ws_states.count("connected") >= 2, ws_states

    res = CliRunner().invoke(app, ["replay", str(out), "--verify"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("verified: ")
    n_events = int(res.output.split()[1])
    assert n_events >= reader.count(Kind.BOOK)


def test_replay_verify_refuses_a_directory_without_a_journal(tmp_path):
    res = CliRunner().invoke(app, ["replay", str(tmp_path), "--verify"])
    assert res.exit_code != 0
