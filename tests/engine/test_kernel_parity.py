"""The compiled kernel and its interpreted source write the same journal.

A backtest of the bundled sample runs twice in fresh processes: once with the typed
kernel as built (``python setup.py build_ext --inplace``), once with ``MM_KERNEL=python``
(the same source, interpreted).  Every Parquet table must hold the same rows, floats
compared bit for bit, and ``replay --verify`` must pass on the compiled run's journal.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import framework.kernel

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"
KERNEL_SOURCES = sorted(
    p.stem for p in (REPO / "framework" / "kernel").glob("*.py") if p.name != "__init__.py"
)

# Runs a backtest and prints which kernel modules it ran compiled.
_BACKTEST = """
import json, sys
from framework.environments.backtest import run_backtest
import framework.kernel
run_backtest(sys.argv[1], out=sys.argv[2], spread_profile="aggressive", progress=False)
print(json.dumps(framework.kernel.status()))
"""


def _run(args: list[str], *, interpreted: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MM_KERNEL"}
    if interpreted:
        env["MM_KERNEL"] = "python"
    res = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def _backtest(out: Path, *, interpreted: bool, recording: Path = SAMPLE) -> dict[str, str]:
    res = _run(["-c", _BACKTEST, str(recording), str(out)], interpreted=interpreted)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _tables(root: Path) -> dict[str, pa.Table]:
    out = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        parts = sorted(d.glob("*.parquet"))
        if parts:
            out[d.name] = pa.concat_tables([pq.read_table(p) for p in parts])
    return out


def _bits(values: list) -> list:
    """Column values with every float as its IEEE bytes (NaN equals NaN, -0.0 is not 0.0)."""

    def one(v):
        if isinstance(v, float):
            return struct.pack("<d", v)
        if isinstance(v, list):
            return [one(x) for x in v]
        if isinstance(v, dict):
            return {k: one(x) for k, x in v.items()}
        return v

    return [one(v) for v in values]


def _assert_same_tables(a: Path, b: Path) -> int:
    ta, tb = _tables(a), _tables(b)
    assert ta.keys() == tb.keys()
    for name in ta:
        x, y = ta[name], tb[name]
        assert x.schema == y.schema and x.num_rows == y.num_rows, name
        for col in x.column_names:
            assert _bits(x.column(col).to_pylist()) == _bits(y.column(col).to_pylist()), (
                f"{name}.{col} differs between the compiled and the interpreted kernel"
            )
    return len(ta)


#: Kernel modules only ``import`` runs (tests/recordings/test_fastimport.py checks their
#: compiled and interpreted paths against each other).
IMPORT_ONLY = {"hlscan"}


def test_compiled_and_interpreted_kernels_write_identical_journals(tmp_path):
    built = [m for m in KERNEL_SOURCES if framework.kernel._extension(m) is not None]
    if not built:
        pytest.skip("no kernel module is compiled here (python setup.py build_ext --inplace)")
    compiled = _backtest(tmp_path / "compiled", interpreted=False)
    interpreted = _backtest(tmp_path / "interpreted", interpreted=True)
    # Each run used the path it was asked for, for every kernel module it loaded.
    assert set(compiled.values()) == {"compiled"}, compiled
    assert set(interpreted.values()) == {"interpreted"}, interpreted
    # Every compiled module a backtest runs took part (the importer's scanner does not).
    assert set(built) - IMPORT_ONLY <= set(compiled), (built, compiled)
    assert set(compiled) == set(interpreted)
    n = _assert_same_tables(tmp_path / "compiled", tmp_path / "interpreted")
    assert n >= 8  # inputs, quotes, orders, fills, estimates ...
    res = _run(["cli.py", "replay", str(tmp_path / "compiled"), "--verify"], interpreted=False)
    assert "verified" in res.stdout, res.stdout + res.stderr


@pytest.mark.slow
def test_compiled_and_interpreted_kernels_agree_over_six_synthetic_hours(tmp_path):
    """The long variant: many more HMM refits (K by BIC, restarts) and volatility flips."""
    if not any(framework.kernel._extension(m) is not None for m in KERNEL_SOURCES):
        pytest.skip("no kernel module is compiled here (python setup.py build_ext --inplace)")
    rec = tmp_path / "rec"
    _run(["cli.py", "synth", "--asset", "HYPE", "--hours", "6", "--seed", "4", "--out", str(rec)],
         interpreted=True)  # fmt: skip
    compiled = _backtest(tmp_path / "compiled", interpreted=False, recording=rec)
    _backtest(tmp_path / "interpreted", interpreted=True, recording=rec)
    assert set(compiled.values()) == {"compiled"}, compiled
    _assert_same_tables(tmp_path / "compiled", tmp_path / "interpreted")
