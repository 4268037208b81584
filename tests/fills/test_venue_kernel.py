"""The venue's order path in the typed kernel (:mod:`framework.kernel.venue`): compiled
where built, and the same outcomes, bit for bit, as its source run as plain Python, on
random sessions that reach every rule (post-only, taker walks, IOC, reduce-only, the
cross rule, the depth-fed queue, rejects, cancels and modifies of live and gone orders,
an exhausted request budget)."""

from __future__ import annotations

import importlib.util
import random
import struct
import sys
from typing import Any

import pytest

import framework.fills.simulator as simulator
import framework.kernel.venue as venue
from tests.fills import harness
from tests.fills.harness import MS, T0, Venue
from tests.kernel.source import assert_compiled_where_built, interpreted


def test_the_venue_is_compiled_where_built() -> None:
    assert_compiled_where_built(venue)


def _interpreted_simulator(monkeypatch: pytest.MonkeyPatch) -> type:
    """FillSimulator over the kernel venue's source run as Python."""
    monkeypatch.setitem(sys.modules, "framework.kernel.venue", interpreted("venue"))
    spec = importlib.util.spec_from_file_location("_simulator_source", simulator.__file__)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.undo()
    return mod.FillSimulator


def _bits(x: Any) -> Any:
    """Floats by their bits (so -0.0, NaN payloads and last digits count)."""
    if isinstance(x, float):
        return ("f", struct.pack("<d", x))
    if isinstance(x, tuple | list):
        return tuple(_bits(v) for v in x)
    return x


def _session(sim_class: type, seed: int, config: dict[str, Any]) -> list[Any]:
    """A random session; returns every row the venue emitted and its final state."""
    rnd = random.Random(seed)
    built_with = harness.FillSimulator
    harness.FillSimulator = sim_class  # what Venue builds its simulator from
    try:
        v = Venue(seed=seed, feed_ms=rnd.choice([0.0, 20.0]), **config)
    finally:
        harness.FillSimulator = built_with
    sim = v.sim
    assert type(sim) is sim_class
    t = T0
    mid = 100.0
    live: list[str] = []
    v.ctx(t, mid, 1e-5)
    for _ in range(400):
        t += rnd.choice([1, 5, 20, 60, 120]) * MS
        mid = round(mid + rnd.choice([-0.1, 0.0, 0.0, 0.1]), 1)
        what = rnd.random()
        if what < 0.3:
            bids = [(round(mid - 0.05 - 0.1 * k, 2), rnd.choice([0.5, 1.0, 3.0])) for k in range(3)]
            asks = [(round(mid + 0.05 + 0.1 * k, 2), rnd.choice([0.5, 1.0, 3.0])) for k in range(3)]
            if rnd.random() < 0.1:  # a crossed book (a feed artefact the cross rule reads)
                asks = [(round(bids[0][0] - 0.1, 2), 1.0), *asks]
            v.book(t, bids, asks)
        elif what < 0.4:
            v.bbo(t, round(mid - 0.05, 2), 2.0, round(mid + 0.05, 2), 2.0)
        elif what < 0.65:
            side = rnd.choice([1, -1])
            px = round(mid + side * -rnd.choice([0.05, 0.15, 0.25, 0.35]), 2)
            v.trade(t, -side, px, rnd.choice([0.2, 1.0, 4.0]))
        elif what < 0.85 or not live:
            side = rnd.choice([1, -1])
            px = round(mid - side * rnd.choice([0.05, 0.15, -0.05, -0.25]), 2)
            sz = rnd.choice([0.05, 0.2, 0.5, 1.0, 2.0])  # 0.05: below the $10 minimum
            tif = rnd.choice(["Alo", "Alo", "Gtc", "Ioc", None, "Fok"])
            if rnd.random() < 0.03:
                px = rnd.choice([float("nan"), -1.0])
            live.append(v.place(t, side, px, sz, tif, reduce_only=rnd.random() < 0.15))
        elif what < 0.93:
            resting = [o.cloid for o in sim.open_orders]
            v.cancel(t, rnd.choice(resting or live) if rnd.random() < 0.9 else "0xgone")
        else:
            resting = [o.cloid for o in sim.open_orders]
            target = rnd.choice(resting) if resting and rnd.random() < 0.8 else rnd.choice(live)
            live.append(v.modify(t, target, rnd.choice([1, -1]), round(mid - 0.15, 2), 1.0))
        if rnd.random() < 0.2:
            v.tick(t + rnd.choice([10, 60, 200]) * MS)
            t += 200 * MS
    v.tick(t + 3_600_000 * MS)  # past funding and every outstanding timer
    state = sim.snapshot()
    return [_bits(r) for r in v.sink.rows] + [_bits(tuple(sorted(state.items(), key=str)))]


