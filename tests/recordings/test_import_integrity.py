"""An import never marks a broken file as clean (through the CLI: exit code, message, disk).

Broken = a compressed stream cut short or corrupt (gzip, lz4) or a last line cut short:
exit 1, one ``error:`` line naming the file and where reading stopped, the rows before
the break kept, the manifest's ``stats.broken_files`` naming the file.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import lz4.frame
import pytest
from typer.testing import CliRunner

from cli import app
from framework.journal import JournalReader
from tests.conftest import BTC_CAPTURE

runner = CliRunner()
CAPTURE = BTC_CAPTURE.read_bytes()
TEXT = gzip.decompress(CAPTURE)


def _run(*args: str):
    return runner.invoke(app, ["import", *args])


def _corrupt(data: bytes, at: int, how: str) -> bytes:
    """50 bytes from ``at`` flipped (``xor``) or zeroed (``zero``)."""
    b = bytearray(data)
    for i in range(at, at + 50):
        b[i] = b[i] ^ 0xFF if how == "xor" else 0
    return bytes(b)


def _error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def _assert_broken(out: Path, path: Path, min_books: int = 1) -> dict:
    """The journal is closed, counts the problem, names the file, keeps the early rows."""
    reader = JournalReader(out)
    m = reader.manifest
    assert m.closed
    assert m.stats["problems"] >= 1
    assert len(m.stats["broken_files"]) == 1
    assert m.stats["broken_files"][0].startswith(f"{path}:")
    rows = m.stats["rows"]
    assert min_books <= rows.get("book", 0) < 46
    return rows


@pytest.mark.parametrize(
    ("at", "how", "cause"),
    [
        # the case: 50 bytes flipped mid-file; gzip notices at the end (CRC)
        (len(CAPTURE) // 2, "xor", "BadGzipFile: CRC check failed"),
        # 50 zeroed bytes a little earlier: zlib stops mid-stream (the raw traceback before)
        (len(CAPTURE) // 2 - 580, "zero", "zlib.error: Error -3 while decompressing data"),
    ],
)
def test_corrupt_gzip_exits_1_names_file_and_line_and_keeps_rows(
    tmp_path: Path, at: int, how: str, cause: str
) -> None:
    path = tmp_path / "corrupt.gz"
    path.write_bytes(_corrupt(CAPTURE, at, how))
    out = tmp_path / "j"
    res = _run(str(path), "--out", str(out))
    assert res.exit_code == 1, res.output
    line = _error_line(res.stderr)
    assert line.startswith(f"error: {path}:")
    assert "reading stopped at line " in line and "of the decompressed content" in line
    assert cause in line
    assert f"{out} holds the rows read before the break" in line
    assert "BROKEN FILE" in res.stdout
    _assert_broken(out, path)


def test_truncated_gzip_exits_1_and_keeps_the_lines_before(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(CAPTURE[: len(CAPTURE) // 2])
    out = tmp_path / "j"
    res = _run(str(path), "--out", str(out), "--strict")
    assert res.exit_code == 1
    line = _error_line(res.stderr)
    assert "the file is cut short (truncated)" in line
    stopped = int(line.split("reading stopped at line ")[1].split()[0])
    rows = _assert_broken(out, path)
    # every complete line before the break was imported, nothing after it
    books_before = sum(
        1 for raw in TEXT.splitlines()[: stopped - 1] if b'"channel":"l2Book"' in raw
    )
    assert rows["book"] == books_before


def test_plain_capture_cut_mid_line_exits_1(tmp_path: Path) -> None:
    lines = TEXT.splitlines()
    path = tmp_path / "cut.txt"
    path.write_bytes(b"\n".join(lines[:10]) + b"\n" + lines[10][:100])
    res = _run(str(path), "--out", str(tmp_path / "j"))
    assert res.exit_code == 1
    assert "line is cut short" in _error_line(res.stderr)
    m = JournalReader(tmp_path / "j").manifest
    assert m.stats["broken_files"][0].startswith(f"{path}:11: ")
    assert m.stats["messages"] == 10


def _archive(root: Path, channel: str, lines: list[bytes]) -> Path:
    d = root / "market_data" / "20250126" / "19" / channel
    d.mkdir(parents=True)
    path = d / "BTC.lz4"
    with lz4.frame.open(path, "wb", content_checksum=True) as fh:
        fh.write(b"".join(lines))
    return path


def _archive_lines(channel: str) -> list[bytes]:
    out = []
    for raw in TEXT.splitlines():
        recv, msg = int(raw[:19]), json.loads(raw[20:])
        if msg["channel"] == channel:
            s, ns = divmod(recv, 10**9)
            iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ns:09d}"
            out.append(json.dumps({"time": iso, "ver_num": 1, "raw": msg}).encode() + b"\n")
    return out


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_broken_lz4_archive_file_exits_1_and_the_other_files_import(
    tmp_path: Path, damage: str
) -> None:
    books = _archive(tmp_path, "l2Book", _archive_lines("l2Book"))
    _archive(tmp_path, "trades", _archive_lines("trades"))
    data = books.read_bytes()
    if damage == "truncated":
        books.write_bytes(data[: len(data) - 200])
    else:
        books.write_bytes(_corrupt(data, len(data) // 2, "xor"))
    out = tmp_path / "j"
    res = _run(str(tmp_path / "market_data"), "--out", str(out))
    assert res.exit_code == 1, res.output
    line = _error_line(res.stderr)
    assert line.startswith(f"error: {books}:")
    want = "cut short (truncated)" if damage == "truncated" else "compressed data is corrupt"
    assert want in line
    m = JournalReader(out).manifest
    assert m.stats["broken_files"][0].startswith(f"{books}:")
    assert m.stats["rows"]["trades"] == 64  # the sound trades file is imported in full


def test_gzip_corrupt_from_the_start_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(_corrupt(CAPTURE, 20, "xor"))
    res = _run(str(path), "--out", str(tmp_path / "j"))
    assert res.exit_code == 2
    line = _error_line(res.stderr)
    assert line.startswith("error: no readable recording among the inputs")
    assert f"{path}: reading stopped at line 1 (byte 0 of the decompressed content)" in res.stderr
    assert not (tmp_path / "j").exists()


def test_asset_absent_from_the_inputs_is_an_error_listing_the_coins(tmp_path: Path) -> None:
    out = tmp_path / "eth"
    res = _run(str(BTC_CAPTURE), "--out", str(out), "--asset", "ETH")
    assert res.exit_code == 2
    assert _error_line(res.stderr) == (
        "error: --asset ETH: the inputs hold no ETH rows; coins present: BTC (110 rows); "
        "pass one of them to --asset; nothing was written"
    )
    assert not out.exists()
    # the same --out works once the right coin is given
    assert _run(str(BTC_CAPTURE), "--out", str(out), "--asset", "BTC").exit_code == 0


def test_inputs_without_market_rows_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "acks.txt"
    ack = {"channel": "subscriptionResponse", "data": {"method": "subscribe"}}
    path.write_text(f"1737918843893903000 {json.dumps(ack)}\n")
    res = _run(str(path), "--out", str(tmp_path / "j"))
    assert res.exit_code == 2
    assert "no market rows in the inputs: 1 message(s) read" in _error_line(res.stderr)
    assert not (tmp_path / "j").exists()
