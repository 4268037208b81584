"""Kernel components subscribed as routes: the engine calls them (in C when compiled)
in subscription order among ordinary handlers, with the row index, and an exception a
handler raises reaches the caller; a route called from Python does the same."""

from __future__ import annotations

from types import ModuleType

import pytest

from framework.kernel import engine_loop
from framework.kernel.handler import Handler, Route, Tick
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


class Ticker(Handler):
    def __init__(self, log: list) -> None:
        self.log = log

    def on_tick(self, route: int, t: int) -> None:
        if route == 9:
            raise RuntimeError("timer failed")
        self.log.append(("tick", route, t))

    def on_return(self, t: int, r: object, k: int) -> None:
        self.log.append(("return", t, r, k))


@pytest.mark.parametrize("module", [engine_loop, _INTERPRETED], ids=["loaded", "interpreted"])
def test_ticks_fire_with_the_other_timers_in_order(module: ModuleType) -> None:
    log: list = []
    engine = module.EngineCore()
    engine._push(100, Tick(Ticker(log), 1), 100)
    engine._push(100, lambda t: log.append(("fn", t)), 0)
    engine.call_at(150, Tick(Ticker(log), 2))
    engine.step_many([3], [1], [250], [0], [None, None, None, None])
    assert log == [("tick", 1, 100), ("fn", 100), ("tick", 2, 150), ("tick", 1, 200)]
    engine.call_at(300, Tick(Ticker(log), 9))
    with pytest.raises(RuntimeError, match="timer failed"):
        engine.step_many([3], [2], [300], [0], [None, None, None, None])


def test_the_mid_clock_calls_handler_and_callable_listeners_alike() -> None:
    from framework.kernel.market import MarketState, MidClock

    log: list = []
    clock = MidClock(1.0, 5.0)
    clock.market = MarketState()
    clock.market.best_bid, clock.market.best_ask = 99.0, 101.0
    clock.add_listener(Ticker(log))
    clock.add_listener(lambda t, r, k: log.append(("fn", t, r, k)))
    clock.tick(1_000_000_000)
    clock.market.best_bid, clock.market.best_ask = 100.0, 102.0
    clock.tick(3_000_000_000)  # two ticks later: k = 2
    clock.market.best_bid = 103.0  # crossed: an invalid tick
    clock.tick(4_000_000_000)
    r = log[0][2]
    assert abs(r - 0.009950330853168) < 1e-12  # log(101 / 100)
    assert log == [
        ("return", 3_000_000_000, r, 2),
        ("fn", 3_000_000_000, r, 2),
        ("return", 4_000_000_000, None, 0),
        ("fn", 4_000_000_000, None, 0),
    ]
