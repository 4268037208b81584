"""Naming and listing of Parquet parts, and what a part's footer says about its journal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs

_PART = re.compile(r"^part-(\d{20})-(\d{20})\.parquet$")


@attrs.frozen
class Part:
    """One part file and the seq range its name promises."""

    path: Path
    first: int
    last: int


def part_name(first_seq: int, last_seq: int) -> str:
    return f"part-{first_seq:020d}-{last_seq:020d}.parquet"


def parse_part(path: Path) -> Part | None:
    """The part ``path`` names, or None when its name is not a part name."""
    m = _PART.match(path.name)
    return Part(path, int(m.group(1)), int(m.group(2))) if m else None


def list_parts(directory: Path) -> list[Part]:
    """The parts of one table in seq order.

    Hidden temp files (a crash mid-write) are ignored, and so is any part whose seq
    range lies inside another's (a crash between writing a compacted part and deleting
    the parts it replaced).
    """
    if not directory.is_dir():
        return []
    found = [part for p in directory.iterdir() if (part := parse_part(p)) is not None]
    found.sort(key=lambda p: (p.first, -p.last))
    kept: list[Part] = []
    for p in found:
        if kept and p.last <= kept[-1].last:
            continue  # covered by the compacted part before it
        kept.append(p)
    return kept


#: Footer key-value entry in which the writer says where a part stands in its journal.
META_KEY = b"framework.journal"


@attrs.frozen
class PartMeta:
    """What a part's footer says about its place in the journal that wrote it.

    ``journal`` identifies the writing session (its manifest's ``created_ns``): a part
    linked in from another journal carries that journal's id.  ``rows_before`` is how
    many rows its table held before it, so a deleted earlier part shows as a gap even
    in a journal that was never closed.  ``durable_seq`` is the seq up to which every
    table of the journal was on disk once this part was (None: its writer could not
    tell, because rows were not appended in seq order).
    """

    journal: str
    rows_before: int
    durable_seq: int | None

    def encode(self) -> dict[bytes, bytes]:
        data = {"journal": self.journal, "rows_before": self.rows_before}
        data["durable_seq"] = self.durable_seq
        return {META_KEY: json.dumps(data, sort_keys=True).encode()}

    @classmethod
    def decode(cls, kv: dict[bytes, bytes] | None) -> PartMeta | None:
        """The meta of a footer's key-value metadata; None for parts written before it
        existed (or whose entry is unreadable: the check then knows less, nothing worse)."""
        raw = (kv or {}).get(META_KEY)
        if raw is None:
            return None
        try:
            d = json.loads(raw)
            durable = d["durable_seq"]
            return cls(
                str(d["journal"]), int(d["rows_before"]), None if durable is None else int(durable)
            )
        except (ValueError, KeyError, TypeError):
            return None
