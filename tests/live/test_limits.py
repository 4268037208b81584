"""Each safety limit trips at its threshold and not before: the pre-send guard's caps on
a real engine, the daily loss counted from the adopted account, and the kill switch of
a live session (cancel everything, flatten with reduce-only IOC, stop)."""

from __future__ import annotations

import pytest

from framework.config import config_from_dict
from framework.engine.core import Engine, ListSink
from framework.engine.drive import load_component
from framework.environments.live import live_components
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.live.guard import Guard
from tests.live.conftest import make_account, run, table, verify, write_config


def _engine(risk: dict) -> Engine:
    cfg = config_from_dict({"risk": risk})
    return Engine([load_component(c) for c in live_components(cfg)], seed=1, sink=ListSink())


def _step(e: Engine, kind: Kind, payload: tuple, t: int) -> None:
    seq = e.next_input_seq()
    if not e.events:
        e.start(t)
    e.step(kind, seq, t, Columns.from_rows(kind, [(seq, t, t, *payload)]), 0)


def _adopt(e: Engine, position: float, value: float = 10_000.0, t: int = 10**18) -> None:
    _step(
        e, Kind.ACCOUNT, ("HYPE", value, 0.0, position, 40.0 if position else None, 0.0, value), t
    )


def _cmd(side: int, sz: float, px: float = 40.0, reduce_only: bool = False) -> dict:
    return {
        "cloid": "0x" + "1" * 32,
        "action": "place",
        "side": side,
        "px": px,
        "sz": sz,
        "reduce_only": reduce_only,
        "target_cloid": None,
    }


def test_the_position_cap_in_coins_allows_the_cap_and_blocks_one_lot_more():
    e = _engine({"max_position": 10.0, "max_position_usd": 1e9})
    _adopt(e, 4.0)
    g = Guard(e)
    assert g.check(_cmd(+1, 6.0)) is None  # 4 + 6 = 10: at the cap
    why = g.check(_cmd(+1, 6.01))
    assert why and "max_position 10" in why
    assert g.check(_cmd(-1, 14.0)) is None  # 4 - 14 = -10
    assert g.check(_cmd(-1, 14.01))
    assert g.check({**_cmd(-1, 0), "action": "cancel"}) is None


def test_the_usd_cap_and_the_leverage_cap():
    e = _engine({"max_position": 1e9, "max_position_usd": 400.0, "leverage": 3.0})
    _adopt(e, 0.0)
    g = Guard(e)
    assert g.check(_cmd(+1, 10.0, px=40.0)) is None  # 400 USD
    assert "max_position_usd" in g.check(_cmd(+1, 10.01, px=40.0))
    e2 = _engine({"max_position": 1e9, "max_position_usd": 1e9, "leverage": 2.0})
    _adopt(e2, 0.0, value=1000.0)
    g2 = Guard(e2)
    assert g2.check(_cmd(-1, 50.0, px=40.0)) is None  # 2000 USD = equity x 2
    assert "leverage" in g2.check(_cmd(-1, 50.01, px=40.0))


def test_after_the_kill_switch_only_reducing_orders_pass():
    e = _engine({})
    _adopt(e, 5.0)
    _step(e, Kind.CONTROL, ("kill", "cancel_all", None, "test"), 10**18 + 1)
    g = Guard(e)
    assert g.check(_cmd(-1, 5.0, reduce_only=True)) is None
    assert "kill switch" in g.check(_cmd(+1, 1.0))


def test_daily_loss_counts_from_the_adopted_account_not_the_config():
    # the config's initial equity (10,000) is not the account's (1,000): no false trip
    e = _engine({"max_daily_loss_usd": 50.0})
    _adopt(e, 0.0, value=1000.0)
    risk = e.component("risk")
    for k in range(1, 4):
        _step(e, Kind.CLOCK, ("live",), 10**18 + k * 10**9)
    assert not risk.daily_tripped and risk.quoting_allowed
    assert e.component("orders").equity == pytest.approx(1000.0)


