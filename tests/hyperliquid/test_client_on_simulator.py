"""Our InfoClient + WsClient + Executor against the local simulator (compatibility smoke)."""

from __future__ import annotations

import asyncio

import pytest

from framework.hyperliquid import wire
from framework.hyperliquid.dexes import AssetDirectory
from framework.hyperliquid.executor import Executor, OrderRequest
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import run_simulator
from framework.hyperliquid.ws import WsClient, WsConfig

pytestmark = pytest.mark.simulator
SIGNER = Signer.from_private_key("0x" + "42" * 32)


def test_place_modify_cancel_over_ws_and_http():
    async def main():
        cfg = SimConfig(
            port=0, synthetic=True, asset="HYPE", seed=2, deposits={SIGNER.address: 10_000.0}
        )
        async with run_simulator(cfg) as h:
            info = InfoClient(h.base_url)
            directory = await AssetDirectory.load(info, dexes=None)
            events: list[tuple] = []
            ws = WsClient(
                h.ws_url,
                on_connection=lambda *e: events.append(e),
                config=WsConfig(ping_interval_s=5),
            )
            await ws.start()
            await ws.wait_connected(5)
            ack = await ws.subscribe({"type": "l2Book", "coin": "HYPE"})
            assert ack["subscription"]["coin"] == "HYPE"
            book = await info.l2_book("HYPE")
            hype = directory.resolve("HYPE")
            px = wire.round_price(book.bids[0].px * 0.98, hype.sz_decimals, True)
            sz = wire.round_size(20 / float(px), hype.sz_decimals, down=False)
            ex = Executor(
                signer=SIGNER,
                nonces=NonceStore(None),
                directory=directory,
                is_mainnet=False,
                rest=info.rest,
                ws=ws,
            )
            c1, c2 = wire.cloid_from_int(1), wire.cloid_from_int(2)
            res = await ex.place([OrderRequest("HYPE", True, px, sz, tif="Alo", cloid=c1)])
            assert res.via == "ws" and res.statuses[0].status == "resting", res
            st = await info.order_status(SIGNER.address, c1)
            assert st.status == "order" and st.order.status == "open"
            res = await ex.batch_modify(
                [(c1, OrderRequest("HYPE", True, px, sz, tif="Alo", cloid=c2))]
            )
            assert res.statuses[0].status == "resting", res
            await ws.close()  # now HTTP only
            res = await ex.cancel_by_cloid([("HYPE", c2)])
            assert res.via == "http" and res.statuses[0].status == "success", res
            assert await info.open_orders(SIGNER.address) == []
            assert (await ex.noop()).ok
            mainnet_ex = Executor(
                signer=SIGNER,
                nonces=NonceStore(None),
                directory=directory,
                is_mainnet=True,
                rest=info.rest,
            )
            res = await mainnet_ex.noop()
            assert not res.ok and "does not exist" in res.error  # simulator verifies as testnet
            await info.aclose()
            assert [e[1] for e in events] == ["connected", "disconnected"]

    asyncio.run(main())
