"""The simulator's market-data gate (``framework.kernel.market.VenueGate``) skips only
market events its handlers would ignore: a simulator that hears every event directly
writes the same rows, bit for bit, over random sessions (every queue model, the cross
rule on and off, market rows received late, orders on both sides, crossing and not)."""

from __future__ import annotations

import random

import pytest

from framework.engine.core import Engine
from framework.events.schema import Kind
from framework.fills.simulator import FillSimulator
from tests.fills.harness import MS, T0, Venue


class Ungated(FillSimulator):
    """The simulator subscribed to trades, books and bbos directly (no gate)."""

    def bind(self, engine: Engine) -> None:
        super().bind(engine)
        for kind, fn in (
            (Kind.TRADES, self.on_trade),
            (Kind.BOOK, self.on_book),
            (Kind.BBO, self.on_bbo),
        ):
            hs = engine._handlers[kind]
            (j,) = [j for j, h in enumerate(hs) if getattr(h, "target", None) is self._gate]
            hs[j] = fn


class UngatedVenue(Venue):
    def __init__(self, seed: int = 1, *, feed_ms: float = 0.0, **config) -> None:
        super().__init__(seed, feed_ms=feed_ms, **config)
        self.sim = Ungated(**config)
        self.engine = Engine([self.market, self.sim, self.cmd], seed=seed, sink=self.sink)


def _session(v: Venue, seed: int, n: int = 1500) -> list:
    """Drive ``v`` through a random session; returns every row it wrote."""
    rnd = random.Random(seed)
    mid, t = 100.0, T0
    live: list[tuple[str, int]] = []
    for _ in range(n):
        t += rnd.randrange(1, 40) * MS
        mid = round(mid + rnd.choice((-0.1, 0.0, 0.0, 0.1)), 1)
        r = rnd.random()
        if r < 0.35:
            half = rnd.choice((0.1, 0.1, 0.2))
            bids = [(round(mid - half - 0.1 * k, 1), rnd.uniform(0.5, 5)) for k in range(3)]
            asks = [(round(mid + half + 0.1 * k, 1), rnd.uniform(0.5, 5)) for k in range(3)]
            v.book(t, bids, asks)
        elif r < 0.55:
            v.bbo(t, round(mid - 0.1, 1), rnd.uniform(0.5, 5), round(mid + 0.1, 1), 2.0)
        elif r < 0.85:
            side = rnd.choice((1, -1))
            px = round(mid + side * rnd.choice((-0.2, -0.1, 0.0, 0.1, 0.2)), 1)
            v.trade(t, side, px, rnd.uniform(0.1, 4))
        else:
            side = rnd.choice((1, -1))
            px = round(mid - side * rnd.choice((-0.1, 0.0, 0.1, 0.2, 0.3)), 1)
            act = rnd.random()
            if live and act < 0.25:
                cloid, _ = live.pop(rnd.randrange(len(live)))
                v.cancel(t, cloid)
            elif live and act < 0.5:
                target, s = live.pop(rnd.randrange(len(live)))
                live.append((v.modify(t, target, s, px, rnd.uniform(0.2, 2)), s))
            else:
                tif = rnd.choice(("Alo", "Alo", "Gtc", "Ioc"))
                live.append((v.place(t, side, px, rnd.uniform(0.2, 2), tif=tif), side))
    v.tick(t + 2_000 * MS)
    return v.sink.rows


@pytest.mark.parametrize("queue", ["conservative", "risk_averse", "prob"])
@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_gate_changes_no_row(queue, cross, seed):
    cfg = {"queue": queue, "cross_fills": cross, "min_notional": 1.0}
    feed = 20.0 if seed == 2 else 0.0  # market rows received after their ts
    gated = _session(Venue(seed, feed_ms=feed, **cfg), seed)
    direct = _session(UngatedVenue(seed, feed_ms=feed, **cfg), seed)
    assert sum(1 for k, _ in gated if k == Kind.SIM_FILLS) > 10  # the session fills
    assert gated == direct


