"""Importing the real BTC capture, an lz4 archive built from it, and bad input."""

from __future__ import annotations

import gzip
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import lz4.frame
import pytest
from typer.testing import CliRunner

from cli import app
from framework.events.schema import INPUT_KINDS, SEQ_STRIDE, Kind
from framework.journal import JournalReader
from framework.recordings.errors import RecordingError
from framework.recordings.importer import detect_format, import_recordings
from tests.conftest import BTC_CAPTURE
from tests.fuzz.samples import ASSET_CTX, BBO


def capture_lines() -> list[tuple[int, dict[str, Any]]]:
    """(prefix ns, message) of every line of the real sample, read independently."""
    out = []
    with gzip.open(BTC_CAPTURE, "rt") as fh:
        for line in fh:
            out.append((int(line[:19]), json.loads(line[20:])))
    return out


def ns_to_iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}"


def write_archive(root: Path, lines: list[tuple[int, dict[str, Any]]]) -> Path:
    """The official layout: market_data/<day>/<hour>/<channel>/BTC.lz4, one file per channel."""
    by_channel: dict[str, list[bytes]] = {}
    for recv, msg in lines:
        env = {"time": ns_to_iso(recv), "ver_num": 1, "raw": msg}
        by_channel.setdefault(msg["channel"], []).append(json.dumps(env).encode() + b"\n")
    base = root / "market_data" / "20250126" / "19"
    for channel, rows in by_channel.items():
        (base / channel).mkdir(parents=True)
        with lz4.frame.open(base / channel / "BTC.lz4", "wb") as fh:
            fh.write(b"".join(rows))
    return root / "market_data"


def table_rows(root: Path, kind: Kind) -> list[dict[str, Any]]:
    return JournalReader(root).table(kind).to_pylist()


@pytest.fixture(scope="module")
def btc_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imp") / "btc"
    result = import_recordings([BTC_CAPTURE], out)
    assert result.n_problems == 0
    return out


def test_capture_import_matches_the_file_exactly(btc_journal: Path) -> None:
    lines = capture_lines()
    books = [(r, m["data"]) for r, m in lines if m["channel"] == "l2Book"]
    trades = [(r, t) for r, m in lines if m["channel"] == "trades" for t in m["data"]]
    assert (len(books), len(trades)) == (46, 64)

    got_books = table_rows(btc_journal, Kind.BOOK)
    assert len(got_books) == 46
    for row, (recv, d) in zip(got_books, books, strict=True):
        assert row["coin"] == "BTC"
        assert row["recv_ts"] == recv
        assert row["ts"] == d["time"] * 1_000_000
        for side, prefix in ((0, "bid"), (1, "ask")):
            levels = d["levels"][side]
            assert [Decimal(str(x)) for x in row[f"{prefix}_px"]] == [
                Decimal(lv["px"]) for lv in levels
            ]
            assert [Decimal(str(x)) for x in row[f"{prefix}_sz"]] == [
                Decimal(lv["sz"]) for lv in levels
            ]
            assert row[f"{prefix}_n"] == [lv["n"] for lv in levels]
        assert row["bid_px"] == sorted(row["bid_px"], reverse=True)  # best first
        assert row["ask_px"] == sorted(row["ask_px"])
        assert row["bid_px"][0] < row["ask_px"][0]

    got_trades = table_rows(btc_journal, Kind.TRADES)
    assert len(got_trades) == 64
    for row, (recv, t) in zip(got_trades, trades, strict=True):
        assert row["coin"] == "BTC"
        assert row["recv_ts"] == recv
        assert row["ts"] == t["time"] * 1_000_000  # replayed trades keep their exchange time
        assert Decimal(str(row["px"])) == Decimal(t["px"])
        assert Decimal(str(row["sz"])) == Decimal(t["sz"])
        assert row["side"] == {"B": 1, "A": -1}[t["side"]]
        assert (row["tid"], row["hash"]) == (t["tid"], t["hash"])


