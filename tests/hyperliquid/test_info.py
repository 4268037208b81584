"""InfoClient over httpx.MockTransport: typed results, retries with backoff, IP weight."""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest

from framework.hyperliquid.dexes import AssetDirectory, asset_id
from framework.hyperliquid.errors import (
    AssetNotFoundError,
    ClientError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
)
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.rest import RestClient, RetryPolicy, WeightBudget

USER = "0x" + "12" * 20
META = {
    "universe": [
        {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 25, "newKey": 1},
        {
            "name": "LOOM",
            "szDecimals": 1,
            "maxLeverage": 3,
            "isDelisted": True,
            "onlyIsolated": True,
        },
    ],
    "marginTables": [],
}
XYZ_META = {
    "universe": [
        {"name": "xyz:TSLA", "szDecimals": 3, "maxLeverage": 10, "marginMode": "strictIsolated"},
        {"name": "xyz:NVDA", "szDecimals": 3, "maxLeverage": 10},
    ],
    "marginTables": [],
    "collateralToken": 0,
}
PERP_DEXS = [
    None,
    {"name": "test", "fullName": "test dex", "deployer": "0x5e89"},
    {"name": "xyz", "fullName": "XYZ"},
]
CTX = {
    "dayNtlVlm": "1169046.29406",
    "funding": "0.0000125",
    "impactPxs": ["14.3047", "14.3444"],
    "markPx": "14.3161",
    "midPx": None,
    "openInterest": "688.11",
    "oraclePx": "14.32",
    "premium": None,
    "prevDayPx": "15.322",
    "dayBaseVlm": "12.389",
}


def venue(body: dict) -> object:
    t = body["type"]
    dex = body.get("dex", "")
    if t == "meta":
        return XYZ_META if dex == "xyz" else META
    if t == "metaAndAssetCtxs":
        return [META, [CTX, CTX, CTX]]
    if t == "perpDexs":
        return PERP_DEXS
    if t == "l2Book":
        return {
            "coin": body["coin"],
            "time": 1,
            "levels": [[{"px": "100.5", "sz": "2", "n": 3}], [{"px": "101", "sz": "1", "n": 1}]],
        }
    if t == "allMids":
        return {"BTC": "69172.5", "ETH": "3012.1"}
    if t == "userRateLimit":
        return {
            "cumVlm": "170043721737.450012207",
            "nRequestsUsed": 36589831368,
            "nRequestsCap": 170043731737,
        }
    if t == "openOrders":
        return [
            {
                "coin": "BTC",
                "limitPx": "29792.0",
                "oid": 91490942,
                "side": "A",
                "sz": "0.0",
                "timestamp": 1681247412573,
            }
        ]
    if t == "userFills":
        return [
            {
                "closedPnl": "0.0",
                "coin": "AVAX",
                "crossed": False,
                "dir": "Open Long",
                "hash": "0xa1",
                "oid": 90542681,
                "px": "18.435",
                "side": "B",
                "startPosition": "26.86",
                "sz": "93.53",
                "time": 1681222254710,
                "fee": "0.01",
                "feeToken": "USDC",
                "tid": 118906512037719,
            }
        ] * 45
    if t == "orderStatus":
        return {"status": "unknownOid"}
    raise AssertionError(t)