def test_the_gate_skips_events_that_cannot_act():
    """With nothing pending or resting, no market event reaches the simulator."""
    v = Venue(1, min_notional=1.0, place_ms=10.0, response_ms=50.0)
    seen: list[str] = []
    for name in ("on_trade", "on_book", "on_bbo"):
        fn = getattr(v.sim._gate, name)
        setattr(v.sim._gate, name, lambda c, i, fn=fn, name=name: (seen.append(name), fn(c, i)))
    v.book(T0, [(99.9, 1.0)], [(100.1, 1.0)])
    v.trade(T0 + MS, 1, 100.1, 1.0)
    v.bbo(T0 + 2 * MS, 99.9, 1.0, 100.1, 1.0)
    assert seen == []
    v.place(T0 + 3 * MS, 1, 100.0, 1.0)  # arrives at T0 + 13 ms
    v.trade(T0 + 5 * MS, -1, 99.9, 1.0)  # before the arrival, nothing rests: skipped
    assert seen == []
    v.trade(T0 + 20 * MS, 1, 100.1, 1.0)  # after it: processes the arrival
    v.bbo(T0 + 21 * MS, 99.9, 1.0, 100.1, 1.0)  # nothing pending, the bid 0.1 off the ask
    assert seen == ["on_trade"]
    assert [o.px for o in v.sim.open_orders] == [100.0]
    v.trade(T0 + 90 * MS, 1, 100.0, 1.0)  # a buy print at our bid: cannot fill it
    v.trade(T0 + 91 * MS, -1, 100.0, 2.0)  # a sell print at it: goes through and fills
    assert seen == ["on_trade", "on_trade"]
    assert v.sim.n_fills == 1  # nothing displayed at 100.0: first in line


def _both(cfg: dict, script, feed_ms: float = 0.0) -> list:
    """Rows of ``script(venue)`` gated and ungated (asserted equal)."""
    gated = Venue(1, feed_ms=feed_ms, **cfg)
    direct = UngatedVenue(1, feed_ms=feed_ms, **cfg)
    script(gated)
    script(direct)
    assert gated.sink.rows == direct.sink.rows
    return gated.sink.rows


def _fills(rows: list) -> list[float]:
    return [r[7] for k, r in rows if k == Kind.SIM_FILLS]  # sz


def test_a_print_stamped_at_the_arrival_itself_fills_the_arriving_order():
    cfg = {"min_notional": 1.0, "place_ms": 10.0, "response_ms": 50.0}

    def script(v: Venue) -> None:
        v.book(T0, [(99.9, 1.0)], [(100.1, 1.0)])
        v.place(T0 + 10 * MS, 1, 100.0, 1.0)  # reaches the venue at T0 + 20 ms
        # stamped at the arrival, received 5 ms later (before the venue's quiet-market
        # deadline): the order is there for it
        v.trade(T0 + 20 * MS, -1, 99.9, 3.0)
        v.tick(T0 + 200 * MS)

    assert _fills(_both(cfg, script, feed_ms=5.0)) == [1.0]


def test_a_cross_that_ended_starts_afresh():
    """The cross rule's used-size memory is cleared by the first top that no longer
    crosses, even though nothing else about that update concerns the simulator."""
    cfg = {"min_notional": 1.0, "cross_fills": True, "response_ms": 0.0}

    def script(v: Venue) -> None:
        v.book(T0, [(99.9, 1.0)], [(100.1, 1.0)])
        v.place(T0 + MS, 1, 100.0, 5.0)
        v.tick(T0 + 500 * MS)  # rests
        v.book(T0 + 600 * MS, [(99.9, 1.0)], [(100.0, 1.0)])  # crosses: 1.0 fills
        v.book(T0 + 700 * MS, [(99.9, 1.0)], [(100.1, 1.0)])  # the cross ends
        v.book(T0 + 800 * MS, [(99.9, 1.0)], [(100.0, 1.0)])  # a new one: 1.0 again
        v.tick(T0 + 900 * MS)

    assert _fills(_both(cfg, script)) == [1.0, 1.0]
