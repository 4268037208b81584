"""A kernel module's source imported as plain Python, beside whatever the kernel loaded:
the tests that compare a compiled module with the Python it replaced run both."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

import framework.kernel


def interpreted(leaf: str) -> ModuleType:
    """``framework/kernel/<leaf>.py`` executed as a fresh, uncompiled module."""
    path = framework.kernel._HERE / f"{leaf}.py"
    spec = importlib.util.spec_from_file_location(f"_{leaf}_source", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assert_compiled_where_built(module: ModuleType) -> None:
    """``module`` (a loaded kernel module) is its compiled extension wherever a build of
    it exists; skipped on an interpreted run (nothing built, or ``MM_KERNEL=python``)."""
    leaf = module.__name__.rsplit(".", 1)[-1]
    if framework.kernel._choose(leaf) is None:
        pytest.skip(f"no compiled build of {leaf} here (interpreted run)")
    assert module.__file__.endswith(".so")
