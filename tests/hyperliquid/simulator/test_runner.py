"""``run_simulator``: the simulator served in the caller's event loop."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from framework.hyperliquid.simulator import SimConfig, run_simulator

pytestmark = pytest.mark.simulator


def test_run_simulator_in_process(scripted_journal):
    async def main():
        cfg = SimConfig(port=0, recording=scripted_journal, speed=0, loop=False)
        async with run_simulator(cfg) as sim:
            assert sim.base_url.startswith("http://127.0.0.1:") and sim.port > 0
            async with httpx.AsyncClient(base_url=sim.base_url) as http:
                assert (await http.post("/admin/step", json={"n": 1})).json()["applied"] == 1
                mids = (await http.post("/info", json={"type": "allMids"})).json()
                assert mids == {"HYPE": "25.005"}
            async with websockets.connect(sim.ws_url) as ws:
                await ws.send(json.dumps({"method": "ping"}))
                assert json.loads(await ws.recv()) == {"channel": "pong"}
            assert sim.sim.driver.applied == 1
        # the port is released on exit
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as http:
                await http.post(sim.base_url + "/info", json={"type": "meta"})

    asyncio.run(main())
