"""Executor: signing + posting (WS with HTTP fallback), response mapping, engine commands."""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest

from framework.events.classes import OrderCommand
from framework.hyperliquid import wire
from framework.hyperliquid.dexes import AssetDirectory
from framework.hyperliquid.errors import ProtocolError, RequestTimeoutError
from framework.hyperliquid.executor import (
    MISSING_STATUS_TEXT,
    Executor,
    OrderRequest,
    parse_exchange_response,
)
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.rest import RestClient, RetryPolicy, WeightBudget
from framework.hyperliquid.signing import recover_l1_signer, recover_user_signed_signer
from framework.hyperliquid.types import Meta, PerpDex, structure

KEY = "0x" + "8f" * 32
BAD_ALO = "Post only order would have immediately matched, bbo was 1891.3@1891.4"
SIGNER = Signer.from_private_key(KEY)
DIRECTORY = AssetDirectory.from_metas(
    [None, PerpDex(name="xyz", index=1)],
    {
        "": structure(
            {
                "universe": [
                    {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
                    {"name": "HYPE", "szDecimals": 2, "maxLeverage": 10},
                ]
            },
            Meta,
        ),
        "xyz": structure(
            {"universe": [{"name": "xyz:TSLA", "szDecimals": 3, "maxLeverage": 10}]}, Meta
        ),
    },
)


class Venue:
    """/exchange stand-in: verifies the signature, answers from a script."""

    def __init__(self, answers: list, is_mainnet: bool = False) -> None:
        self.answers = list(answers)
        self.bodies: list[dict] = []
        self.is_mainnet = is_mainnet

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/exchange"
        body = json.loads(request.content)
        self.bodies.append(body)
        a = body["action"]
        if a["type"] == "approveAgent":
            who = recover_user_signed_signer(a, body["signature"], self.is_mainnet)
        else:
            who = recover_l1_signer(
                a,
                body["nonce"],
                body["vaultAddress"],
                body["expiresAfter"],
                body["signature"],
                self.is_mainnet,
            )
        if who != SIGNER.address:
            return httpx.Response(
                200,
                json={
                    "status": "err",
                    "response": f"L1 error: User or API Wallet {who} does not exist.",
                },
            )
        ans = self.answers.pop(0)
        if isinstance(ans, int):
            return httpx.Response(ans, text="busy")
        return httpx.Response(200, json=ans)


def make(venue: Venue, *, ws=None, is_mainnet=False, clock_ms=None, **kw) -> Executor:
    async def nosleep(_s):
        return None

    rest = RestClient(
        "http://venue.test",
        transport=httpx.MockTransport(venue),
        retry=RetryPolicy(max_attempts=3),
        rng=random.Random(0),
        sleep=nosleep,
        budget=WeightBudget(sleep=nosleep),
    )
    t = [1_700_000_000_000]

    def clock():
        return t[0]

    return Executor(
        signer=SIGNER,
        nonces=NonceStore(None, clock_ms or clock),
        directory=DIRECTORY,
        is_mainnet=is_mainnet,
        rest=rest,
        ws=ws,
        **kw,
    )


def ok(kind: str, statuses: list) -> dict:
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


def test_place_signs_and_maps_statuses():
    async def main():
        venue = Venue(
            [
                ok(
                    "order",
                    [
                        {"resting": {"oid": 77}},
                        {"filled": {"totalSz": "0.02", "avgPx": "1891.4", "oid": 78}},
                        {"error": BAD_ALO},
                        "waitingForTrigger",
                    ],
                )
            ]
        )
        ex = make(venue, expires_after_ms=30_000, vault_address="0x" + "AA" * 20)
        res = await ex.place(
            [
                OrderRequest(
                    "BTC", True, "69000", "0.001", tif="Alo", cloid=wire.cloid_from_int(1)
                ),
                OrderRequest("HYPE", False, 38.123, 1.5, tif="Ioc"),
                OrderRequest("xyz:TSLA", True, "250.5", "0.1", tif="Gtc"),
                OrderRequest(
                    "BTC", False, "60000", "0.001", reduce_only=True, trigger=("60000", True, "sl")
                ),
            ]
        )
        assert res.ok and res.response_type == "order" and res.via == "http"
        assert [s.status for s in res.statuses] == [
            "resting",
            "filled",
            "error",
            "waitingForTrigger",
        ]
        assert res.statuses[1].filled_sz == 0.02 and res.statuses[1].avg_px == 1891.4
        assert "bbo was" in res.statuses[2].error
        body = venue.bodies[0]
        assert [o["a"] for o in body["action"]["orders"]] == [0, 1, 110000, 0]
        assert body["action"]["orders"][1]["p"] == "38.123"
        assert body["expiresAfter"] == body["nonce"] + 30_000
        assert body["vaultAddress"] == "0x" + "aa" * 20

    asyncio.run(main())


def test_wrong_network_is_rejected_by_the_venue():
    async def main():
        venue = Venue([], is_mainnet=True)
        ex = make(venue, is_mainnet=False)
        res = await ex.noop()
        assert not res.ok and "does not exist" in res.error
        assert res.statuses[0].status == "error"

    asyncio.run(main())


def test_short_statuses_and_top_level_errors():
    r = parse_exchange_response(
        ok("order", [{"error": "Order must have minimum value of $10."}]), 3
    )
    assert [s.error for s in r.statuses] == ["Order must have minimum value of $10."] * 3
    r = parse_exchange_response(ok("cancel", ["success"]), 2)
    assert r.statuses[0].status == "success" and r.statuses[1].error == MISSING_STATUS_TEXT
    r = parse_exchange_response({"status": "err", "response": "Invalid nonce"}, 2)
    assert not r.ok and r.error == "Invalid nonce" and len(r.statuses) == 2
    r = parse_exchange_response({"status": "ok", "response": {"type": "default"}}, 1)
    assert r.ok and r.statuses[0].status == "success"
    with pytest.raises(ProtocolError):
        parse_exchange_response("nope", 1)


def test_local_validation_errors():
    ex = make(Venue([]))
    with pytest.raises(Exception, match="off the BTC grid"):
        ex.order_wire(OrderRequest("BTC", True, "69000.5", "0.001"))
    with pytest.raises(Exception, match="multiple of 10"):
        ex.order_wire(OrderRequest("BTC", True, "69000", "0.0000001"))
    with pytest.raises(Exception, match="minimum"):
        ex.order_wire(OrderRequest("BTC", True, "69000", "0.0001"))
    ex.order_wire(OrderRequest("BTC", True, "69000", "0.0001", reduce_only=True))  # allowed
    with pytest.raises(Exception, match="not found"):
        ex.order_wire(OrderRequest("DOGE", True, "1", "100"))


def test_other_actions_build_the_right_wire():
    async def main():
        default = {"status": "ok", "response": {"type": "default"}}
        venue = Venue(
            [
                ok("cancel", ["success"]),
                ok("cancel", ["success"]),
                default,
                ok("order", [{"resting": {"oid": 9}}]),
                default,
                default,
                default,
                default,
            ]
        )
        ex = make(venue)
        await ex.cancel([("BTC", 77)])
        await ex.cancel_by_cloid([("xyz:TSLA", wire.cloid_from_int(5))])
        await ex.modify(77, OrderRequest("BTC", True, "69001", "0.001", tif="Gtc"))
        await ex.batch_modify(
            [(wire.cloid_from_int(1), OrderRequest("BTC", True, "69001", "0.001"))]
        )
        await ex.update_leverage("HYPE", 5, is_cross=False)
        await ex.schedule_cancel(1_700_000_100_000)
        await ex.schedule_cancel(None)
        res = await ex.approve_agent("0x" + "cd" * 20)
        assert res.ok
        types = [b["action"]["type"] for b in venue.bodies]
        assert types == [
            "cancel",
            "cancelByCloid",
            "modify",
            "batchModify",
            "updateLeverage",
            "scheduleCancel",
            "scheduleCancel",
            "approveAgent",
        ]
        assert venue.bodies[1]["action"]["cancels"] == [
            {"asset": 110000, "cloid": wire.cloid_from_int(5)}
        ]
        assert venue.bodies[4]["action"] == {
            "type": "updateLeverage",
            "asset": 1,
            "isCross": False,
            "leverage": 5,
        }
        assert venue.bodies[6]["action"] == {"type": "scheduleCancel"}
        agent = venue.bodies[7]
        assert (
            agent["nonce"] == agent["action"]["nonce"]
            and agent["action"]["hyperliquidChain"] == "Testnet"
        )
        nonces = [b["nonce"] for b in venue.bodies]
        assert nonces == sorted(set(nonces))  # strictly increasing, never reused

    asyncio.run(main())


class FakeWs:
    def __init__(self, fail: Exception | None, answer=None) -> None:
        self.connected = True
        self.fail = fail
        self.answer = answer
        self.payloads: list = []

    async def post_action(self, payload, timeout_s=None):
        self.payloads.append(payload)
        if self.fail:
            raise self.fail
        return self.answer


def test_ws_post_then_http_fallback_with_the_same_signed_payload():
    async def main():
        ws = FakeWs(None, ok("order", [{"resting": {"oid": 1}}]))
        venue = Venue([ok("order", [{"resting": {"oid": 2}}])])
        ex = make(venue, ws=ws)
        res = await ex.place([OrderRequest("BTC", True, "69000", "0.001")])
        assert res.via == "ws" and res.statuses[0].oid == 1 and venue.bodies == []
        ws.fail = RequestTimeoutError("no answer")
        res = await ex.place([OrderRequest("BTC", True, "69000", "0.001")])
        assert res.via == "http" and res.statuses[0].oid == 2 and ex.fallbacks == 1
        assert venue.bodies[0] == json.loads(json.dumps(ws.payloads[1]))  # byte-identical resend

    asyncio.run(main())


def test_http_exchange_retries_429_but_not_5xx():
    async def main():
        venue = Venue([429, ok("order", [{"resting": {"oid": 3}}])])
        ex = make(venue)
        res = await ex.place([OrderRequest("BTC", True, "69000", "0.001")])
        assert res.statuses[0].oid == 3 and len(venue.bodies) == 2
        venue = Venue([502, ok("order", [{"resting": {"oid": 3}}])])
        ex = make(venue)
        rows = await ex.execute_commands([_cmd(5, "place", "0x" + "00" * 15 + "05")])
        assert len(venue.bodies) == 1  # the action may have been applied: no blind retry
        assert rows[0][3] == "error" and "ServerError" in rows[0][4]

    asyncio.run(main())


def _cmd(seq, action, cloid, *, coin="BTC", side=1, px=69000.0, sz=0.001, tif="Alo", target=None):
    return OrderCommand(
        seq, 0, 0, cloid, action, coin, side, px, sz, tif, False, target, seq - 1, "test"
    )


def test_execute_commands_returns_order_response_rows():
    async def main():
        venue = Venue(
            [
                ok(
                    "order",
                    [
                        {"resting": {"oid": 11, "cloid": wire.cloid_from_int(1)}},
                        {"error": "Order must have minimum value of $10."},
                    ],
                ),
                ok("cancel", ["success"]),
                ok("order", [{"resting": {"oid": 12}}]),
            ]
        )
        ex = make(venue)
        cmds = [
            _cmd(10, "place", wire.cloid_from_int(1)),
            _cmd(11, "place", wire.cloid_from_int(2), side=-1, px=69010.0),
            _cmd(12, "place", wire.cloid_from_int(3), px=69000.5),  # off grid: local error
            _cmd(13, "cancel", wire.cloid_from_int(4), target=wire.cloid_from_int(1)),
            _cmd(14, "modify", wire.cloid_from_int(5), px=69001.0, target=wire.cloid_from_int(2)),
            {"seq": 15, "cloid": wire.cloid_from_int(6), "action": "replace", "coin": "BTC"},
        ]
        rows = await ex.execute_commands(cmds)
        assert rows[0] == (wire.cloid_from_int(1), 11, "place", "resting", None, None, None, 10)
        assert (
            rows[1][3:5] == ("error", "Order must have minimum value of $10.") and rows[1][7] == 11
        )
        assert rows[2][3] == "error" and rows[2][4].startswith(
            "client: px 69000.5 is off the BTC grid"
        )
        assert rows[3] == (wire.cloid_from_int(4), None, "cancel", "success", None, None, None, 13)
        assert rows[4][:4] == (wire.cloid_from_int(5), 12, "modify", "resting")
        assert rows[5][3] == "error" and "replace" in rows[5][4]
        sent = [b["action"] for b in venue.bodies]
        assert [a["type"] for a in sent] == ["order", "cancelByCloid", "batchModify"]
        assert len(sent[0]["orders"]) == 2 and sent[0]["orders"][1]["b"] is False
        assert sent[2]["modifies"][0]["oid"] == wire.cloid_from_int(2)
        assert sent[2]["modifies"][0]["order"]["c"] == wire.cloid_from_int(5)

    asyncio.run(main())


def test_cancel_command_names_the_order_in_cloid():
    """order_commands contract: cancel carries the order to cancel in ``cloid``."""

    async def main():
        venue = Venue([ok("cancel", ["success"])])
        ex = make(venue)
        rows = await ex.execute_commands([_cmd(7, "cancel", wire.cloid_from_int(9))])
        assert rows[0] == (wire.cloid_from_int(9), None, "cancel", "success", None, None, None, 7)
        assert venue.bodies[0]["action"]["cancels"] == [
            {"asset": 0, "cloid": wire.cloid_from_int(9)}
        ]
        missing = await ex.execute_commands([_cmd(8, "cancel", None)])
        assert missing[0][3] == "error" and "without cloid" in missing[0][4]
        assert len(venue.bodies) == 1

    asyncio.run(main())


def test_unreadable_numbers_in_commands_are_local_errors():
    """A px/sz that is not a number is answered with a ``client:`` error row, no request."""

    async def main():
        venue = Venue([])
        ex = make(venue)
        rows = await ex.execute_commands(
            [
                _cmd(3, "place", wire.cloid_from_int(1), px="abc"),
                _cmd(4, "place", wire.cloid_from_int(2), sz=None),
            ]
        )
        assert rows[0][3] == "error" and rows[0][4].startswith("client: px: 'abc'")
        assert rows[1][3] == "error" and rows[1][4].startswith("client: sz: expected")
        assert venue.bodies == []

    asyncio.run(main())
