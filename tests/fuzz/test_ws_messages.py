"""Fuzz the WS market-data parser (framework/recordings/messages.py; the live client and
recorder use it too): rows that fit the journal, or a MessageError, nothing else; and a
message whose used fields a mutation did not touch gives exactly the reference rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.recordings.errors import MessageError
from framework.recordings.messages import CHANNEL_KIND, SKIPPED_CHANNELS, parse_ws_message
from tests.fuzz.mutate import changed_paths, json_values, mutate_doc, touches
from tests.fuzz.rows import I64, check_rows, used_paths
from tests.fuzz.samples import by_channel

CHANNELS = sorted(CHANNEL_KIND) + sorted(SKIPPED_CHANNELS)
RECV = st.integers(0, I64 - 1)


def parse(msg: object, recv: int) -> list | None:
    """The rows, or None for the documented error."""
    try:
        rows = parse_ws_message(msg, recv)
    except MessageError:
        return None
    check_rows(rows)
    return rows


def mutated(data: st.DataObject) -> None:
    channel = data.draw(st.sampled_from(sorted(by_channel())), label="channel")
    ref = data.draw(st.sampled_from(by_channel()[channel]), label="reference")
    recv = data.draw(RECV, label="recv_ts")
    want = parse_ws_message(ref, recv)
    used = used_paths(ref)
    msg = mutate_doc(data, ref, focus=used)
    got = parse(msg, recv)
    if got is not None and not touches(changed_paths(ref, msg), used):
        assert got == want  # untouched fields: the reference rows, exactly


def generated(data: st.DataObject) -> None:
    msg = data.draw(
        json_values()
        | st.fixed_dictionaries(
            {"channel": st.sampled_from(CHANNELS), "data": json_values(max_leaves=12)}
        )
    )
    parse(msg, data.draw(RECV))


def run(data: st.DataObject) -> None:
    if data.draw(st.integers(0, 3), label="mode"):
        mutated(data)
    else:
        generated(data)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.data())
def test_ws_message_parser(data: st.DataObject) -> None:
    run(data)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(max_examples=5_000, deadline=None)
@given(st.data())
def test_ws_message_parser_long(data: st.DataObject) -> None:
    run(data)


# -- what the fuzzer found: each raised something other than MessageError, or gave a row
# -- the journal cannot hold, before its fix (framework/recordings/messages.py)
def _trade(**fields: object) -> dict:
    t = {"coin": "BTC", "side": "B", "px": "1.0", "sz": "1.0", "tid": 1, "time": 1, **fields}
    return {"channel": "trades", "data": [t]}


def _book(**fields: object) -> dict:
    lv = [[{"px": "2.0", "sz": "1.0", "n": 1}], [{"px": "3.0", "sz": "1.0", "n": 1}]]
    return {"channel": "l2Book", "data": {"coin": "BTC", "time": 1, "levels": lv, **fields}}


@pytest.mark.parametrize(
    "msg",
    [
        _trade(side=[]),  # TypeError: unhashable type: 'list'
        _trade(sz=10**400),  # OverflowError: int too large to convert to float
        _trade(tid=-1),  # a trade id the venue never sends, journaled as is
        _trade(tid=2**63),  # OverflowError at the writer (int64 column)
        _trade(time=2**63 // 1_000_000 + 1),  # ts in ns past int64
        _trade(coin="\ud800"),  # UnicodeEncodeError at the writer
        _trade(hash="\udfff"),
        _book(levels=[[{"px": "2.0", "sz": "1.0", "n": 2**31}], []]),  # int32 column
    ],
)
def test_fuzzer_findings_are_message_errors(msg: dict) -> None:
    assert parse(msg, 0) is None
