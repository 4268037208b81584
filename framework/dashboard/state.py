"""What an operator looks at, sampled from a running session: one JSON-able dict.

:class:`StateSampler` reads the engine's components (market, orders, risk,
estimators) and the fills the journal holds, and returns a plain dict the dashboard
page and the terminal view both render.  It is called by the *environment* at a fixed
wall-clock interval, between engine steps (the same event loop), never from inside the
engine: it only reads attributes and pure properties, never calls a method that
changes state (``OrderTracker.mark`` moves the drawdown peak, so it is not called), so
a session sampled 4 times a second journals exactly what it would unsampled
(``replay --verify`` passes; ``tests/dashboard/test_state.py`` checks it event by event).

Fills come from the journal's ``sim_fills`` (paper) and ``fills`` (live) parts on disk
(:class:`JournalTail`), not from the engine: no hook in the engine, the same code for
every mode, and the dashboard shows what the journal holds.  The writer flushes within
about a second, and at once when a fill makes the strategy requote (commands are
written ahead), so a fill shows within a second or so.

Every number is a finite float or None (JSON has no NaN).
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from typing import Any

from framework.calibration.readiness import ESTIMATORS
from framework.config import CalibrationConfig
from framework.engine.core import Engine
from framework.orders import CANCELING, PX, SIDE, STATUS, SZ

__all__ = ["CHART_WINDOW_S", "JournalTail", "StateSampler", "finite"]

#: The quote chart shows this much event time.
CHART_WINDOW_S = 300.0
#: One chart point per this much event time at most (600 points in the window).
CHART_STEP_S = 0.5
#: Recent fills kept for the page and the terminal.
RECENT_FILLS = 20


def finite(x: Any) -> float | None:
    """``x`` as a float, or None when it is missing, NaN or infinite."""
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class JournalTail:
    """New rows of a journal's fill tables, read from the Parquet parts on disk.

    Each call of :meth:`new_fills` reads only the parts written since the last call
    (a part is immutable once renamed into place), so its cost follows the number of
    new fills, not the session's length.
    """

    TABLES = ("sim_fills", "fills")

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._seen: set[str] = set()

    def new_fills(self) -> list[dict[str, Any]]:
        """Fills in parts not read before, in seq order, as plain dicts."""
        import pyarrow.parquet as pq

        from framework.journal.parts import list_parts

        rows: list[dict[str, Any]] = []
        for table in self.TABLES:
            for part in list_parts(self.root / table):
                key = f"{table}/{part.path.name}"
                if key in self._seen:
                    continue
                try:
                    t = pq.read_table(part.path)
                except OSError:
                    continue  # vanished (compaction at close) or unreadable: not ours to judge
                self._seen.add(key)
                for r in t.to_pylist():
                    how = r.get("rule") or ("taker" if r.get("crossed") else "maker")
                    rows.append(
                        {
                            "seq": int(r["seq"]),
                            "t_ns": int(r["recv_ts"]),
                            "side": int(r["side"]),
                            "px": finite(r["px"]),
                            "sz": finite(r["sz"]),
                            "fee": finite(r["fee"]),
                            "how": how,
                        }
                    )
        rows.sort(key=lambda r: r["seq"])
        return rows


def _component(engine: Engine, name: str) -> Any:
    try:
        return engine.component(name)
    except KeyError:
        return None


def _best(open_orders: dict[str, list[Any]], side: int) -> tuple[float | None, float | None]:
    """Our best open price on one side and the size open there (pending or resting;
    an order being cancelled is on its way out and not shown)."""
    best: float | None = None
    size = 0.0
    for rec in open_orders.values():
        s, px, sz, status = rec[SIDE], rec[PX], rec[SZ], rec[STATUS]
        if s != side or status == CANCELING or px is None:
            continue
        if best is None or (px > best if side > 0 else px < best):
            best, size = px, sz
        elif px == best:
            size += sz
    return best, (size if best is not None else None)


class StateSampler:
    """Samples a session's state for the dashboard and the terminal view.

    Parameters
    ----------
    engine : Engine
        The running engine (read only).
    journal : Path
        The session's journal directory (fills are read from its parts).
    mode, coin : str
        Shown in the header (``paper``, ``live``; the venue's coin name).
    calibration : CalibrationConfig, optional
        The thresholds the readiness progress is measured against.
    """

    def __init__(
        self,
        engine: Engine,
        journal: Path | str,
        *,
        mode: str,
        coin: str,
        calibration: CalibrationConfig | None = None,
    ) -> None:
        self.engine = engine
        self.journal = Path(journal)
        self.mode = mode
        self.coin = coin
        self.calibration = calibration or CalibrationConfig()
        self.tail = JournalTail(journal)
        self.fills: deque[dict[str, Any]] = deque(maxlen=RECENT_FILLS)
        self.n_fills = 0
        self.chart: deque[list[Any]] = deque()
        self.samples = 0
        self._market = _component(engine, "market")
        self._orders = _component(engine, "orders")
        self._risk = _component(engine, "risk")
        self._strategy = _component(engine, "strategy")

    # -- the sample ---------------------------------------------------------------------
    def sample(self, wall_ns: int) -> dict[str, Any]:
        """The session's state now: a JSON-serialisable dict (see the module docstring)."""
        e = self.engine
        self.samples += 1
        new = self.tail.new_fills()
        self.fills.extend(new)
        self.n_fills += len(new)
        market = self._market_state()
        quotes = self._quotes()
        point = self._chart_point(market, quotes)
        return {
            "v": 1,
            "mode": self.mode,
            "coin": self.coin,
            "journal": str(self.journal),
            "wall_ns": wall_ns,
            "event_ns": e.now,
            "session_s": (e.now - e.start_ns) / 1e9 if e.start_ns else 0.0,
            "events": e.events,
            "market": market,
            "quotes": quotes,
            "position": self._position(market),
            "pnl": self._pnl(),
            "fills": {"count": self._fill_count(), "recent": list(self.fills)[::-1]},
            "risk": self._risk_state(),
            "readiness": self._readiness(),
            "point": point,
        }

    def history(self) -> list[list[Any]]:
        """The chart points of the last :data:`CHART_WINDOW_S` of event time."""
        return list(self.chart)

    # -- parts --------------------------------------------------------------------------
    def _market_state(self) -> dict[str, Any]:
        m = self._market
        if m is None:
            return {"best_bid": None, "best_ask": None, "mid": None, "spread_bps": None}
        bid, ask, mid = finite(m.best_bid), finite(m.best_ask), finite(m.mid)
        last = m.last_market_ts
        return {
            "best_bid": bid,
            "best_ask": ask,
            "mid": mid,
            "spread_bps": (ask - bid) / mid * 1e4 if bid and ask and mid else None,
            "last_trade_px": finite(m.last_trade_px),
            "mark_px": finite(m.mark_px),
            "funding": finite(m.funding),
            "data_age_s": (self.engine.now - last) / 1e9 if last else None,
        }

    def _quotes(self) -> dict[str, Any]:
        o = self._orders
        out: dict[str, Any] = {"bid_px": None, "bid_sz": None, "ask_px": None, "ask_sz": None}
        if o is not None:
            out["bid_px"], out["bid_sz"] = _best(o.open, 1)
            out["ask_px"], out["ask_sz"] = _best(o.open, -1)
            out["open_orders"] = len(o.open)
        s = self._strategy
        out["half_spread_bps"] = finite(getattr(s, "hs_bps", None)) if s is not None else None
        return out

    def _position(self, market: dict[str, Any]) -> dict[str, Any]:
        o = self._orders
        if o is None:
            return {"position": 0.0, "avg_entry": None, "notional_usd": None}
        mid = market.get("mid")
        return {
            "position": finite(o.position),
            "avg_entry": finite(o.avg_entry) if o.position else None,
            "notional_usd": finite(o.position * mid) if mid is not None else None,
        }

    def _pnl(self) -> dict[str, Any]:
        """PnL marked now (mid, else mark, else last trade: the order tracker's rule),
        computed here from its cash, position, fees and funding: ``o.equity`` is only
        refreshed on its own timer, and calling ``o.mark()`` would change its state."""
        o = self._orders
        if o is None:
            return {}
        px = o.mark_price()
        value = o.position * px if o.position and px == px else 0.0
        net = o.cash + value - o.fees - o.funding
        return {
            "realized": finite(o.realized_pnl),
            "unrealized": finite(o.unrealized_pnl),
            "fees": finite(o.fees),
            "funding": finite(o.funding),
            "net": finite(net),
            "equity": finite(o.initial_equity + net),
            "max_drawdown_usd": finite(o.max_drawdown_usd),
            "volume_usd": finite(o.volume_usd),
        }

    def _fill_count(self) -> int:
        o = self._orders
        return int(o.n_fills) if o is not None else self.n_fills

    def _risk_state(self) -> dict[str, Any]:
        r = self._risk
        if r is None:
            return {}
        bid, ask = r.sides_allowed
        return {
            "quoting_allowed": bool(r.quoting_allowed),
            "gate_paused": bool(r.paused),
            # A SIGINT, SIGTERM or the end of --duration stops quoting through the same
            # switch: that is a stop, not the kill switch tripping.
            "killed": bool(r.killed) and r.states.get("shutdown") != "tripped",
            "stopping": r.states.get("shutdown") == "tripped",
            "daily_tripped": bool(r.daily_tripped),
            "forcing": bool(r.forcing),
            "bid_allowed": bool(bid),
            "ask_allowed": bool(ask),
            "spread_mult": finite(r.spread_mult),
            "size_mult": finite(r.size_mult),
            "headroom": finite(r.headroom),
            "states": dict(sorted(r.states.items())),
            "changes": int(r.changes),
        }

    def _readiness(self) -> dict[str, Any]:
        e, cal = self.engine, self.calibration
        rows = []
        kelly = 0
        for c in e.components:
            if not (hasattr(c, "n_obs") and hasattr(c, "min_obs")):
                continue
            if c.name == "kelly":
                kelly = int(c.n_obs)
            rows.append(
                {
                    "name": c.name,
                    "n_obs": int(c.n_obs),
                    "min_obs": int(c.min_obs),
                    "converged": bool(getattr(c, "converged", False)),
                    "gating": c.name in ESTIMATORS,
                }
            )
        return {
            "estimators": rows,
            "converged": sum(1 for r in rows if r["gating"] and r["converged"]),
            "gating": sum(1 for r in rows if r["gating"]),
            "session_s": (e.now - e.start_ns) / 1e9 if e.start_ns else 0.0,
            "min_session_s": cal.min_session_s,
            "kelly_fills": kelly,
            "min_kelly_fills": cal.min_kelly_fills,
        }

    def _chart_point(self, market: dict[str, Any], quotes: dict[str, Any]) -> list[Any] | None:
        """``[t_ms, best_bid, best_ask, our_bid, our_ask]`` (event time) when event time
        moved at least :data:`CHART_STEP_S` since the last point; old points drop out."""
        now = self.engine.now
        if not now or (market["best_bid"] is None and market["best_ask"] is None):
            return None
        t_ms = now // 1_000_000
        if self.chart and t_ms - self.chart[-1][0] < CHART_STEP_S * 1000:
            return None
        point = [t_ms, market["best_bid"], market["best_ask"], quotes["bid_px"], quotes["ask_px"]]
        self.chart.append(point)
        horizon = t_ms - CHART_WINDOW_S * 1000
        while self.chart and self.chart[0][0] < horizon:
            self.chart.popleft()
        return point