class Recorder:
    """Sleep stand-in: records the delays, advances a fake monotonic clock."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 0.0

    async def __call__(self, s: float) -> None:
        self.delays.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def make_client(handler, *, rng_seed=7, max_attempts=5, budget=None, rec=None):
    rec = rec or Recorder()
    rest = RestClient(
        "http://venue.test",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=max_attempts, base_s=0.5, cap_s=4.0, jitter=0.5),
        rng=random.Random(rng_seed),
        sleep=rec,
        budget=budget or WeightBudget(clock=rec.clock, sleep=rec),
    )
    return InfoClient(rest=rest), rec


def ok_handler(seen: list):
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url.path == "/info" and request.method == "POST"
        return httpx.Response(200, json=venue(body))

    return handler


def test_typed_results_and_dex_parameter():
    async def main():
        seen: list = []
        info, _ = make_client(ok_handler(seen))
        meta = await info.meta()
        assert [a.name for a in meta.universe] == ["BTC", "ETH", "LOOM"]
        assert meta.universe[2].is_delisted and meta.universe[0].sz_decimals == 5
        _meta, ctxs = await info.meta_and_asset_ctxs()
        assert len(ctxs) == 3 and ctxs[0].mid_px is None and ctxs[0].funding == 1.25e-5
        dexs = await info.perp_dexs()
        assert dexs[0] is None and dexs[2].name == "xyz" and dexs[2].index == 2
        book = await info.l2_book("BTC")
        assert book.bids[0].px == 100.5 and book.asks[0].n == 1
        assert (await info.all_mids())["BTC"] == 69172.5
        rl = await info.user_rate_limit(USER)
        assert rl.n_requests_cap == 170043731737
        oo = await info.open_orders(USER, dex="xyz")
        assert oo[0].oid == 91490942 and oo[0].cloid is None
        st = await info.order_status(USER, "0x" + "00" * 16)
        assert st.status == "unknownOid" and st.order is None
        await info.meta(dex="xyz")
        await info.aclose()
        assert seen[0] == {"type": "meta"}  # main dex: no dex key
        assert {"type": "openOrders", "user": USER, "dex": "xyz"} in seen
        assert {"type": "meta", "dex": "xyz"} in seen
        assert seen[3] == {"type": "l2Book", "coin": "BTC", "nSigFigs": None, "mantissa": None}

    asyncio.run(main())


def test_retries_429_and_5xx_with_exponential_backoff_and_seeded_jitter():
    async def main():
        script = [429, 502, 500, 200]
        calls = []

        def handler(request):
            code = script[len(calls)]
            calls.append(code)
            if code == 200:
                return httpx.Response(200, json=META)
            return httpx.Response(code, text="busy")

        info, rec = make_client(handler)
        meta = await info.meta()
        assert meta.universe[0].name == "BTC"
        assert calls == [429, 502, 500, 200]
        # base 0.5 * 2**k, capped at 4, times (1 - 0.5*u) with u from Random(7)
        rng = random.Random(7)
        expected = [min(4.0, 0.5 * 2**k) * (1 - 0.5 * rng.random()) for k in range(3)]
        assert rec.delays == pytest.approx(expected)
        assert all(a < b for a, b in zip(rec.delays, rec.delays[1:], strict=False))
        assert info.rest.retries == 3

    asyncio.run(main())


def test_gives_up_after_max_attempts_and_never_retries_4xx():
    async def main():
        info, rec = make_client(lambda r: httpx.Response(429, text="slow down"), max_attempts=3)
        with pytest.raises(RateLimitedError) as exc:
            await info.meta()
        assert exc.value.status == 429 and len(rec.delays) == 2
        info, rec = make_client(lambda r: httpx.Response(503), max_attempts=2)
        with pytest.raises(ServerError):
            await info.meta()
        calls = []

        def bad(r):
            calls.append(1)
            return httpx.Response(
                422, text="Failed to deserialize the JSON body into the target type"
            )

        info, rec = make_client(bad)
        with pytest.raises(ClientError, match="Failed to deserialize"):
            await info.meta()
        assert calls == [1] and rec.delays == []

    asyncio.run(main())


def test_timeouts_are_retried_then_raised():
    async def main():
        calls = []

        def handler(request):
            calls.append(1)
            if len(calls) < 3:
                raise httpx.ReadTimeout("slow", request=request)
            return httpx.Response(200, json=META)

        info, rec = make_client(handler)
        await info.meta()
        assert len(calls) == 3 and len(rec.delays) == 2

        def always(request):
            raise httpx.ConnectTimeout("down", request=request)

        info, _ = make_client(always, max_attempts=2)
        with pytest.raises(RequestTimeoutError):
            await info.meta()

    asyncio.run(main())


def test_malformed_body_is_a_protocol_error():
    async def main():
        info, _ = make_client(lambda r: httpx.Response(200, json={"universe": [{"name": "BTC"}]}))
        with pytest.raises(ProtocolError, match="sz_decimals"):
            await info.meta()
        info, _ = make_client(lambda r: httpx.Response(200, text="<html>"))
        with pytest.raises(ProtocolError, match="not JSON"):
            await info.meta()

    asyncio.run(main())


def test_weight_budget_keeps_within_1200_per_minute():
    async def main():
        rec = Recorder()
        budget = WeightBudget(limit=1200, window_s=60.0, clock=rec.clock, sleep=rec)
        seen: list = []
        info, _ = make_client(ok_handler(seen), budget=budget, rec=rec)
        for _ in range(60):  # 60 x meta (weight 20) = 1200: fits exactly, no waiting
            await info.meta()
        assert rec.delays == [] and budget.used() == 1200
        await info.l2_book("BTC")  # weight 2: must wait for the window to roll
        assert rec.now == pytest.approx(60.0, abs=0.01)
        # userFills: 20 + 1 per 20 items (45 items -> +2)
        before = budget.used()
        await info.user_fills(USER)
        assert budget.used() - before == 22

    asyncio.run(main())


def test_sliding_window_never_exceeds_limit():
    async def main():
        rec = Recorder()
        budget = WeightBudget(limit=100, window_s=10.0, clock=rec.clock, sleep=rec)
        log = []
        for i in range(300):
            w = [2, 20, 7][i % 3]
            await budget.acquire(w)
            log.append((rec.now, w))
            rec.now += 0.01
        for t, _ in log:
            in_window = sum(w for s, w in log if t - 10.0 < s <= t)
            assert in_window <= 100

    asyncio.run(main())


def test_asset_directory_resolves_main_and_hip3_ids():
    async def main():
        info, _ = make_client(ok_handler([]))
        d = await AssetDirectory.load(info, dexes=["xyz"])
        assert d.resolve("BTC").asset_id == 0
        assert d.resolve("ETH").sz_decimals == 4
        tsla = d.resolve("xyz:TSLA")
        assert tsla.asset_id == 100000 + 2 * 10000 + 0 == asset_id(2, 0)
        assert tsla.only_isolated and tsla.dex == "xyz"
        assert d.resolve("NVDA", dex="xyz").asset_id == 120001
        assert d.by_id(120001).coin == "xyz:NVDA"
        with pytest.raises(AssetNotFoundError, match="known on dex 'main'"):
            d.resolve("DOGE")
        with pytest.raises(AssetNotFoundError, match="pass --dex test"):
            d.resolve("test:ABC")
        all_d = await AssetDirectory.load(info, dexes=None)
        assert len(all_d) == 3 + 3 + 2  # the "test" dex answers with the main META here
        assert all_d.resolve("test:BTC").asset_id == 110000

    asyncio.run(main())


CHS = {
    "assetPositions": [
        {
            "position": {
                "coin": "ETH",
                "cumFunding": {"allTime": "514.085417", "sinceChange": "0.0", "sinceOpen": "0.0"},
                "entryPx": "2986.3",
                "leverage": {"type": "isolated", "value": 20, "rawUsd": "-95.059824"},
                "liquidationPx": None,
                "marginUsed": "4.967826",
                "maxLeverage": 50,
                "positionValue": "100.02765",
                "returnOnEquity": "-0.0026789",
                "szi": "0.0335",
                "unrealizedPnl": "-0.0134",
                "maxTradeSzs": ["1", "2"],
            },
            "type": "oneWay",
        }
    ],
    "crossMaintenanceMarginUsed": "0.0",
    "crossMarginSummary": {
        "accountValue": "13104.5",
        "totalMarginUsed": "0.0",
        "totalNtlPos": "0.0",
        "totalRawUsd": "13104.5",
    },
    "marginSummary": {
        "accountValue": "13109.4",
        "totalMarginUsed": "4.96",
        "totalNtlPos": "100.02",
        "totalRawUsd": "13009.4",
    },
    "time": 1708622398623,
    "withdrawable": "13104.514502",
}
FRONTEND = [
    {
        "coin": "BTC",
        "isPositionTpsl": False,
        "isTrigger": False,
        "limitPx": "29792.0",
        "oid": 91490942,
        "orderType": "Limit",
        "origSz": "5.0",
        "reduceOnly": False,
        "side": "A",
        "sz": "5.0",
        "timestamp": 1681247412573,
        "triggerCondition": "N/A",
        "triggerPx": "0.0",
        "children": [],
        "tif": "Gtc",
        "cloid": "0x00000000000000000000000000000001",
    }
]


def test_account_results_are_typed():
    async def main():
        seen = []

        def handler(request):
            body = json.loads(request.content)
            seen.append(body)
            t = body["type"]
            out = {
                "clearinghouseState": CHS,
                "frontendOpenOrders": FRONTEND,
                "userFillsByTime": [],
            }[t]
            return httpx.Response(200, json=out)

        info, _ = make_client(handler)
        st = await info.clearinghouse_state(USER, dex="xyz")
        pos = st.position("ETH")
        assert pos.szi == 0.0335 and pos.leverage.type == "isolated" and pos.liquidation_px is None
        assert st.position("BTC") is None and st.withdrawable == 13104.514502
        fo = await info.frontend_open_orders(USER)
        assert fo[0].cloid.endswith("01") and fo[0].tif == "Gtc" and fo[0].orig_sz == 5.0
        assert await info.user_fills_by_time(USER, 1000, 2000) == []
        assert seen[2] == {
            "type": "userFillsByTime",
            "user": USER,
            "startTime": 1000,
            "endTime": 2000,
            "aggregateByTime": False,
        }

    asyncio.run(main())


def test_http_link_events_on_failure_and_recovery():
    async def main():
        events = []
        script = [503, 503, 200, 200]

        def handler(request):
            code = script.pop(0)
            return httpx.Response(code, json=META) if code == 200 else httpx.Response(code)

        rec = Recorder()
        rest = RestClient(
            "http://venue.test",
            transport=httpx.MockTransport(handler),
            retry=RetryPolicy(max_attempts=2),
            rng=random.Random(0),
            sleep=rec,
            budget=WeightBudget(clock=rec.clock, sleep=rec),
            on_connection=lambda *e: events.append(e),
        )
        info = InfoClient(rest=rest)
        with pytest.raises(ServerError):
            await info.meta()
        await info.meta()
        await info.meta()
        assert [(e[0], e[1]) for e in events] == [("http", "disconnected"), ("http", "connected")]

    asyncio.run(main())
