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
from framework.engine.drive import ComponentError, build_components, feed, inputs_for, relax_gc
from framework.events.schema import OUTPUT_KINDS, Kind, spec
from framework.journal.completeness import Completeness, check_completeness
from framework.journal.errors import JournalError
from framework.journal.manifest import platform_diff, platform_info
from framework.journal.reader import JournalReader, MergedChunk
from framework.jsonsafe import finite


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


@attrs.frozen
class Prefix:
    """How much of a journal that was never closed ``replay --verify`` checked.

    Every table is on disk up to ``durable_seq`` (the writer's last complete flush), so
    the inputs up to it are replayed and the outputs up to it compared; outputs the
    replay makes after it were lost at the crash and are not compared.  ``inputs``
    counts the inputs all of whose outputs lie in the prefix, the last at
    ``last_input_seq``; ``cut_input_seq`` is the input whose outputs run past it.
    ``compared`` outputs were found identical.
    """

    durable_seq: int
    inputs: int
    last_input_seq: int | None
    cut_input_seq: int | None
    compared: int


@attrs.define
class ReplayResult:
    events: int
    outputs: int
    divergence: Divergence | None
    engine: Engine
    problems: list[str]
    completeness: Completeness
    prefix: Prefix | None = None
    refused: bool = False  # --verify of a journal missing parts: nothing was replayed
    platform: dict[str, Any] = attrs.Factory(dict)  # where the journal was made

    @property
    def ok(self) -> bool:
        """What exit code 0 means: no divergence, nothing unreadable, and the journal
        whole, or never closed (then what is on disk was checked)."""
        whole = not self.completeness.closed or self.completeness.complete
        return self.divergence is None and not self.problems and not self.refused and whole


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


class VerifyingSink:
    """A sink that compares every output with the journal's next recorded output.

    Outputs after ``horizon`` (where a journal that was never closed stops being
    whole) are counted in ``beyond`` and not compared.
    """

    def __init__(
        self, recorded: Iterator[tuple[Kind, tuple[Any, ...]]], horizon: int | None = None
    ) -> None:
        self._recorded = recorded
        self._peeked: tuple[Kind, tuple[Any, ...]] | None = None
        self.horizon = horizon
        self.compared = 0
        self.beyond = 0

    def _next(self) -> tuple[Kind, tuple[Any, ...]] | None:
        nxt, self._peeked = self.peek(), None
        return nxt

    def peek(self) -> tuple[Kind, tuple[Any, ...]] | None:
        if self._peeked is None:
            self._peeked = next(self._recorded, None)
        return self._peeked

    def append(self, kind: Kind, row: tuple[Any, ...]) -> None:
        if self.horizon is not None and row[0] > self.horizon:
            self.beyond += 1
            return
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
    """The engine the journal's manifest describes (market state alone for recordings),
    warm-started from the prior the session started from (its copy in the journal)."""
    from framework.calibration.transfer import apply_prior, journal_prior

    components = build_components(reader.manifest) or [MarketState()]
    relax_gc()
    engine = Engine(components, seed=reader.manifest.seed, sink=sink)
    prior = journal_prior(reader.root, reader.manifest.prior)
    if prior is not None:
        apply_prior(engine, prior)
    return engine


def replay(
    root: Path | str, *, verify: bool = False, until: int | None = None, strict: bool = False
) -> ReplayResult:
    """Replay a journal's inputs; with ``verify`` compare every regenerated output.

    The journal's completeness is checked first (footers and manifest only).  With
    ``verify``, a journal missing a part or table is refused (``refused``, nothing
    replayed), and one that was never closed is verified up to the seq where every
    table is still whole (:class:`Prefix`), so what the crash lost is not taken for a
    divergence.
    """
    reader = JournalReader(root, strict=strict, warn=False)
    completeness = check_completeness(reader)
    cut = completeness.durable_seq if verify and not completeness.closed else None
    recorded = _recorded_outputs(reader, cut)
    sink = VerifyingSink(recorded, horizon=cut) if verify else NullSink()
    engine = engine_for(reader, sink)
    if verify and completeness.tables:
        return ReplayResult(0, 0, None, engine, [], completeness, refused=True)
    stop = until if cut is None else cut if until is None else min(until, cut)
    tail: list[int] = []  # the last two input seqs stepped

    def track(chunk: MergedChunk) -> None:
        tail[:] = (tail + chunk.seqs[-2:])[-2:]

    divergence = None
    events = 0
    # Stopped by --until before the journal's (whole) end: outputs after it are not due.
    early = until is not None and (cut is None or until < cut)
    try:
        events = feed(engine, inputs_for(engine, reader, stop_seq=stop), on_chunk=track)
        if isinstance(sink, VerifyingSink):
            left = sink.peek()
            if left is not None and (not early or left[1][0] <= engine.seq):
                k, row = left
                divergence = Divergence(row[0], spec(k).name, "<row>", row, "no such output")
    except _Diverged as exc:
        divergence = exc.divergence
        events = engine.events
    finally:
        # The recorded outputs not compared stay unread: stop their reader (and its
        # prefetch thread) now, not when the result holding the sink is collected.
        recorded.close()
    prefix = None
    if cut is not None and not early and isinstance(sink, VerifyingSink):
        if sink.beyond:  # only the last input's outputs can run past the cut
            last = tail[-2] if len(tail) > 1 else None
            prefix = Prefix(cut, events - 1, last, tail[-1], sink.compared)
        else:
            prefix = Prefix(cut, events, tail[-1] if tail else None, None, sink.compared)
    return ReplayResult(
        events,
        engine.outputs,
        divergence,
        engine,
        list(reader.problems),
        completeness,
        prefix,
        platform=dict(reader.manifest.platform),
    )


