"""Tabular Q-learning on top of GLFT: it picks spread and skew multipliers (mm_math §9).

State ``s = (inventory bucket, volatility regime, book imbalance bucket)``:

* inventory bucket of ``q / Q_max`` with edges ``(-0.6, -0.2, 0.2, 0.6)`` (5 buckets);
* volatility regime: the regime HMM's label (mm_math §5: calm 0, volatile 1, trending 2)
  once it has a fit; before that (or without the estimator) a proxy from ``σ̂`` against
  its own slow average: ratio ``> 1.25`` volatile, else calm (:func:`regime_proxy`);
* book imbalance ``(Q_b - Q_a)/(Q_b + Q_a)`` at the top, ``< -1/3``, ``> 1/3`` (3 buckets).

Action ``a = (m_hs, m_skew)`` with ``m_hs ∈ {0.8, 1, 1.25, 1.5, 2}`` and
``m_skew ∈ {0.5, 1, 2}`` (15 actions).  The update is Watkins' with
``α_n = 1/(1+N(s,a))^ω``; exploration is ε-greedy with ``ε = max(ε_min, ε0/(1+N(s)/100))``
drawn from the engine's seeded generator.  The greedy action is trusted only after
``N(s, argmax) >= trust_visits``; before that the default action (1, 1) is used.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from framework.kernel import qtable  # the step's arithmetic, typed
from framework.kernel.draws import below, uniform

__all__ = [
    "ACTIONS",
    "DEFAULT_ACTION",
    "IMBALANCE_EDGES",
    "INVENTORY_EDGES",
    "VOL_EDGES",
    "QLearner",
    "regime_proxy",
    "state_index",
]

INVENTORY_EDGES = (-0.6, -0.2, 0.2, 0.6)
#: σ̂/σ̄ above which the cold-start proxy calls the market volatile (the checkpoint's
#: ``vol_edges``).
VOL_EDGES = (1.25,)
#: Regime values (the regime estimator's label indices).
CALM, VOLATILE, TRENDING = 0, 1, 2
IMBALANCE_EDGES = (-1.0 / 3.0, 1.0 / 3.0)
HS_MULTS = (0.8, 1.0, 1.25, 1.5, 2.0)
SKEW_MULTS = (0.5, 1.0, 2.0)
ACTIONS: tuple[tuple[float, float], ...] = tuple((h, s) for h in HS_MULTS for s in SKEW_MULTS)
DEFAULT_ACTION = ACTIONS.index((1.0, 1.0))

N_INV = len(INVENTORY_EDGES) + 1
N_VOL = 3  # calm, volatile, trending
N_IMB = len(IMBALANCE_EDGES) + 1
N_STATES = N_INV * N_VOL * N_IMB
N_ACTIONS = len(ACTIONS)


def regime_proxy(vol_ratio: float) -> int:
    """The regime before the HMM has a fit: volatile when ``σ̂/σ̄ > 1.25``, else calm.

    Examples
    --------
    >>> regime_proxy(1.0), regime_proxy(2.0), regime_proxy(float("nan"))
    (0, 1, 0)
    """
    return VOLATILE if vol_ratio > VOL_EDGES[0] else CALM


def state_index(inv_frac: float, regime: int, imbalance: float) -> int:
    """The state id of ``(q/Q_max, regime, imbalance)``; NaN fractions fall in the middle
    bucket, a regime outside 0..2 counts as calm.

    Examples
    --------
    >>> state_index(0.0, CALM, 0.0), state_index(-1.0, CALM, -0.9)
    (19, 0)
    >>> state_index(1.0, TRENDING, 0.9)
    44
    """
    inv = bisect.bisect_right(INVENTORY_EDGES, inv_frac) if inv_frac == inv_frac else 2
    reg = regime if 0 <= regime < N_VOL else CALM
    imb = bisect.bisect_right(IMBALANCE_EDGES, imbalance) if imbalance == imbalance else 1
    return (inv * N_VOL + reg) * N_IMB + imb


class QLearner:
    """Q-table, visit counts and the ε-greedy policy.

    Parameters
    ----------
    epsilon0, epsilon_min : float
        Exploration schedule ``ε = max(ε_min, ε0 / (1 + N(s)/100))``.
    discount : float
        β in the Watkins update.
    omega : float
        Learning-rate exponent, ``α = 1/(1+N(s,a))^ω``.
    trust_visits : int
        Visits of the greedy action before it replaces the default action.
    """

    def __init__(
        self,
        *,
        epsilon0: float = 0.2,
        epsilon_min: float = 0.02,
        discount: float = 0.95,
        omega: float = 0.7,
        trust_visits: int = 30,
    ) -> None:
        self.epsilon0 = epsilon0
        self.epsilon_min = epsilon_min
        self.discount = discount
        self.omega = omega
        self.trust_visits = trust_visits
        # Plain lists, not numpy: a Q step touches one row of 15, where numpy's per-call
        # overhead (argmax, max, scalar boxing) cost 3x the arithmetic.  The arithmetic
        # is the same IEEE operations in the same order, so the tables are bit-identical.
        self.q: list[list[float]] = [[0.0] * N_ACTIONS for _ in range(N_STATES)]
        self.n: list[list[int]] = [[0] * N_ACTIONS for _ in range(N_STATES)]
        self.updates = 0
        self.explored = 0

    # The arithmetic of a step (the exploration rate, the greedy pick with numpy's argmax
    # rules, Watkins' update) is framework.kernel.qtable's: the same operations on the
    # same floats, without a Python frame for each.
    def greedy(self, s: int) -> int:
        """The trusted greedy action of state ``s`` (the default until trusted)."""
        return qtable.greedy(self.q[s], self.n[s], self.trust_visits, DEFAULT_ACTION)

    def choose(self, s: int, rng: np.random.Generator) -> int:
        """ε-greedy action for state ``s``, drawing from ``rng`` (always two draws)."""
        eps = qtable.epsilon(self.n[s], self.epsilon0, self.epsilon_min)
        u = uniform(rng)  # float(rng.random()), int(rng.integers(N)): numpy's values
        pick = below(rng, N_ACTIONS)  # drawn either way: a fixed draw count per step
        if u < eps:
            self.explored += 1
            return pick
        return self.greedy(s)

    def update(self, s: int, a: int, reward: float, s_next: int) -> None:
        """Watkins' Q-learning update of ``(s, a)`` after ``reward`` and landing in ``s_next``:
        ``Q += α (r + β max Q(s') - Q)`` with ``α = 1/(1+N(s,a))^ω``, then ``N += 1``."""
        qtable.watkins(self.q[s], self.n[s], a, reward, self.discount, self.omega, self.q[s_next])
        self.updates += 1

    # -- checkpoints ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable table: Q, visit counts, bucket edges and actions."""
        return {
            "q": [list(r) for r in self.q],
            "n": [list(r) for r in self.n],
            "inventory_edges": list(INVENTORY_EDGES),
            "vol_edges": list(VOL_EDGES),
            "imbalance_edges": list(IMBALANCE_EDGES),
            "actions": [list(a) for a in ACTIONS],
            "updates": self.updates,
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace the table with a checkpoint's.

        Raises
        ------
        ValueError
            When the checkpoint's bucket edges or actions differ (its table would be
            meaningless here).
        """
        self._check_layout(data)
        self.q = [[float(x) for x in r] for r in data["q"]]
        self.n = [[int(x) for x in r] for r in data["n"]]
        self.updates = int(data.get("updates", 0))

    def seed_from(self, prior: dict[str, Any]) -> int:
        """Copy a paper prior into states never visited here; returns how many were seeded."""
        self._check_layout(prior)
        seeded = 0
        for s, (counts, row) in enumerate(zip(self.n, prior["q"], strict=True)):
            if not any(counts):
                self.q[s] = [float(x) for x in row]
                seeded += 1
        return seeded

    @staticmethod
    def _check_layout(data: dict[str, Any]) -> None:
        want = {
            "inventory_edges": list(INVENTORY_EDGES),
            "vol_edges": list(VOL_EDGES),
            "imbalance_edges": list(IMBALANCE_EDGES),
            "actions": [list(a) for a in ACTIONS],
        }
        for key, value in want.items():
            if data.get(key) != value:
                raise ValueError(
                    f"Q-table checkpoint field {key!r} is {data.get(key)!r}, this build uses "
                    f"{value!r}; the table does not apply (start a fresh one)"
                )
        for key in ("q", "n"):
            shape = np.shape(data.get(key))
            if shape != (N_STATES, N_ACTIONS):
                raise ValueError(
                    f"Q-table checkpoint {key!r} has shape {shape}, expected "
                    f"{(N_STATES, N_ACTIONS)}"
                )
