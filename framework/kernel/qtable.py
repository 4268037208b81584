"""The Q-learner's step, typed: the state index, the per-row scans and the update.

Every Q-learning step (17 280 a day at 5 s) indexes the state
(:func:`state_index`), draws, and scans a row of 15 action values twice: the greedy
action (:func:`row_argmax`) and the next state's value (:func:`row_max`).
:class:`QCore` is the base of :class:`strategies.qlearning.QLearner` and runs its
``choose`` and ``update`` (the learner keeps its checkpoints in Python).  The table
stays lists of Python floats; compiled, the scans read them as C doubles.  numpy's
rules, as the Python they replace: the first maximum wins, and a NaN is the answer
(its index, or the NaN itself) as soon as one is met.  Comparisons and the same
arithmetic in the same order: the same bits on every path.
"""

from __future__ import annotations

import cython

if cython.compiled:  # a C call; interpreted, the Python function (the same bits)
    from cython.cimports.framework.kernel.fpmath import pow as fpow
else:
    from framework.kernel.fpmath import pow as fpow

from framework.kernel.draws import below, uniform

# -- the state layout (strategies.qlearning re-exports it; mm_math §9) -------------------
#: Edges of the inventory buckets of ``q / Q_max`` (5 buckets).
INVENTORY_EDGES = (-0.6, -0.2, 0.2, 0.6)
#: σ̂/σ̄ above which the cold-start proxy calls the market volatile (the checkpoint's
#: ``vol_edges``).
VOL_EDGES = (1.25,)
#: Regime values (the regime estimator's label indices).
CALM, VOLATILE, TRENDING = 0, 1, 2
#: Edges of the top-of-book imbalance buckets (3 buckets).
IMBALANCE_EDGES = (-1.0 / 3.0, 1.0 / 3.0)
N_INV = len(INVENTORY_EDGES) + 1
N_VOL = 3  # calm, volatile, trending
N_IMB = len(IMBALANCE_EDGES) + 1
N_STATES = N_INV * N_VOL * N_IMB
# The same, as C values for the compiled paths (a module's C globals are not importable).
_INV_EDGES = cython.declare(tuple, INVENTORY_EDGES)
_IMB_EDGES = cython.declare(tuple, IMBALANCE_EDGES)
_VOL_EDGE = cython.declare(cython.double, VOL_EDGES[0])
_CALM = cython.declare(cython.int, CALM)
_VOLATILE = cython.declare(cython.int, VOLATILE)
_N_VOL = cython.declare(cython.int, N_VOL)
_N_IMB = cython.declare(cython.int, N_IMB)


@cython.cfunc
def _bucket(edges: tuple, x: cython.double) -> cython.int:
    """``bisect.bisect_right(edges, x)``: how many of the sorted ``edges`` are <= x."""
    i: cython.int = 0
    n: cython.int = len(edges)
    e: cython.double
    while i < n:
        e = edges[i]
        if not e <= x:
            break
        i += 1
    return i


@cython.ccall
def regime_proxy(vol_ratio: cython.double) -> cython.int:
    """The regime before the HMM has a fit: volatile when ``σ̂/σ̄ > 1.25``, else calm.

    Examples
    --------
    >>> regime_proxy(1.0), regime_proxy(2.0), regime_proxy(float("nan"))
    (0, 1, 0)
    """
    return _VOLATILE if vol_ratio > _VOL_EDGE else _CALM


@cython.ccall
def state_index(
    inv_frac: cython.double, regime: cython.int, imbalance: cython.double
) -> cython.int:
    """The state id of ``(q/Q_max, regime, imbalance)``; NaN fractions fall in the middle
    bucket, a regime outside 0..2 counts as calm.

    Examples
    --------
    >>> state_index(0.0, CALM, 0.0), state_index(-1.0, CALM, -0.9)
    (19, 0)
    >>> state_index(1.0, TRENDING, 0.9)
    44
    """
    inv: cython.int = _bucket(_INV_EDGES, inv_frac) if inv_frac == inv_frac else 2
    reg: cython.int = regime if 0 <= regime < _N_VOL else _CALM
    imb: cython.int = _bucket(_IMB_EDGES, imbalance) if imbalance == imbalance else 1
    return (inv * _N_VOL + reg) * _N_IMB + imb


@cython.ccall
def row_argmax(row: list) -> cython.Py_ssize_t:
    """numpy's argmax on a list: the first maximum, or the first NaN if there is one."""
    best: cython.double = row[0]
    at: cython.Py_ssize_t = 0
    if best != best:
        return 0
    v: cython.double
    i: cython.Py_ssize_t
    for i in range(1, len(row)):
        v = row[i]
        if v != v:
            return i
        if v > best:
            best = v
            at = i
    return at


