"""A flush-behind writer (the recorder's): periodic parts written on the flush thread,
no write-ahead log, nothing lost when a part cannot be written."""

from __future__ import annotations

import time

import pytest

import framework.journal.writer as writer_mod
from framework.events import Kind
from framework.journal import JournalWriter, Manifest
from framework.journal.errors import JournalError
from tests.journal.test_wal import _parts_held, _seqs
from tests.stubs import trade_row


def _writer(root, **kw) -> JournalWriter:
    return JournalWriter(
        root, Manifest(mode="record", asset="X"), flush_behind=True, flush_interval_s=0.0, **kw
    )


def test_periodic_parts_are_written_on_the_flush_thread(tmp_path, monkeypatch):
    root = tmp_path / "j"
    w = _writer(root)
    for s in range(1, 11):
        w.append(Kind.TRADES, trade_row(s, s, 10.0))
    with _parts_held(monkeypatch) as threads:
        w.maybe_flush()  # hands rows 1..10 over and returns while their part is written
        for s in range(11, 16):
            w.append(Kind.TRADES, trade_row(s, s, 10.0))  # the caller goes on meanwhile
        assert _seqs(root, Kind.TRADES) == []
    w._reap(wait=True)
    assert threads == ["journal-flush_0"]
    assert _seqs(root, Kind.TRADES) == list(range(1, 11))
    assert not list(root.glob("wal.log*"))  # no log: a recorder never syncs
    w.close()
    assert _seqs(root, Kind.TRADES) == list(range(1, 16))


def test_the_size_bound_hands_over_too(tmp_path, monkeypatch):
    root = tmp_path / "j"
    w = JournalWriter(root, Manifest(mode="record", asset="X"), flush_behind=True, flush_rows=4)
    with _parts_held(monkeypatch) as threads:
        for s in range(1, 5):
            w.append(Kind.TRADES, trade_row(s, s, 10.0))  # the 4th reaches flush_rows
        for _ in range(500):  # the flush thread picks the job up
            if threads:
                break
            time.sleep(0.01)
        assert threads == ["journal-flush_0"]
    w.close()
    assert _seqs(root, Kind.TRADES) == [1, 2, 3, 4]


def test_a_failed_flush_keeps_its_rows_and_says_so(tmp_path, monkeypatch):
    root = tmp_path / "j"
    w = _writer(root)
    for s in range(1, 4):
        w.append(Kind.TRADES, trade_row(s, s, 10.0))
        w.append(Kind.CLOCK, (s * 10, s, s, "t"))
    real = writer_mod.write_part_atomic

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_mod, "write_part_atomic", full_disk)
    w.maybe_flush()
    w.append(Kind.TRADES, trade_row(4, 4, 10.0))
    with pytest.raises(JournalError, match=r"No space left on device.*rows are kept"):
        w._reap(wait=True)
    monkeypatch.setattr(writer_mod, "write_part_atomic", real)
    w.append(Kind.TRADES, trade_row(5, 5, 10.0))
    w.maybe_flush()  # the rows handed back go down with the new ones, in seq order
    w.close()
    assert _seqs(root, Kind.TRADES) == [1, 2, 3, 4, 5]
    assert _seqs(root, Kind.CLOCK) == [10, 20, 30]
