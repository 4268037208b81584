"""Kernel components the engine calls in C.

A component subscribes a :class:`Route` (itself and a route code, e.g. the table's
kind) in place of a bound method; the engine's delivery loop calls
``route.target.handle(route.code, cols, i)`` as a C method, without Python's call
protocol.  A vectorcall of a compiled bound method costs about 17 ns, this about 6 ns
(measured), and a backtest day makes 1.2 million of them (four to five handlers per
book, bbo or trade event).  Called from Python (``route(cols, i)``), or by an engine
that runs interpreted, a route does the same.
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
