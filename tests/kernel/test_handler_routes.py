"""Kernel components subscribed as routes: the engine calls them (in C when compiled)
in subscription order among ordinary handlers, with the row index, and an exception a
handler raises reaches the caller; a route called from Python does the same."""

from __future__ import annotations

from types import ModuleType

import pytest

from framework.kernel import engine_loop
from framework.kernel.handler import Handler, Route
from tests.kernel.source import interpreted

_INTERPRETED = interpreted("engine_loop")


class Recorder(Handler):
    """A Python subclass: its handle() overrides the C one (as a compiled one would)."""

    def __init__(self, log: list) -> None:
        self.log = log

    def handle(self, route: int, cols: object, i: int) -> None:
        if cols == "boom":
            raise RuntimeError("handler failed")
        self.log.append(("route", route, cols, i))


@pytest.mark.parametrize("module", [engine_loop, _INTERPRETED], ids=["loaded", "interpreted"])
def test_routes_and_callables_run_in_subscription_order(module: ModuleType) -> None:
    log: list = []
    engine = module.EngineCore()
    rec = Recorder(log)
    engine._handlers[3].extend(
        [
            Route(rec, 7),
            lambda cols, i: log.append(("fn", cols, i)),
            Route(rec, 8),
        ]
    )
    engine.step_many([3, 3], [1, 2], [10, 20], [0, 5], [None, None, None, "cols"])
    assert log == [
        ("route", 7, "cols", 0),
        ("fn", "cols", 0),
        ("route", 8, "cols", 0),
        ("route", 7, "cols", 5),
        ("fn", "cols", 5),
        ("route", 8, "cols", 5),
    ]


@pytest.mark.parametrize("module", [engine_loop, _INTERPRETED], ids=["loaded", "interpreted"])
def test_an_exception_in_a_routed_handler_reaches_the_step(module: ModuleType) -> None:
    engine = module.EngineCore()
    engine._handlers[3].append(Route(Recorder([]), 1))
    with pytest.raises(RuntimeError, match="handler failed"):
        engine.step_many([3], [1], [10], [0], [None, None, None, "boom"])


def test_a_route_called_from_python_calls_its_target() -> None:
    log: list = []
    route = Route(Recorder(log), 4)
    route("cols", 2)
    assert log == [("route", 4, "cols", 2)]
    assert (route.code, type(route.target)) == (4, Recorder)
    with pytest.raises(NotImplementedError, match="no handler for route 4"):
        Route(Handler(), 4)("cols", 0)
