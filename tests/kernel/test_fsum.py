"""The kernel's exact sums are math.fsum's, bit for bit, errors included.

``fsum`` is defined by the exact sum rounded half-even, so any correct algorithm gives
the same double; these tests hold the kernel's to that on random and adversarial
inputs (huge cancellations, mixed exponents, ties at half an ulp, random bit patterns
with infinities and NaNs, signed zeros), through every entry (a list, a tuple, an
``array('d')``, a typed buffer) and for ``fvar`` against the former Python.
"""

from __future__ import annotations

import math
import operator
import random
import struct
from array import array
from typing import Any

import numpy as np
import pytest

from framework.estimators import base
from framework.kernel import fsum as ks


def _outcome(f: Any, *args: Any) -> tuple[Any, ...]:
    """A float as its IEEE bytes (NaNs as one), an error as its type and message."""
    try:
        v = f(*args)
    except (ValueError, OverflowError, TypeError) as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("nan",) if v != v else ("value", struct.pack("<d", v))


def _case(rng: random.Random) -> list[float]:
    n = rng.randrange(0, 50)
    kind = rng.randrange(7)
    if kind == 0:
        return [rng.gauss(0.0, 1.0) for _ in range(n)]
    if kind == 1:
        return [
            rng.choice((1, -1)) * rng.random() * 10.0 ** rng.randint(-300, 300) for _ in range(n)
        ]
    if kind == 2:  # everything cancels but a crumb
        xs = [rng.uniform(-1e16, 1e16) for _ in range(n)]
        return [*xs, *(-x for x in xs), rng.random() * 1e-9]
    if kind == 3:  # raw bit patterns: subnormals, infinities, NaNs
        return [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(n)]
    if kind == 4:
        return [rng.choice((0.0, -0.0)) for _ in range(n)]
    if kind == 5:  # sums that land on half an ulp: the round-half-even correction
        units = (1.0, 2.0**-53, -(2.0**-53), 2.0**-54, 3 * 2.0**-54, 2.0**-80)
        return [rng.choice(units) * rng.choice((1.0, 2.0**60, 2.0**-60)) for _ in range(n)]
    return [1e308, 1e308, -1e308, rng.random()][: max(n, 2)]  # intermediate overflow


def test_fsum_is_math_fsum_on_random_and_adversarial_sums():
    rng = random.Random(11)
    for _ in range(20_000):
        xs = _case(rng)
        want = _outcome(math.fsum, xs)
        assert _outcome(ks.fsum, xs) == want, xs
        assert _outcome(ks.fsum, tuple(xs)) == want, xs
        assert _outcome(ks.fsum, array("d", xs)) == want, xs
        assert _outcome(ks.fsum_view, array("d", xs)) == want, xs


def test_fsum_takes_what_math_fsum_takes():
    assert ks.fsum([]) == 0.0 and math.copysign(1.0, ks.fsum([-0.0, -0.0])) == 1.0
    assert ks.fsum([1, 2.5, True]) == 4.5  # not all floats: math.fsum converts them
    assert ks.fsum(x for x in [0.1] * 10) == 1.0  # any iterable
    assert ks.fsum(np.array([0.1] * 10)) == 1.0  # a float64 buffer
    assert ks.fsum(np.arange(4)) == 6.0  # an int64 buffer: math.fsum's conversion
    assert ks.fsum([math.inf, 1.0]) == math.inf
    with pytest.raises(ValueError, match="-inf \\+ inf"):
        ks.fsum([math.inf, -math.inf])
    with pytest.raises(OverflowError, match="intermediate overflow"):
        ks.fsum([1e308, 1e308, -1e308])
    with pytest.raises(TypeError):
        ks.fsum(["1.0"])


def _fvar_before(x: Any, ddof: int = 0) -> float:
    """base.fvar as it was before the kernel's."""
    n = len(x)
    if n <= ddof:
        return math.nan
    m = math.fsum(x) / n
    d = [v - m for v in x]
    return math.fsum(map(operator.mul, d, d)) / (n - ddof)


@pytest.mark.parametrize("ddof", [0, 1])
def test_fvar_is_the_former_python(ddof):
    rng = random.Random(5 + ddof)
    for _ in range(5_000):
        xs = _case(rng)
        want = _outcome(_fvar_before, xs, ddof)
        assert _outcome(base.fvar, xs, ddof) == want, xs
        assert _outcome(ks.fvar, tuple(xs), ddof) == want, xs
    assert _outcome(base.fvar, np.array([1.0, 2.0, 4.0]), 1) == _outcome(
        _fvar_before, np.array([1.0, 2.0, 4.0]), 1
    )
    assert math.isnan(base.fvar([1.0], 1)) and math.isnan(base.fvar([]))
    assert base.fvar([1, 2, 3]) == _fvar_before([1, 2, 3])  # ints: the generic path