def test_capture_journal_manifest_and_merged_seq_order(btc_journal: Path) -> None:
    reader = JournalReader(btc_journal)
    m = reader.manifest
    assert (m.mode, m.asset, m.coin, m.closed) == ("import", "BTC", "BTC", True)
    assert m.source == {
        "files": [str(BTC_CAPTURE)],
        "format": "capture",
        "sz_decimals": "the known-coins table",
    }
    assert m.sz_decimals == 5
    assert m.stats["rows"]["book"] == 46 and m.stats["problems"] == 0
    assert m.stats["broken_files"] == [] and m.stats["first_problems"] == []
    assert m.seq_stride == SEQ_STRIDE

    seqs, recvs, kinds = [], [], []
    for chunk in reader.merged(INPUT_KINDS):
        seqs += chunk.seqs
        recvs += chunk.recv_ts
        kinds += chunk.kinds
    # 46 books + 64 trades, the n-th (from 1) at n * SEQ_STRIDE: room for a backtest's outputs
    assert seqs == [n * SEQ_STRIDE for n in range(1, 111)]
    assert recvs == sorted(recvs)
    # message order of the file: book, book, then the 30-trade replay
    assert kinds[:3] == [Kind.BOOK, Kind.BOOK, Kind.TRADES]
    assert kinds.count(Kind.TRADES) == 64


def test_archive_import_gives_the_same_rows(btc_journal: Path, tmp_path: Path) -> None:
    src = write_archive(tmp_path, capture_lines())
    l2 = next(src.rglob("l2Book/BTC.lz4"))
    assert l2.read_bytes()[:4] == b"\x04\x22\x4d\x18"
    assert detect_format(l2) == "archive"

    out = tmp_path / "from_archive"
    result = import_recordings([src], out)  # a directory: both channel files, merged
    assert result.n_problems == 0
    assert result.rows == {"book": 46, "trades": 64}
    assert JournalReader(out).manifest.source["format"] == "archive"
    for kind in (Kind.BOOK, Kind.TRADES):
        assert table_rows(out, kind) == table_rows(btc_journal, kind)


def test_archive_with_other_coin_files_imports_only_the_asset(tmp_path: Path) -> None:
    src = write_archive(tmp_path, capture_lines())
    other = src / "20250126" / "19" / "l2Book" / "ETH.lz4"
    with lz4.frame.open(other, "wb") as fh:
        fh.write(b"not even read\n")
    result = import_recordings([src], tmp_path / "j", asset="BTC")
    assert result.n_problems == 0
    assert result.skipped["files_of_other_coins"] == 1
    assert result.rows == {"book": 46, "trades": 64}


def test_plain_and_gzip_captures_detected_from_content(tmp_path: Path) -> None:
    plain = tmp_path / "capture.lz4"  # misleading extension: content decides
    plain.write_bytes(gzip.decompress(BTC_CAPTURE.read_bytes()))
    assert detect_format(plain) == "capture"
    assert detect_format(BTC_CAPTURE) == "capture"
    bare = tmp_path / "bare.txt"
    bare.write_text('{"channel":"l2Book","data":{}}\n')
    with pytest.raises(RecordingError, match="without a receive time"):
        detect_format(bare)


# -- bad input ----------------------------------------------------------------------------
def bad_capture(tmp_path: Path, *, cut_short: bool = True) -> tuple[Path, dict[int, str]]:
    """The first 12 sample lines with bad ones mixed in; returns {line: expected text}.

    ``cut_short``: the file ends with a line cut mid-message (a broken file).
    """
    good = gzip.decompress(BTC_CAPTURE.read_bytes()).decode().splitlines()[:12]
    book = json.loads(good[0][20:])
    book["data"]["levels"][0][2].pop("px")
    bad = {
        3: "1737918843900000000 not json at all",
        5: '{"channel":"l2Book","data":{}}',
        7: '1737918845100000000 {"channel":"candle","data":{}}',
        9: "1737918845200000000 " + json.dumps(book),
    }
    expect = {
        3: "invalid JSON",
        5: "no '<19-digit receive ns> ' prefix",
        7: "unknown channel 'candle'",
        9: "levels[0] (bids)[2] has no 'px'",
    }
    lines = list(good)
    for at in sorted(bad):
        lines.insert(at - 1, bad[at])
    path = tmp_path / "bad.txt"
    if not cut_short:
        path.write_text("\n".join(lines) + "\n")
        return path, expect
    truncated = good[1][:80]  # the last line, cut mid-message, no newline
    path.write_text("\n".join(lines) + "\n" + truncated)
    expect[len(lines) + 1] = "cut short"
    return path, expect


