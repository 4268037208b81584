"""Fuzz the capture-line parser, the archive-line parser and the file reader behind them.

Each gives ``(recv_ts, message)`` / rows, or its documented error (``LineError`` for a
line, a ``broken`` problem for a file), never another exception; and never a wrong row:
a line whose used fields a mutation did not touch parses to the reference rows, and an
lz4 file written with block checksums yields only lines equal to the original's.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import lz4.frame
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.journal import JournalReader
from framework.recordings import archive, capture
from framework.recordings.errors import LineError, MessageError, RecordingError
from framework.recordings.importer import _Problems, import_recordings, read_lines
from framework.recordings.messages import parse_ws_message
from tests.fuzz.mutate import changed_paths, index, mutate_bytes, mutate_doc, touches
from tests.fuzz.rows import I64, check_rows, used_paths
from tests.fuzz.samples import archive_line, capture_lines, iso

FAST = settings(max_examples=150, deadline=None, derandomize=True)
LONG = settings(max_examples=5_000, deadline=None)
#: Text a mutation may splice into a line: digit runs past Python's int-parsing limit,
#: deep nesting, escapes of unencodable characters.
SPLICES = [b"9" * 5000, b"[" * 5000, b'"\\ud800"', b"\\u0000", b"NaN", b"1e999", b"\xff\xfe"]


def _rows_or_none(msg: Any, recv: int) -> list | None:
    try:
        rows = parse_ws_message(msg, recv)
    except MessageError:
        return None
    check_rows(rows)
    return rows


def _splice(data: st.DataObject, raw: bytes) -> bytes:
    i = index(data, len(raw))
    return raw[:i] + data.draw(st.sampled_from(SPLICES)) + raw[i:]


# -- capture lines -------------------------------------------------------------------------
def _capture_line(data: st.DataObject) -> tuple[bytes, bytes]:
    """(reference line, its mutation)."""
    ref = data.draw(st.sampled_from(capture_lines()), label="line")
    how = data.draw(st.sampled_from(["bytes", "json", "splice", "random"]), label="how")
    if how == "bytes":
        return ref, mutate_bytes(data, ref)
    if how == "splice":
        return ref, _splice(data, ref)
    if how == "random":
        return ref, data.draw(st.binary(max_size=80))
    msg = json.loads(ref[20:])
    mutated = mutate_doc(data, msg, focus=used_paths(msg))
    prefix = ref[:20]
    if data.draw(st.booleans()):
        prefix = str(data.draw(st.integers(0, 10**19 - 1))).zfill(19).encode() + b" "
    return ref, prefix + json.dumps(mutated).encode()


def check_capture_line(data: st.DataObject) -> None:
    ref, line = _capture_line(data)
    last = data.draw(st.booleans(), label="last")
    try:
        recv, msg = capture.parse_capture_line(line, last=last)
    except LineError as exc:
        assert last or type(exc).__name__ != "TruncatedLineError"
        return
    assert type(recv) is int and 0 <= recv < I64
    assert line[:19] == str(recv).zfill(19).encode()  # the prefix, as written
    rows = _rows_or_none(msg, recv)
    ref_msg = json.loads(ref[20:])
    if rows is not None and not touches(changed_paths(ref_msg, msg), used_paths(ref_msg)):
        assert rows == parse_ws_message(ref_msg, recv)


@FAST
@given(st.data())
def test_capture_line_parser(data: st.DataObject) -> None:
    check_capture_line(data)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@LONG
@given(st.data())
def test_capture_line_parser_long(data: st.DataObject) -> None:
    check_capture_line(data)


# -- archive lines -------------------------------------------------------------------------
_ISO_FIELDS = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?")


def _archive_line(data: st.DataObject) -> tuple[dict[str, Any], bytes]:
    """(reference envelope, mutated line)."""
    cap = data.draw(st.sampled_from(capture_lines()), label="line")
    env = {"time": iso(int(cap[:19])), "ver_num": 1, "raw": json.loads(cap[20:])}
    how = data.draw(st.sampled_from(["json", "time", "bytes", "splice"]), label="how")
    if how == "json":
        focus = [("time",), ("raw",)] + [("raw", *p) for p in used_paths(env["raw"])]
        return env, json.dumps(mutate_doc(data, env, focus=focus)).encode()
    if how == "time":  # a generated time text: any date, or an edit of the real one
        t = data.draw(
            st.datetimes().map(lambda d: d.isoformat())
            | st.from_regex(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,10})?Z?", fullmatch=True)
        )
        return env, json.dumps({**env, "time": t}).encode()
    raw = archive_line(int(cap[:19]), env["raw"])
    return env, mutate_bytes(data, raw) if how == "bytes" else _splice(data, raw)


def check_archive_line(data: st.DataObject) -> None:
    env, line = _archive_line(data)
    try:
        recv, msg = archive.parse_archive_line(line, last=data.draw(st.booleans()))
    except LineError:
        return
    assert type(recv) is int and -I64 <= recv < I64
    got = json.loads(line)
    if got["time"] == env["time"]:
        assert recv == archive.iso_to_ns(env["time"])
    else:  # an accepted time is a real calendar time, read field by field
        m = _ISO_FIELDS.match(got["time"])
        assert m is not None, got["time"]
        frac = (m.group(7) or "").ljust(9, "0")
        assert iso(recv)[:19].replace("T", " ") == " ".join(
            [f"{m.group(1)}-{m.group(2)}-{m.group(3)}", ":".join(m.groups()[3:6])]
        )
        assert iso(recv)[20:] == frac
    rows = _rows_or_none(msg, recv)
    if rows is not None and not touches(changed_paths(env["raw"], msg), used_paths(env["raw"])):
        assert rows == parse_ws_message(env["raw"], recv)


@FAST
@given(st.data())
def test_archive_line_parser(data: st.DataObject) -> None:
    check_archive_line(data)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@LONG
@given(st.data())
def test_archive_line_parser_long(data: st.DataObject) -> None:
    check_archive_line(data)


# -- files ---------------------------------------------------------------------------------
def _reference_lines(fmt: str) -> list[bytes]:
    lines = list(capture_lines()[:12])
    if fmt == "archive":
        lines = [archive_line(int(x[:19]), json.loads(x[20:])) for x in lines]
    return lines


def _encode(text: bytes, codec: str) -> bytes:
    if codec == "gzip":
        return gzip.compress(text, mtime=0)
    if codec == "lz4":  # block and content checksums: corruption is always detected
        return lz4.frame.compress(text, block_checksum=True, content_checksum=True)
    return text


#: Bytes of an lz4 frame header as written above (magic, FLG, BD, header checksum).
LZ4_HEADER = 7


def check_file(data: st.DataObject, tmp: Path) -> None:
    fmt = data.draw(st.sampled_from(["capture", "archive"]), label="format")
    codec = data.draw(st.sampled_from(["plain", "gzip", "lz4"]), label="codec")
    ref = _reference_lines(fmt)
    blob = _encode(b"\n".join(ref) + b"\n", codec)
    if codec == "lz4":  # the frame header's own checksum is one byte: leave it alone
        blob = blob[:LZ4_HEADER] + mutate_bytes(data, blob[LZ4_HEADER:])
    else:
        blob = mutate_bytes(data, blob)
    path = tmp / f"f.{codec}"
    path.write_bytes(blob)
    problems = _Problems()
    got = list(read_lines(path, fmt, 0, problems))
    assert len(problems.broken) <= 1
    for recv, _order, line_no, msg in got:
        assert type(recv) is int and line_no >= 1
        if codec == "lz4" and len(blob) > LZ4_HEADER:
            # checksummed: whatever is yielded is the original line at that number
            parse = capture.parse_capture_line if fmt == "capture" else archive.parse_archive_line
            assert (recv, msg) == parse(ref[line_no - 1])


def check_import(data: st.DataObject, tmp: Path) -> None:
    """The whole import on a mutated file: a result or a RecordingError, and the journal
    it leaves says whether a file broke."""
    check_file(data, tmp)
    (path,) = tmp.glob("f.*")
    out = tmp / "j"
    try:
        result = import_recordings([path], out)
    except RecordingError:
        assert not out.exists()
        return
    stats = JournalReader(out).manifest.stats
    assert stats["problems"] == result.n_problems
    assert (
        len(stats["broken_files"]) == len(result.broken) == sum(p.broken for p in result.problems)
    )


@FAST
@given(data=st.data())
def test_file_reader(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    check_file(data, tmp_path_factory.mktemp("f"))


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_import_of_mutated_files(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_import(data, tmp_path_factory.mktemp("i"))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@LONG
@given(data=st.data())
def test_import_of_mutated_files_long(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_import(data, tmp_path_factory.mktemp("i"))


# -- what the fuzzers found (each raised, or gave an unstorable time, before its fix) -----
@pytest.mark.parametrize(
    ("line", "error"),
    [
        # a 19-digit prefix past int64 ns: OverflowError at the writer
        (b"9737918843893903000 {}", "past 2262-04-11"),
        # nesting past the decoder's limit: RecursionError (and the importer took it for a
        # broken compressed stream, dropping the rest of the file)
        (b"1737918843893903000 " + b"[" * 5000, "nested deeper"),
        # an integer of 5000 digits: ValueError from int()
        (b"1737918843893903000 " + b"9" * 5000, "invalid JSON"),
    ],
)
def test_capture_line_findings(line: bytes, error: str) -> None:
    with pytest.raises(LineError, match=error):
        capture.parse_capture_line(line)


@pytest.mark.parametrize(
    "text",
    [
        "2263-01-01T00:00:00",  # past int64 ns
        "1969-01-01T00:00:00",  # a negative receive time
        "2026-02-31T00:00:00",  # timegm rolled it to 3 March
        "2026-04-01T00:00:60",  # a leap second: rolled to the next minute
        "\ud800",  # UnicodeEncodeError from text.encode()
    ],
)
def test_archive_time_findings(text: str) -> None:
    with pytest.raises(LineError, match="envelope time"):
        archive.iso_to_ns(text)
