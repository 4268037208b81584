"""Adopting another journal's parts: hard links (or copies), kept out of compaction."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from framework.events import Kind
from framework.journal import JournalError, JournalReader, JournalWriter, Manifest, list_parts
from framework.journal import link as link_module
from framework.journal.manifest import MANIFEST_NAME, read_manifest
from tests.stubs import trade_row

S = 1_000  # a small stride: these tests only need gaps between the inputs


def _source(root: Path, n: int = 60, flush_rows: int = 7) -> Path:
    """A journal of ``n`` trades at seqs S, 2S, ... in many small parts (not compacted)."""
    w = JournalWriter(root, Manifest(mode="test", asset="X", seq_stride=S), flush_rows=flush_rows)
    for i in range(1, n + 1):
        w.append(Kind.TRADES, trade_row(i * S, 1_000 + i, 40.0))
    w.close(compact=False)
    return root


def test_adopted_parts_are_hard_links_kept_through_close(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    parts = list_parts(src / "trades")
    assert len(parts) > 5  # many small parts: compaction would merge them
    w = JournalWriter(tmp_path / "out", Manifest(mode="test", asset="X", seq_stride=S))
    assert w.adopt_parts(Kind.TRADES, [p.path for p in parts]) == 60
    for i in range(1, 60, 3):  # outputs between the inputs, in many small parts too
        quote = ("X", 40.0, 1.0, 41.0, 1.0, 40.5, 12.3, 0.0, 0.0, i * S)
        w.append(Kind.QUOTES, (i * S + 1, 1, 1, *quote))
        w.flush()
    w.close()
    out = list_parts(tmp_path / "out" / "trades")
    assert [p.path.name for p in out] == [p.path.name for p in parts]  # not compacted
    for a, b in zip(parts, out, strict=True):
        assert os.stat(a.path).st_ino == os.stat(b.path).st_ino
    assert len(list_parts(tmp_path / "out" / "quotes")) == 1  # the writer's own: compacted
    r = JournalReader(tmp_path / "out", strict=True)
    assert r.table(Kind.TRADES).equals(JournalReader(src).table(Kind.TRADES))
    assert r.manifest.stats["rows"]["trades"] == 60 and w.parts_linked == len(parts)
    seqs = [s for ch in r.merged([Kind.TRADES, Kind.QUOTES]) for s in ch.seqs]
    assert seqs == sorted(seqs) and len(seqs) == 60 + 20


def test_adopting_copies_when_a_hard_link_is_refused(tmp_path: Path, monkeypatch) -> None:
    src = _source(tmp_path / "src", flush_rows=100)
    (part,) = list_parts(src / "trades")

    def refuse(a, b):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(link_module.os, "link", refuse)
    w = JournalWriter(tmp_path / "out", Manifest(mode="test", asset="X"))
    w.adopt_parts(Kind.TRADES, [part.path])
    w.close()
    (copy,) = list_parts(tmp_path / "out" / "trades")
    assert (w.parts_linked, w.parts_copied) == (0, 1)
    assert os.stat(copy.path).st_ino != os.stat(part.path).st_ino
    assert copy.path.read_bytes() == part.path.read_bytes()
    assert not list((tmp_path / "out" / "trades").glob(".*"))  # no temp file left


def test_adopting_refuses_a_non_empty_table_bad_names_and_overlaps(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    parts = [p.path for p in list_parts(src / "trades")]
    w = JournalWriter(tmp_path / "a", Manifest(mode="test", asset="X"))
    w.append(Kind.TRADES, trade_row(5, 1, 40.0))
    with pytest.raises(JournalError, match="only be adopted into an empty table"):
        w.adopt_parts(Kind.TRADES, parts)
    w2 = JournalWriter(tmp_path / "b", Manifest(mode="test", asset="X"))
    with pytest.raises(JournalError, match="not a part name"):
        w2.adopt_parts(Kind.TRADES, [src / MANIFEST_NAME])
    with pytest.raises(JournalError, match="overlaps or precedes"):
        w2.adopt_parts(Kind.TRADES, [parts[1], parts[0]])
    assert not list_parts(tmp_path / "b" / "trades")  # nothing linked on refusal


def test_a_manifest_without_seq_stride_reads_as_not_strided(tmp_path: Path) -> None:
    JournalWriter(tmp_path, Manifest(mode="test", asset="X")).close()
    path = tmp_path / MANIFEST_NAME
    raw = json.loads(path.read_text())
    assert raw.pop("seq_stride") == 0
    path.write_text(json.dumps(raw))  # as written before strides existed
    assert read_manifest(tmp_path).seq_stride == 0
