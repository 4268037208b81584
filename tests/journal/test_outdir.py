"""Which directories can take a new journal (every command's --out check)."""

from __future__ import annotations

from framework.journal.manifest import MANIFEST_NAME
from framework.journal.outdir import occupied
from framework.journal.wal import WAL_NAME


def test_a_new_or_empty_directory_or_one_with_other_files_can(tmp_path):
    assert occupied(tmp_path / "new") is None
    assert occupied(tmp_path) is None
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "book").mkdir()  # an empty table directory (a start that failed)
    assert occupied(tmp_path) is None


def test_a_journal_a_file_a_wal_or_parts_cannot(tmp_path):
    j = tmp_path / "j"
    j.mkdir()
    (j / MANIFEST_NAME).write_text("{}")
    assert "already holds a journal" in occupied(j)
    f = tmp_path / "f"
    f.write_text("x")
    assert "is a file" in occupied(f)
    w = tmp_path / "w"
    w.mkdir()
    (w / WAL_NAME).write_bytes(b"")
    assert "no session.json" in occupied(w)
    p = tmp_path / "p"
    (p / "trades").mkdir(parents=True)
    (p / "trades" / "part-00000000000001000000-00000000000002000000.parquet").write_bytes(b"")
    why = occupied(p)
    assert "holds journal tables but no session.json" in why and f"delete {p}" in why
