"""Kernel components the engine calls in C.

A component subscribes a :class:`Route` (itself and a route code, e.g. the table's
kind) in place of a bound method; the engine's delivery loop calls
``route.target.handle(route.code, cols, i)`` as a C method, without Python's call
protocol.  A :class:`Tick` does the same for a timer (``target.on_tick(code, t)``,
the time not boxed), and the mid clock calls a listener that is a Handler through
``on_return(t, r, k)``.  A vectorcall of a compiled bound method costs about 17 ns,
this about 6 ns (measured), and a backtest day makes 1.2 million of them (four to five
handlers per book, bbo or trade event).  Called from Python (``route(cols, i)``), or
by an engine that runs interpreted, a route does the same.
"""

from __future__ import annotations

import cython


@cython.cclass
class Handler:
    """The base of kernel components with per-event handlers: ``handle`` dispatches a
    route code to the handler (each component its own codes)."""

    @cython.ccall
    def handle(self, route: cython.int, cols: object, i: cython.Py_ssize_t) -> cython.void:
        raise NotImplementedError(f"{type(self).__name__} has no handler for route {route}")

    @cython.ccall
    def on_tick(self, route: cython.int, t: cython.longlong) -> cython.void:
        raise NotImplementedError(f"{type(self).__name__} has no timer {route}")

    @cython.ccall
    def on_return(self, t: cython.longlong, r: object, k: cython.longlong) -> cython.void:
        raise NotImplementedError(f"{type(self).__name__} takes no clock returns")


@cython.cclass
class Route:
    """``target.handle(code, cols, i)``: what :meth:`Engine.subscribe` takes in place of
    a kernel component's bound method."""

    def __init__(self, target: Handler, code: cython.int) -> None:
        self.target = target
        self.code = code

    def __call__(self, cols: object, i: cython.Py_ssize_t) -> None:
        self.target.handle(self.code, cols, i)

    def __repr__(self) -> str:
        return f"Route({type(self.target).__name__}, {self.code})"


@cython.cclass
class Tick:
    """``target.on_tick(code, t)``: what :meth:`Engine.call_every` / ``call_at`` take in
    place of a kernel component's bound method."""

    def __init__(self, target: Handler, code: cython.int) -> None:
        self.target = target
        self.code = code

    def __call__(self, t: cython.longlong) -> None:
        self.target.on_tick(self.code, t)

    def __repr__(self) -> str:
        return f"Tick({type(self.target).__name__}, {self.code})"


@cython.cclass
class Clock:
    """The engine's event time (ns, ``now``), one object the engine advances and its
    kernel components read as a C field (``engine.now`` from C boxes an int per read:
    300,000 a day for the market state alone).  A component made without an engine
    has a clock of its own at 0 until it is bound."""

    def __init__(self) -> None:
        self.now = 0
