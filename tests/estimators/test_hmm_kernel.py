"""The typed kernel's HMM E-step and Baum-Welch loop are bit-identical to the Python.

The reference below is ``_estep32`` / ``_estep22`` as they were in
``framework/estimators/hmm.py`` before they moved to :mod:`framework.kernel.hmm_estep`,
verbatim.  Every field of every E-step must match to the last bit (compared as IEEE
bytes, so -0.0 and NaN count too), on random windows and parameters, on edge cases
(one observation, emissions that underflow, a transition matrix with zeros) and on
every E-step a regime estimator runs over the bundled sample recording.  The kernel's
Baum-Welch loop (``fit_d2``) is checked against the Python loop it stands for
(``hmm._baum_welch_lists``) on every fit of that recording and on random windows.

Run as it is, the kernel is the compiled extension where one is built (the test below
insists on it), else the interpreted source; ``MM_KERNEL=python`` checks the latter.
"""

from __future__ import annotations

import inspect
import math
import random
import struct
from array import array
from pathlib import Path
from typing import Any

import pytest

import framework.kernel
from framework.environments.backtest import run_backtest
from framework.estimators import hmm, regime
from framework.estimators.hmm import HmmParams, _EStep, emission_consts
from framework.kernel import fpmath, hmm_estep

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"

# ---- the reference: framework/estimators/hmm.py before the kernel, verbatim --------------


