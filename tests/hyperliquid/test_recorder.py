"""record(): WS market data + connection events into a journal (in-test WS server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.server import serve

from framework.events.schema import SEQ_STRIDE, Kind
from framework.hyperliquid.errors import AssetNotFoundError
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.recorder import record
from framework.hyperliquid.rest import RestClient
from framework.hyperliquid.ws import WsConfig
from framework.journal.reader import JournalReader

META = {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 50}], "marginTables": []}
T0 = 1_787_195_067_883


def info_client() -> InfoClient:
    def handler(request):
        body = json.loads(request.content)
        return httpx.Response(200, json=[None] if body["type"] == "perpDexs" else META)

    return InfoClient(rest=RestClient("http://venue.test", transport=httpx.MockTransport(handler)))


def book(t: int) -> str:
    lv = [[{"px": "69172.0", "sz": "1.2", "n": 5}], [{"px": "69173.0", "sz": "8.4", "n": 30}]]
    return json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "time": t, "levels": lv}})


TRADES = json.dumps(
    {
        "channel": "trades",
        "data": [
            {
                "coin": "BTC",
                "side": "A",
                "px": "69170.0",
                "sz": "0.1",
                "time": T0,
                "hash": "0x1",
                "tid": 1,
            },
            {
                "coin": "BTC",
                "side": "B",
                "px": "69173.0",
                "sz": "0.2",
                "time": T0 + 5,
                "hash": "0x2",
                "tid": 2,
            },
        ],
    }
)


async def handler(conn, state):
    state["conns"] += 1
    n = state["conns"]
    await conn.send("Websocket connection established.")
    async for raw in conn:
        msg = json.loads(raw)
        if msg.get("method") != "subscribe":
            continue
        sub = msg["subscription"]
        ack = {
            "channel": "subscriptionResponse",
            "data": {"method": "subscribe", "subscription": sub},
        }
        await conn.send(json.dumps(ack))
        if sub["type"] == "trades":
            await conn.send(TRADES)  # replayed on every subscribe: must be de-duplicated
        if sub["type"] == "bbo":
            bbo = [{"px": "69172.0", "sz": "1.2", "n": 5}, None]
            await conn.send(
                json.dumps({"channel": "bbo", "data": {"coin": "BTC", "time": T0, "bbo": bbo}})
            )
        if sub["type"] == "activeAssetCtx":
            ctx = {
                "funding": "0.0000125",
                "openInterest": "1",
                "prevDayPx": "1",
                "dayNtlVlm": "1",
                "premium": "0",
                "oraclePx": "69182.2",
                "markPx": "69172.0",
                "midPx": "69172.5",
            }
            await conn.send(
                json.dumps({"channel": "activeAssetCtx", "data": {"coin": "BTC", "ctx": ctx}})
            )
            await conn.send(book(T0 + 10 * n))
            await conn.send("}{ malformed")
            await conn.send(json.dumps({"channel": "error", "data": "Already subscribed"}))
            if n == 1:
                await asyncio.sleep(0.05)
                await conn.close()
                return


def _record(serve_conn, duration_s: float, out: Path, **ws):
    """``record`` of BTC for ``duration_s`` from a WS server running ``serve_conn``."""

    async def main():
        server = await serve(serve_conn, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await record(
                "http://venue.test",
                "BTC",
                duration_s,
                out,
                ws_config=WsConfig(ping_interval_s=0.2, stall_after_s=None, **ws),
                info=info_client(),
                url=f"ws://127.0.0.1:{port}/ws",
            )
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def test_record_writes_market_rows_and_connection_events(tmp_path: Path):
    state = {"conns": 0}
    result = _record(
        lambda c: handler(c, state),
        0.6,
        tmp_path / "j",
        reconnect_base_s=0.02,
        reconnect_cap_s=0.05,
    )
    assert result.coin == "BTC" and result.asset_id == 0
    reader = JournalReader(tmp_path / "j")
    assert reader.manifest.mode == "record" and reader.manifest.coin == "BTC"
    assert reader.count(Kind.BOOK) == 2  # one per connection
    assert reader.count(Kind.TRADES) == 2  # the replay after reconnect was dropped
    assert reader.count(Kind.BBO) == 2 and reader.count(Kind.ASSET_CTX) == 2
    conn = reader.table(Kind.CONNECTION).to_pylist()
    states = [(r["link"], r["state"]) for r in conn]
    assert states[:5] == [
        ("ws", "connected"),
        ("ws", "resubscribed"),
        ("ws", "disconnected"),
        ("ws", "connected"),
        ("ws", "resubscribed"),
    ]
    assert states[-1] == ("ws", "disconnected")  # the close at the end
    seqs = sorted(
        s
        for k in (Kind.BOOK, Kind.TRADES, Kind.BBO, Kind.ASSET_CTX, Kind.CONNECTION)
        for s in reader.table(k).column("seq").to_pylist()
    )
    assert seqs == [n * SEQ_STRIDE for n in range(1, len(seqs) + 1)]  # strided inputs
    assert reader.manifest.seq_stride == SEQ_STRIDE
    trades = reader.table(Kind.TRADES).to_pylist()
    assert [t["side"] for t in trades] == [-1, 1] and trades[0]["ts"] == T0 * 1_000_000
    stats = reader.manifest.stats
    assert stats["skipped"]["duplicate trades"] == 2
    assert stats["ws"]["malformed"] == 2 and stats["ws"]["legacy_hello"] == 2


def test_record_unknown_coin_names_known_ones(tmp_path: Path):
    with pytest.raises(AssetNotFoundError, match="BTC"):
        asyncio.run(record("http://venue.test", "DOGE", 1, tmp_path / "j", info=info_client()))
    assert not (tmp_path / "j").exists()


def test_the_ws_handler_never_writes_a_part(tmp_path: Path, monkeypatch):
    """Its periodic flushes go to the flush thread: a part written in the handler held
    every message that arrived meanwhile (and stamped its recv_ts that late)."""
    import threading

    import framework.hyperliquid.recorder as recorder_mod
    import framework.journal.writer as writer_mod

    real_writer, real_write = recorder_mod.JournalWriter, writer_mod.write_part_atomic
    opened: list[dict] = []
    writes: list[str] = []

    def writer(root, manifest, **kw):  # every append is due a periodic flush
        opened.append(kw)
        return real_writer(root, manifest, **{**kw, "flush_interval_s": 0.0})

    def write(*a, **k):
        writes.append(threading.current_thread().name)
        return real_write(*a, **k)

    monkeypatch.setattr(recorder_mod, "JournalWriter", writer)
    monkeypatch.setattr(writer_mod, "write_part_atomic", write)

    async def books(conn):  # 600 books: the writer looks at its clock every 256 appends
        await conn.send("Websocket connection established.")
        async for raw in conn:
            if json.loads(raw).get("subscription", {}).get("type") == "l2Book":
                for n in range(600):
                    await conn.send(book(T0 + n))

    _record(books, 0.4, tmp_path / "j")
    assert opened == [{"flush_behind": True}]
    behind = [name for name in writes if name.startswith("journal-flush")]
    assert behind, writes  # periodic parts were written, by the flush thread
    assert set(writes[: len(behind)]) == {behind[0]}  # none before close in the loop's thread
    reader = JournalReader(tmp_path / "j")
    assert reader.table(Kind.BOOK).column("ts").to_pylist() == [
        (T0 + n) * 1_000_000 for n in range(600)
    ]
