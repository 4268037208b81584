"""The fast importer writes the reference importer's journal, line problems and all.

Every test imports the same input twice, with the fast path (the default for one raw
capture file) and with ``reference=True`` (the per-line Python path it replaces), and
compares every table row for row, the manifests (stats, problems, parts) and the
results.  The compiled and the interpreted scanner are compared the same way.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import attrs
import pyarrow.parquet as pq
import pytest

import framework.kernel
from framework.events.schema import Kind
from framework.journal import JournalReader
from framework.kernel.hlscan import Scanner
from framework.recordings import fastimport
from framework.recordings.importer import ImportResult, import_recordings
from framework.recordings.repair import TradeDedup
from tests.conftest import BTC_CAPTURE, REPO, SHARED

SYNTH = SHARED / "bench" / "hl_capture_synth.py"
BTC_LINES = gzip.decompress(BTC_CAPTURE.read_bytes()).decode().splitlines()


def both(paths: list[Path], tmp: Path, **kw: Any) -> tuple[ImportResult, ImportResult]:
    """Import ``paths`` with the fast and the reference path; the same journal."""
    fast = import_recordings(paths, tmp / "fast", **kw)
    ref = import_recordings(paths, tmp / "ref", reference=True, **kw)
    assert_same_journal(tmp / "fast", tmp / "ref")
    assert_same_result(fast, ref)
    return fast, ref


def assert_same_journal(a: Path, b: Path) -> None:
    ra, rb = JournalReader(a), JournalReader(b)
    for kind in Kind:
        ta, tb = ra.table(kind), rb.table(kind)
        assert ta.schema == tb.schema, kind
        assert ta.num_rows == tb.num_rows, kind
        assert ta.to_pylist() == tb.to_pylist(), kind
    ma, mb = ra.manifest, rb.manifest
    assert ma.stats == mb.stats
    assert ma.parts == mb.parts
    assert (ma.source, ma.coin, ma.asset, ma.dex, ma.sz_decimals, ma.seq_stride) == (
        mb.source,
        mb.coin,
        mb.asset,
        mb.dex,
        mb.sz_decimals,
        mb.seq_stride,
    )
    for table, parts in ma.parts.items():  # the same row groups, too
        for name in parts:
            ga, gb = (pq.read_metadata(r / table / name) for r in (a, b))
            assert [ga.row_group(i).num_rows for i in range(ga.num_row_groups)] == [
                gb.row_group(i).num_rows for i in range(gb.num_row_groups)
            ]


def assert_same_result(a: ImportResult, b: ImportResult) -> None:
    da, db = attrs.asdict(a), attrs.asdict(b)
    da.pop("out"), db.pop("out")
    assert da == db


def capture_gz(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.write_bytes(gzip.compress(("\n".join(lines) + end).encode("utf-8")))
    return path


def odd_bbo(recv: int) -> list[dict[str, Any]]:
    ms = recv // 10**6
    lvl = {"px": "105055.0", "sz": "1.5", "n": 3}
    return [
        {"coin": "BTC", "time": ms, "bbo": [lvl, lvl]},
        {"coin": "BTC", "time": ms, "bbo": [None, None]},
        {"coin": "BTC", "time": True, "bbo": [lvl, None]},
        {"coin": "BTC", "time": float(ms), "bbo": [lvl, None]},
        {"coin": "BTC", "time": -1, "bbo": [lvl, None]},
        {"coin": "BTC", "time": ms, "bbo": [lvl, None, None]},
        {"coin": "BTC", "time": ms, "bbo": [lvl]},
        {"coin": "", "time": ms, "bbo": [lvl, None]},
        {"coin": "BTC", "time": ms, "bbo": [{"px": 105055.0, "sz": "1"}, None]},
        {"coin": "BTC", "time": ms, "bbo": [{"px": "inf", "sz": "1"}, None]},
        {"coin": "BTC", "time": ms, "bbo": [{"px": "1e400", "sz": "1"}, None]},
        {"coin": "BTC", "time": ms, "bbo": [{"px": "-1", "sz": "1"}, None]},
        {"coin": "BTC", "time": ms, "bbo": [{"px": "x", "sz": "1"}, None]},
        {"coin": "BTC", "time": ms, "bbo": [{"sz": "1"}, None]},
        {"coin": "BTC", "time": ms, "bbo": [[1, 2], None]},
        {"coin": "BTC", "time": ms, "bbo": "none", "extra": {"a": [1]}},
        {"coin": "BTC", "time": ms, "bbo": [{"px": " 1_0.5 ", "sz": "1"}, None]},
    ]


def odd_ctx() -> list[dict[str, Any]]:
    full = {
        "markPx": "105050.0",
        "oraclePx": "105049.0",
        "midPx": "105051.5",
        "funding": "-0.0000125",
        "premium": "0.0001",
        "openInterest": "1234.5",
        "dayNtlVlm": "1.0e9",
        "impactPxs": ["1", "2"],
    }
    return [
        full,
        {**full, "midPx": None, "premium": None},
        {k: v for k, v in full.items() if k != "dayNtlVlm"},
        {**full, "funding": None},
        {k: v for k, v in full.items() if k != "oraclePx"},
        {**full, "markPx": 105050.0},
        {**full, "markPx": "nan"},
        {**full, "openInterest": 7},
        {**full, "markPx": True},
        {**full, "funding": "0"},
    ]


def odd_lines() -> list[str]:
    """The BTC sample with every kind of line the scanner must decline mixed in: bad
    lines (problems), lines the reference reads fine in shapes the scanner does not take,
    other channels and coins, repairs, duplicates."""
    lines = list(BTC_LINES)
    book_line = next(x for x in lines if '"l2Book"' in x)
    trade_line = next(x for x in lines if '"trades"' in x and x.count('"tid"') > 1)
    recv = int(book_line[:19])
    book = json.loads(book_line[20:])
    trades = json.loads(trade_line[20:])

    def at(k: int, msg: Any, raw: bool = False) -> str:
        return f"{recv + k * 1000} " + (msg if raw else json.dumps(msg, separators=(",", ":")))

    def book_with(f: Any) -> dict[str, Any]:
        m = json.loads(json.dumps(book))
        f(m["data"])
        return m

    def trades_with(f: Any) -> dict[str, Any]:
        m = json.loads(json.dumps(trades))
        f(m["data"])
        return m

    def swap_bids(d: dict[str, Any]) -> None:
        b = d["levels"][0]
        b[1], b[2] = b[2], b[1]

    def level(d: dict[str, Any], key: str, value: Any) -> None:
        d["levels"][1][0][key] = value

    def first_trade(key: str, value: Any) -> Any:
        def f(d: list[dict[str, Any]]) -> None:
            if value is KeyError:
                d[0].pop(key)
            else:
                d[0][key] = value

        return f

    extra: list[str] = [
        "12345 not a capture line",
        at(1, '{"channel":"l2Book","data":{"coin":"BTC"', raw=True),
        at(2, '{"channel":"candle","data":{}}', raw=True),
        at(3, {"channel": "pong"}),
        at(
            4,
            {
                "channel": "bbo",
                "data": {
                    "coin": "BTC",
                    "time": recv // 10**6,
                    "bbo": [{"px": "105055.0", "sz": "1.5", "n": 3}, None],
                },
            },
        ),
        at(
            5,
            {
                "channel": "activeAssetCtx",
                "data": {
                    "coin": "BTC",
                    "ctx": {
                        "markPx": "105050.0",
                        "oraclePx": "105049.0",
                        "midPx": "105051.5",
                        "funding": "0.0000125",
                        "premium": None,
                        "openInterest": "1234.5",
                        "dayNtlVlm": "1.0e9",
                    },
                },
            },
        ),
        book_line[:20] + book_line[20:].replace('"coin":"BTC"', '"coin":"ETH"'),
        at(6, {"channel": "trades", "data": []}),
        trade_line,  # a replay: every trade a duplicate
        at(7, book_with(swap_bids)),
        at(8, book_with(lambda d: level(d, "px", "0.0"))),
        at(9, book_with(lambda d: level(d, "px", 105056.0))),  # a JSON number: fine
        at(10, book_with(lambda d: level(d, "sz", "1e-3"))),  # float() reads it
        at(11, book_with(lambda d: level(d, "sz", "0.12345678901234567891"))),  # 20 digits
        at(12, book_with(lambda d: level(d, "sz", " 1.5"))),  # float() strips it
        at(13, book_with(lambda d: level(d, "n", True))),
        at(14, book_with(lambda d: level(d, "n", 2.0))),
        at(15, book_with(lambda d: level(d, "n", 2**31))),
        at(16, book_with(lambda d: d.update(extra=1))),  # an unknown key: ignored
        at(17, book_with(lambda d: d["levels"][0].clear())),  # an empty side
        f"{recv + 18000} " + json.dumps(book),  # spaces after separators
        at(19, json.dumps(book).replace('"BTC"', '"B\\u0054C"'), raw=True),
        at(20, json.dumps(book, separators=(",", ":")) + " trailing", raw=True),
        at(21, book_with(lambda d: d.update(time=(recv // 10**6) + 60_000))),  # ts > recv
        f"{recv - 10**9} " + book_line[20:],  # recv goes backwards
        "",
        "   ",
        at(22, book_with(lambda d: None)) + "\r",  # a CRLF line
        at(23, trades_with(first_trade("side", "X"))),
        at(24, trades_with(first_trade("tid", -1))),
        at(25, trades_with(first_trade("hash", None))),
        at(26, trades_with(first_trade("hash", KeyError))),
        at(27, trades_with(first_trade("users", KeyError))),
        at(28, trades_with(first_trade("time", 1.5))),
        at(29, trades_with(first_trade("tid", 2**63))),
        at(30, trades_with(first_trade("px", "105056.00"))),
        at(31, json.dumps(book, separators=(",", ":"))[:-1] + ',"x":1}', raw=True),
        at(
            32,
            '{"channel":"l2Book","data":{"coin":"BTC","coin":"BTC","levels":[[],[]],"time":1}}',
            raw=True,
        ),
        f"{recv + 33000}x" + book_line[20:],
        *(at(34 + i, {"channel": "bbo", "data": data}) for i, data in enumerate(odd_bbo(recv))),
        *(
            at(60 + i, {"channel": "activeAssetCtx", "data": {"coin": "BTC", "ctx": c}})
            for i, c in enumerate(odd_ctx())
        ),
        at(
            90,
            '{"channel":"bbo","data":{"coin":"BTC","time":1,"time":2,"bbo":[null,null]}}',
            raw=True,
        ),
        "9" * 19 + " " + book_line[20:],  # a receive time past int64
    ]
    # interleave: an odd line after every good one, then the rest of the sample
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i < len(extra):
            out.append(extra[i])
    return out + extra[len(lines) :]


def test_sample_capture_same_journal(tmp_path: Path) -> None:
    fast, _ = both([BTC_CAPTURE], tmp_path)
    assert fast.rows == {"book": 46, "trades": 64} and fast.n_problems == 0


def test_odd_lines_give_the_reference_rows_and_problems(tmp_path: Path) -> None:
    path = capture_gz(tmp_path / "odd.gz", odd_lines())
    fast, _ = both([path], tmp_path)
    assert fast.n_problems >= 15  # the bad lines were problems, not silently scanned
    assert fast.rows.keys() == {"book", "trades", "bbo", "asset_ctx"}
    assert fast.repairs["duplicate_trades"] > 0 and fast.repairs["recv_backwards"] > 0
    assert fast.repairs["ts_after_recv"] >= 1
    assert fast.skipped  # pong, empty trades, the ETH row


def test_odd_lines_with_asset_and_cut_short(tmp_path: Path) -> None:
    lines = odd_lines()
    path = capture_gz(tmp_path / "odd.gz", lines, end="")  # no newline at the end
    both([path], tmp_path / "btc", asset="BTC")
    cut = capture_gz(tmp_path / "cut.gz", [*lines, BTC_LINES[3][:90]], end="")
    fast, _ = both([cut], tmp_path / "cut")
    assert fast.broken and "cut short" in fast.broken[0].message
    fast, _ = both([path], tmp_path / "eth", asset="ETH")
    assert fast.rows == {"book": 1}


def test_plain_text_capture(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_text("\n".join(odd_lines()) + "\n")
    both([path], tmp_path)


def synth_capture(tmp_path: Path) -> Path:
    if not SYNTH.exists():
        pytest.skip(f"{SYNTH} (the shared capture generator) is not here")
    out = tmp_path / "synth.gz"
    subprocess.run(
        [sys.executable, str(SYNTH), "--hours", "0.25", "--seed", "3", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_generated_capture_same_journal(tmp_path: Path) -> None:
    path = synth_capture(tmp_path)
    fast, _ = both([path], tmp_path)
    assert fast.rows["book"] == 1623 and fast.n_problems == 0


@pytest.mark.parametrize("block", [fastimport.GZ_BLOCK, 4096])
def test_broken_gzip_stops_where_the_reference_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Cut short, corrupt, a wrong checksum or length, extra members, padding, garbage:
    the same rows, the same problem (line, byte, error) as the reference reader."""
    monkeypatch.setattr(fastimport, "GZ_BLOCK", block)  # small blocks: many hand-overs
    text = ("\n".join(odd_lines()) + "\n").encode()
    data = gzip.compress(text)
    half = len(text) // 2
    corrupt = bytearray(data)
    for i in range(len(data) // 2, len(data) // 2 + 40):
        corrupt[i] ^= 0xFF
    crc = bytearray(data)
    crc[-8] ^= 1
    size = bytearray(data)
    size[-4] ^= 1
    variants = {
        "cut": data[: len(data) // 2],
        "cut_late": data[:-3],
        "corrupt": bytes(corrupt),
        "crc": bytes(crc),
        "length": bytes(size),
        "members": gzip.compress(text[:half]) + gzip.compress(text[half:]),
        "padding": data + b"\0" * 64,
        "garbage": data + b"not gzip",
    }
    for name, blob in variants.items():
        path = tmp_path / f"{name}.gz"
        path.write_bytes(blob)
        fast, _ = both([path], tmp_path / name)
        if name in ("cut", "cut_late", "corrupt", "crc", "length", "garbage"):
            assert fast.broken, name


def test_compiled_and_interpreted_scanner_same_journal(tmp_path: Path) -> None:
    """``MM_KERNEL=python`` runs the scanner's Python source; it writes the journal the
    compiled scanner writes (and that the reference path writes)."""

    if framework.kernel.status().get("hlscan") != "compiled":
        pytest.skip("the kernel is not compiled here (build it: setup.py build_ext --inplace)")
    path = capture_gz(tmp_path / "odd.gz", odd_lines() * 3)
    import_recordings([path], tmp_path / "compiled")
    code = (
        "import sys, framework.kernel;"
        "from framework.recordings.importer import import_recordings;"
        "import_recordings([sys.argv[1]], sys.argv[2]);"
        "print(framework.kernel.status()['hlscan'])"
    )
    env = {**os.environ, "MM_KERNEL": "python"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "interpreted")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert out.stdout.strip() == "interpreted"
    assert_same_journal(tmp_path / "compiled", tmp_path / "interpreted")


# -- the scanner's pieces ------------------------------------------------------------------
def test_decimal_strings_read_as_float_reads_them() -> None:
    """Every decimal string the scanner takes gives ``float(text)``, bit for bit; the
    rest it declines."""
    rng = random.Random(7)
    sc = Scanner()
    taken = 0
    for _ in range(200_000):
        whole = str(rng.randrange(10 ** rng.randrange(1, 13)))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 12)))
        text = whole + ("." + frac if frac or rng.random() < 0.1 else "")
        got = sc.decimal(text.encode())
        if got is None:
            digits = text.replace(".", "")
            # declined: past 2**53 (or 18 digits), zero, or "1." (float() reads it)
            assert int(digits) > 2**53 or len(digits) > 18 or float(text) == 0.0 or text[-1] == "."
            continue
        taken += 1
        assert got == float(text) and got.hex() == float(text).hex(), text
    assert taken > 150_000
    for text in [
        "",
        ".5",
        "1.",
        "1e5",
        "-1",
        "+1",
        " 1",
        "1_0",
        "0",
        "0.000",
        "inf",
        "nan",
        "1.2.3",
        "9007199254740993",
        "0" * 19 + "1",
    ]:
        assert sc.decimal(text.encode()) is None, text
    assert sc.decimal(b"9007199254740992") == 9007199254740992.0  # 2**53: still exact


