"""Replay: every input from a journal, through the engine the manifest describes.

With ``verify`` each output the engine regenerates is compared, column by column and
bit for bit, with the output the journal recorded at the same position; the first
difference is reported as a :class:`Divergence` (seq, table, column, both values).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from framework.book import MarketState
from framework.engine.core import Engine, NullSink
from framework.engine.drive import ComponentError, build_components, feed
from framework.events.schema import INPUT_KINDS, OUTPUT_KINDS, Kind, spec
from framework.journal.errors import JournalError
from framework.journal.manifest import platform_diff, platform_info
from framework.journal.reader import JournalReader


@attrs.frozen
class Divergence:
    """The first place where a replay differs from the journal."""

    seq: int
    table: str
    column: str
    recorded: Any
    replayed: Any

    def describe(self) -> str:
        return (
            f"first divergence at seq {self.seq}, table {self.table!r}, column {self.column!r}: "
            f"recorded {self.recorded!r}, replayed {self.replayed!r}"
        )


@attrs.define
class ReplayResult:
    events: int
    outputs: int
    divergence: Divergence | None
    engine: Engine
    problems: list[str]
    platform: dict[str, Any] = attrs.Factory(dict)  # where the journal was made

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.problems


class _Diverged(Exception):
    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.describe())
        self.divergence = divergence


def _same(a: Any, b: Any) -> bool:
    """Equality, bit for bit for floats, with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _recorded_outputs(reader: JournalReader) -> Iterator[tuple[Kind, tuple[Any, ...]]]:
    for ch in reader.merged(OUTPUT_KINDS):
        for k, r in zip(ch.kinds, ch.rows, strict=True):
            kind = Kind(k)
            yield kind, ch.columns[kind].row(r)


class VerifyingSink:
    """A sink that compares every output with the journal's next recorded output."""

    def __init__(self, recorded: Iterator[tuple[Kind, tuple[Any, ...]]]) -> None:
        self._recorded = recorded
        self._peeked: tuple[Kind, tuple[Any, ...]] | None = None
        self.compared = 0

    def _next(self) -> tuple[Kind, tuple[Any, ...]] | None:
        nxt, self._peeked = self.peek(), None
        return nxt

    def peek(self) -> tuple[Kind, tuple[Any, ...]] | None:
        if self._peeked is None:
            self._peeked = next(self._recorded, None)
        return self._peeked

    def append(self, kind: Kind, row: tuple[Any, ...]) -> None:
        rec = self._next()
        if rec is None:
            raise _Diverged(Divergence(row[0], spec(kind).name, "<row>", None, row))
        rkind, rrow = rec
        if rrow[0] != row[0] or rkind != kind:
            # Different seq or table: report at the earlier of the two seqs.
            if rrow[0] <= row[0]:
                raise _Diverged(
                    Divergence(rrow[0], spec(rkind).name, "<row>", rrow, "no such output")
                )
            raise _Diverged(Divergence(row[0], spec(kind).name, "<row>", "no such output", row))
        for name, a, b in zip(spec(kind).columns, rrow, row, strict=True):
            if not _same(a, b):
                raise _Diverged(Divergence(row[0], spec(kind).name, name, a, b))
        self.compared += 1


def engine_for(reader: JournalReader, sink: Any) -> Engine:
    """The engine the journal's manifest describes (market state alone for recordings)."""
    components = build_components(reader.manifest) or [MarketState()]
    return Engine(components, seed=reader.manifest.seed, sink=sink)


def replay(
    root: Path | str, *, verify: bool = False, until: int | None = None, strict: bool = False
) -> ReplayResult:
    """Replay a journal's inputs; with ``verify`` compare every regenerated output."""
    reader = JournalReader(root, strict=strict)
    sink = VerifyingSink(_recorded_outputs(reader)) if verify else NullSink()
    engine = engine_for(reader, sink)
    divergence = None
    events = 0
    try:
        events = feed(engine, reader.merged(INPUT_KINDS), stop_seq=until)
        if isinstance(sink, VerifyingSink):
            left = sink.peek()
            if left is not None and (until is None or left[1][0] <= engine.seq):
                k, row = left
                divergence = Divergence(row[0], spec(k).name, "<row>", row, "no such output")
    except _Diverged as exc:
        divergence = exc.divergence
        events = engine.events
    return ReplayResult(
        events,
        engine.outputs,
        divergence,
        engine,
        list(reader.problems),
        dict(reader.manifest.platform),
    )


def replay_command(root: Path, *, verify: bool, until: int | None) -> int:
    """CLI body of ``market-maker replay``; returns the exit code."""
    try:
        result = replay(root, verify=verify, until=until)
    except (JournalError, ComponentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if until is not None:
        state = result.engine.snapshot()
        print(json.dumps(state, indent=2, sort_keys=True, default=_json_default))
    if result.divergence is not None:
        print(f"DIVERGED: {result.divergence.describe()}")
        for line in _platform_lines(result.platform):
            print(line)
        return 1
    if result.problems:
        print(f"incomplete: {len(result.problems)} unreadable part(s); see the warnings above")
        return 2
    if verify:
        print(f"verified: {result.events} input events, {result.outputs} outputs identical")
    else:
        print(f"replayed: {result.events} input events, {result.outputs} outputs")
    return 0


def _platform_lines(recorded: dict[str, Any]) -> list[str]:
    """The recorded platform next to this one, where they differ (nothing if alike)."""
    current = platform_info()
    if not recorded:
        return [f"platform: the journal records none; this machine: {current}"]
    diff = platform_diff(recorded, current)
    if not diff:
        return []
    return ["platform differs (recorded -> this machine):", *(f"  {d}" for d in diff)]


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)