CONFIGS = [
    {},
    {"cross_fills": True, "queue": "prob"},
    {"queue": "risk_averse", "place_ms": 0.0, "response_ms": 0.0, "fifo": False},
    {
        "latency": "empirical",
        "place_samples_ms": [5, 80],
        "cancel_samples_ms": [3, 40],
        "response_samples_ms": [1, 30],
        "cross_fills": True,
    },
    {"budget_used": 20_000, "queue": "prob", "queue_prob_variant": "power2"},
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_and_interpreted_venues_emit_the_same_rows(monkeypatch, config, seed):
    py_sim = _interpreted_simulator(monkeypatch)
    assert py_sim.__mro__[1].__module__ == "_venue_source"
    compiled = _session(simulator.FillSimulator, seed, config)
    python = _session(py_sim, seed, config)
    assert len(compiled) > 50
    assert compiled == python
    kinds = {r[0] for r in compiled[:-1]}
    assert harness.Kind.SIM_ORDERS in kinds


class _CountingLatency:
    """A latency model of the protocol's first form: no ``fixed_ns``, asked every time."""

    response_min_ns = 7 * MS

    def __init__(self) -> None:
        self.asked: list[str] = []

    def place_ns(self, rng: Any) -> int:
        self.asked.append("place")
        return 30 * MS

    def cancel_ns(self, rng: Any) -> int:
        self.asked.append("cancel")
        return 20 * MS

    def response_ns(self, rng: Any) -> int:
        self.asked.append("response")
        return 7 * MS


def test_a_latency_model_without_fixed_values_is_asked_for_every_request_and_outcome(
    monkeypatch,
):
    from framework.fills.config import FillSimConfig

    model = _CountingLatency()
    monkeypatch.setattr(FillSimConfig, "latency_model", lambda self: model)
    v = Venue()
    sim = v.sim
    assert sim.latency is model
    v.book(T0, [(100.0, 1.0)], [(100.2, 1.0)])
    cloid = v.place(T0 + MS, 1, 99.9, 1.0)
    v.tick(T0 + 100 * MS)
    v.cancel(T0 + 200 * MS, cloid)
    v.tick(T0 + 400 * MS)
    assert model.asked == ["place", "response", "cancel", "response"]
    assert [r["status"] for r in v.orders(cloid)] == ["resting", "canceled"]
    if venue.__file__.endswith(".so"):  # compiled: read once at the start, not swappable
        with pytest.raises(AttributeError):
            sim.latency = model


def test_the_request_budget_compiled_and_interpreted_agree_bit_for_bit():
    source = interpreted("venue")
    rnd = random.Random(7)
    for _ in range(50):
        used, vlm = rnd.choice([0, 9_990, 10_000, 20_000]), rnd.choice([0.0, 12.5, 1e6 + 0.7])
        budgets = [venue.RequestBudget(used, vlm), source.RequestBudget(used, vlm)]
        seen: list[list[Any]] = [[], []]
        now = T0
        for _ in range(60):
            now += rnd.choice([1, 3_000, 11_000]) * MS
            op, amount, cancel = rnd.random(), rnd.choice([0.3, 2.5, 999.9]), rnd.random() < 0.3
            for b, out in zip(budgets, seen, strict=True):
                if op < 0.6:
                    out.append(b.take(now, cancel=cancel))
                elif op < 0.8:
                    b.add_volume(amount)
                else:
                    b.used = b.used + 7
                out.append(_bits((b.used, b.cap, b.cum_vlm, b.headroom, b.rejected)))
        assert seen[0] == seen[1]
        assert budgets[0].snapshot() == budgets[1].snapshot()


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf")])
def test_a_budget_volume_that_is_not_a_finite_amount_is_refused(bad):
    b = venue.RequestBudget(0, 0.0)
    with pytest.raises(ValueError, match="cum_vlm"):
        b.cum_vlm = bad
    with pytest.raises(ValueError, match="cum_vlm"):
        venue.RequestBudget(0, bad)
    assert (b.cap, b.headroom) == (10_000, 1.0)  # unchanged