def _estep32(
    y0s: list[float], y1s: list[float], q0s: list[float], q1s: list[float], p: HmmParams
) -> _EStep:
    """:func:`_estep_any` unrolled for K = 3, D = 2 (the regime refit's hot loop)."""
    exp = fpmath.exp
    (m00, m01), (m10, m11), (m20, m21) = p.mu
    _, ivs, consts = emission_consts(p)
    (i00, i01), (i10, i11), (i20, i21) = ivs
    k0, k1, k2 = consts
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = p.A
    # Forward, with the shifted emissions computed on the way (kept for the backward).
    e0: list[float] = []
    e1: list[float] = []
    e2: list[float] = []
    f0: list[float] = []
    f1: list[float] = []
    f2: list[float] = []
    c: list[float] = []
    shifts: list[float] = []
    e0a, e1a, e2a, f0a, f1a, f2a = e0.append, e1.append, e2.append, f0.append, f1.append, f2.append
    ca, sa = c.append, shifts.append
    p0, p1, p2 = p.pi  # the step before t = 0 is pi itself, not pi A: peeled below
    first = True
    for u, v in zip(y0s, y1s, strict=True):
        d, e = u - m00, v - m01
        l0 = k0 - 0.5 * (d * d * i00 + e * e * i01)
        d, e = u - m10, v - m11
        l1 = k1 - 0.5 * (d * d * i10 + e * e * i11)
        d, e = u - m20, v - m21
        l2 = k2 - 0.5 * (d * d * i20 + e * e * i21)
        mx = l0 if l0 >= l1 else l1
        if l2 > mx:
            mx = l2
        b0, b1, b2 = exp(l0 - mx), exp(l1 - mx), exp(l2 - mx)
        e0a(b0)
        e1a(b1)
        e2a(b2)
        sa(mx)
        if first:
            x0, x1, x2 = p0 * b0, p1 * b1, p2 * b2
            first = False
        else:
            x0 = (p0 * a00 + p1 * a10 + p2 * a20) * b0
            x1 = (p0 * a01 + p1 * a11 + p2 * a21) * b1
            x2 = (p0 * a02 + p1 * a12 + p2 * a22) * b2
        s = x0 + x1 + x2
        ca(s)
        r = 1.0 / s
        p0, p1, p2 = x0 * r, x1 * r, x2 * r
        f0a(p0)
        f1a(p1)
        f2a(p2)
    last = (p0, p1, p2)
    loglik = math.fsum(map(fpmath.log, c)) + math.fsum(shifts)
    # t = T-1: beta = 1, gamma = alpha.
    u, v, uu, vv = y0s[-1], y1s[-1], q0s[-1], q1s[-1]
    s = p0 + p1 + p2
    g0, g1, g2 = p0 / s, p1 / s, p2 / s
    n0, n1, n2 = g0, g1, g2
    gc0, gc1, gc2 = [g0], [g1], [g2]  # built backwards, reversed at the end
    g0a, g1a, g2a = gc0.append, gc1.append, gc2.append
    s00, s01, s10, s11, s20, s21 = g0 * u, g0 * v, g1 * u, g1 * v, g2 * u, g2 * v
    t00, t01, t10, t11, t20, t21 = g0 * uu, g0 * vv, g1 * uu, g1 * vv, g2 * uu, g2 * vv
    x00 = x01 = x02 = x10 = x11 = x12 = x20 = x21 = x22 = 0.0
    q0 = q1 = q2 = 1.0
    # t = T-2 ... 0: beta_t from b_{t+1}, beta_{t+1}, c_{t+1}; every sum on the way.
    for al0, al1, al2, b0, b1, b2, ct, u, v, uu, vv in zip(
        f0[-2::-1],
        f1[-2::-1],
        f2[-2::-1],
        e0[:0:-1],
        e1[:0:-1],
        e2[:0:-1],
        c[:0:-1],
        y0s[-2::-1],
        y1s[-2::-1],
        q0s[-2::-1],
        q1s[-2::-1],
        strict=True,
    ):
        r = 1.0 / ct
        w0, w1, w2 = b0 * q0 * r, b1 * q1 * r, b2 * q2 * r
        x00 += al0 * w0
        x01 += al0 * w1
        x02 += al0 * w2
        x10 += al1 * w0
        x11 += al1 * w1
        x12 += al1 * w2
        x20 += al2 * w0
        x21 += al2 * w1
        x22 += al2 * w2
        q0 = a00 * w0 + a01 * w1 + a02 * w2
        q1 = a10 * w0 + a11 * w1 + a12 * w2
        q2 = a20 * w0 + a21 * w1 + a22 * w2
        g0, g1, g2 = al0 * q0, al1 * q1, al2 * q2
        s = g0 + g1 + g2
        g0, g1, g2 = g0 / s, g1 / s, g2 / s
        g0a(g0)
        g1a(g1)
        g2a(g2)
        n0 += g0
        n1 += g1
        n2 += g2
        s00 += g0 * u
        s01 += g0 * v
        s10 += g1 * u
        s11 += g1 * v
        s20 += g2 * u
        s21 += g2 * v
        t00 += g0 * uu
        t01 += g0 * vv
        t10 += g1 * uu
        t11 += g1 * vv
        t20 += g2 * uu
        t21 += g2 * vv
    return _EStep(
        loglik,
        last,
        [
            [a00 * x00, a01 * x01, a02 * x02],
            [a10 * x10, a11 * x11, a12 * x12],
            [a20 * x20, a21 * x21, a22 * x22],
        ],
        [n0, n1, n2],
        [[s00, s01], [s10, s11], [s20, s21]],
        [[t00, t01], [t10, t11], [t20, t21]],
        [gc0[::-1], gc1[::-1], gc2[::-1]],
    )


