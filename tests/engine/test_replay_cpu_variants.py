"""Replay is bit-exact when the numeric kernels change under it (issue 9 item 2).

BLAS and numpy choose their kernels, and so their summation order, per CPU.  A
journal written here must verify when replayed with other kernels forced:
OpenBLAS core types (``OPENBLAS_CORETYPE``) and numpy without its AVX2/FMA dispatch
(``NPY_DISABLE_CPU_FEATURES``; numpy 2.x names the dispatch targets by group, so the
AVX2/FMA3/F16C/AVX set is ``X86_V3``; the per-feature names are ignored with a
warning).  Each replay runs in its own process, because both variables are read when
the libraries load.

glibc's libm is another matter: with FMA hidden (``GLIBC_TUNABLES``) it runs the
non-FMA variants of ``exp`` / ``log`` / ``pow``, which differ in the last bit for a
small share of inputs; the slow test below records that known limitation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.slow
@pytest.mark.xfail(
    reason="glibc libm: the non-FMA exp/log/pow differ from the FMA ones in the last bit "
    "for ~0.07 % of exp inputs; replay across FMA / non-FMA x86 CPUs is not bit-exact "
    "(whether this journal hits such an input depends on its data)",
    strict=False,
)
def test_replay_without_fma_in_libm(sample_backtest):
    res = _replay(sample_backtest, {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX"})
    assert res.returncode == 0 and "verified" in res.stdout, res.stdout
