"""The order tracker: open orders, position, cash, fees, funding and PnL.

One component (name ``"orders"``) for every mode.  It learns about orders from the
engine's own ``order_commands`` and about their fate from the venue's feedback, which
in paper/backtest is the fill simulator's ``sim_orders`` / ``sim_fills`` /
``sim_funding`` and live is the ``order_responses`` / ``order_updates`` / ``fills``
inputs.  Only one of the two feedback streams carries rows in a session, so handling
both never double counts.

Open order records are plain lists ``[side, px, sz, status, filled]`` (hot path: no
objects); ``sz`` is the remaining size, ``filled`` what has filled so far, ``status`` is
``pending`` (sent, not acknowledged), ``resting`` or ``canceling``.  An order that ends
moves to :attr:`OrderTracker.closed` as ``filled``, ``canceled`` or ``rejected``, so
:meth:`OrderTracker.state` names every step of an order's life: pending, resting,
partially_filled, canceling, filled, canceled, rejected (the live venue's events, in
whatever order they arrive, move it only forward: a late ``open`` update of an order
already closed does not reopen it).

Live mode also learns the account: the first ``account`` row of a session is adopted
(position and entry price from the venue, equity = the venue's account value, the
drawdown peak reset there), so a session that starts with a position, or after a
crash, counts from the venue's truth rather than from zero.
PnL is marked to the book mid (mm_math §9's mark-to-mid), falling back to the mark
price and then the last trade when the book has no valid mid.
"""

from __future__ import annotations

import math
from typing import Any

from framework.config import OrdersConfig, section_from_kwargs
from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.fills.texts import VENUE_TEXT
from framework.grid import POSITION_DECIMALS
from framework.kernel.handler import Tick
from framework.kernel.market import (  # the statuses the kernel's order paths set
    CANCELED,
    CANCELING,
    CLOSED_KEEP,
    PENDING,
    RESTING,
    TrackerCore,
)

#: The venue's answers that mean the order a cancel or modify named no longer rests:
#: Cancel MissingOrder is documented (hyperliquid_protocol.md §4.9); the modify text is
#: [UNCERTAIN] there, and this is the one the paper venue and the simulator answer.
GONE_TEXTS: tuple[str, ...] = (VENUE_TEXT["cancel_missing"], VENUE_TEXT["modify_missing"])


def venue_says_gone(error: str | None) -> bool:
    """True when a refused cancel or modify says its order is not on the venue."""
    return error is not None and error.startswith(GONE_TEXTS)


__all__ = ["CANCELED", "CANCELING", "CLOSED_KEEP", "PENDING", "RESTING", "OrderTracker"]

FILLED = "filled"
REJECTED = "rejected"

SIDE, PX, SZ, STATUS, FILLED_SZ = 0, 1, 2, 3, 4
_EPS = 1e-12

#: Live ``orderUpdates`` statuses that end an order; anything ending in ``Canceled`` or
#: ``Rejected`` does too ([UNCERTAIN] in the protocol reference: the full list of
#: ``*Canceled`` variants; matching the suffix covers them all).  ``scheduledCancel``
#: (the dead man's switch) ends an order without that suffix.
_TERMINAL = frozenset({"filled", "canceled", "rejected", "marginCanceled", "scheduledCancel"})