def _estep22(
    y0s: list[float], y1s: list[float], q0s: list[float], q1s: list[float], p: HmmParams
) -> _EStep:
    """:func:`_estep32` for K = 2 (the other half of the BIC choice)."""
    exp = fpmath.exp
    (m00, m01), (m10, m11) = p.mu
    _, ivs, consts = emission_consts(p)
    (i00, i01), (i10, i11) = ivs
    k0, k1 = consts
    (a00, a01), (a10, a11) = p.A
    e0: list[float] = []
    e1: list[float] = []
    f0: list[float] = []
    f1: list[float] = []
    c: list[float] = []
    shifts: list[float] = []
    e0a, e1a, f0a, f1a = e0.append, e1.append, f0.append, f1.append
    ca, sa = c.append, shifts.append
    p0, p1 = p.pi
    first = True
    for u, v in zip(y0s, y1s, strict=True):
        d, e = u - m00, v - m01
        l0 = k0 - 0.5 * (d * d * i00 + e * e * i01)
        d, e = u - m10, v - m11
        l1 = k1 - 0.5 * (d * d * i10 + e * e * i11)
        mx = l0 if l0 >= l1 else l1
        b0, b1 = exp(l0 - mx), exp(l1 - mx)
        e0a(b0)
        e1a(b1)
        sa(mx)
        if first:
            x0, x1 = p0 * b0, p1 * b1
            first = False
        else:
            x0 = (p0 * a00 + p1 * a10) * b0
            x1 = (p0 * a01 + p1 * a11) * b1
        s = x0 + x1
        ca(s)
        r = 1.0 / s
        p0, p1 = x0 * r, x1 * r
        f0a(p0)
        f1a(p1)
    last = (p0, p1)
    loglik = math.fsum(map(fpmath.log, c)) + math.fsum(shifts)
    u, v, uu, vv = y0s[-1], y1s[-1], q0s[-1], q1s[-1]
    s = p0 + p1
    g0, g1 = p0 / s, p1 / s
    n0, n1 = g0, g1
    gc0, gc1 = [g0], [g1]
    g0a, g1a = gc0.append, gc1.append
    s00, s01, s10, s11 = g0 * u, g0 * v, g1 * u, g1 * v
    t00, t01, t10, t11 = g0 * uu, g0 * vv, g1 * uu, g1 * vv
    x00 = x01 = x10 = x11 = 0.0
    q0 = q1 = 1.0
    for al0, al1, b0, b1, ct, u, v, uu, vv in zip(
        f0[-2::-1],
        f1[-2::-1],
        e0[:0:-1],
        e1[:0:-1],
        c[:0:-1],
        y0s[-2::-1],
        y1s[-2::-1],
        q0s[-2::-1],
        q1s[-2::-1],
        strict=True,
    ):
        r = 1.0 / ct
        w0, w1 = b0 * q0 * r, b1 * q1 * r
        x00 += al0 * w0
        x01 += al0 * w1
        x10 += al1 * w0
        x11 += al1 * w1
        q0 = a00 * w0 + a01 * w1
        q1 = a10 * w0 + a11 * w1
        g0, g1 = al0 * q0, al1 * q1
        s = g0 + g1
        g0, g1 = g0 / s, g1 / s
        g0a(g0)
        g1a(g1)
        n0 += g0
        n1 += g1
        s00 += g0 * u
        s01 += g0 * v
        s10 += g1 * u
        s11 += g1 * v
        t00 += g0 * uu
        t01 += g0 * vv
        t10 += g1 * uu
        t11 += g1 * vv
    return _EStep(
        loglik,
        last,
        [[a00 * x00, a01 * x01], [a10 * x10, a11 * x11]],
        [n0, n1],
        [[s00, s01], [s10, s11]],
        [[t00, t01], [t10, t11]],
        [gc0[::-1], gc1[::-1]],
    )


# ---- helpers ------------------------------------------------------------------------------


def _bits(x: Any) -> Any:
    """Floats as their 8 IEEE bytes, containers element by element."""
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, tuple | list):
        return [type(x).__name__, *(_bits(v) for v in x)]
    if isinstance(x, array):  # the kernel's gamma columns: compared as the lists they were
        return ["list", *(_bits(v) for v in x)]
    raise TypeError(f"unexpected {type(x).__name__} in an E-step")


def _assert_same(ref: _EStep, got: _EStep) -> None:
    for field in ("loglik", "last_filtered", "xi", "occupancy", "gy", "gyy", "gamma"):
        a, b = getattr(ref, field), getattr(got, field)
        assert _bits(a) == _bits(b), f"{field}: {a!r} != {b!r}"


def _reference(cols: list[list[float]], sqs: list[list[float]], p: HmmParams) -> _EStep:
    step = _estep32 if p.k == 3 else _estep22
    return step(list(cols[0]), list(cols[1]), list(sqs[0]), list(sqs[1]), p)


def _kernel(cols: list[list[float]], p: HmmParams) -> _EStep:
    """The E-step as Baum-Welch calls it (array columns, the kernel behind it)."""
    acols = [array("d", c) for c in cols]
    asqs = [array("d", [x * x for x in c]) for c in acols]
    return hmm._estep(acols, asqs, p)


