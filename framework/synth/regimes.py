"""The hidden regime: a continuous-time Markov chain over the generator's regimes.

Each regime lasts an exponential time (mean ``mean_duration_s``), then jumps to
another regime with probabilities ``exit_probs``.  Its rate matrix ``Q`` (per
second) gives the transition matrix over any step: ``P(step) = expm(Q * step)``.
"""

from __future__ import annotations

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


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring a Taylor series (small matrices)."""
    norm = np.abs(a).sum(axis=1).max()
    squarings = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0 else 0
    x = a / 2.0**squarings
    result = np.eye(len(a))
    term = np.eye(len(a))
    for k in range(1, 20):
        term = term @ x / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def stationary(q: np.ndarray) -> np.ndarray:
    """The chain's stationary distribution (``pi @ Q = 0``, ``sum(pi) = 1``)."""
    n = len(q)
    a = np.vstack([q.T, np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    return pi / pi.sum()


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
