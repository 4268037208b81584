"""Is a journal whole?  What a reader finds, against what its writer recorded.

A closed journal's manifest lists every part with its row count (``parts``; manifests
from before that list give ``stats["rows"]`` per table only).  A journal never closed
(its writer was killed, crashed, or is still writing) has no such list, but each part's
footer says how many rows its table held before it and up to which seq the whole
journal was on disk once it was written (:class:`~framework.journal.parts.PartMeta`).
Only directory listings and footers are read, never data: the footers are the ones
:meth:`JournalReader.parts` reads anyway, so a 24 h recording checks in milliseconds.

Each problem is one line naming the table, the rows expected and found, and the part
file; ``backtest`` refuses an incomplete recording, ``sql`` warns, ``replay --verify``
verifies the whole prefix of a journal that was never closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import attrs

from framework.events.schema import TABLES, Kind, spec
from framework.journal.parts import Part
from framework.journal.reader import JournalReader

__all__ = ["NEVER_CLOSED", "Completeness", "check_completeness"]

#: How the line about a journal that was never closed begins.
NEVER_CLOSED = "never closed (its writer was killed or crashed, or is still writing)"

#: Missing parts named one by one in a table's line; the rest are counted.
_NAMED = 3


@attrs.frozen
class Completeness:
    """What :func:`check_completeness` found.

    ``tables`` are the per-table problems, one line each.  For a journal that was never
    closed, ``durable_seq`` is the seq up to which every table is on disk (0: none of
    its writer's rows are; None: its parts do not say), and ``last_seq`` /
    ``last_recv_ts`` place its last row on disk.
    """

    root: Path
    closed: bool
    tables: tuple[str, ...]
    durable_seq: int | None = None
    last_seq: int | None = None
    last_recv_ts: int | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        """Every problem, one line each; that the journal was never closed first."""
        return self.tables if self.closed else (self.never_closed(), *self.tables)

    @property
    def complete(self) -> bool:
        return not self.problems

    def crash_point(self) -> str:
        """``seq S (time)`` of the last row on disk, for the never-closed messages."""
        if self.last_seq is None:
            return "its start (no row reached the disk)"
        when = f" ({_iso(self.last_recv_ts)})" if self.last_recv_ts is not None else ""
        return f"seq {self.last_seq}{when}"

    def never_closed(self) -> str:
        """The line about a journal that was never closed: up to where it is whole."""
        if self.last_seq is None:
            return f"{NEVER_CLOSED}, and no row of it reached the disk"
        if self.durable_seq is None:
            return (
                f"{NEVER_CLOSED}, and its parts do not say up to which seq it is whole "
                "(written before part footers said so, or rows not appended in seq order): "
                f"rows at its end may be missing; the last row on disk is at {self.crash_point()}"
            )
        if self.durable_seq == 0:
            return (
                f"{NEVER_CLOSED}, and none of its own rows reached the disk; the last row on "
                f"disk is at {self.crash_point()}"
            )
        if self.durable_seq >= self.last_seq:
            return (
                f"{NEVER_CLOSED}: every table is on disk up to its last row, at "
                f"{self.crash_point()}"
            )
        return (
            f"{NEVER_CLOSED}: every table is on disk up to seq {self.durable_seq}; after it, "
            f"the last flush reached only some tables, the last row on disk is at "
            f"{self.crash_point()}"
        )


def check_completeness(reader: JournalReader, kinds: Iterable[Kind] | None = None) -> Completeness:
    """Compare the journal's parts (listings and footers) with what its writer recorded.

    ``kinds`` limits the per-table check to the tables a command reads (a backtest
    reads inputs only); whether the journal was closed is always checked.
    """
    man = reader.manifest
    kinds = list(TABLES) if kinds is None else list(kinds)
    lines: list[str] = []
    for kind in kinds:
        if man.closed and man.parts is not None:
            line = _against_part_list(reader, kind, man.parts.get(spec(kind).name, {}))
        elif man.closed:
            line = _against_row_counts(reader, kind, (man.stats or {}).get("rows", {}))
        else:
            line = _along_the_chain(reader, kind)
        if line:
            lines.append(f"{spec(kind).name}: {line}")
    if man.closed:
        return Completeness(reader.root, True, tuple(lines))
    last = _last_part(reader)
    return Completeness(
        reader.root,
        False,
        tuple(lines),
        _durable_seq(reader),
        last.last if last is not None else None,
        _max_recv_ts(reader, last) if last is not None else None,
    )


# -- closed journals ----------------------------------------------------------------------
def _against_part_list(reader: JournalReader, kind: Kind, listed: dict[str, int]) -> str:
    """A closed journal whose manifest lists its parts: each one must be there, whole."""
    name = spec(kind).name
    found = {p.path.name: reader.rows(p) for p in reader.parts(kind)}
    rejected = {p.path.name: why for p, why in reader.rejected(kind)}
    issues: list[str] = []
    missing = [n for n in listed if n not in found and n not in rejected]
    if missing and not (reader.root / name).is_dir():
        issues.append(f"the table directory {name}/ is gone: {_names(missing, listed)}")
    elif missing:
        issues.append(f"missing {_names(missing, listed)}")
    for part, why in rejected.items():
        rows = f" ({listed[part]} rows)" if part in listed else " (not listed in session.json)"
        issues.append(f"{part} is {why}{rows}")
    for part, rows in found.items():
        if part not in listed:
            issues.append(f"{part} ({rows} rows) is not listed in session.json")
        elif rows != listed[part]:
            issues.append(f"{part} holds {rows} rows, session.json says {listed[part]}")
    if not issues:
        return ""
    return f"{sum(found.values())} of {sum(listed.values())} rows found; " + "; ".join(issues)


def _against_row_counts(reader: JournalReader, kind: Kind, rows: dict[str, int]) -> str:
    """A closed journal from before part lists: only row counts per table to go by."""
    name = spec(kind).name
    found = sum(reader.rows(p) for p in reader.parts(kind))
    issues = [f"{p.path.name} is {why}" for p, why in reader.rejected(kind)]
    want = rows.get(name)
    if want is not None and found != want and not issues:
        issues.append(
            f"the table directory {name}/ is gone"
            if not (reader.root / name).is_dir()
            else "a part is missing; session.json (written before it listed parts) cannot name it"
        )
    if not issues:
        return ""
    head = f"{found} of {want} rows found; " if want is not None else ""
    return head + "; ".join(issues)


def _names(missing: list[str], listed: dict[str, int]) -> str:
    rows = sum(listed[n] for n in missing)
    shown = ", ".join(f"{n} ({listed[n]} rows)" for n in missing[:_NAMED])
    more = len(missing) - _NAMED
    return shown + (f" and {more} more parts, {rows} rows in all" if more > 0 else "")


# -- journals never closed ----------------------------------------------------------------
def _along_the_chain(reader: JournalReader, kind: Kind) -> str:
    """A journal never closed: each part says how many rows its table held before it,
    so a deleted or unreadable part shows as a gap before the next readable one."""
    parts = sorted(
        [(p, "") for p in reader.parts(kind)] + list(reader.rejected(kind)),
        key=lambda pw: pw[0].first,
    )
    issues: list[str] = []
    held: int | None = 0  # rows in the parts so far; None when unknown (no meta to go by)
    unreadable: list[tuple[Part, str]] = []  # since the last readable part
    for part, why in parts:
        if why:
            unreadable.append((part, why))
            continue
        meta = reader.meta(part)
        before = meta.rows_before if meta is not None else None
        known = before is not None and held is not None
        if unreadable:
            rows = f" ({before - held} rows)" if known else ""
            issues.append(", ".join(f"{p.path.name} is {w}" for p, w in unreadable) + rows)
        elif known and before > held:
            issues.append(f"{before - held} rows missing before {part.path.name} (a part is gone)")
        elif known and before < held:
            issues.append(
                f"{part.path.name}: its writer had {before} rows before it, the parts before "
                f"it hold {held} (a part not written by it?)"
            )
        held = before if before is not None else (None if unreadable else held)
        held = None if held is None else held + reader.rows(part)
        unreadable = []
    if unreadable:
        issues.append(", ".join(f"{p.path.name} is {w}" for p, w in unreadable))
    return "; ".join(issues)


def _durable_seq(reader: JournalReader) -> int | None:
    """The seq up to which every table of a never-closed journal is on disk.

    The latest part its writer wrote carries the largest ``durable_seq``, and it is
    the last part of some table; parts linked in from another journal (a backtest's
    inputs) say nothing about this one's writer.  0 when the writer's parts all carry
    the meta but none is its own (it never flushed); None when unknown.
    """
    journal = str(reader.manifest.created_ns)
    metas = [reader.meta(parts[-1]) for k in TABLES if (parts := reader.parts(k))]
    own = [m for m in metas if m is not None and m.journal == journal]
    if own:
        durable = [m.durable_seq for m in own if m.durable_seq is not None]
        return max(durable) if durable else None
    if any(m is None for m in metas):
        return None
    return 0


def _last_part(reader: JournalReader) -> Part | None:
    lasts = [parts[-1] for k in TABLES if (parts := reader.parts(k))]
    return max(lasts, key=lambda p: p.last) if lasts else None


def _max_recv_ts(reader: JournalReader, part: Part) -> int | None:
    """The part's largest ``recv_ts`` from its footer statistics (None without them)."""
    footer = reader.footer(part)
    if footer.num_row_groups == 0:
        return None
    stats = footer.row_group(footer.num_row_groups - 1).column(2).statistics
    return int(stats.max) if stats is not None and stats.has_min_max else None


def _iso(ns: int) -> str:
    stamp = datetime.fromtimestamp(ns // 1_000_000 / 1e3, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
