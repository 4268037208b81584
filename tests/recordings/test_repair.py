"""Time repairs at import: recv_ts non-decreasing, ts never after recv_ts, duplicate trades."""

from __future__ import annotations

import json
from pathlib import Path

from framework.events.schema import SEQ_STRIDE, Kind
from framework.journal import JournalReader
from framework.recordings.importer import import_recordings
from framework.recordings.repair import STALE_NS, TimeRepair, TradeDedup

S = 1_000_000_000


def test_time_repair_clamps_and_counts() -> None:
    r = TimeRepair()
    assert [r.recv(t) for t in (10, 12, 11, 12, 9, 13)] == [10, 12, 12, 12, 12, 13]
    assert r.counts["recv_backwards"] == 2
    assert r.worst_ns["recv_backwards"] == 3
    assert r.ts(15, 13) == 13  # exchange time after receive: clamped
    assert r.ts(13, 13) == 13
    assert r.ts(13 - STALE_NS - 1, 13) == 13 - STALE_NS - 1  # stale: kept, only counted
    assert r.counts == {"recv_backwards": 2, "ts_after_recv": 1, "stale_ts": 1}
    assert r.worst_ns["ts_after_recv"] == 2


def test_trade_dedup_window_is_bounded() -> None:
    d = TradeDedup(window=2)
    assert not d.is_duplicate("BTC", 1, 5)
    assert d.is_duplicate("BTC", 1, 5)
    assert not d.is_duplicate("BTC", 1, 6)  # same tid, other time: another trade
    assert not d.is_duplicate("BTC", 2, 5)
    assert not d.is_duplicate("BTC", 1, 5)  # forgotten: the window holds 2 keys
    assert d.duplicates == 1


def _book(ms: int) -> dict[str, object]:
    lv = [[{"px": "100.0", "sz": "1.0", "n": 1}], [{"px": "101.0", "sz": "2.0", "n": 1}]]
    return {"channel": "l2Book", "data": {"coin": "X", "time": ms, "levels": lv}}


def _trade(ms: int, tid: int) -> dict[str, object]:
    t = {
        "coin": "X",
        "side": "B",
        "px": "101.0",
        "sz": "0.5",
        "time": ms,
        "tid": tid,
        "hash": "0x1",
    }
    return {"channel": "trades", "data": [t]}


def test_import_applies_the_repairs(tmp_path: Path) -> None:
    base = 1_700_000_000 * S
    msgs = [
        (base + 1 * S, _book(1_700_000_000_500)),  # ts 0.5 s before recv: fine
        (base + 3 * S, _book(1_700_000_004_000)),  # ts 1 s after recv: clamp ts
        (base + 2 * S, _trade(1_700_000_001_000, 7)),  # recv goes back 1 s: clamp recv
        (base + 4 * S, _trade(1_700_000_001_000, 7)),  # the same trade again: dropped
        (base + 5 * S, {"channel": "pong"}),  # skipped silently
    ]
    path = tmp_path / "cap.txt"
    path.write_text("".join(f"{t:019d} {json.dumps(m)}\n" for t, m in msgs))
    result = import_recordings([path], tmp_path / "j", sz_decimals=2)  # "X" is no known coin
    assert result.n_problems == 0
    assert result.repairs == {
        "recv_backwards": 1,
        "ts_after_recv": 1,
        "stale_ts": 0,
        "duplicate_messages": 0,  # one file: nothing overlaps
        "duplicate_trades": 1,
    }
    assert result.skipped == {"channel pong": 1}
    book = JournalReader(tmp_path / "j").table(Kind.BOOK).to_pylist()
    trades = JournalReader(tmp_path / "j").table(Kind.TRADES).to_pylist()
    assert [(b["seq"], b["ts"], b["recv_ts"]) for b in book] == [
        (1 * SEQ_STRIDE, base + S // 2, base + S),
        (2 * SEQ_STRIDE, base + 3 * S, base + 3 * S),
    ]
    assert [(t["seq"], t["ts"], t["recv_ts"]) for t in trades] == [
        (3 * SEQ_STRIDE, base + S, base + 3 * S)
    ]
    assert "recv_backwards 1 (worst 1000.000 ms)" in result.summary()
