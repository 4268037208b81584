"""The regime chain's algebra: the stationary law and the transition matrix are right,
and computed without BLAS or LAPACK (whose kernels, picked per CPU, changed the
manifest's truth in the last bits from one machine to the next)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framework.synth.params import SynthParamError, params_for
from framework.synth.regimes import expm, rate_matrix, stationary

REPO = Path(__file__).resolve().parents[2]


def test_the_stationary_law_balances_the_chain_and_sums_to_one() -> None:
    q = rate_matrix(params_for("HYPE", hours=2, seed=7).regimes)
    pi = stationary(q)
    assert abs(sum(pi.tolist()) - 1.0) < 1e-15
    assert max(abs(v) for v in (pi @ q).tolist()) < 1e-15
    assert all(v > 0 for v in pi.tolist())


def test_the_transition_matrix_is_a_stochastic_matrix_close_to_the_series() -> None:
    q = rate_matrix(params_for("HYPE", hours=2, seed=7).regimes)
    p1 = expm(q * 1.0)
    assert np.allclose(p1.sum(axis=1), 1.0, atol=1e-14)
    assert np.all(p1 >= 0)
    # exp(Q) over 2 s is the square of exp(Q) over 1 s (the chain's semigroup)
    assert np.allclose(expm(q * 2.0), p1 @ p1, atol=1e-14)


def test_a_chain_without_a_unique_stationary_law_is_refused() -> None:
    with pytest.raises(SynthParamError, match="stationary"):
        stationary(np.zeros((3, 3)))


def test_the_same_bits_with_another_blas_kernel() -> None:
    code = (
        "from framework.synth.params import params_for;"
        "from framework.synth.regimes import expm, rate_matrix, stationary;"
        "q = rate_matrix(params_for('HYPE', hours=2, seed=7).regimes);"
        "print(stationary(q).tolist(), expm(q).tolist())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "OPENBLAS_CORETYPE": core},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for core in ("Nehalem", "Haswell", "Prescott")
    }
    assert len(outs) == 1
