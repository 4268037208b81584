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

from collections import deque

import cython
import numpy as np

from framework.events.columns import Columns
from framework.events.schema import Kind, spec

NEVER = 2**63 - 1
_N_KINDS = len(Kind)


class EngineError(Exception):
    """An input violates the engine's contract (e.g. a seq that goes backwards)."""


@cython.cfunc
@cython.inline
def _deliver(hs: list, c: object, r: object) -> cython.void:
    """Row ``r`` of ``c`` to each handler of its kind, in subscription order."""
    for fn in hs:
        fn(c, r)


def _int64s(n: cython.Py_ssize_t) -> object:
    """``n`` zero int64 slots: an array compiled (typed, C-speed), a list interpreted
    (so values read back are Python ints, as the interpreted engine's always are)."""
    return np.zeros(n, dtype=np.int64) if cython.compiled else [0] * n


@cython.cclass
class EngineCore:
    """The engine's per-event state and methods (see the module doc)."""

    seq = cython.declare(cython.longlong, visibility="public")  # last seq, input or output
    input_seq = cython.declare(cython.longlong, visibility="public")  # cause of outputs
    events = cython.declare(cython.longlong, visibility="public")
    now = cython.declare(cython.longlong, visibility="public")
    start_ns = cython.declare(cython.longlong, visibility="public")
    _next_timer = cython.declare(cython.longlong, visibility="public")
    _timer_order = cython.declare(cython.longlong, visibility="public")
    _n_timers = cython.declare(cython.Py_ssize_t, visibility="public")  # pending timers
    _draining = cython.declare(cython.bint, visibility="public")
    counts = cython.declare(list, visibility="public")  # outputs emitted, per kind
    _handlers = cython.declare(list, visibility="public")  # per kind: handler list
    # The timers: a binary min-heap on (due, creation order) kept in parallel arrays,
    # position by position: due time, creation order, period (0 = one-shot) as C
    # integers, and the function.  Periodic timers are re-pushed by _fire_timers
    # itself rather than by a wrapper closure.  (A heap of tuples cost three Python
    # ints, a tuple and tuple comparisons per firing: 3.5 % of a backtest.)
    _t_due = cython.declare(cython.longlong[::1])
    _t_ord = cython.declare(cython.longlong[::1])
    _t_per = cython.declare(cython.longlong[::1])
    _t_fn = cython.declare(list)
    _queue = cython.declare(object, visibility="public")  # deque of (kind, row)
    _append = cython.declare(object, visibility="public")  # the sink's append
    _single = cython.declare(object)

    def __init__(self) -> None:
        self.seq = 0
        self.input_seq = 0
        self.events = 0
        self.now = 0
        self.start_ns = 0
        self._next_timer = NEVER
        self._timer_order = 0
        self._draining = False
        self.counts = [0] * _N_KINDS
        self._handlers = [[] for _ in range(_N_KINDS)]
        self._n_timers = 0
        self._t_due = _int64s(16)
        self._t_ord = _int64s(16)
        self._t_per = _int64s(16)
        self._t_fn = [None] * 16
        self._queue = deque()
        self._append = None
        self._single = Columns.single

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
        due: cython.longlong
        period: cython.longlong
        while self._n_timers and self._t_due[0] <= until_ns:
            due = self._t_due[0]
            period = self._t_per[0]
            fn = self._t_fn[0]
            self._heap_pop()
            if due > self.now:
                self.now = due
            fn(due)
            if period:
                self._timer_order += 1
                self._heap_push(due + period, self._timer_order, period, fn)
        self._next_timer = self._t_due[0] if self._n_timers else NEVER

    @cython.cfunc
    def _heap_push(
        self, due: cython.longlong, order: cython.longlong, period: cython.longlong, fn: object
    ) -> cython.void:
        i: cython.Py_ssize_t = self._n_timers
        if i == len(self._t_fn):
            self._grow_timers()
        self._n_timers = i + 1
        self._t_due[i] = due
        self._t_ord[i] = order
        self._t_per[i] = period
        self._t_fn[i] = fn
        self._sift_up(i)

    @cython.cfunc
    def _heap_pop(self) -> cython.void:
        """Drop the heap's first timer."""
        last: cython.Py_ssize_t = self._n_timers - 1
        self._n_timers = last
        if last:
            self._put(0, last)
        self._t_fn[last] = None  # no reference kept to a function that ran
        if last > 1:
            self._sift_down(0)

    @cython.cfunc
    @cython.inline
    def _before(self, i: cython.Py_ssize_t, j: cython.Py_ssize_t) -> cython.bint:
        """Is the timer at position ``i`` due before the one at ``j``?"""
        di: cython.longlong = self._t_due[i]
        dj: cython.longlong = self._t_due[j]
        return di < dj or (di == dj and self._t_ord[i] < self._t_ord[j])

    @cython.cfunc
    @cython.inline
    def _put(self, dst: cython.Py_ssize_t, src: cython.Py_ssize_t) -> cython.void:
        """Copy the timer at position ``src`` to ``dst``."""
        self._t_due[dst] = self._t_due[src]
        self._t_ord[dst] = self._t_ord[src]
        self._t_per[dst] = self._t_per[src]
        self._t_fn[dst] = self._t_fn[src]

    @cython.cfunc
    def _swap(self, i: cython.Py_ssize_t, j: cython.Py_ssize_t) -> cython.void:
        d: cython.longlong = self._t_due[i]
        o: cython.longlong = self._t_ord[i]
        p: cython.longlong = self._t_per[i]
        f = self._t_fn[i]
        self._put(i, j)
        self._t_due[j] = d
        self._t_ord[j] = o
        self._t_per[j] = p
        self._t_fn[j] = f

    @cython.cfunc
    def _sift_up(self, i: cython.Py_ssize_t) -> cython.void:
        parent: cython.Py_ssize_t
        while i > 0:
            parent = (i - 1) >> 1
            if not self._before(i, parent):
                break
            self._swap(i, parent)
            i = parent

    @cython.cfunc
    def _sift_down(self, i: cython.Py_ssize_t) -> cython.void:
        n: cython.Py_ssize_t = self._n_timers
        child: cython.Py_ssize_t
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and self._before(child + 1, child):
                child += 1
            if not self._before(child, i):
                break
            self._swap(i, child)
            i = child

    @cython.cfunc
    def _grow_timers(self) -> cython.void:
        n: cython.Py_ssize_t = len(self._t_fn)
        due, order, per = _int64s(2 * n), _int64s(2 * n), _int64s(2 * n)
        due[:n] = self._t_due
        order[:n] = self._t_ord
        per[:n] = self._t_per
        self._t_due, self._t_ord, self._t_per = due, order, per
        self._t_fn.extend([None] * n)

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
        if t > self.now:
            self.now = t
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
        now: cython.longlong = self.now
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

    def _drain(self, kind: object, row: object) -> None:
        # FIFO delivery of outputs to internal subscribers.  Only emit() calls this, when
        # not already draining: an emit from a subscriber just queues up behind, so the
        # queue is always empty again when the outermost emit returns.
        self._draining = True
        single = self._single
        handlers: list = self._handlers
        q = self._queue
        try:
            while True:
                c = single(kind, row)
                for fn in handlers[kind]:
                    fn(c, 0)
                if not q:
                    break
                kind, row = q.popleft()
        finally:
            # A handler raised: the session stops (environments surface the error), so
            # outputs still queued are dropped rather than delivered out of order later.
            q.clear()
            self._draining = False
