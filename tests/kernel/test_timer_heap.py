"""The engine's typed timer heap fires timers in the order the heap of tuples it
replaced did: by due time, then creation order, periodic timers re-armed after they
run, timers set from inside a timer included.

The reference is the previous implementation, kept verbatim below (``heapq`` over
``(due, order, fn, period)`` tuples).  Random schedules run through the compiled
``EngineCore`` and through its interpreted source; all three must fire the same
timers at the same times in the same order.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from framework.kernel import engine_loop
from framework.kernel.engine_loop import NEVER
from tests.kernel.source import interpreted

_INTERPRETED = interpreted("engine_loop")


class _ReferenceTimers:
    """The tuple heap the engine used before the typed one (verbatim semantics)."""

    def __init__(self) -> None:
        self.now = 0
        self._timers: list[tuple[int, int, Any, int]] = []
        self._timer_order = 0
        self._next_timer = NEVER
        self.seq = 0

    def _push(self, due_ns: int, fn: Any, period_ns: int) -> None:
        self._timer_order += 1
        heapq.heappush(self._timers, (due_ns, self._timer_order, fn, period_ns))
        if due_ns < self._next_timer:
            self._next_timer = due_ns

    def call_at(self, due_ns: int, fn: Any) -> None:
        self._push(due_ns, fn, 0)

    def _fire_timers(self, until_ns: int) -> None:
        timers = self._timers
        while timers and timers[0][0] <= until_ns:
            due, _, fn, period = heapq.heappop(timers)
            if due > self.now:
                self.now = due
            fn(due)
            if period:
                self._timer_order += 1
                heapq.heappush(timers, (due + period, self._timer_order, fn, period))
        self._next_timer = timers[0][0] if timers else NEVER

    def step(self, seq: int, t: int) -> None:
        self.seq = seq
        if t >= self._next_timer:
            self._fire_timers(t)
        if t > self.now:
            self.now = t


def _schedule(engine: Any, step: Callable[[int, int], None], seed: int) -> list[tuple]:
    """A random session: one-shot and periodic timers (many on the same due time), some
    set from inside timers; returns what fired, in order, with the engine's clock."""
    rng = random.Random(seed)
    fired: list[tuple] = []

    def timer(name: str, spawn: int) -> Callable[[int], None]:
        def fn(t: int) -> None:
            fired.append((name, t, engine.now, type(t).__name__))
            for j in range(spawn):  # a timer that sets timers, some due at once
                engine.call_at(t + rng.choice((0, 0, 7, 50)), timer(f"{name}.{j}", 0))

        return fn

    for i in range(rng.randrange(20, 60)):  # beyond the heap's first 16 slots
        due = rng.choice((100, 100, 250, 1_000)) + 10 * rng.randrange(50)
        engine.call_at(due, timer(f"at{i}", rng.choice((0, 0, 1, 2))))
    for i in range(rng.randrange(1, 6)):
        period = rng.choice((50, 100, 333))
        engine._push(rng.choice((0, 50, 100)), timer(f"every{i}", rng.choice((0, 1))), period)
    t = 0
    for seq in range(1, 400):
        t += rng.choice((0, 1, 3, 40, 97))
        step(seq, t)
    return fired


def _typed_step(engine: Any) -> Callable[[int, int], None]:
    return lambda seq, t: engine.step_many([0], [seq], [t], [0], [None])


@pytest.mark.parametrize("module", [engine_loop, _INTERPRETED], ids=["loaded", "interpreted"])
@pytest.mark.parametrize("seed", range(12))
def test_timers_fire_as_the_tuple_heap_fired_them(module: ModuleType, seed: int) -> None:
    ref = _ReferenceTimers()
    want = _schedule(ref, ref.step, seed)
    typed = module.EngineCore()
    got = _schedule(typed, _typed_step(typed), seed)
    assert got == want
    assert len(want) > 100  # periodic timers ran many times, spawned timers ran


@pytest.mark.parametrize("module", [engine_loop, _INTERPRETED], ids=["loaded", "interpreted"])
def test_a_timer_that_raises_stops_the_step_and_the_rest_still_fire_later(
    module: ModuleType,
) -> None:
    engine = module.EngineCore()
    fired: list[str] = []

    def boom(t: int) -> None:
        raise RuntimeError("handler failed")

    engine.call_at(10, lambda t: fired.append("before"))
    engine.call_at(20, boom)
    engine.call_at(30, lambda t: fired.append("after"))
    with pytest.raises(RuntimeError, match="handler failed"):
        engine.step_many([0], [1], [25], [0], [None])
    assert fired == ["before"]
    assert engine._n_timers == 1
    engine.step_many([0], [2], [30], [0], [None])
    assert fired == ["before", "after"]
    assert engine._n_timers == 0


@pytest.mark.parametrize("module", [engine_loop, _INTERPRETED], ids=["loaded", "interpreted"])
def test_a_fired_one_shot_s_slot_is_reused_and_periodic_timers_keep_theirs(
    module: ModuleType,
) -> None:
    engine = module.EngineCore()
    fired: list[int] = []
    engine._push(0, fired.append, 10)
    engine._push(5, fired.append, 10)
    for seq in range(1, 2_001):  # a one-shot set and fired per event, 2,000 times
        engine.call_at(seq * 100, fired.append)
        engine.step_many([0], [seq], [seq * 100], [0], [None])
    assert engine._n_timers == 2
    if not module.__file__.endswith(".py"):  # compiled (interpreted: a heapq of tuples)
        assert engine._n_slots == 3  # two periodic, one reused by every one-shot
    assert fired.count(200_000) == 2  # the one-shot and a periodic tick, in order
