"""The order tracker's marks in the kernel (:class:`framework.kernel.market.TrackerCore`)
are bit-identical to the Python they replaced.

The reference is ``OrderTracker.mark_price`` and ``mark`` as they were in
``framework/orders.py``, verbatim but for the ``self``.  Random accounts (long, short,
flat, fees and funding) are marked at random books (valid, crossed, one-sided, none)
with and without mark and trade prices; every figure must match to the last bit, with
the compiled module and its interpreted source alike.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

from framework.kernel import market
from framework.orders import OrderTracker
from tests.kernel.source import assert_compiled_where_built
from tests.kernel.source import interpreted as interpreted_source

NAN = math.nan
FIGURES = ("equity", "peak_equity", "max_drawdown", "max_drawdown_usd")


class Ref:
    """The former Python, verbatim (``m.mid`` inlined as MarketState defines it)."""

    def __init__(self, m: Any, **figures: float) -> None:
        self.market = m
        self.__dict__.update(figures)

    def mark_price(self) -> float:
        m = self.market
        mid = (m.best_bid + m.best_ask) * 0.5 if m.best_bid < m.best_ask else NAN
        if mid == mid:
            return mid
        if m.mark_px == m.mark_px:
            return m.mark_px
        return m.last_trade_px

    def mark(self, t: int = 0) -> float:
        px = self.mark_price()
        if px != px and self.position:
            return self.equity
        value = self.position * px if self.position else 0.0
        eq = self.initial_equity + self.cash + value - self.fees - self.funding
        self.equity = eq
        if eq > self.peak_equity:
            self.peak_equity = eq
        dd = self.peak_equity - eq
        if dd > self.max_drawdown_usd:
            self.max_drawdown_usd = dd
        frac = dd / self.peak_equity
        if frac > self.max_drawdown:
            self.max_drawdown = frac
        return eq


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


@pytest.fixture(scope="module")
def interpreted() -> Any:
    """The module's source, imported as plain Python beside whatever the kernel loaded."""
    return interpreted_source("market")


def _price(rng: random.Random) -> float:
    return rng.choice((NAN, round(rng.uniform(20, 60), rng.choice((2, 3, 4)))))


def test_marks_match_the_reference(interpreted: Any) -> None:
    rng = random.Random(3)
    for mod in (market, interpreted):
        m = mod.MarketState()
        core = mod.TrackerCore()
        core.market = m
        figures = {"initial_equity": 10_000.0, "avg_entry": 0.0}
        for name in ("position", "cash", "fees", "funding", *FIGURES[1:]):
            figures[name] = 0.0
        figures["equity"] = figures["peak_equity"] = 10_000.0
        for name, v in figures.items():
            setattr(core, name, v)
        ref = Ref(m, **figures)
        for step in range(3000):
            if step % 7 == 0:  # the account moves (a fill, fees, funding)
                pos = rng.choice((0.0, round(rng.uniform(-300, 300), 2)))
                moves = {
                    "position": pos,
                    "cash": -pos * rng.uniform(20, 60) + rng.uniform(-50, 50),
                    "fees": ref.fees + rng.uniform(0, 0.5),
                    "funding": ref.funding + rng.uniform(-0.2, 0.2),
                }
                for name, v in moves.items():
                    setattr(core, name, v)
                    setattr(ref, name, v)
            b = _price(rng)
            a = b + rng.choice((0.01, 0.02, -0.01, 0.0)) if b == b else _price(rng)
            m.best_bid, m.best_ask = b, a
            m.mark_px, m.last_trade_px = _price(rng), _price(rng)
            assert _bits(core.mark_price()) == _bits(ref.mark_price())
            assert _bits(core.mark(step)) == _bits(ref.mark(step))
            for name in FIGURES:
                assert _bits(getattr(core, name)) == _bits(getattr(ref, name)), name


def test_the_tracker_is_the_compiled_core_where_built() -> None:
    assert_compiled_where_built(market)
    assert isinstance(OrderTracker(), market.TrackerCore)
