"""The engine's hot loop, typed: stepping inputs, the timer heap, emitting outputs.

:class:`EngineCore` is the base of :class:`framework.engine.core.Engine`, which keeps
everything that is not per event (wiring, ids, snapshots) in plain Python.  What runs
here runs once per event or per output: :meth:`EngineCore.step_many`,
:meth:`EngineCore._fire_timers`, :meth:`EngineCore.emit` and the FIFO delivery of
outputs to their subscribers.  The engine's counters (``seq``, ``now``, ...) are C
integers read and written by these methods without a Python attribute lookup; Python
code reads and sets them as ordinary attributes.

The semantics (and the determinism contract) are :mod:`framework.engine.core`'s; this
module changes only how fast they run.  Integers stay integers: times and seqs are
nanoseconds and counters below 2⁶³ (``NEVER`` is 2⁶³ − 1).
"""

from __future__ import annotations

import heapq
from collections import deque

import cython
import numpy as np

from framework.events.columns import Columns
from framework.events.schema import Kind, spec

if cython.compiled:  # a C call; interpreted, the Python class (the same dispatch)
    from cython.cimports.framework.kernel.handler import Clock, Route, Tick
else:
    from framework.kernel.handler import Clock, Route, Tick

NEVER = 2**63 - 1
_N_KINDS = len(Kind)


class EngineError(Exception):
    """An input violates the engine's contract (e.g. a seq that goes backwards)."""


@cython.cfunc
@cython.inline
def _deliver(hs: list, c: object, r: object) -> cython.void:
    """Row ``r`` of ``c`` to each handler of its kind, in subscription order: a kernel
    component's :class:`~framework.kernel.handler.Route` as a C call, anything else
    through Python's call protocol."""
    i: cython.Py_ssize_t = r
    route: Route
    for fn in hs:
        if type(fn) is Route:
            route = fn
            route.target.handle(route.code, c, i)
        else:
            fn(c, r)


@cython.cfunc
@cython.inline
def _run_timer(fn: object, due: cython.longlong) -> cython.void:
    """Timer ``fn`` at ``due``: a kernel component's :class:`~framework.kernel.handler.Tick`
    as a C call, anything else as ``fn(due)``."""
    tick: Tick
    if type(fn) is Tick:
        tick = fn
        tick.target.on_tick(tick.code, due)
    else:
        fn(due)


def _int64s(n: cython.Py_ssize_t) -> object:
    """``n`` zero int64 slots: an array compiled (typed, C-speed), a list interpreted
    (so values read back are Python ints, as the interpreted engine's always are)."""
    return np.zeros(n, dtype=np.int64) if cython.compiled else [0] * n


def _doubled(old: object, n: cython.Py_ssize_t) -> object:
    """:func:`_int64s` of ``2 n`` slots starting with ``old``'s ``n``."""
    new = _int64s(2 * n)
    new[:n] = old
    return new


