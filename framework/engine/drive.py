"""Building an engine from a manifest, and the hot loop that feeds it journal chunks."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from framework.engine.core import Component, Engine, Sink
from framework.events.columns import Columns
from framework.events.schema import INPUT_KINDS, Kind
from framework.journal.manifest import Manifest
from framework.journal.reader import JournalReader, MergedChunk

_SEQ_FIELD = pa.field("seq", pa.int64(), nullable=False)

#: Modules a manifest may name components from (a journal is data, not code to run).
_ALLOWED_PREFIXES = ("framework.", "strategies.", "tests.")


class ComponentError(ValueError):
    """A manifest's component entry cannot be built; the message names it and the fix."""


def load_component(entry: dict[str, Any]) -> Component:
    """Instantiate ``{"path": "module:Class", "config": {...}}`` as ``Class(**config)``."""
    path = entry.get("path", "")
    if ":" not in path or not path.startswith(_ALLOWED_PREFIXES):
        raise ComponentError(
            f"component path {path!r} must look like 'framework.module:Class' (allowed "
            f"prefixes: {', '.join(_ALLOWED_PREFIXES)})"
        )
    module_name, cls_name = path.split(":", 1)
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ComponentError(
            f"component path {path!r} names no importable class ({exc}); fix the manifest's "
            "'components' entry (session.json)"
        ) from exc
    try:
        return cls(**entry.get("config", {}))
    except TypeError as exc:
        raise ComponentError(
            f"component {path!r} rejects its config ({exc}); fix the 'config' of its "
            "'components' entry in the manifest (session.json)"
        ) from exc


def build_components(manifest: Manifest) -> list[Component]:
    return [load_component(e) for e in manifest.components]


def build_engine(manifest: Manifest, sink: Sink) -> Engine:
    """The engine a session ran with: its components, its seed."""
    return Engine(build_components(manifest), seed=manifest.seed, sink=sink)


#: The young generation's collection threshold while a session runs (Python's is 700).
GC_GEN0_THRESHOLD = 50_000


def relax_gc() -> None:
    """Collect the young generation every 50 000 net allocations instead of 700.

    A session allocates millions of short-lived containers (output rows, delivered
    columns, order records) and keeps few of them: at the default threshold the
    cyclic collector ran about 280 times in a 24 h backtest and took 0.11-0.15 s of
    it; at this one 0.03 s (measured with ``gc.callbacks``).  What is collected does
    not change, nor anything the engine computes; the young generation holds at
    most 50 000 objects between collections (a few MB).  A threshold already set
    higher is kept.  Sessions call this when they open.
    """
    gen0, gen1, gen2 = gc.get_threshold()
    if 0 < gen0 < GC_GEN0_THRESHOLD:
        gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def _started(
    engine: Engine, chunks: Iterable[MergedChunk]
) -> Iterator[tuple[MergedChunk, list[Columns | None]]]:
    """Non-empty chunks with their columns indexed by kind; anchors the engine's
    periodic timers at the first event's time."""
    started = engine.events > 0
    for ch in chunks:
        if not len(ch):
            continue
        if not started:
            engine.start(int(ch.recv_arr[0]))
            started = True
        yield ch, [ch.columns.get(k) for k in Kind]


def inputs_for(
    engine: Engine, reader: JournalReader, *, stop_seq: int | None = None
) -> Iterator[MergedChunk]:
    """The journal's inputs merged by seq, decoding only the columns ``engine``'s
    handlers read (:meth:`~framework.engine.core.Engine.columns_read`)."""
    columns = {k: engine.columns_read(k) for k in INPUT_KINDS}
    return reader.merged(INPUT_KINDS, stop_seq=stop_seq, columns=columns)


def feed(
    engine: Engine,
    chunks: Iterable[MergedChunk],
    *,
    stop_seq: int | None = None,
    on_chunk: Callable[[MergedChunk], None] | None = None,
) -> int:
    """Step ``engine`` through every event of ``chunks`` in seq order.

    Returns the number of events stepped.  ``stop_seq`` stops after the last event
    with ``seq <= stop_seq``.
    """
    step_many = engine.step_many
    n = 0
    for ch, cols in _started(engine, chunks):
        kinds, seqs, recv, rows = ch.kind_arr, ch.seq_arr, ch.recv_arr, ch.row_arr
        if stop_seq is not None and seqs[-1] > stop_seq:
            # The last chunk: seqs are sorted, so step the prefix up to stop_seq.
            m = int(np.searchsorted(seqs, stop_seq, "right"))
            step_many(kinds[:m], seqs[:m], recv[:m], rows[:m], cols)
            return n + m
        step_many(kinds, seqs, recv, rows, cols)
        n += len(kinds)
        if on_chunk is not None:
            on_chunk(ch)
    return n


def resequence(
    engine: Engine,
    chunks: Iterable[MergedChunk],
    writer: Any,
    *,
    on_chunk: Callable[[MergedChunk], None] | None = None,
) -> int:
    """Step ``engine`` through recorded inputs, journaling them under new seqs.

    For recordings whose inputs have consecutive seqs (from before
    :data:`~framework.events.schema.SEQ_STRIDE`): a session that decides things needs
    room for its outputs between them.  Each input gets ``engine.seq + 1`` when it is
    stepped (its outputs take the seqs after it) and is written to ``writer`` with
    that seq, columnar: the chunk's batch with its seq column replaced.  Outputs reach
    ``writer`` through the engine's sink.  Returns the number of events stepped.
    (A strided recording needs none of this: a backtest links its input parts and
    :func:`feed` steps them under their own seqs.)
    """
    step = engine.step
    n = 0
    for ch, cols in _started(engine, chunks):
        new_seqs: list[list[int]] = [[] for _ in Kind]
        for k, r, t in zip(ch.kinds, ch.rows, ch.recv_ts, strict=True):
            s = engine.seq + 1
            new_seqs[k].append(s)
            step(k, s, t, cols[k], r)
        n += len(ch.kinds)
        for kind, batch in ch.batches.items():
            seq_arr = pa.array(np.asarray(new_seqs[kind], dtype=np.int64))
            writer.append_batch(kind, batch.set_column(0, _SEQ_FIELD, seq_arr))
        if on_chunk is not None:
            on_chunk(ch)
    return n
