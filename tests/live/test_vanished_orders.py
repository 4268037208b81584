"""An order that vanished from the venue unseen is taken as gone when the venue says so.

Found live: the feed was down longer than the dead-man switch, the venue's scheduled
cancel fired unseen, and every cancel of the vanished orders came back "Order was never
placed, already canceled, or filled."; the tracker took each order back to resting, so
the strategy cancelled it again on every requote (830 cancels, the address budget spent)
and never quoted again.
"""

from __future__ import annotations

from framework.book import MarketState
from framework.engine.core import Engine, ListSink
from framework.estimators.fill_rate import FillRateEstimator
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.fills.texts import VENUE_TEXT
from framework.orders import OrderTracker

T0 = 10**18
A, B = "0x" + "a" * 32, "0x" + "b" * 32


def _engine() -> tuple[Engine, OrderTracker, FillRateEstimator]:
    orders, rate = OrderTracker(), FillRateEstimator()
    e = Engine([MarketState(), orders, rate], seed=1, sink=ListSink())
    e.start(T0)
    return e, orders, rate


def _respond(e: Engine, cloid: str, action: str, status: str, error: str | None = None) -> None:
    seq = e.next_input_seq()
    t = T0 + seq
    row = (seq, t, t, cloid, 1, action, status, error, None, None, None)
    e.step(Kind.ORDER_RESPONSES, seq, t, Columns.single(Kind.ORDER_RESPONSES, row), 0)


def _command(e: Engine, cloid: str, action: str, target: str | None = None) -> None:
    e.emit(
        Kind.ORDER_COMMANDS,
        (cloid, action, "HYPE", 1, 40.0, 1.0, "Alo", False, target, e.input_seq, "test"),
    )


def _resting(e: Engine, cloid: str) -> None:
    _command(e, cloid, "place")
    _respond(e, cloid, "place", "resting")


def test_a_cancel_the_venue_answers_missing_order_ends_the_order():
    e, orders, rate = _engine()
    _resting(e, A)
    _command(e, A, "cancel")
    _respond(e, A, "cancel", "error", VENUE_TEXT["cancel_missing"])
    assert orders.order(A) is None and orders.state(A) == "canceled"
    assert A not in rate._orders  # its fill-rate episode ended too


def test_a_cancel_refused_for_another_reason_leaves_the_order_resting():
    e, orders, _ = _engine()
    _resting(e, A)
    _command(e, A, "cancel")
    _respond(e, A, "cancel", "error", "Too many cumulative requests sent (10 > 9) ...")
    assert orders.state(A) == "resting"  # the cancel did not happen: it still rests


def test_a_modify_of_a_vanished_order_ends_both():
    e, orders, rate = _engine()
    _resting(e, A)
    _command(e, B, "modify", target=A)
    _respond(e, B, "modify", "error", VENUE_TEXT["modify_missing"])
    assert orders.order(A) is None and orders.order(B) is None
    assert orders.state(A) == "canceled" and orders.state(B) == "rejected"
    assert A not in rate._orders and B not in rate._orders
    # a modify refused for another reason leaves the original resting, as before
    _resting(e, "0x" + "c" * 32)
    _command(e, "0x" + "d" * 32, "modify", target="0x" + "c" * 32)
    _respond(e, "0x" + "d" * 32, "modify", "error", VENUE_TEXT["min_notional"])
    assert orders.state("0x" + "c" * 32) == "resting"
