"""Replay is bit-exact when the numeric kernels change under it (issue 9 item 2).

BLAS and numpy choose their kernels, and so their summation order, per CPU.  A
journal written here must verify when replayed with other kernels forced:
OpenBLAS core types (``OPENBLAS_CORETYPE``) and numpy without its AVX2/FMA dispatch
(``NPY_DISABLE_CPU_FEATURES``; numpy 2.x names the dispatch targets by group, so the
AVX2/FMA3/F16C/AVX set is ``X86_V3``; the per-feature names are ignored with a
warning).  Each replay runs in its own process, because both variables are read when
the libraries load.

glibc's libm chooses too: with FMA hidden (``GLIBC_TUNABLES``) it runs the non-FMA
variants of ``exp`` / ``log`` / ``pow``, which differ in the last bit for a small share
of inputs.  The engine computes those with :mod:`framework.kernel.fpmath` (IEEE basic
operations only), so a journal verifies with either variant.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from framework.environments.backtest import run_backtest
from framework.journal import JournalReader

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"

KERNEL_VARIANTS = {
    "openblas-nehalem": {"OPENBLAS_CORETYPE": "Nehalem"},
    "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "openblas-haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "numpy-no-avx2-fma": {"NPY_DISABLE_CPU_FEATURES": "X86_V3"},
    "libm-no-fma": {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX"},
}


def _python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _replay(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _python(env, "cli.py", "replay", str(root), "--verify")


@pytest.fixture(scope="module")
def sample_backtest(tmp_path_factory) -> Path:
    """The bundled sample, backtested: its estimators refit the HMM, size Kelly, mark out."""
    out = tmp_path_factory.mktemp("cpu") / "bt"
    run_backtest(SAMPLE, out=out, spread_profile="aggressive", progress=False)
    est = JournalReader(out).table("estimates")
    computed = est.filter(pc.is_valid(est.column("std_err")))
    names = set(computed.column("estimator").to_pylist())
    # Every estimator whose arithmetic changed computed real values in this journal.
    assert {"regime", "kelly", "adverse_selection"} <= names, names
    refits = est.filter(pc.equal(est.column("param"), "n_states"))
    assert refits.num_rows >= 3
    return out


@pytest.mark.parametrize("variant", list(KERNEL_VARIANTS))
def test_replay_verifies_under_other_numeric_kernels(sample_backtest, variant):
    env = KERNEL_VARIANTS[variant]
    res = _replay(sample_backtest, env)
    assert res.returncode == 0 and "verified" in res.stdout, res.stdout + res.stderr


def test_numpy_accepts_the_dispatch_spelling():
    """``X86_V3`` really switches numpy's AVX2/FMA kernels off (else the variant tests nothing)."""
    probe = (
        "from numpy._core._multiarray_umath import __cpu_features__ as f;"
        "print(int(bool(f.get('X86_V3'))), int(bool(f.get('AVX2'))))"
    )
    here = _python({}, "-c", probe).stdout.split()
    if here[:2] != ["1", "1"]:
        pytest.skip("this CPU has no AVX2/FMA dispatch to switch off")
    off = _python(KERNEL_VARIANTS["numpy-no-avx2-fma"], "-W", "error::ImportWarning", "-c", probe)
    assert off.returncode == 0, off.stderr
    assert off.stdout.split()[0] == "0"


def test_a_divergence_prints_both_platforms(sample_backtest, tmp_path):
    """When verification fails, replay shows where the journal was made next to here."""
    import shutil

    from framework.journal.manifest import read_manifest, write_manifest

    copy = tmp_path / "bt"
    shutil.copytree(sample_backtest, copy)
    m = read_manifest(copy)
    m.platform = {**m.platform, "cpu": "Some Other CPU", "numpy": "0.0"}
    m.seed += 1  # a different engine seed: the replay diverges
    write_manifest(copy, m)
    res = _replay(copy, {})
    assert res.returncode == 1 and "DIVERGED" in res.stdout
    assert "platform differs (recorded -> this machine)" in res.stdout
    assert "cpu: Some Other CPU -> " in res.stdout and "numpy: 0.0 -> " in res.stdout


@pytest.mark.slow
def test_replay_verifies_a_six_hour_session_under_other_kernels(tmp_path):
    """The long variant: 6 synthetic hours (many HMM refits, restarts, BIC), every kernel."""
    rec = tmp_path / "rec"
    res = _python({}, "cli.py", "synth", "--asset", "HYPE", "--hours", "6", "--seed", "4",
                  "--out", str(rec))  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = tmp_path / "bt"
    run_backtest(rec, out=out, spread_profile="aggressive", progress=False)
    for env in KERNEL_VARIANTS.values():
        res = _replay(out, env)
        assert res.returncode == 0 and "verified" in res.stdout, (env, res.stdout + res.stderr)


_LIBM_PROBE = (
    "import hashlib, math, random, struct; random.seed(7);"
    "xs = [random.uniform(-30.0, 30.0) for _ in range(20000)];"
    "print(hashlib.sha256(struct.pack('<20000d', *map(math.exp, xs))).hexdigest())"
)


def test_glibc_accepts_the_tunable():
    """The tunable really switches libm to its non-FMA ``exp`` (else the variant tests
    nothing): the same inputs give other bits for a few of them."""
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " fma " not in cpu:
        pytest.skip("this CPU has no FMA: libm has no other variant to switch to")
    here = _python({}, "-c", _LIBM_PROBE)
    off = _python(KERNEL_VARIANTS["libm-no-fma"], "-c", _LIBM_PROBE)
    assert here.returncode == 0 and off.returncode == 0, here.stderr + off.stderr
    assert here.stdout != off.stdout


def _bits(table: pa.Table) -> dict[str, list[object]]:
    """Every column's values, floats as their IEEE bits (NaN equal to NaN)."""
    out = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(col.type):
            values = col.to_numpy(zero_copy_only=False).astype("f8").view("i8").tolist()
            out[name] = [v if ok else None for v, ok in zip(values, col.is_valid(), strict=True)]
        else:
            out[name] = col.to_pylist()
    return out


def test_the_engine_s_transcendentals_do_not_depend_on_libm(tmp_path):
    """A backtest writes the same journal with libm's FMA and non-FMA variants (before
    fpmath, 1786 of the sample's estimates rows differed in a last bit)."""
    script = (
        "import sys; from pathlib import Path;"
        "from framework.environments.backtest import run_backtest;"
        "run_backtest(Path(sys.argv[1]), out=Path(sys.argv[2]), spread_profile='aggressive',"
        " progress=False)"
    )
    outs = []
    for name, env in (("fma", {}), ("no-fma", KERNEL_VARIANTS["libm-no-fma"])):
        out = tmp_path / name
        res = _python(env, "-c", script, str(SAMPLE), str(out))
        assert res.returncode == 0, res.stderr
        outs.append(JournalReader(out))
    for table in ("estimates", "quotes", "order_commands", "sim_orders", "sim_fills"):
        a, b = (r.table(table) for r in outs)
        assert a.num_rows > 0 and _bits(a) == _bits(b), table
