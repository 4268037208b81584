"""The deterministic engine: :class:`Engine` (the step function), drivers, components."""

from framework.engine.core import (
    NEVER,
    Component,
    Engine,
    EngineError,
    ListSink,
    NullSink,
    Sink,
)
from framework.engine.drive import (
    ComponentError,
    build_components,
    build_engine,
    feed,
    inputs_for,
    load_component,
    resequence,
)

__all__ = [
    "NEVER",
    "Component",
    "ComponentError",
    "Engine",
    "EngineError",
    "ListSink",
    "NullSink",
    "Sink",
    "build_components",
    "build_engine",
    "feed",
    "inputs_for",
    "load_component",
    "resequence",
]
