"""The order tracker's paper order paths in the kernel (``TrackerCore.handle`` for
``order_commands`` and ``sim_orders``, ``rested``, ``gone``) do what
``framework/orders.py`` did in Python: the reference below is that code, verbatim but
for the class around it.  Random commands, outcomes and direct calls go through the
reference, the compiled module and its interpreted source; open records, closed
statuses (and their order), modifies in flight and the counts must agree."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import pytest

from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.kernel import market
from tests.kernel.source import assert_compiled_where_built, interpreted

PENDING, RESTING, CANCELING, FILLED, CANCELED, REJECTED = (
    "pending", "resting", "canceling", "filled", "canceled", "rejected",
)  # fmt: skip
SIDE, PX, SZ, STATUS, FILLED_SZ = 0, 1, 2, 3, 4
CLOSED_KEEP = 4096


class Reference:
    """framework.orders.OrderTracker's order paths before the kernel."""

    def __init__(self) -> None:
        self.open: dict[str, list[Any]] = {}
        self.closed: OrderedDict[str, str] = OrderedDict()
        self.replaces: dict[str, str] = {}
        self.n_commands = 0
        self.n_rejects = 0

    def on_command(self, cols: Columns, i: int) -> None:
        self.n_commands += 1
        action, cloid = cols.action[i], cols.cloid[i]
        if action == "place":
            self.open[cloid] = [cols.side[i], cols.px[i], cols.sz[i], PENDING, 0.0]
        elif action == "cancel":
            rec = self.open.get(cloid)
            if rec is not None:
                rec[STATUS] = CANCELING
        elif action == "modify":
            target = cols.target_cloid[i]
            old = self.open.get(target)
            if old is not None:
                old[STATUS] = CANCELING
            self.replaces[cloid] = target
            self.open[cloid] = [cols.side[i], cols.px[i], cols.sz[i], PENDING, 0.0]

    def on_sim_order(self, cols: Columns, i: int) -> None:
        cloid, status = cols.cloid[i], cols.status[i]
        if status == "resting":
            self._rested(cloid, cols.sz[i])
        elif status == "cancel_rejected":
            rec = self.open.get(cloid)
            if rec is not None and rec[STATUS] == CANCELING:
                rec[STATUS] = RESTING
        else:  # rejected | canceled | filled
            if status == "rejected":
                self.n_rejects += 1
            self._gone(cloid, rejected=status == "rejected", final=status)

    def _rested(self, cloid: str, sz: float | None) -> None:
        rec = self.open.get(cloid)
        if rec is None:
            return
        if rec[STATUS] == PENDING:
            rec[STATUS] = RESTING
        if sz is not None:
            rec[SZ] = sz
        old = self.replaces.pop(cloid, None)
        if old is not None and self.open.pop(old, None) is not None:
            self.closed[old] = CANCELED  # a modify replaced it

    def _gone(self, cloid: str, *, rejected: bool, final: str = CANCELED) -> None:
        if self.open.pop(cloid, None) is not None or cloid not in self.closed:
            self.closed[cloid] = final
            if len(self.closed) > CLOSED_KEEP:
                self.closed.popitem(last=False)
        old = self.replaces.pop(cloid, None)
        if old is not None and rejected:
            rec = self.open.get(old)  # a rejected modify leaves the original order
            if rec is not None and rec[STATUS] == CANCELING:
                rec[STATUS] = RESTING


@pytest.fixture(scope="module")
def source() -> Any:
    return interpreted("market")


def test_the_compiled_module_is_loaded_where_built() -> None:
    assert_compiled_where_built(market)


def test_the_kernel_s_order_paths_match_the_reference(source: Any) -> None:
    rng = random.Random(9)
    ref = Reference()
    cores = [market.TrackerCore(), source.TrackerCore()]
    cloids = [f"0x{j:032x}" for j in range(40)]
    for step in range(30_000):
        c = rng.choice(cloids)
        r = rng.random()
        if r < 0.35:
            action = rng.choice(("place", "modify", "cancel"))
            target = rng.choice([*cloids, None]) if action == "modify" else None
            row = (1, 0, 0, c, action, "HYPE", rng.choice((1, -1)), 20.5, 1.0, "Alo", False,
                   target, 0, "t")  # fmt: skip
            cols = Columns.single(Kind.ORDER_COMMANDS, row)
            ref.on_command(cols, 0)
            for core in cores:
                core.handle(int(Kind.ORDER_COMMANDS), cols, 0)
        elif r < 0.85:
            status = rng.choice(("resting", "cancel_rejected", "canceled", "filled", "rejected"))
            sz = rng.choice((0.5, 1.0, None))
            row = (1, 0, 0, c, "HYPE", 1, 20.5, sz, status, None, 0.0, 0)
            cols = Columns.single(Kind.SIM_ORDERS, row)
            ref.on_sim_order(cols, 0)
            for core in cores:
                core.handle(int(Kind.SIM_ORDERS), cols, 0)
        elif r < 0.93:
            sz = rng.choice((0.25, None))
            ref._rested(c, sz)
            for core in cores:
                core.rested(c, sz)
        else:
            rejected, final = rng.random() < 0.5, rng.choice((CANCELED, FILLED, REJECTED))
            ref._gone(c, rejected=rejected, final=final)
            for core in cores:
                core.gone(c, rejected, final)
        if step % 97 == 0 or step == 29_999:
            for core in cores:
                assert core.open == ref.open and core.replaces == ref.replaces
                assert list(core.closed.items()) == list(ref.closed.items())
                assert (core.n_commands, core.n_rejects) == (ref.n_commands, ref.n_rejects)
    assert len(ref.closed) > 30 and ref.n_rejects > 100 and ref.replaces  # paths taken


def test_closed_orders_are_forgotten_oldest_first(source: Any) -> None:
    for core in (market.TrackerCore(), source.TrackerCore()):
        for j in range(market.CLOSED_KEEP + 3):
            core.gone(f"c{j}", False, CANCELED)
        assert len(core.closed) == market.CLOSED_KEEP
        assert next(iter(core.closed)) == "c3"
