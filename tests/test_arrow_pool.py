"""Arrow's buffers come from jemalloc (framework.arrow_pool), unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from framework import arrow_pool

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="jemalloc is asked for on Linux only"
)


def _backend(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != arrow_pool.ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "Unsupported backend" not in out.stderr
    return out.stdout.strip()


@linux_only
def test_importing_the_framework_first_gives_arrow_jemalloc() -> None:
    code = "import framework, os, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    assert _backend(code) == "jemalloc"


def test_a_pool_the_user_chose_wins() -> None:
    code = "import framework, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    assert _backend(code, ARROW_DEFAULT_MEMORY_POOL="system") == "system"


def test_prefer_jemalloc_sets_the_variable_before_pyarrow_loads(monkeypatch) -> None:
    monkeypatch.delenv(arrow_pool.ENV, raising=False)
    monkeypatch.delitem(sys.modules, "pyarrow", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert arrow_pool.prefer_jemalloc() is True
    assert os.environ[arrow_pool.ENV] == "jemalloc"
    monkeypatch.setenv(arrow_pool.ENV, "system")
    assert arrow_pool.prefer_jemalloc() is False  # the user's choice stays
    assert os.environ[arrow_pool.ENV] == "system"
    monkeypatch.delenv(arrow_pool.ENV)
    monkeypatch.setattr(sys, "platform", "win32")
    assert arrow_pool.prefer_jemalloc() is False


def test_pyarrow_imported_first_is_left_alone() -> None:
    # Too late to choose: Arrow picked its pool when pyarrow loaded, and the variable
    # (which subprocesses would inherit) is not set behind the user's back.
    code = (
        "import os, pyarrow as pa, framework; "
        "print(pa.default_memory_pool().backend_name, os.environ.get('ARROW_DEFAULT_MEMORY_POOL'))"
    )
    backend, env = _backend(code).split()
    assert env == "None"
    assert backend == _backend("import pyarrow as pa; print(pa.default_memory_pool().backend_name)")


def test_prefer_jemalloc_does_nothing_once_pyarrow_is_loaded(monkeypatch) -> None:
    import pyarrow  # noqa: F401  (loaded: Arrow has chosen its pool)

    monkeypatch.delenv(arrow_pool.ENV, raising=False)
    assert arrow_pool.prefer_jemalloc() is False
    assert arrow_pool.ENV not in os.environ
