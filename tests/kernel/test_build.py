"""The kernel's two paths: compiled where a compiler built it, interpreted on demand."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import framework.kernel as kernel

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(
    p.stem for p in (REPO / "framework" / "kernel").glob("*.py") if p.name != "__init__.py"
)

_PROBE = """
import importlib, json, sys
import framework.kernel as k
mods = {m: importlib.import_module("framework.kernel." + m).__file__ for m in sys.argv[1:]}
print(json.dumps({"build": k.build(), "files": mods}))
"""


def _probe(env_extra: dict[str, str]) -> dict:
    env = {**os.environ, **env_extra}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *MODULES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_there_is_a_kernel():
    assert MODULES, "framework/kernel has no modules"


def test_mm_kernel_python_imports_every_module_from_its_source():
    got = _probe({"MM_KERNEL": "python"})
    assert got["build"] == "interpreted"
    assert all(f.endswith(".py") for f in got["files"].values()), got["files"]


@pytest.mark.skipif(
    shutil.which("gcc") is None or importlib.util.find_spec("Cython") is None,
    reason="no C compiler or Cython here: the kernel runs interpreted",
)
def test_the_kernel_is_compiled_where_a_compiler_is():
    # CI installs with `pip install -e .`, which compiles the kernel: the tests must then
    # run the compiled path (the interpreted one is checked against it elsewhere).
    env = {k: v for k, v in os.environ.items() if k != "MM_KERNEL"}
    got = _probe({**env, "MM_KERNEL": ""})
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    stale = [m for m, f in got["files"].items() if not f.endswith(suffixes)]
    assert not stale, (
        f"kernel modules {stale} run interpreted: build them with "
        "`.venv/bin/pip install --no-deps --no-build-isolation -e .`"
    )
    assert got["build"] == "compiled"


def test_the_manifest_platform_names_the_build():
    from framework.journal.manifest import platform_info

    assert platform_info()["kernel"] == kernel.build()


def test_a_source_edited_since_its_build_runs_interpreted_with_a_warning(monkeypatch):
    # Staleness is by content (setup.py records each source's sha256 in _build.json), not
    # by file time: a wheel install writes each .py after its .so.
    if not any(kernel._extension(m) for m in MODULES):
        pytest.skip("nothing compiled here")
    if kernel._FORCE_PYTHON:
        pytest.skip("MM_KERNEL=python: no build is chosen, stale or not")
    leaf = next(m for m in MODULES if kernel._extension(m))
    kernel._choose.cache_clear()
    monkeypatch.setattr(kernel, "_built_from", lambda: dict.fromkeys(MODULES, "0" * 64))
    try:
        assert kernel._choose(leaf) is None
        with pytest.warns(RuntimeWarning, match="not the source its compiled build"):
            spec = kernel._KernelFinder.find_spec(f"framework.kernel.{leaf}")
        assert spec is not None and spec.origin.endswith(f"{leaf}.py")
    finally:
        kernel._choose.cache_clear()


def test_the_build_stamp_covers_the_kernels_c_declarations(tmp_path, monkeypatch):
    # A module compiled against a .pxd (numpy's C API for draws) is stale once the .pxd
    # changes, as it is when its own source changes.
    src = REPO / "framework" / "kernel"
    for f in [*src.glob("*.py"), *src.glob("*.pxd")]:
        shutil.copy(f, tmp_path / f.name)
    assert list(tmp_path.glob("*.pxd")), "the kernel declares no C API: nothing to cover"
    monkeypatch.setattr(kernel, "_HERE", tmp_path)
    before = {m: kernel._source_digest(m) for m in MODULES}
    pxd = next(tmp_path.glob("*.pxd"))
    pxd.write_text(pxd.read_text() + "\n# edited\n")
    after = {m: kernel._source_digest(m) for m in MODULES}
    assert all(before[m] != after[m] for m in MODULES)