@cython.cclass
class EngineCore:
    """The engine's per-event state and methods (see the module doc)."""

    seq = cython.declare(cython.longlong, visibility="public")  # last seq, input or output
    input_seq = cython.declare(cython.longlong, visibility="public")  # cause of outputs
    events = cython.declare(cython.longlong, visibility="public")
    clock = cython.declare(Clock, visibility="readonly")  # now, shared with the kernel
    start_ns = cython.declare(cython.longlong, visibility="public")
    _next_timer = cython.declare(cython.longlong, visibility="public")
    _timer_order = cython.declare(cython.longlong, visibility="public")
    _n_timers = cython.declare(cython.Py_ssize_t, visibility="public")  # pending timers
    _draining = cython.declare(cython.bint, visibility="public")
    counts = cython.declare(list, visibility="public")  # outputs emitted, per kind
    _handlers = cython.declare(list, visibility="public")  # per kind: handler list
    # The timers.  Each lives in a slot: due time, creation order and period (0 =
    # one-shot) as C integers, and its function.  The heap is a binary min-heap of
    # slot numbers on (due, creation order); a periodic timer keeps its slot when
    # _fire_timers re-arms it (no wrapper closure), a one-shot's slot is reused.  (A
    # heap of (due, order, fn, period) tuples cost three Python ints, a tuple and
    # tuple comparisons per firing: 6 % of a backtest's instructions.)
    _s_due = cython.declare(cython.longlong[::1])
    _s_ord = cython.declare(cython.longlong[::1])
    _s_per = cython.declare(cython.longlong[::1])
    _s_fn = cython.declare(list)
    _heap = cython.declare(cython.longlong[::1])  # heap position -> slot
    _free = cython.declare(cython.longlong[::1])  # a stack of free slots
    _n_free = cython.declare(cython.Py_ssize_t)
    _n_slots = cython.declare(cython.Py_ssize_t, visibility="readonly")  # slots ever used
    _py_timers = cython.declare(list)  # interpreted: a heapq (see _fire_timers_interpreted)
    _queue = cython.declare(object, visibility="public")  # deque of (kind, row)
    _append = cython.declare(object, visibility="public")  # the sink's append
    _single = cython.declare(object)
    # Client order ids: the counter and the seed's part of the id (Engine sets both).
    _cloid = cython.declare(cython.longlong, visibility="public")
    _cloid_prefix = cython.declare(str, visibility="public")

    def __init__(self) -> None:
        self.seq = 0
        self.input_seq = 0
        self.events = 0
        self.clock = Clock()
        self.start_ns = 0
        self._next_timer = NEVER
        self._timer_order = 0
        self._draining = False
        self.counts = [0] * _N_KINDS
        self._handlers = [[] for _ in range(_N_KINDS)]
        self._n_timers = 0
        self._s_due = _int64s(16)
        self._s_ord = _int64s(16)
        self._s_per = _int64s(16)
        self._s_fn = [None] * 16
        self._heap = _int64s(16)
        self._free = _int64s(16)
        self._n_free = 0
        self._n_slots = 0
        self._py_timers = []
        self._queue = deque()
        self._append = None
        self._single = Columns.single
        self._cloid = 0
        self._cloid_prefix = "0x00000000"

    @cython.ccall
    def next_cloid(self) -> str:
        """A fresh client order id: ``0x`` + 32 hex digits from the engine's counter."""
        self._cloid += 1
        return f"{self._cloid_prefix}{self._cloid:024x}"

    @property
    def now(self) -> int:
        """Event time (ns): the last input's receive time or timer's due time."""
        return self.clock.now

    @now.setter
    def now(self, t: int) -> None:
        self.clock.now = t

    # -- timers -------------------------------------------------------------------------
    def _push(self, due_ns: cython.longlong, fn: object, period_ns: cython.longlong) -> None:
        self._timer_order += 1
        self._heap_push(due_ns, self._timer_order, period_ns, fn)
        if due_ns < self._next_timer:
            self._next_timer = due_ns

    def call_at(self, due_ns: cython.longlong, fn: object) -> None:
        """Run ``fn(due_ns)`` when event time reaches ``due_ns``."""
        self._push(due_ns, fn, 0)

    @cython.cfunc
    def _fire_timers(self, until_ns: cython.longlong) -> cython.void:
        if not cython.compiled:
            self._fire_timers_interpreted(until_ns)
            return
        due: cython.longlong
        period: cython.longlong
        slot: cython.Py_ssize_t
        while self._n_timers and self._s_due[self._heap[0]] <= until_ns:
            slot = self._heap[0]
            due = self._s_due[slot]
            period = self._s_per[slot]
            fn = self._s_fn[slot]
            self._n_timers -= 1
            if self._n_timers:
                self._heap[0] = self._heap[self._n_timers]
                self._sift_down(0)
            if not period:  # a one-shot: its slot is free again
                self._s_fn[slot] = None
                self._free[self._n_free] = slot
                self._n_free += 1
            if due > self.clock.now:
                self.clock.now = due
            _run_timer(fn, due)
            if period:  # re-armed after it ran: a new creation order, the same slot
                self._timer_order += 1
                self._s_due[slot] = due + period
                self._s_ord[slot] = self._timer_order
                self._heap[self._n_timers] = slot
                self._n_timers += 1
                self._sift_up(self._n_timers - 1)
        self._next_timer = self._s_due[self._heap[0]] if self._n_timers else NEVER

    # Interpreted, the timers are heapq's (C in CPython) over (due, order, period, fn)
    # tuples: the typed heap's sifts in Python cost more than heapq.  The firing order is
    # the same: (due, creation order) is a total order (the timer tests run both).
    def _fire_timers_interpreted(self, until_ns: cython.longlong) -> None:
        timers = self._py_timers
        while timers and timers[0][0] <= until_ns:
            due, _, period, fn = heapq.heappop(timers)
            self._n_timers -= 1
            if due > self.clock.now:
                self.clock.now = due
            _run_timer(fn, due)
            if period:
                self._timer_order += 1
                heapq.heappush(timers, (due + period, self._timer_order, period, fn))
                self._n_timers += 1
        self._next_timer = timers[0][0] if timers else NEVER

    @cython.cfunc
    def _heap_push(
        self, due: cython.longlong, order: cython.longlong, period: cython.longlong, fn: object
    ) -> cython.void:
        if not cython.compiled:
            heapq.heappush(self._py_timers, (due, order, period, fn))
            self._n_timers += 1
            return
        slot: cython.Py_ssize_t
        if self._n_free:
            self._n_free -= 1
            slot = self._free[self._n_free]
        else:
            if self._n_slots == len(self._s_fn):
                self._grow_timers()
            slot = self._n_slots
            self._n_slots += 1
        self._s_due[slot] = due
        self._s_ord[slot] = order
        self._s_per[slot] = period
        self._s_fn[slot] = fn
        self._heap[self._n_timers] = slot
        self._n_timers += 1
        self._sift_up(self._n_timers - 1)

    @cython.cfunc
    @cython.inline
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _before(self, a: cython.Py_ssize_t, b: cython.Py_ssize_t) -> cython.bint:
        """Is the timer in slot ``a`` due before the one in slot ``b``?"""
        da: cython.longlong = self._s_due[a]
        db: cython.longlong = self._s_due[b]
        return da < db or (da == db and self._s_ord[a] < self._s_ord[b])

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _sift_up(self, pos: cython.Py_ssize_t) -> cython.void:
        """Move the slot at heap position ``pos`` up to its place."""
        heap: cython.longlong[::1] = self._heap
        slot: cython.Py_ssize_t = heap[pos]
        parent: cython.Py_ssize_t
        while pos > 0:
            parent = (pos - 1) >> 1
            if not self._before(slot, heap[parent]):
                break
            heap[pos] = heap[parent]
            pos = parent
        heap[pos] = slot

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _sift_down(self, pos: cython.Py_ssize_t) -> cython.void:
        """Move the slot at heap position ``pos`` down to its place."""
        heap: cython.longlong[::1] = self._heap
        n: cython.Py_ssize_t = self._n_timers
        slot: cython.Py_ssize_t = heap[pos]
        child: cython.Py_ssize_t
        while True:
            child = 2 * pos + 1
            if child >= n:
                break
            if child + 1 < n and self._before(heap[child + 1], heap[child]):
                child += 1
            if not self._before(heap[child], slot):
                break
            heap[pos] = heap[child]
            pos = child
        heap[pos] = slot

    @cython.cfunc
    def _grow_timers(self) -> cython.void:
        n: cython.Py_ssize_t = len(self._s_fn)
        self._s_due = _doubled(self._s_due, n)
        self._s_ord = _doubled(self._s_ord, n)
        self._s_per = _doubled(self._s_per, n)
        self._heap = _doubled(self._heap, n)
        self._free = _doubled(self._free, n)
        self._s_fn.extend([None] * n)

    # -- the step -----------------------------------------------------------------------
    def step_many(
        self, kinds: object, seqs: object, recv_ts: object, rows: object, cols: object
    ) -> None:
        """Advance the engine by each event of parallel sequences, in one loop.

        ``cols[kind]`` is the :class:`~framework.events.columns.Columns` the rows of
        ``kind`` index into (a list indexed by kind, or a mapping).  The sequences are
        int64 arrays (a journal's merged chunk: stepped through as C integers, compiled)
        or any sequences of ints.
        """
        if type(kinds) is np.ndarray:
            if cython.compiled and type(cols) is list:
                self._step_arrays(kinds, seqs, recv_ts, rows, cols)
                return
            kinds, seqs, recv_ts, rows = (
                kinds.tolist(),
                seqs.tolist(),
                recv_ts.tolist(),
                rows.tolist(),
            )
        kl: list = kinds if type(kinds) is list else list(kinds)
        sl: list = seqs if type(seqs) is list else list(seqs)
        tl: list = recv_ts if type(recv_ts) is list else list(recv_ts)
        rl: list = rows if type(rows) is list else list(rows)
        n: cython.Py_ssize_t = len(kl)
        if len(sl) != n or len(tl) != n or len(rl) != n:
            raise ValueError("step_many: kinds, seqs, recv_ts and rows differ in length")
        j: cython.Py_ssize_t
        for j in range(n):
            k = kl[j]
            hs: list = self._enter(k, sl[j], tl[j])
            if hs:
                _deliver(hs, cols[k], rl[j])

    @cython.cfunc
    def _step_arrays(
        self,
        kv: cython.const[cython.longlong][:],
        sv: cython.const[cython.longlong][:],
        tv: cython.const[cython.longlong][:],
        rv: cython.const[cython.longlong][:],
        cl: list,
    ) -> cython.void:
        """:meth:`step_many` over int64 arrays (compiled only): the same steps, with the
        event's kind, seq, time and row read as C integers."""
        n: cython.Py_ssize_t = kv.shape[0]
        if sv.shape[0] != n or tv.shape[0] != n or rv.shape[0] != n:
            raise ValueError("step_many: kinds, seqs, recv_ts and rows differ in length")
        j: cython.Py_ssize_t
        k: cython.Py_ssize_t
        for j in range(n):
            k = kv[j]
            hs: list = self._enter(k, sv[j], tv[j])
            if hs:
                _deliver(hs, cl[k], rv[j])  # the row boxed once, not once per handler

    @cython.cfunc
    @cython.inline
    def _enter(self, k: cython.Py_ssize_t, s: cython.longlong, t: cython.longlong) -> list:
        """One input event's step before its handlers: its seq checked and taken, the
        timers due by its time fired, the clock moved to it; the kind's handlers."""
        if s <= self.seq:
            raise self._out_of_order(k, s)
        self.seq = s
        self.input_seq = s
        self.events += 1  # per event, as step() does: handlers may read it
        if t >= self._next_timer:
            self._fire_timers(t)
        if t > self.clock.now:
            self.clock.now = t
        return self._handlers[k]

    def _out_of_order(self, kind: object, seq: cython.longlong) -> EngineError:
        return EngineError(
            f"input seq {seq} ({spec(Kind(kind)).name}) is not after the last seq "
            f"{self.seq}; the journal is out of order or was replayed twice"
        )

    # -- outputs ------------------------------------------------------------------------
    def emit(self, kind: object, payload: object) -> cython.longlong:
        """Emit an output row (payload columns only); returns its seq."""
        self.seq += 1
        seq: cython.longlong = self.seq
        now: cython.longlong = self.clock.now
        row: tuple = (seq, now, now) + (payload if type(payload) is tuple else tuple(payload))
        k: cython.Py_ssize_t = kind
        self.counts[k] += 1
        self._append(kind, row)
        if self._handlers[k]:
            if self._draining:
                self._queue.append((kind, row))
            else:
                self._drain(kind, row)
        return seq

    @cython.cfunc
    def _drain(self, kind: object, row: object) -> cython.void:
        # FIFO delivery of outputs to internal subscribers.  Only emit() calls this, when
        # not already draining: an emit from a subscriber just queues up behind, so the
        # queue is always empty again when the outermost emit returns.
        self._draining = True
        single = self._single
        handlers: list = self._handlers
        q = self._queue
        try:
            while True:
                _deliver(handlers[kind], single(kind, row), 0)
                if not q:
                    break
                kind, row = q.popleft()
        finally:
            # A handler raised: the session stops (environments surface the error), so
            # outputs still queued are dropped rather than delivered out of order later.
            q.clear()
            self._draining = False