def test_bad_lines_are_problems_naming_file_and_line(tmp_path: Path) -> None:
    path, expect = bad_capture(tmp_path)
    result = import_recordings([path], tmp_path / "j")
    got = {p.line: str(p) for p in result.problems}
    assert set(got) == set(expect)
    for line, text in expect.items():
        assert got[line].startswith(f"{path}:{line}: ")
        assert text in got[line]
    # the 12 good lines still import: 10 books and trades pushes of 30 and 1
    assert result.rows == {"book": 10, "trades": 31}
    assert JournalReader(tmp_path / "j").manifest.stats["problems"] == 5


def test_cli_import_exit_codes(tmp_path: Path) -> None:
    path, _ = bad_capture(tmp_path, cut_short=False)
    runner = CliRunner()
    ok = runner.invoke(app, ["import", str(path), "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    assert "rows: book 10, trades 31" in ok.stdout
    assert f"{path}:3: invalid JSON" in ok.stderr

    strict = runner.invoke(app, ["import", str(path), "--out", str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 1
    assert "--strict" in strict.stderr

    clean = runner.invoke(app, ["import", str(BTC_CAPTURE), "-o", str(tmp_path / "c"), "--strict"])
    assert clean.exit_code == 0, clean.output
    assert "rows: book 46, trades 64" in clean.stdout

    again = runner.invoke(app, ["import", str(BTC_CAPTURE), "-o", str(tmp_path / "c")])
    assert again.exit_code == 2
    assert "already holds a journal" in again.stderr

    missing = runner.invoke(app, ["import", str(tmp_path / "nope.gz"), "-o", str(tmp_path / "d")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr


def test_truncated_gzip_keeps_lines_before_the_break(tmp_path: Path) -> None:
    data = BTC_CAPTURE.read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    result = import_recordings([cut], tmp_path / "j")
    assert result.n_problems == 1
    assert "the file is cut short (truncated)" in str(result.problems[0])
    assert result.broken == result.problems
    assert 0 < result.rows["book"] < 46


def test_second_coin_without_asset_is_a_problem(tmp_path: Path) -> None:
    lines = gzip.decompress(BTC_CAPTURE.read_bytes()).decode().splitlines()[:3]
    eth = lines[1].replace('"coin":"BTC"', '"coin":"ETH"')
    path = tmp_path / "two.txt"
    path.write_text("\n".join([lines[0], eth, lines[2]]) + "\n")
    result = import_recordings([path], tmp_path / "j")
    assert [p.line for p in result.problems] == [2]
    assert "pass --asset ETH" in result.problems[0].message
    eth_only = import_recordings([path], tmp_path / "k", asset="ETH")
    assert eth_only.n_problems == 0 and eth_only.rows == {"book": 1}
    assert JournalReader(tmp_path / "k").manifest.coin == "ETH"


def test_imported_journal_feeds_the_engine(btc_journal: Path) -> None:
    from framework.book import MarketState
    from framework.engine.core import Engine, NullSink
    from framework.engine.drive import feed

    market = MarketState()
    engine = Engine([market], seed=0, sink=NullSink())
    n = feed(engine, JournalReader(btc_journal).merged())
    assert n == 110
    last_book = [m["data"] for _, m in capture_lines() if m["channel"] == "l2Book"][-1]
    assert market.best_bid == float(last_book["levels"][0][0]["px"])
    assert market.best_ask == float(last_book["levels"][1][0]["px"])


def test_subscribe_replay_is_kept_and_counted(tmp_path: Path) -> None:
    result = import_recordings([BTC_CAPTURE], tmp_path / "j")
    # the first trades push replays trades up to ~49 s old: kept with their exchange ts
    assert result.repairs["stale_ts"] == 29
    assert result.repairs["ts_after_recv"] == 0
    assert "trades replay on subscribe" in result.summary()


def test_archive_bbo_and_asset_ctx_and_mixed_formats(tmp_path: Path) -> None:
    recv = 1_775_001_612_669_126_791
    bbo, ctx = BBO, ASSET_CTX
    ack = {"channel": "subscriptionResponse", "data": {"method": "subscribe"}}
    path = tmp_path / "ctx.lz4"
    with lz4.frame.open(path, "wb") as fh:
        for i, m in enumerate((ack, bbo, ctx)):
            env = {"time": ns_to_iso(recv + i), "ver_num": 1, "raw": m}
            fh.write(json.dumps(env).encode() + b"\n")
    assert ns_to_iso(recv) == "2026-04-01T00:00:12.669126791"
    result = import_recordings([path, BTC_CAPTURE], tmp_path / "j")
    assert result.n_problems == 0
    assert result.rows == {"book": 46, "trades": 64, "bbo": 1, "asset_ctx": 1}
    reader = JournalReader(tmp_path / "j")
    assert reader.manifest.source["format"] == "mixed"
    b = reader.table(Kind.BBO).to_pylist()[0]
    assert (b["recv_ts"], b["bid_px"], b["ask_sz"]) == (recv + 1, 75951.0, 2.0)
    c = reader.table(Kind.ASSET_CTX).to_pylist()[0]
    assert (c["ts"], c["recv_ts"], c["mark_px"], c["funding"]) == (
        recv + 2,
        recv + 2,
        75933.0,
        1.25e-5,
    )
    # the 2026 archive rows come after the whole 2025 capture in seq order
    assert (b["seq"], c["seq"]) == (111 * SEQ_STRIDE, 112 * SEQ_STRIDE)


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-04-01T00:00:12.669126791", 1_775_001_612_669_126_791),
        ("2026-04-01T00:00:12.5Z", 1_775_001_612_500_000_000),
        ("2026-04-01T00:00:12", 1_775_001_612_000_000_000),
    ],
)
def test_archive_time_to_ns(text: str, ns: int) -> None:
    from framework.recordings.archive import iso_to_ns

    assert iso_to_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-01T00:00:12",
        "yesterday",
        "2026-04-01T00:00:12.1234567891",
        "\u0662\u0660\u0662\u0666-04-01T00:00:00",  # Arabic-Indic digits, which int() reads
    ],
)
def test_archive_bad_time_is_an_envelope_error(text: str) -> None:
    from framework.recordings.archive import iso_to_ns
    from framework.recordings.errors import EnvelopeError

    with pytest.raises(EnvelopeError, match="envelope time"):
        iso_to_ns(text)


def test_overlapping_captures_import_each_message_once(tmp_path: Path) -> None:
    # The same capture as .gz and as .txt in one directory doubled every book row
    # (trades were de-duplicated by id, books were not).
    both = tmp_path / "in"
    both.mkdir()
    (both / "a.gz").write_bytes(BTC_CAPTURE.read_bytes())
    with gzip.open(BTC_CAPTURE, "rb") as fh:
        (both / "a.txt").write_bytes(fh.read())
    two = import_recordings([both], tmp_path / "two", asset="BTC")
    one = import_recordings([BTC_CAPTURE], tmp_path / "one", asset="BTC")
    assert two.rows == one.rows == {"book": 46, "trades": 64}
    assert two.repairs["duplicate_messages"] == two.messages == one.messages  # each once
    assert one.repairs["duplicate_messages"] == 0
    for kind in (Kind.BOOK, Kind.TRADES):
        strip = lambda rows: [{k: v for k, v in r.items() if k != "seq"} for r in rows]  # noqa: E731
        assert strip(table_rows(two.out, kind)) == strip(table_rows(one.out, kind))
    assert "duplicate_messages" in two.summary()


def test_a_coin_in_the_wrong_case_is_suggested_not_guessed(tmp_path: Path) -> None:
    # Coin names are case-sensitive on the venue (kPEPE): --asset btc asked for
    # --sz-decimals first, then said "no btc rows; coins present: BTC".
    with pytest.raises(
        RecordingError,
        match=r"--asset btc: coin names are case-sensitive; did you mean --asset BTC\?",
    ):
        import_recordings([BTC_CAPTURE], tmp_path / "a", asset="btc")
    with pytest.raises(
        RecordingError, match=r"coins present: BTC \(\d+ rows\); did you mean --asset BTC\?"
    ):
        import_recordings([BTC_CAPTURE], tmp_path / "b", asset="btc", sz_decimals=5)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b" / "session.json").exists()
