"""The perp price/size grid: protocol examples, properties, and the SDK's recipe."""

from __future__ import annotations

import doctest
import math
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import grid
from framework.grid import (
    is_valid_price,
    is_valid_size,
    price_decimals,
    price_decimals_array,
    round_price,
    round_size,
    tick_size,
)


def test_docstring_examples_hold():
    failures, _ = doctest.testmod(grid)
    assert failures == 0


@pytest.mark.parametrize(
    ("px", "szd", "ok"),
    [
        (1234.5, 2, True),
        (1234.56, 2, False),
        (0.001234, 0, True),
        (0.0012345, 0, False),
        (0.01234, 1, True),
        (0.012345, 1, False),
        (123456.0, 5, True),  # integer prices are always valid
        (38.123, 2, True),
        (38.1234, 2, False),
        (105055.0, 5, True),
        (105055.5, 5, False),
    ],
)
def test_protocol_examples(px, szd, ok):
    assert is_valid_price(px, szd) is ok


def test_ticks_at_calibration_prices():
    assert tick_size(41.485, 2) == 0.001  # HYPE
    assert tick_size(83.141, 2) == 0.001  # SOL
    assert tick_size(2404.9, 4) == 0.1  # ETH
    assert tick_size(75951.0, 5) == 1.0  # BTC


def _sdk_round(px: float, szd: int) -> float:
    """hyperliquid-python-sdk's recipe (valid below 1e5, where sig figs bind)."""
    return round(float(f"{px:.5g}"), 6 - szd)


decimal_prices = st.builds(
    lambda m, e: float(Decimal(m).scaleb(e)),
    st.integers(1, 9_999_999),
    st.integers(-9, 0),
).filter(lambda x: 1e-6 <= x < 1e5)


@given(decimal_prices, st.integers(0, 6))
def test_validity_agrees_with_sdk_recipe(px, szd):
    assert is_valid_price(px, szd) == (_sdk_round(px, szd) == px)


@given(st.floats(1e-4, 1e6), st.integers(0, 6), st.sampled_from([1, -1, 0]))
def test_rounded_price_is_valid_passive_and_within_a_tick(px, szd, side):
    tick = tick_size(px, szd)
    # Below the smallest tick a bid (or the nearest price) would be 0: no valid price.
    if (side == 1 and px < tick) or (side == 0 and px <= tick / 2):
        with pytest.raises(ValueError, match="below the smallest valid price"):
            round_price(px, szd, side)
        return
    r = round_price(px, szd, side)
    assert is_valid_price(r, szd)
    assert round_price(r, szd, side) == r
    assert repr(r) == repr(float(Decimal(repr(r))))  # no float drift
    if side == 1:
        assert r <= px
    if side == -1:
        assert r >= px
    assert abs(Decimal(repr(r)) - Decimal(repr(px))) <= Decimal(repr(tick))


@given(st.floats(-1e7, 1e7), st.integers(0, 6), st.booleans())
def test_rounded_size_is_on_the_lot(sz, szd, down):
    r = round_size(sz, szd, down=down)
    assert is_valid_size(r, szd)
    assert abs(r - sz) <= 10.0**-szd
    if down:
        assert abs(r) <= abs(sz)


def test_size_lot_examples():
    assert is_valid_size(1.001, 3) and not is_valid_size(1.0001, 3)
    assert round_size(0.129, 2, down=True) == 0.12


def test_vectorised_decimals_match_scalar_or_are_coarser():
    rng = np.random.default_rng(1)
    px = 10.0 ** rng.uniform(-4, 6, 2000)
    for szd in (0, 2, 5):
        vec = price_decimals_array(px, szd)
        ref = np.array([price_decimals(x, szd) for x in px])
        assert np.all(vec <= ref)
        assert np.mean(vec == ref) > 0.999


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_price_is_an_error_naming_px(bad):
    with pytest.raises(ValueError, match="px="):
        round_price(bad, 2, 1)
    assert not is_valid_price(bad, 2)


def test_bad_side_and_sz_decimals_are_errors():
    with pytest.raises(ValueError, match="side="):
        round_price(38.0, 2, 2)
    with pytest.raises(ValueError, match="sz_decimals="):
        tick_size(38.0, 7)
    with pytest.raises(ValueError, match="sz="):
        round_size(math.nan, 2)


def _exact_round(px: float, sz_decimals: int, side: int) -> float | None:
    exact = grid._exact(px)
    step = grid._step(grid._decimals(exact, sz_decimals))
    rounded = exact.quantize(step, rounding=grid._ROUNDING[side])
    return float(rounded) if rounded != 0 else None


@settings(max_examples=3000, deadline=None)
@given(
    exponent=st.floats(min_value=-4, max_value=7),
    places=st.one_of(st.none(), st.integers(0, 7)),
    sz_decimals=st.integers(0, 5),
    side=st.sampled_from([1, -1, 0]),
)
def test_float_fast_path_agrees_with_exact_decimal_rounding(exponent, places, sz_decimals, side):
    px = 10.0**exponent
    if places is not None:  # prices already on (or near) a grid hit the boundary cases
        px = round(px, places)
    if not px > 0:
        return
    want = _exact_round(px, sz_decimals, side)
    fast = grid._fast_round_price(px, sz_decimals, side)
    if fast is not None:
        assert fast == want
    if want is None:
        with pytest.raises(ValueError, match="rounds to 0"):
            grid.round_price(px, sz_decimals, side)
    else:
        assert grid.round_price(px, sz_decimals, side) == want


@settings(max_examples=2000, deadline=None)
@given(
    sz=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    sz_decimals=st.integers(0, 5),
    down=st.booleans(),
)
def test_size_rounding_fast_path_agrees_with_exact(sz, sz_decimals, down):
    mode = ROUND_FLOOR if down else ROUND_HALF_EVEN
    step = Decimal(1).scaleb(-sz_decimals)
    want = math.copysign(float(Decimal(repr(abs(sz))).quantize(step, rounding=mode)), sz)
    assert grid.round_size(sz, sz_decimals, down=down) == want


@pytest.mark.parametrize(
    "sz, sz_decimals",
    [(10000000.0005, 4), (16650.323532, 6), (123456789.12, 2), (99999.99999, 5)],
)
def test_large_sizes_on_the_grid_are_kept_exactly(sz, sz_decimals):
    """Sizes whose scaled value is too large for the float fast path take the exact path."""
    assert round_size(sz, sz_decimals, down=True) == sz
    assert round_size(-sz, sz_decimals) == -sz


def test_decade_is_exact_just_below_a_power_of_ten():
    assert grid.decade(999.9999999999999) == 100.0  # log10 says 3.0 here
    assert grid.decade(1000.0) == 1000.0 and grid.decade(0.5) == 0.1
