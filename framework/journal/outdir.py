"""Whether a directory can take a new journal (every command's ``--out`` check).

A new journal goes into a directory that does not exist yet or holds no journal: no
manifest, no table parts, no write-ahead log.  Parts without a manifest are a journal
whose ``session.json`` was lost or deleted; writing a new session over them mixed its
rows with theirs, under a manifest that described only the new one.
"""

from __future__ import annotations

from pathlib import Path

from framework.events.schema import KIND_BY_NAME
from framework.journal.manifest import MANIFEST_NAME
from framework.journal.parts import list_parts
from framework.journal.wal import WAL_NAME


def occupied(out: Path | str) -> str | None:
    """Why ``out`` cannot take a new journal, or None when it can.

    The reason completes ``"--out {out}: ..."`` and says what to do.
    """
    out = Path(out)
    if not out.exists():
        return None
    if not out.is_dir():
        return "is a file, not a directory; choose a directory for the journal"
    if (out / MANIFEST_NAME).exists():
        return "already holds a journal; choose a new directory"
    if (out / WAL_NAME).exists() or any(list_parts(out / name) for name in KIND_BY_NAME):
        return (
            f"holds journal tables but no {MANIFEST_NAME} (a journal whose manifest was lost "
            f"or deleted); choose a new directory, or delete {out} to reuse it"
        )
    return None