def _recorded_outputs(
    reader: JournalReader, stop_seq: int | None
) -> Iterator[tuple[Kind, tuple[Any, ...]]]:
    for ch in reader.merged(OUTPUT_KINDS, stop_seq=stop_seq):
        for k, r in zip(ch.kinds, ch.rows, strict=True):
            kind = Kind(k)
            yield kind, ch.columns[kind].row(r)


def replay_command(root: Path, *, verify: bool, until: int | None) -> int:
    """CLI body of ``market-maker replay``; returns the exit code.

    0 replayed or verified (a journal never closed: its whole prefix verified, which
    the message says), 1 a divergence, 2 an unusable or incomplete journal.
    """
    try:
        result = replay(root, verify=verify, until=until)
    except (JournalError, ComponentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    comp = result.completeness
    if result.refused:
        for line in comp.problems:
            print(f"not verified: {root} is incomplete: {line}")
        return 2
    if verify and not comp.closed:
        print(f"incomplete: {root} was {comp.never_closed()}")
    elif not verify:
        for line in comp.problems:
            print(f"warning: {root} is incomplete: {line}", file=sys.stderr)
    if until is not None:
        # stdout is the state alone, valid JSON (NaN and infinities as null); the status
        # line goes to stderr
        state = finite(result.engine.snapshot())
        print(json.dumps(state, indent=2, sort_keys=True, default=_json_default, allow_nan=False))
    if result.divergence is not None:
        unknown = verify and not comp.closed and comp.durable_seq is None
        note = " (the journal was never closed: this may be what the crash lost)" if unknown else ""
        print(f"DIVERGED: {result.divergence.describe()}{note}")
        for line in _platform_lines(result.platform):
            print(line)
        return 1
    if result.problems:
        print(f"incomplete: {len(result.problems)} unreadable part(s); see the warnings above")
        return 2
    if verify and result.prefix is not None:
        print(_prefix_line(result, comp))
    elif verify and not comp.closed and comp.durable_seq is None and until is None:
        print(
            f"verified: {result.events} input events, {result.outputs} outputs identical, up to "
            f"the journal's end at {comp.crash_point()}; rows not flushed before the crash are "
            "lost"
        )
    elif verify:
        print(f"verified: {result.events} input events, {result.outputs} outputs identical")
    else:
        print(
            f"replayed: {result.events} input events, {result.outputs} outputs",
            file=sys.stderr if until is not None else sys.stdout,
        )
    if comp.closed and comp.problems:
        print(f"incomplete: {len(comp.problems)} problem(s); see the warnings above")
        return 2
    return 0


def _prefix_line(result: ReplayResult, comp: Completeness) -> str:
    """``verified N inputs up to seq S ...; the journal ends in a crash at ...``."""
    p = result.prefix
    assert p is not None
    upto = f" up to seq {p.last_input_seq}" if p.last_input_seq is not None else ""
    cut = (
        f" (the input at seq {p.cut_input_seq} is not counted: some of its outputs were "
        f"not flushed)"
        if p.cut_input_seq is not None
        else ""
    )
    lost = (
        "what its writer had not flushed is lost"
        if comp.last_seq is None or p.durable_seq >= comp.last_seq
        else f"nothing after seq {p.durable_seq} is verified"
    )
    return (
        f"verified {p.inputs} inputs{upto} ({p.compared} outputs identical); the journal "
        f"ends in a crash at {comp.crash_point()}: {lost}{cut}"
    )


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
        return finite(o.tolist())
    return str(o)