@pytest.mark.simulator
@pytest.mark.slow  # waits for the market to fill a 1,000 USD account (~30 s at 20x)
def test_the_drawdown_kill_switch_cancels_flattens_and_stops(sim, tmp_path):
    """A 1,000 USD account, --max-drawdown 0.0001 (0.10 USD): the first fills' fees
    trip it; everything is cancelled, the position closed with reduce-only IOCs, exit 1."""
    acct = make_account(sim, "kill", 1000.0)
    cfg = write_config(tmp_path, '[strategy]\nspread_profile = "aggressive"\n')
    r = run(
        sim,
        tmp_path,
        acct,
        "--force",
        "--config",
        str(cfg),
        "--max-drawdown",
        "0.0001",
        "--flatten-on-kill",
        "--duration",
        "40",
        "--out",
        "j",
        timeout=90,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "kill switch: drawdown" in r.stderr
    j = tmp_path / "j"
    risk = table(j, "risk")
    rows = list(
        zip(
            risk.column("rule").to_pylist(),
            risk.column("state").to_pylist(),
            risk.column("value").to_pylist(),
            risk.column("limit").to_pylist(),
            strict=False,
        )
    )
    trips = [x for x in rows if x[0] == "drawdown"]
    assert trips and trips[0][1] == "tripped" and trips[0][2] >= trips[0][3] == 0.0001
    cmd = table(j, "order_commands")
    flat = [
        x
        for x in zip(
            cmd.column("reason").to_pylist(),
            cmd.column("tif").to_pylist(),
            cmd.column("reduce_only").to_pylist(),
            strict=False,
        )
        if x[0] == "flatten"
    ]
    st = sim.info({"type": "clearinghouseState", "user": acct.address})
    pos = [p for p in st["assetPositions"] if p["position"]["coin"] == "HYPE"]
    if flat:  # a position was left after the kill: closed with reduce-only IOC orders
        assert all(t == "Ioc" and ro for _, t, ro in flat)
    assert not pos or float(pos[0]["position"]["szi"]) == 0.0
    assert sim.open_orders(acct.address) == []
    verify(j)


def test_a_position_adopted_before_any_price_is_no_drawdown_and_no_daily_loss():
    # A restart holding a short: the account arrived before the book, equity was marked
    # without the position (its sale proceeds only), the peak took the whole notional,
    # and the first book "lost" it: 50 USD of drawdown on a -0.43 USD session, and a
    # larger short would trip the drawdown and daily-loss switches at once.
    from tests.stubs import book_row

    e = _engine({"max_drawdown": 0.001, "max_daily_loss_usd": 20.0})
    _adopt(e, -25.0, value=10_000.0)  # short 25 HYPE at 40: a 1,000 USD notional
    orders, risk = e.component("orders"), e.component("risk")
    assert orders.equity == 10_000.0 and orders.peak_equity == 10_000.0
    t = 10**18 + 10**9
    row = book_row(e.next_input_seq(), t, 40.0, coin="HYPE")
    e.step(Kind.BOOK, row[0], t, Columns.from_rows(Kind.BOOK, [row]), 0)
    for k in range(2, 5):
        _step(e, Kind.CLOCK, ("live",), 10**18 + k * 10**9)
    assert orders.equity == pytest.approx(10_000.0, abs=1.0)
    assert orders.max_drawdown_usd < 1.0
    assert not risk.killed and not risk.daily_tripped and risk.quoting_allowed


@pytest.mark.parametrize(
    "down, up",
    [
        (
            ("feed:l2Book", "stale", "no l2Book for 10.1s while connected"),
            [("feed:l2Book", "fresh", "")],
        ),
        (
            ("ws", "disconnected", "closed by peer"),
            [("ws", "connected", ""), ("ws", "resubscribed", "")],
        ),
    ],
)
def test_a_dropped_socket_or_stale_feed_pauses_quoting_at_once(down, up):
    # The venue kept matching while the book was frozen: the gate waited for stale_s
    # (15 s) of no data and the session was filled at old prices meanwhile.
    from tests.stubs import book_row

    e = _engine({})
    _adopt(e, 0.0)
    risk = e.component("risk")

    def book(t: int) -> None:
        row = book_row(e.next_input_seq(), t, 40.0, coin="HYPE")
        e.step(Kind.BOOK, row[0], t, Columns.from_rows(Kind.BOOK, [row]), 0)

    sec = 10**9
    book(10**18 + sec)
    _step(e, Kind.CLOCK, ("live",), 10**18 + 2 * sec)
    assert risk.quoting_allowed
    _step(e, Kind.CONNECTION, down, 10**18 + 2 * sec + 1)
    assert risk.paused and not risk.quoting_allowed  # at once, data only 1 s old
    book(10**18 + 3 * sec)  # data alone does not resume while the link is down
    _step(e, Kind.CLOCK, ("live",), 10**18 + 4 * sec)
    assert risk.paused
    for k, row in enumerate(up):
        _step(e, Kind.CONNECTION, row, 10**18 + 4 * sec + 1 + k)
    book(10**18 + 5 * sec)
    _step(e, Kind.CLOCK, ("live",), 10**18 + 6 * sec)
    assert not risk.paused and risk.quoting_allowed
    rows = [r for k, r in e.sink.rows if k == Kind.RISK and r[3] == "quote_gate"]
    assert [r[4] for r in rows] == ["paused", "resumed"]
    assert down[0] in rows[0][7] and down[1] in rows[0][7]


def test_the_days_start_equity_carried_from_an_earlier_session_counts():
    # A restart used to start the day afresh: a tripped daily loss limit with it.
    e = _engine({"max_daily_loss_usd": 500.0})
    _adopt(e, 0.0, value=10_000.0)
    risk = e.component("risk")
    day, equity = risk.day_start
    assert equity == 10_000.0
    _step(e, Kind.CONTROL, ("risk", "day_start", 10_700.0, str(day - 1)), 10**18 + 1)
    assert risk.day_start == (day, 10_000.0)  # another day's: ignored
    _step(e, Kind.CONTROL, ("risk", "day_start", 10_700.0, str(day)), 10**18 + 2)
    assert risk.day_start == (day, 10_700.0)
    _step(e, Kind.CLOCK, ("live",), 10**18 + 10**9)
    assert risk.daily_tripped and not risk.quoting_allowed  # 700 lost today already


def test_a_restart_the_same_day_keeps_counting_the_daily_loss(sim, tmp_path):
    import json

    acct = make_account(sim, "daily-restart")
    first = run(sim, tmp_path, acct, "--force", "--duration", "1.5", "--out", "a")
    assert first.returncode == 0, first.stderr
    state = tmp_path / "ck" / "live" / "HYPE" / "state.json"
    data = json.loads(state.read_text())
    assert isinstance(data["risk_day"], int)
    assert abs(data["day_start_equity"] - 100_000.0) < 50.0
    data["day_start_equity"] += 600.0  # as if the first session had lost 600 USD today
    state.write_text(json.dumps(data))
    second = run(
        sim, tmp_path, acct, "--force", "--duration", "1.5", "--max-daily-loss", "500", "--out", "b"
    )
    rows = table(tmp_path / "b", "risk").to_pylist()
    assert ("daily_loss", "tripped") in [(r["rule"], r["state"]) for r in rows], second.stderr
    control = table(tmp_path / "b", "control").to_pylist()
    assert any(r["topic"] == "risk" and r["action"] == "day_start" for r in control)
    verify(tmp_path / "b")