def _random_case(rng: random.Random, k: int, n: int) -> tuple[list[list[float]], HmmParams]:
    cols = [[rng.gauss(0.0, 2.0) for _ in range(n)], [rng.gauss(0.3, 1.0) for _ in range(n)]]
    a = [[rng.random() for _ in range(k)] for _ in range(k)]
    a = [[v / sum(row) for v in row] for row in a]
    pi = [rng.random() for _ in range(k)]
    mu = [[rng.gauss(0.0, 2.0), rng.gauss(0.0, 1.0)] for _ in range(k)]
    var = [[rng.uniform(0.005, 4.0), rng.uniform(0.005, 4.0)] for _ in range(k)]
    return cols, HmmParams([v / sum(pi) for v in pi], a, mu, var)


# ---- tests --------------------------------------------------------------------------------


def test_the_kernel_runs_compiled_where_it_is_built():
    """A built extension is what the other tests exercise (not a stale build's fallback)."""
    built = framework.kernel._extension("hmm_estep") is not None
    if framework.kernel._FORCE_PYTHON or not built:
        pytest.skip("the kernel is not compiled here (python setup.py build_ext --inplace)")
    assert framework.kernel.status()["hmm_estep"] == "compiled"
    assert not hmm_estep.__file__.endswith(".py")


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_estep_is_bit_identical_on_random_windows(k, seed):
    rng = random.Random(1000 * k + seed)
    for n in (1, 2, 3, 17, 500):
        cols, p = _random_case(rng, k, n)
        sqs = [[x * x for x in c] for c in cols]
        _assert_same(_reference(cols, sqs, p), _kernel(cols, p))


@pytest.mark.parametrize("k", [2, 3])
def test_estep_is_bit_identical_on_edge_cases(k):
    rng = random.Random(7 + k)
    cols, p = _random_case(rng, k, 300)
    # Outliers 10^3 standard deviations out: all but one emission underflows to 0.
    for t in range(0, 300, 37):
        cols[0][t] = 4000.0 * (1 if t % 2 else -1)
    # A chain with zero transitions and a zero start probability; tiny variances.
    a = [list(row) for row in p.A]
    a[0] = [1.0] + [0.0] * (k - 1)
    pi = [0.0] + [1.0 / (k - 1)] * (k - 1)
    var = [[1e-6, 1e-4]] + [list(v) for v in p.var[1:]]
    p2 = HmmParams(pi, a, p.mu, var)
    for params in (p, p2):
        sqs = [[x * x for x in c] for c in cols]
        _assert_same(_reference(cols, sqs, params), _kernel(cols, params))
    # Identical observations (zero returns), negative zeros and subnormal values.
    flat = [[0.0] * 40 + [-0.0] * 3 + [5e-324] * 3, [-0.0] * 46]
    sqs = [[x * x for x in c] for c in flat]
    _assert_same(_reference(flat, sqs, p), _kernel(flat, p))


@pytest.mark.parametrize("k", [2, 3])
def test_a_degenerate_window_fails_the_same_way(k):
    """Every state's emission 0 after the shift cannot happen; an all-zero chain can:
    both paths raise ZeroDivisionError at the same normaliser."""
    rng = random.Random(3)
    cols, p = _random_case(rng, k, 20)
    dead = HmmParams([0.0] * k, [[0.0] * k] * k, p.mu, p.var)
    sqs = [[x * x for x in c] for c in cols]
    with pytest.raises(ZeroDivisionError):
        _reference(cols, sqs, dead)
    with pytest.raises(ZeroDivisionError):
        _kernel(cols, dead)
    with pytest.raises(ValueError, match="differ in length"):
        hmm_estep.estep32(*(array("d", [1.0] * n) for n in (3, 3, 3, 2)), p.mu, (), (), (), ())


def _fit_bits(r: hmm.FitResult) -> list[Any]:
    p = r.params
    fields = (p.pi, p.A, p.mu, p.var, r.loglik, r.objective, r.occupancy, r.gamma)
    return [_bits(v) for v in fields] + [_bits(r.last_filtered), r.iterations, r.tol_hit, r.n]


