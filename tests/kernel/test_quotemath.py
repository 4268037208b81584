"""The quote's arithmetic in the kernel is the Python it replaced, bit for bit.

The references are ``quote_prices`` and ``microprice`` (strategies/glft.py),
``clamp_half_spread`` (strategies/profiles.py) and ``order_size`` (strategies/sizing.py)
as they were, verbatim; random inputs near the grid's and the minimum notional's
boundaries must give the same floats (compared as IEEE bytes) and the same errors,
compiled and interpreted.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

from framework.grid import pow10, round_price, round_size
from framework.kernel import quotemath
from framework.kernel.fpmath import round_digits
from tests.kernel.source import assert_compiled_where_built
from tests.kernel.source import interpreted as interpreted_source


def ref_clamp_half_spread(
    half_spread_bps: float, band: tuple[float, float], tick_bps: float
) -> float:
    lo = band[0] * 0.5
    hi = max(lo, band[1] * 0.5 - tick_bps)
    if half_spread_bps < lo:
        return lo
    if half_spread_bps > hi:
        return hi
    return half_spread_bps


def ref_microprice(bid: float, ask: float, bid_sz: float, ask_sz: float) -> float:
    total = bid_sz + ask_sz
    if not total > 0:
        return (bid + ask) * 0.5
    return (bid * ask_sz + ask * bid_sz) / total


def ref_quote_prices(fair, half_spread_bps, skew_bps, best_bid, best_ask, sz_decimals):
    reservation = fair * (1.0 - skew_bps * 1e-4)
    offset = fair * half_spread_bps * 1e-4
    bid = round_price(reservation - offset, sz_decimals, 1)
    ask = round_price(reservation + offset, sz_decimals, -1)
    if best_bid == best_bid and bid > best_bid:  # x == x: not NaN
        bid = best_bid
    if best_ask == best_ask and ask < best_ask:
        ask = best_ask
    return bid, ask


def ref_order_size(
    px, equity, kelly_fraction, base_notional, min_notional, max_notional, size_mult, sz_decimals,
    cap_notional,
):  # fmt: skip
    if not px > 0 or cap_notional < min_notional:
        return 0.0
    if kelly_fraction != kelly_fraction:  # NaN: not ready
        notional = base_notional
    elif kelly_fraction <= 0:
        notional = min_notional
    else:
        notional = kelly_fraction * equity
    notional *= size_mult
    notional = min_notional if min_notional > notional else notional
    notional = max_notional if max_notional < notional else notional
    notional = cap_notional if cap_notional < notional else notional
    lot = pow10(-sz_decimals)
    lots = math.floor(notional / px / lot + 1e-9)
    least = math.ceil(min_notional / px / lot - 1e-9)
    lots = least if least > lots else lots
    sz = round_digits(lots * lot, sz_decimals)
    if sz * px < min_notional:  # float rounding at the boundary: one lot more
        sz = round_digits((lots + 1) * lot, sz_decimals)
    return sz


@pytest.fixture(scope="module")
def interpreted() -> Any:
    return interpreted_source("quotemath")


def _bits(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_bits(v) for v in x)
    return struct.pack("<d", x) if isinstance(x, float) else x


def _outcome(fn: Any, *args: Any) -> Any:
    """The result as bits, or the error's type and message."""
    try:
        return ("ok", _bits(fn(*args)))
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        return (type(exc).__name__, str(exc))


def _agree(ref: Any, name: str, interpreted: Any, *args: Any) -> None:
    want = _outcome(ref, *args)
    for mod in (quotemath, interpreted):
        assert _outcome(getattr(mod, name), *args) == want, (name, args)


def test_the_compiled_module_is_loaded_where_built() -> None:
    assert_compiled_where_built(quotemath)


def test_prices_clamp_and_microprice_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(11)
    special = [math.nan, math.inf, 0.0, -0.0]
    for _ in range(20000):
        d = rng.choice((0, 1, 2, 4, 5))
        fair = 10 ** rng.uniform(-2, 5)
        if rng.random() < 0.2:
            fair = rng.choice((10.0, 100.0, 1000.0)) * (1 + rng.choice((-1, 1)) * 1e-13)
        hs = rng.uniform(0, 60)
        skew = rng.uniform(-30, 30)
        bb = fair * (1 - rng.uniform(0, 5e-4)) if rng.random() < 0.9 else math.nan
        ba = fair * (1 + rng.uniform(0, 5e-4)) if rng.random() < 0.9 else math.nan
        _agree(ref_quote_prices, "quote_prices", interpreted, fair, hs, skew, bb, ba, d)
        band = rng.choice(((40, 50), (15.0, 25.0), (10, 20)))
        tick_bps = rng.choice((0.25, 3.0, 8.0, rng.uniform(0, 10)))
        h = rng.choice((rng.uniform(0, 40), band[0] * 0.5, band[1] * 0.5 - tick_bps, *special))
        _agree(ref_clamp_half_spread, "clamp_half_spread", interpreted, h, band, tick_bps)
        sizes = [rng.choice((0.0, rng.uniform(0, 50), math.nan)) for _ in range(2)]
        _agree(ref_microprice, "microprice", interpreted, fair * 0.999, fair * 1.001, *sizes)


def test_order_size_and_rounding_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(12)
    for _ in range(20000):
        d = rng.choice((0, 1, 2, 3, 5))
        px = rng.choice((10 ** rng.uniform(-1, 5), 10.0 / rng.randint(1, 400), 0.0, -1.0))
        kelly = rng.choice((math.nan, -0.1, 0.0, rng.uniform(0, 0.2)))
        equity = rng.choice((1e4, rng.uniform(0, 1e5)))
        base, lo, hi = rng.choice(((100.0, 10.0, 2000.0), (50, 10, 500), (10.0, 10.0, 10.0)))
        mult = rng.choice((1.0, 0.5, 0.0, rng.uniform(0, 2)))
        cap = rng.choice((math.inf, rng.uniform(0, 3000), 9.999, 10.0))
        args = (px, equity, kelly, base, lo, hi, mult, d, cap)
        _agree(ref_order_size, "order_size", interpreted, *args)
        x = rng.choice((rng.uniform(-50, 50), round(rng.uniform(-5, 5), d), math.nan, math.inf))
        want = _outcome(lambda v, n: round_size(v, n, down=True), x, d)
        for mod in (quotemath, interpreted):
            assert _outcome(mod.round_size_down, x, d) == want, (x, d)
