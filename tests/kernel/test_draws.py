"""The kernel's single draws are numpy's draws: same values, same generator state after."""

from __future__ import annotations

import numpy as np
import pytest

from framework.kernel import draws

# Ranges on both sides of numpy's branches: n = 1 (no draw), 32-bit Lemire (with
# rejections for ranges near 2**32), the full 32-bit range, 64-bit Lemire.
SIZES = (
    1,
    2,
    3,
    15,
    16,
    17,
    1000,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**32 + 1,
    2**62 + 5,
    2**63 - 1,
)


def _pair(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    return np.random.Generator(np.random.PCG64(seed)), np.random.Generator(np.random.PCG64(seed))


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 1])
def test_draws_match_numpy_value_for_value_and_leave_the_same_state(seed):
    ours, ref = _pair(seed)
    for i in range(6000):
        n = SIZES[i % len(SIZES)]
        if i % 3 == 0:
            got, want = draws.uniform(ours), float(ref.random())
        else:
            got, want = draws.below(ours, n), int(ref.integers(n))
        assert got == want and type(got) is type(want), (i, n)
    assert ours.bit_generator.state == ref.bit_generator.state


def test_draws_interleave_with_numpy_calls_on_the_same_generator():
    # PCG64 keeps half of a 64-bit output for the next 32-bit draw: a kernel draw and a
    # numpy draw in between must share that state as numpy's own calls do.
    ours, ref = _pair(3)
    for _ in range(500):
        assert draws.below(ours, 15) == int(ref.integers(15))
        assert int(ours.integers(1000)) == int(ref.integers(1000))
        assert draws.uniform(ours) == float(ref.random())
        assert float(ours.standard_normal()) == float(ref.standard_normal())
    assert ours.bit_generator.state == ref.bit_generator.state


def test_other_generators_and_bad_ranges():
    class Stub:
        def random(self) -> float:
            return 0.25

        def integers(self, n: int) -> int:
            return n - 1

    assert draws.uniform(Stub()) == 0.25
    assert draws.below(Stub(), 9) == 8
    with pytest.raises(ValueError, match="n >= 1"):
        draws.below(np.random.default_rng(0), 0)
