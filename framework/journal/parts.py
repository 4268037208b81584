"""Naming and listing of Parquet parts."""

from __future__ import annotations

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
