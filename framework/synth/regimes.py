"""The hidden regime: a continuous-time Markov chain over the generator's regimes.

Each regime lasts an exponential time (mean ``mean_duration_s``), then jumps to
another regime with probabilities ``exit_probs``.  Its rate matrix ``Q`` (per
second) gives the transition matrix over any step: ``P(step) = expm(Q * step)``.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from framework.synth.params import RegimeSpec, SynthParamError


@attrs.frozen
class RegimePath:
    """Segments of the regime path, in time order (seconds from the session start)."""

    start_s: np.ndarray  # float64, first is 0.0
    regime: np.ndarray  # int64 index into the regimes
    drift_sign: np.ndarray  # float64, +1 or -1 per segment

    def at(self, t_s: np.ndarray) -> np.ndarray:
        """Segment index of each time."""
        return np.searchsorted(self.start_s, t_s, side="right") - 1


def rate_matrix(regimes: tuple[RegimeSpec, ...]) -> np.ndarray:
    """The chain's generator ``Q`` (per second): rows sum to 0."""
    n = len(regimes)
    q = np.zeros((n, n))
    for i, r in enumerate(regimes):
        probs = np.asarray(r.exit_probs, dtype=float)
        if probs.shape != (n,) or probs[i] != 0 or not np.isclose(probs.sum(), 1.0):
            raise SynthParamError(
                f"regime {r.name!r}: exit_probs={r.exit_probs} must have {n} entries, "
                "0 for itself, summing to 1"
            )
        if r.mean_duration_s <= 0:
            raise SynthParamError(f"regime {r.name!r}: mean_duration_s must be > 0")
        q[i] = probs / r.mean_duration_s
        q[i, i] = -1.0 / r.mean_duration_s
    return q


# The chain's algebra is plain Python in a fixed order, not numpy's ``@`` or LAPACK:
# BLAS and LAPACK pick their kernels per CPU, so their last bits (in the manifest's
# truth, and the stationary law the path starts from) changed with the machine.


def _matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    n = len(b)
    out = []
    for row in a:
        new = []
        for j in range(len(b[0])):
            s = 0.0
            for k in range(n):
                s += row[k] * b[k][j]
            new.append(s)
        out.append(new)
    return out


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring a Taylor series (small matrices)."""
    m = [[float(v) for v in row] for row in np.asarray(a)]
    n = len(m)
    norm = 0.0
    for row in m:
        s = 0.0
        for v in row:
            s += abs(v)
        norm = s if s > norm else norm
    squarings = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 else 0
    scale = 2.0**squarings
    x = [[v / scale for v in row] for row in m]
    eye = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    result = [r[:] for r in eye]
    term = [r[:] for r in eye]
    for k in range(1, 20):
        term = [[v / k for v in row] for row in _matmul(term, x)]
        result = [
            [u + v for u, v in zip(r, t, strict=True)] for r, t in zip(result, term, strict=True)
        ]
    for _ in range(squarings):
        result = _matmul(result, result)
    return np.asarray(result)


def stationary(q: np.ndarray) -> np.ndarray:
    """The chain's stationary distribution (``pi @ Q = 0``, ``sum(pi) = 1``): ``Q``'s
    transpose with its last equation replaced by the normalisation, solved by
    Gaussian elimination with partial pivoting."""
    qm = [[float(v) for v in row] for row in np.asarray(q)]
    n = len(qm)
    a = [[qm[j][i] for j in range(n)] + [0.0] for i in range(n)]
    a[-1] = [1.0] * n + [1.0]
    for c in range(n):
        p = max(range(c, n), key=lambda r: (abs(a[r][c]), -r))
        a[c], a[p] = a[p], a[c]
        if a[c][c] == 0.0:
            raise SynthParamError("the regime chain has no unique stationary law")
        for r in range(c + 1, n):
            f = a[r][c] / a[c][c]
            a[r] = [u - f * v for u, v in zip(a[r], a[c], strict=True)]
    pi = [0.0] * n
    for c in range(n - 1, -1, -1):
        s = a[c][n]
        for k in range(c + 1, n):
            s -= a[c][k] * pi[k]
        pi[c] = s / a[c][c]
    total = 0.0
    for v in pi:
        total += v
    return np.asarray([v / total for v in pi])


def simulate_path(
    regimes: tuple[RegimeSpec, ...], duration_s: float, rng: np.random.Generator
) -> RegimePath:
    """Draw a regime path over ``[0, duration_s)``, starting from the stationary law."""
    q = rate_matrix(regimes)
    pi = stationary(q)
    starts, states = [0.0], [int(rng.choice(len(regimes), p=pi))]
    t = 0.0
    while True:
        cur = regimes[states[-1]]
        t += rng.exponential(cur.mean_duration_s)
        if t >= duration_s:
            break
        starts.append(t)
        states.append(int(rng.choice(len(regimes), p=np.asarray(cur.exit_probs))))
    signs = rng.choice(np.array([-1.0, 1.0]), size=len(states))
    return RegimePath(np.asarray(starts), np.asarray(states, dtype=np.int64), signs)
