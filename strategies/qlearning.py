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

from typing import Any

import numpy as np

# The state layout and index, and the step (QLearner's base), typed in the kernel.
from framework.kernel.qtable import (  # noqa: F401 (CALM ... N_VOL: re-exported)
    CALM,
    IMBALANCE_EDGES,
    INVENTORY_EDGES,
    N_IMB,
    N_INV,
    N_STATES,
    N_VOL,
    TRENDING,
    VOL_EDGES,
    VOLATILE,
    QCore,
    regime_proxy,
    state_index,
)

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

HS_MULTS = (0.8, 1.0, 1.25, 1.5, 2.0)
SKEW_MULTS = (0.5, 1.0, 2.0)
ACTIONS: tuple[tuple[float, float], ...] = tuple((h, s) for h in HS_MULTS for s in SKEW_MULTS)
DEFAULT_ACTION = ACTIONS.index((1.0, 1.0))

N_ACTIONS = len(ACTIONS)


class QLearner(QCore):
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
        self.default_action = DEFAULT_ACTION
        self.n_actions = N_ACTIONS

    # greedy, choose and update are framework.kernel.qtable.QCore's: the exploration
    # rate, the two draws, the greedy pick with numpy's argmax rules and Watkins'
    # update, the same operations on the same floats, without a Python frame for each.

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
