"""``fpmath.round_digits(x, n)`` is Python's ``round(x, n)``, bit for bit, compiled and
interpreted: on random values of every size the engine rounds (prices, sizes,
multipliers), on values one ulp either side of a decimal half, and on the special ones."""

from __future__ import annotations

import math
import random
import struct
from types import ModuleType

import pytest

from framework.kernel import fpmath
from tests.kernel.source import interpreted

_INTERPRETED = interpreted("fpmath")


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _cases(seed: int) -> list[tuple[float, int]]:
    rnd = random.Random(seed)
    cases: list[tuple[float, int]] = []
    for _ in range(20_000):
        n = rnd.randint(0, 15)
        x = rnd.uniform(-1.0, 1.0) * 10.0 ** rnd.randint(-8, 10)
        cases.append((x, n))
    for _ in range(5_000):  # decimal halves (k + 1/2) / 10^n and their float neighbours
        n = rnd.randint(0, 8)
        half = (rnd.randint(0, 10**6) + 0.5) / 10**n
        for x in (half, math.nextafter(half, math.inf), math.nextafter(half, -math.inf)):
            cases.extend(((x, n), (-x, n)))
    for _ in range(5_000):  # near the 1e9 limit of the fast path
        n = rnd.randint(0, 6)
        cases.append((rnd.uniform(0.9e9, 1.1e9) / 10**n, n))
    specials = [0.0, -0.0, 5e-324, -5e-324, 1e-320, 0.5, 1.5, 2.5, -2.5, 2.675, 1.005]
    specials += [math.inf, -math.inf, math.nan, 1.7976931348623157e308, 123456789.987654321]
    cases += [(x, n) for x in specials for n in (-3, -1, 0, 1, 2, 4, 15, 16, 22, 400)]
    cases += [(x, n) for x, _ in cases[:2_000] for n in (-2, -1, 16, 17, 30)]
    return cases


@pytest.mark.parametrize("module", [fpmath, _INTERPRETED], ids=["loaded", "interpreted"])
@pytest.mark.parametrize("seed", [1, 2])
def test_round_digits_is_python_round_bit_for_bit(module: ModuleType, seed: int) -> None:
    for x, n in _cases(seed):
        want = round(x, n)
        got = module.round_digits(x, n)
        assert type(got) is float
        assert _bits(got) == _bits(want) or (math.isnan(got) and math.isnan(want)), (x, n)
