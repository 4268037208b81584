"""The deterministic engine: one step function over journaled events.

Determinism contract (checked by ``replay --verify`` and by a test that searches this
package for wall-clock and global-randomness calls):

* time is read only from events: :attr:`Engine.now` is the ``recv_ts`` of the event
  being stepped (or the due time of the timer being fired) and never goes backwards;
* randomness comes only from :attr:`Engine.rng`, a ``numpy`` PCG64 generator seeded
  from the session seed and advanced only inside :meth:`Engine.step`;
* client order ids come from the engine's own counter;
* handlers run in registration order, timers in (due time, creation order), emitted
  outputs in emission order; nothing depends on hash order or threads.

Components are plain objects with a ``bind(engine)`` method that subscribes handlers
to event kinds and schedules timers.  A handler is called as ``fn(cols, i)`` where
``cols`` is a :class:`~framework.events.columns.Columns` and ``i`` the row.  Outputs
are emitted with :meth:`Engine.emit`; each gets the next seq and is delivered to the
sink (journal writer, replay comparator, or executor) and then, in FIFO order, to
handlers subscribed to that output kind (e.g. the paper fill simulator listens to
``order_commands``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np

from framework.events.columns import Columns
from framework.events.schema import COMMON_FIELDS, SEQ_STRIDE, Kind, arrow_schema, spec
from framework.kernel.engine_loop import NEVER, EngineCore, EngineError

__all__ = ["NEVER", "Component", "Engine", "EngineError", "ListSink", "NullSink", "Sink"]

Handler = Callable[[Columns, int], None]

_ALWAYS_READ = frozenset(f.name for f in COMMON_FIELDS)  # seq, ts, recv_ts
TimerFn = Callable[[int], None]


class Sink(Protocol):
    """Where outputs go: ``append(kind, row)`` with a full row tuple."""

    def append(self, kind: Kind, row: tuple[Any, ...]) -> None: ...


class NullSink:
    """Discards outputs (benchmarks without journaling)."""

    def append(self, kind: Kind, row: tuple[Any, ...]) -> None:
        return None


class ListSink:
    """Collects outputs in memory, in emission order."""

    def __init__(self) -> None:
        self.rows: list[tuple[Kind, tuple[Any, ...]]] = []

    def append(self, kind: Kind, row: tuple[Any, ...]) -> None:
        self.rows.append((kind, row))


class Component(Protocol):
    """What the engine is built from."""

    name: str

    def bind(self, engine: Engine) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


class Engine(EngineCore):
    """The single step function and the state it keeps.

    The per-event methods (:meth:`step_many`, the timer heap, :meth:`emit`) and the
    counters are the typed kernel's :class:`~framework.kernel.engine_loop.EngineCore`.

    Parameters
    ----------
    components : iterable of Component
        Bound in order; their handler order follows.
    seed : int
        Seeds :attr:`rng`.
    sink : Sink
        Receives every output row ``(seq, ts, recv_ts, *payload)``.
    """

    def __init__(self, components: Iterable[Component], *, seed: int, sink: Sink) -> None:
        super().__init__()
        self._seed = seed
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.sink = sink
        self._cloid = 0
        self._cloid_prefix = f"0x{(seed & 0xFFFFFFFF):08x}"  # the seed's part, formatted once
        self._deferred_periodic: list[tuple[int, int, TimerFn]] = []
        self._append = sink.append
        # Per kind: the columns subscribed handlers read (None: any of them).
        self._reads: list[set[str] | None] = [set() for _ in Kind]
        self.components: list[Component] = list(components)
        for c in self.components:
            c.bind(self)

    @property
    def seed(self) -> int:
        """The session seed (fixed: the rng and the client order ids derive from it)."""
        return self._seed

    # -- wiring -------------------------------------------------------------------------
    def set_sink(self, sink: Sink) -> None:
        """Send outputs to ``sink`` from now on (a live environment tees the journal
        writer to see the order commands it must send)."""
        self.sink = sink
        self._append = sink.append

    def subscribe(
        self, kind: Kind, handler: Handler, *, columns: Iterable[str] | None = None
    ) -> None:
        """Call ``handler(cols, i)`` for every event (input or output) of ``kind``.

        ``columns`` names the columns of ``kind`` the handler reads (``seq``, ``ts`` and
        ``recv_ts`` always come); a journal read for this engine decodes only the
        columns its handlers read (:meth:`columns_read`).  Without it the handler may
        read every column.
        """
        if columns is not None:
            wanted = set(columns)
            unknown = wanted - set(arrow_schema(kind).names)
            if unknown:
                raise ValueError(
                    f"subscribe({spec(kind).name}): no column(s) {sorted(unknown)} in that "
                    f"table; it has {arrow_schema(kind).names}"
                )
            reads = self._reads[kind]
            if reads is not None:
                reads.update(wanted)
        else:
            self._reads[kind] = None
        self._handlers[kind].append(handler)

    def columns_read(self, kind: Kind) -> list[str] | None:
        """The columns of ``kind`` this engine's handlers read, in table order, or None
        when one of them may read any (see :meth:`subscribe`)."""
        reads = self._reads[kind]
        if reads is None:
            return None
        return [n for n in arrow_schema(kind).names if n in _ALWAYS_READ or n in reads]

    def call_every(
        self,
        period_ns: int,
        fn: TimerFn,
        *,
        start_ns: int | None = None,
        immediate: bool = False,
    ) -> None:
        """Run ``fn(t)`` every ``period_ns`` of event time, from the first event on.

        The first run is one period after the first event, or at the first event itself
        (before its handlers) with ``immediate``.  Each run is re-armed after ``fn``
        returns (so timers ``fn`` sets for the same due time run before its next tick).
        """
        if period_ns <= 0:
            raise ValueError(f"timer period must be positive, got {period_ns} ns")
        if start_ns is not None and immediate:
            raise ValueError("call_every: give start_ns or immediate, not both")
        if start_ns is None:
            # Deferred: aligned to the first event's time, which bind() cannot know.
            self._deferred_periodic.append((0 if immediate else period_ns, period_ns, fn))
        else:
            self._push(start_ns, fn, period_ns)

    def component(self, name: str) -> Any:
        """The bound component called ``name`` (components find each other this way)."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component named {name!r}; have {[c.name for c in self.components]}")

    # -- ids ----------------------------------------------------------------------------
    # next_cloid() is EngineCore's (framework.kernel.engine_loop): the strategy asks for
    # an id per order command.

    def next_input_seq(self) -> int:
        """The seq a live environment gives the next input before journaling it: the
        next multiple of :data:`~framework.events.schema.SEQ_STRIDE` (room for the
        outputs of the input before it, and a recording a backtest can link)."""
        return (self.seq // SEQ_STRIDE + 1) * SEQ_STRIDE

    # -- the step -----------------------------------------------------------------------
    def step(self, kind: int, seq: int, recv_ts: int, cols: Columns, i: int) -> None:
        """Advance the engine by one input event (row ``i`` of ``cols``)."""
        self.step_many((kind,), (seq,), (recv_ts,), (i,), {kind: cols})

    def start(self, first_ts: int) -> None:
        """Anchor periodic timers at the first event's time (called once by drivers)."""
        if self.now == 0:
            self.now = first_ts
        if not self.start_ns:
            self.start_ns = first_ts
        for offset, period, fn in self._deferred_periodic:
            self._push(first_ts + offset, fn, period)
        self._deferred_periodic.clear()

    # -- outputs ------------------------------------------------------------------------
    @property
    def outputs(self) -> int:
        """Outputs emitted so far, all kinds."""
        return sum(self.counts)

    # -- inspection ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The engine's state for ``replay --until`` and checkpoints."""
        return {
            "seq": self.seq,
            "now_ns": self.now,
            "events": self.events,
            "outputs": self.outputs,
            "next_cloid": self._cloid + 1,
            "pending_timers": self._n_timers,
            "rng_state": self.rng.bit_generator.state["state"]["state"],
            "components": {c.name: c.snapshot() for c in self.components},
        }