@cython.ccall
def row_max(row: list) -> cython.double:
    """numpy's max on a list: NaN if any value is NaN."""
    best: cython.double = row[0]
    v: cython.double
    i: cython.Py_ssize_t
    for i in range(len(row)):
        v = row[i]
        if v != v:
            return v
        if v > best:
            best = v
    return best


@cython.ccall
def epsilon(counts: list, eps0: cython.double, eps_min: cython.double) -> cython.double:
    """The exploration rate ``max(ε_min, ε0 / (1 + N(s)/100))`` of a state whose action
    visit counts are ``counts`` (their sum is exact: integers)."""
    total: cython.longlong = 0
    c: cython.longlong
    i: cython.Py_ssize_t
    for i in range(len(counts)):
        c = counts[i]  # a typed local, not cython.cast: interpreted, a cast is a call
        total += c
    share: cython.double = total
    eps: cython.double = eps0 / (1.0 + share / 100.0)
    return eps if eps > eps_min else eps_min


@cython.ccall
def greedy(
    q_row: list, n_row: list, trust: cython.longlong, default: cython.Py_ssize_t
) -> cython.Py_ssize_t:
    """The row's greedy action once it has ``trust`` visits, else ``default``."""
    a: cython.Py_ssize_t = row_argmax(q_row)
    visits: cython.longlong = n_row[a]
    return a if visits >= trust else default


@cython.ccall
def watkins(
    row: list,
    counts: list,
    a: cython.Py_ssize_t,
    reward: cython.double,
    discount: cython.double,
    omega: cython.double,
    next_row: list,
) -> cython.void:
    """Watkins' update of action ``a`` of ``row`` (``α = 1/(1+N)^ω``, the target the
    reward plus the discounted best of ``next_row``) and its visit count."""
    n: cython.longlong = counts[a]
    alpha: cython.double = 1.0 / fpow(1.0 + n, omega)  # n as a double, exact (< 2**53)
    target: cython.double = reward + discount * row_max(next_row)
    old: cython.double = row[a]
    row[a] = old + alpha * (target - old)
    counts[a] = n + 1


@cython.cclass
class QCore:
    """The Q-table, its visit counts and the ε-greedy step (the base of
    :class:`strategies.qlearning.QLearner`, which sets every field)."""

    q = cython.declare(list, visibility="public")
    n = cython.declare(list, visibility="public")
    epsilon0 = cython.declare(cython.double, visibility="public")
    epsilon_min = cython.declare(cython.double, visibility="public")
    discount = cython.declare(cython.double, visibility="public")
    omega = cython.declare(cython.double, visibility="public")
    trust_visits = cython.declare(cython.longlong, visibility="public")
    default_action = cython.declare(cython.int, visibility="public")
    n_actions = cython.declare(cython.longlong, visibility="public")
    updates = cython.declare(cython.longlong, visibility="public")
    explored = cython.declare(cython.longlong, visibility="public")

    @cython.ccall
    def greedy(self, s: cython.Py_ssize_t) -> cython.int:
        """The trusted greedy action of state ``s`` (the default until trusted)."""
        return greedy(self.q[s], self.n[s], self.trust_visits, self.default_action)

    @cython.ccall
    def choose(self, s: cython.Py_ssize_t, rng: object) -> cython.int:
        """ε-greedy action for state ``s``, drawing from ``rng`` (always two draws)."""
        eps: cython.double = epsilon(self.n[s], self.epsilon0, self.epsilon_min)
        u: cython.double = uniform(rng)  # float(rng.random()), int(rng.integers(N)): numpy's
        pick: cython.int = below(rng, self.n_actions)  # drawn either way: a fixed draw count
        if u < eps:
            self.explored += 1
            return pick
        return self.greedy(s)

    @cython.ccall
    def update(
        self,
        s: cython.Py_ssize_t,
        a: cython.Py_ssize_t,
        reward: cython.double,
        s_next: cython.Py_ssize_t,
    ) -> cython.void:
        """Watkins' Q-learning update of ``(s, a)`` after ``reward`` and landing in ``s_next``:
        ``Q += α (r + β max Q(s') - Q)`` with ``α = 1/(1+N(s,a))^ω``, then ``N += 1``."""
        watkins(self.q[s], self.n[s], a, reward, self.discount, self.omega, self.q[s_next])
        self.updates += 1
