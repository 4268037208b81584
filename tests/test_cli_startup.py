"""What a command costs before it does anything: the CLI's start-up imports.

Every command pays its imports on each run (``status`` and ``validate-config`` are
run by hand and by scripts, the benchmarks time whole processes).  Heavy libraries
load where a command needs them, not when the CLI parses its arguments.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HEAVY = ("pydantic", "pandas", "duckdb", "polars", "matplotlib", "ray", "optuna", "numpy")

_PARSE = textwrap.dedent(
    """
    import sys
    sys.argv = ["cli.py", *sys.argv[1:]]
    import cli
    try:
        cli.main()
    except SystemExit:
        pass
    print("loaded:", ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
    """
).format(heavy=HEAVY)


def _loaded(*argv: str) -> list[str]:
    res = subprocess.run(
        [sys.executable, "-c", _PARSE, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("loaded:"), res.stderr
    return [m for m in line.removeprefix("loaded:").strip().split(",") if m]


def test_parsing_a_command_loads_no_heavy_library():
    # typer 0.29 parses options through pydantic (0.15-0.2 s per command): pyproject
    # keeps typer below it; this fails if an upgrade brings pydantic back.
    assert _loaded("backtest", "--help") == []
    assert _loaded("--help") == []


def test_a_bad_option_is_reported_without_loading_heavy_libraries():
    assert _loaded("backtest", "--spread-profile") == []


def _blas_threads(env: dict[str, str]) -> str:
    import os

    code = (
        "import cli, numpy, os; "
        "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))"
    )
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_the_cli_runs_numpy_with_one_blas_thread_unless_told_otherwise():
    # OpenBLAS's idle pool spins on sched_yield: CPU a backtest's decoding thread and a
    # sweep's other workers need.  The process is then the main thread alone.
    assert _blas_threads({}) == "1 1"
    assert _blas_threads({"OPENBLAS_NUM_THREADS": "2"}).startswith("2 ")


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "cli.py", *argv], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_only_the_command_being_run_is_built():
    """typer builds each command's options from its signature at start-up (65-70 ms
    for all of them); a run builds only its own, and nothing a user sees changes."""
    import cli

    full = [cli.command_name(info) for info in cli.app.registered_commands]
    assert {"backtest", "import", "validate-config", "run"} <= set(full)
    listing = _cli("--help").stdout
    for name in full:  # the top-level help still lists every command
        assert name in listing
    # a misspelt command still gets the suggestion, from the whole list
    bad = _cli("bakctest")
    assert bad.returncode == 2 and "Did you mean 'backtest'?" in bad.stderr
    # a command's own help is the same as with every command built
    code = "import sys, cli; sys.argv=['cli.py', 'import', '--help']; cli.app()"
    whole = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert _cli("import", "--help").stdout == whole.stdout
    saved = cli.app.registered_commands
    try:
        cli._only(["cli.py", "import", "x.gz"])
        assert [i.callback.__name__ for i in cli.app.registered_commands] == ["import_"]
    finally:
        cli.app.registered_commands = saved
