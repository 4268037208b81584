"""The Q-learner's row scans in the kernel are the Python they replaced, bit for bit.

The references are ``_argmax`` and ``_max`` as they were in ``strategies/qlearning.py``,
verbatim; random rows with ties, NaN, infinities and signed zeros must give the same
index and the same float (compared as IEEE bytes), compiled and interpreted.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

from framework.kernel import qtable
from tests.kernel.source import assert_compiled_where_built
from tests.kernel.source import interpreted as interpreted_source


def ref_argmax(row: list[float]) -> int:
    best, at = row[0], 0
    if best != best:
        return 0
    for i in range(1, len(row)):
        v = row[i]
        if v != v:
            return i
        if v > best:
            best, at = v, i
    return at


def ref_max(row: list[float]) -> float:
    best = row[0]
    for v in row:
        if v != v:
            return v
        if v > best:
            best = v
    return best


@pytest.fixture(scope="module")
def interpreted() -> Any:
    """The module's source, imported as plain Python beside whatever the kernel loaded."""
    return interpreted_source("qtable")


def _row(rng: random.Random) -> list[float]:
    pool = [0.0, -0.0, 1.5, -2.25, math.inf, -math.inf, math.nan]
    n = rng.randint(1, 15)
    return [
        rng.choice(pool) if rng.random() < 0.3 else round(rng.gauss(0, 3), rng.choice((1, 6)))
        for _ in range(n)
    ]


def test_the_scans_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(9)
    for _ in range(5000):
        row = _row(rng)
        for mod in (qtable, interpreted):
            assert mod.row_argmax(row) == ref_argmax(row), row
            got, want = mod.row_max(row), ref_max(row)
            assert struct.pack("<d", got) == struct.pack("<d", want), row


def test_the_compiled_module_is_loaded_where_built() -> None:
    assert_compiled_where_built(qtable)