def _python_fit(y: hmm.Observations, start: HmmParams, kw: dict[str, Any]) -> hmm.FitResult:
    """:func:`hmm.baum_welch`'s Python loop (``_baum_welch_lists``) on the same call."""
    sig = inspect.signature(hmm.baum_welch).parameters
    arg = {n: kw.get(n, sig[n].default) for n in ("sticky_diag", "sticky_off", "tol", "max_iter")}
    floor = [float(v) for v in kw["var_floor"]]
    return hmm._baum_welch_lists(y.arrays, y.squares, start, floor=floor, **arg)


def test_fits_and_esteps_are_bit_identical_on_the_sample_recordings_refits(tmp_path, monkeypatch):
    """Every Baum-Welch fit of a backtest over the bundled sample: the kernel's loop
    (``fit_d2``) against the Python loop, and every E-step of that loop against the
    reference."""
    fits: list[tuple[hmm.Observations, HmmParams, dict[str, Any], hmm.FitResult]] = []
    kernel_fit = regime.baum_welch

    def recording_fit(y, start, **kw):
        r = kernel_fit(y, start, **kw)
        fits.append((y, start, kw, r))
        return r

    monkeypatch.setattr(regime, "baum_welch", recording_fit)
    run_backtest(SAMPLE, out=tmp_path / "bt", spread_profile="aggressive", progress=False)
    monkeypatch.undo()
    assert {start.k for _, start, _, _ in fits} == {2, 3}, "both unrolled cases ran"
    assert len(fits) > 20 and max(len(y) for y, _, _, _ in fits) > 100
    assert any(r.tol_hit for *_, r in fits) and any(not r.tol_hit for *_, r in fits)

    steps: list[tuple[list[list[float]], list[list[float]], HmmParams, _EStep]] = []
    kernel_estep = hmm._estep

    def recording_estep(cols, sqs, p):
        est = kernel_estep(cols, sqs, p)
        steps.append(([list(c) for c in cols], [list(c) for c in sqs], p, est))
        return est

    monkeypatch.setattr(hmm, "_estep", recording_estep)
    for y, start, kw, got in fits:
        assert _fit_bits(_python_fit(y, start, kw)) == _fit_bits(got)
    assert len(steps) > 50
    for cols, sqs, p, est in steps:
        _assert_same(_reference(cols, sqs, p), est)


@pytest.mark.parametrize("k", [2, 3])
def test_the_kernel_fit_matches_the_python_loop_on_random_windows(k):
    """fit_d2 against the Python loop: to tolerance, at max_iter, with an empty state."""
    rng = random.Random(50 + k)
    for n, max_iter, tol in ((400, 200, 1e-6), (300, 3, 1e-6), (2, 5, 0.0), (150, 40, -1.0)):
        cols, p = _random_case(rng, k, n)
        y = hmm.Observations.from_columns(cols)
        kw = {"var_floor": [1e-4, 1e-3], "max_iter": max_iter, "tol": tol}
        assert _fit_bits(hmm.baum_welch(y, p, **kw)) == _fit_bits(_python_fit(y, p, kw))
    # A state no observation comes near keeps its emission (occupancy below 1e-8).
    cols, p = _random_case(rng, k, 200)
    mu = [list(m) for m in p.mu]
    mu[0] = [1e4, 1e4]
    far = HmmParams(p.pi, p.A, mu, [[1e-3, 1e-3]] + [list(v) for v in p.var[1:]])
    y = hmm.Observations.from_columns(cols)
    kw = {"var_floor": [1e-4, 1e-3], "max_iter": 4}
    got = hmm.baum_welch(y, far, **kw)
    assert got.params.mu[0] == (1e4, 1e4)
    assert _fit_bits(got) == _fit_bits(_python_fit(y, far, kw))


def test_the_kernel_fit_refuses_other_shapes():
    cols, p = _random_case(random.Random(1), 3, 10)
    a = [array("d", c) for c in cols]
    with pytest.raises(ValueError, match="K = 2 or 3"):
        hmm_estep.fit_d2(*a, *a, (1.0,), ((1.0,),), ((0.0, 0.0),), ((1.0, 1.0),),
                         20.0, 1.0, 1e-6, 10, 1e-4, 1e-4)  # fmt: skip
    with pytest.raises(ValueError, match="max_iter"):
        hmm_estep.fit_d2(*a, *a, p.pi, p.A, p.mu, p.var, 20.0, 1.0, 1e-6, 0, 1e-4, 1e-4)
