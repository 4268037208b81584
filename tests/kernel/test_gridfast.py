"""The grid's float fast paths, compiled and interpreted: the same floats (or the same
deferrals to the exact path), and never a float the exact decimal rounding disagrees
with.  (``tests/synth/test_grid.py`` checks the public functions the same way.)"""

from __future__ import annotations

import math
import random
import struct
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import pytest

from framework import grid
from framework.kernel import gridfast
from tests.kernel.source import interpreted

_INTERPRETED = interpreted("gridfast")
_MODES = {1: ROUND_FLOOR, -1: ROUND_CEILING, 0: ROUND_HALF_EVEN}


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _prices(seed: int) -> list[float]:
    rnd = random.Random(seed)
    out = [10.0 ** rnd.uniform(-9, 9.5) for _ in range(6_000)]
    out += [round(p, rnd.randint(0, 8)) for p in out[:3_000]]  # on or near a grid
    out += [10.0**e * (1 + s) for e in range(-8, 9) for s in (0.0, 1e-13, -1e-13, 1e-11)]
    return [*out, 0.0, -1.0, math.nan, math.inf, 1e-8, 1e9, 999_999_999.9]


@pytest.mark.parametrize("seed", [1, 2])
def test_prices_round_the_same_compiled_and_interpreted_and_as_the_exact_path(seed: int) -> None:
    fast_ones = 0
    for px in _prices(seed):
        for szd in range(7):
            for side in (1, -1, 0):
                got = gridfast.round_price_fast(px, szd, side)
                assert _bits(got) == _bits(_INTERPRETED.round_price_fast(px, szd, side))
                if got == got:
                    fast_ones += 1
                    exact = grid._exact(px)
                    step = grid._step(grid._decimals(exact, szd))
                    assert got == float(exact.quantize(step, rounding=_MODES[side])), (px, szd)
    assert fast_ones > 100_000  # the common case takes the fast path


@pytest.mark.parametrize("seed", [1, 2])
def test_sizes_round_the_same_compiled_and_interpreted_and_as_the_exact_path(seed: int) -> None:
    rnd = random.Random(seed)
    sizes = [rnd.uniform(-1, 1) * 10.0 ** rnd.uniform(-7, 9) for _ in range(20_000)]
    sizes += [round(s, rnd.randint(0, 7)) for s in sizes[:5_000]] + [0.0, -0.0, 0.005, -0.005]
    for sz in sizes:
        for szd in range(7):
            for down in (True, False):
                got = gridfast.round_size_fast(sz, szd, down)
                assert _bits(got) == _bits(_INTERPRETED.round_size_fast(sz, szd, down))
                if got == got:
                    step = Decimal(1).scaleb(-szd)
                    mode = ROUND_FLOOR if down else ROUND_HALF_EVEN
                    want = float(Decimal(repr(abs(sz))).quantize(step, rounding=mode))
                    assert _bits(got) == _bits(math.copysign(want, sz)), (sz, szd, down)


def test_the_fast_paths_use_the_grid_s_rules_and_powers_of_ten():
    """gridfast repeats framework.grid's rule constants and pow10 as C values (the grid
    imports gridfast, and a compiled module's C globals are not Python attributes): the
    source's values must be the grid's."""
    assert _INTERPRETED.MAX_PERP_DECIMALS == grid.MAX_PERP_DECIMALS
    assert _INTERPRETED.MAX_SIG_FIGS == grid.MAX_SIG_FIGS
    assert [_bits(v) for v in _INTERPRETED._POW10] == [_bits(grid.pow10(e)) for e in range(-9, 10)]