def test_trade_dedup_window_matches_the_reference() -> None:
    rng = random.Random(11)
    ours, ref = Scanner(window=50), TradeDedup(window=50)
    for _ in range(20_000):
        tid, ts = rng.randrange(120), rng.randrange(3) * 10**6
        assert ours.is_duplicate("BTC", tid, ts) == ref.is_duplicate("BTC", tid, ts)
    assert ours.duplicates == ref.duplicates > 0


def test_corrupt_input_never_scanned_silently(tmp_path: Path) -> None:
    """Flip single bytes of good lines: whatever the reference makes of each (a problem,
    or a different but valid row), the fast path makes the same."""
    rng = random.Random(5)
    lines = list(BTC_LINES)
    out = []
    for _ in range(300):
        line = bytearray(rng.choice(lines).encode())
        i = rng.randrange(20, len(line))
        line[i] = rng.choice(b'0123456789.,:{}[]"-eE xAB\\')
        out.append(line.decode("latin-1"))
    path = tmp_path / "flips.gz"
    path.write_bytes(gzip.compress(("\n".join(out) + "\n").encode("latin-1")))
    both([path], tmp_path)


def test_other_channels_read_with_msgspec() -> None:
    """Well-formed bbo/activeAssetCtx lines are read by msgspec, not the reference
    parser (their rows are compared with the reference's in the journal tests)."""
    lines = [x.encode() for x in odd_lines() if '"bbo"' in x or '"activeAssetCtx"' in x]
    read = [fastimport._other_channel(x) for x in lines]
    assert sum(r is not None for r in read) >= 5
    assert sum(r is None for r in read) >= 10


def test_zlib_stream_of_the_generator_is_gzip() -> None:
    """The fast reader inflates with zlib's gzip mode: a sanity check of that mode on the
    sample (header, members, CRC), independent of the importer."""
    d = zlib.decompressobj(31)
    assert d.decompress(BTC_CAPTURE.read_bytes()).decode().splitlines() == BTC_LINES
    assert d.eof