class OrderTracker(TrackerCore):
    """Open orders by cloid, position and account PnL.

    The account figures (``position``, ``cash``, ``fees``, ``funding``, ``avg_entry``,
    ``equity`` and its peak and drawdowns) and :meth:`mark` / :meth:`mark_price` are the
    typed kernel's (:class:`~framework.kernel.market.TrackerCore`).

    Parameters
    ----------
    **config
        Fields of :class:`framework.config.OrdersConfig` (``initial_equity_usd``, ...).
    """

    name = "orders"

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.cfg: OrdersConfig = section_from_kwargs(OrdersConfig, config)
        # The kernel's: ``open`` (cloid -> record), ``closed`` (cloid -> filled |
        # canceled | rejected, oldest first; an OrderedDict: dropping the oldest of a
        # plain dict scans the slots its earlier deletions left, which cost 14,000
        # instructions a drop once 4,096 orders had closed), ``replaces`` (a modify's
        # new cloid -> the cloid it replaces), ``n_commands`` and ``n_rejects``.
        self.adopted = False  # live: the venue's account taken over (first account row)
        self.adopted_seq = 0
        self.venue_position = math.nan  # live: the last account row's position
        self.venue_equity = math.nan
        self.position = 0.0
        self.cash = 0.0  # -sum(side * px * sz)
        self.fees = 0.0
        self.funding = 0.0
        self.realized_pnl = 0.0  # gross of fees and funding, average-cost basis
        self.avg_entry = 0.0
        self.volume_usd = 0.0
        self.n_fills = 0
        self.initial_equity = self.cfg.initial_equity_usd
        self.equity = self.initial_equity
        self.peak_equity = self.initial_equity
        self.max_drawdown = 0.0  # fraction of the peak
        self.max_drawdown_usd = 0.0

    # -- wiring -------------------------------------------------------------------------
    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self.market = engine.component("market")
        commands, sim_orders = self.routes()  # on_command, on_sim_order in C
        engine.subscribe(Kind.ORDER_COMMANDS, commands)
        engine.subscribe(Kind.SIM_ORDERS, sim_orders)
        engine.subscribe(Kind.SIM_FILLS, self.on_sim_fill)
        engine.subscribe(Kind.SIM_FUNDING, self.on_sim_funding)
        engine.subscribe(Kind.ORDER_RESPONSES, self.on_response)
        engine.subscribe(Kind.ORDER_UPDATES, self.on_update)
        engine.subscribe(Kind.FILLS, self.on_fill)
        engine.subscribe(Kind.ACCOUNT, self.on_account)
        engine.call_every(int(self.cfg.mark_interval_s * 1e9), Tick(self, 0))  # mark(), in C

    # -- paper feedback (our commands and sim_orders: the kernel's routes) ---------------
    def on_sim_fill(self, cols: Columns, i: int) -> None:
        self._filled(cols.cloid[i], cols.side[i], cols.px[i], cols.sz[i], cols.fee[i])

    def on_sim_funding(self, cols: Columns, i: int) -> None:
        self.funding += cols.payment[i]
        self.mark(self.engine.now)

    # -- live feedback ------------------------------------------------------------------
    def on_response(self, cols: Columns, i: int) -> None:
        cloid, status, action = cols.cloid[i], cols.status[i], cols.action[i]
        if cloid is None:
            return
        if status == "resting":
            self.rested(cloid, None)
        elif status == "error":
            self.n_rejects += 1
            # An order that vanished from the venue unseen (a scheduled cancel that fired
            # while the feed was down): taken back to resting, it was cancelled again on
            # every requote, hundreds of times a minute, and never replaced.
            gone = venue_says_gone(cols.error[i])
            if action == "cancel":
                rec = self.open.get(cloid)
                if gone:
                    self._gone(cloid, rejected=False, final=CANCELED)
                elif rec is not None and rec[STATUS] == CANCELING:
                    rec[STATUS] = RESTING
            else:
                old = self.replaces.get(cloid) if gone and action == "modify" else None
                self._gone(cloid, rejected=True, final=REJECTED)
                if old is not None:
                    self._gone(old, rejected=False, final=CANCELED)
        elif status == "filled":
            self._gone(cloid, rejected=False, final=FILLED)
        elif status == "canceled" or (status == "success" and action == "cancel"):
            self._gone(cloid, rejected=False, final=CANCELED)

    def on_update(self, cols: Columns, i: int) -> None:
        cloid, status = cols.cloid[i], cols.status[i]
        if cloid is None:
            return
        if status == "open":
            self.rested(cloid, cols.sz[i])
        elif status in _TERMINAL or status.endswith(("Canceled", "Rejected")):
            rejected = status == "rejected" or status.endswith("Rejected")
            final = REJECTED if rejected else FILLED if status == "filled" else CANCELED
            self._gone(cloid, rejected=rejected, final=final)

    def on_fill(self, cols: Columns, i: int) -> None:
        self._filled(cols.cloid[i], cols.side[i], cols.px[i], cols.sz[i], cols.fee[i])

    # -- state changes ------------------------------------------------------------------
    def on_account(self, cols: Columns, i: int) -> None:
        """Live: the first account row of a session is adopted (module docstring);
        later rows are kept for reference (fills move the position, not snapshots,
        which can lag a fill that already arrived)."""
        pos, value = cols.position[i], cols.account_value[i]
        self.venue_position, self.venue_equity = pos, value
        if self.adopted:
            return
        self.adopted = True
        self.adopted_seq = self.engine.input_seq
        entry = cols.entry_px[i]
        entry = entry if entry is not None and entry == entry else 0.0
        self.position = 0.0 if abs(pos) <= _EPS else pos
        self.avg_entry = entry if self.position else 0.0
        self.cash = -self.position * self.avg_entry
        self.realized_pnl = 0.0
        upnl = cols.unrealized_pnl[i]
        # equity = initial + cash + position * mark - fees - funding = the account value now
        self.initial_equity = value - (upnl if upnl == upnl else 0.0) + self.fees + self.funding
        eq = self.mark(self.engine.now)
        px = self.mark_price()
        if self.position and px != px:
            # No price yet (the account arrives before the book): the venue's account
            # value is the equity.  Marked without the position, a short's proceeds made
            # a peak of its whole notional, and the first book a drawdown of it.
            eq = self.equity = value
        self.peak_equity = eq
        self.max_drawdown = self.max_drawdown_usd = 0.0

    def state(self, cloid: str | None) -> str | None:
        """Where an order is in its life: pending, resting, partially_filled, canceling,
        filled, canceled, rejected; None for a cloid never seen (or long forgotten)."""
        if cloid is None:
            return None
        rec = self.open.get(cloid)
        if rec is None:
            return self.closed.get(cloid)
        if rec[STATUS] == RESTING and rec[FILLED_SZ] > 0.0:
            return "partially_filled"
        return rec[STATUS]

    def _gone(self, cloid: str, *, rejected: bool, final: str = CANCELED) -> None:
        self.gone(cloid, rejected, final)

    def _filled(self, cloid: str | None, side: int, px: float, sz: float, fee: float) -> None:
        self.n_fills += 1
        self.fees += fee
        self.volume_usd += px * sz
        self.cash -= side * px * sz
        self._realize(side * sz, px)
        rec = self.open.get(cloid) if cloid is not None else None
        if rec is not None:
            rec[SZ] -= sz
            rec[FILLED_SZ] += sz
            if rec[SZ] <= _EPS:
                self._gone(cloid, rejected=False, final=FILLED)
        elif cloid is not None and self.closed.get(cloid) == CANCELED:
            pass  # a fill reported after the cancel: the order stays canceled (rest gone)
        self.mark(self.engine.now)

    def _realize(self, signed: float, px: float) -> None:
        pos = self.position
        new = pos + signed
        if pos == 0 or (pos > 0) == (signed > 0):
            # adding: the average entry moves
            self.avg_entry = (self.avg_entry * abs(pos) + px * abs(signed)) / abs(new)
        else:
            closed = min(abs(signed), abs(pos))
            self.realized_pnl += closed * (px - self.avg_entry) * (1 if pos > 0 else -1)
            if abs(signed) > abs(pos):
                self.avg_entry = px  # flipped: the remainder opens at px
            elif abs(new) <= _EPS:
                self.avg_entry = 0.0
        new = round(new, POSITION_DECIMALS)  # the venue's position: no float drift
        self.position = 0.0 if abs(new) <= _EPS else new

    # -- marks --------------------------------------------------------------------------
    # mark_price() (book mid, else mark, else last trade) and mark(t) (equity, its peak
    # and the max drawdown) are TrackerCore's.

    @property
    def unrealized_pnl(self) -> float:
        px = self.mark_price()
        if self.position == 0 or px != px:
            return 0.0
        return self.position * (px - self.avg_entry)

    # -- queries ------------------------------------------------------------------------
    def order(self, cloid: str | None) -> list[Any] | None:
        """The open record ``[side, px, sz, status]`` of ``cloid``, or None when gone."""
        return None if cloid is None else self.open.get(cloid)

    def resting_size(self, side: int) -> float:
        """Total open size on one side (worst-case inventory checks)."""
        return sum(r[SZ] for r in self.open.values() if r[SIDE] == side)

    def snapshot(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "cash": self.cash,
            "fees": self.fees,
            "funding": self.funding,
            "realized_pnl": self.realized_pnl,
            "unrealized_pnl": self.unrealized_pnl,
            "equity": self.equity,
            "max_drawdown": self.max_drawdown,
            "max_drawdown_usd": self.max_drawdown_usd,
            "volume_usd": self.volume_usd,
            "fills": self.n_fills,
            "commands": self.n_commands,
            "rejects": self.n_rejects,
            "open": {k: list(v) for k, v in sorted(self.open.items())},
        }
