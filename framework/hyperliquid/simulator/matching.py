"""One coin's book: the driven market's L2 levels plus the users' resting orders.

Taker orders walk the combined book (market liquidity at a level first, then resting
user orders there in time order).  Resting user orders fill from the market's trades
with the conservative queue model (as the paper fill simulator):

* queue ahead = the displayed market size at our price when the order arrived, plus
  earlier user orders at that price;
* only trades at our price advance the queue; volume beyond the queue fills us;
* a trade through our price (a buy above our ask, a sell below our bid) fills us;
* fills of one trade never exceed its size;
* a market snapshot that crosses a resting order fills it at its own price against the
  crossing displayed size ("cross").

Prices and sizes are plain floats (the journal's representation); sizes are compared with
a small epsilon so float residue never leaves dust orders behind.
"""

from __future__ import annotations

from typing import Any

EPS = 1e-12


class UserOrder:
    """A user's order on the simulated venue (resting, or a record of a finished one)."""

    __slots__ = (
        "cloid",
        "coin",
        "dex",
        "oid",
        "orig_sz",
        "px",
        "px_str",
        "queue_ahead",
        "reduce_only",
        "side",
        "status",
        "status_ts",
        "sz",
        "tif",
        "timestamp",
        "user",
    )

    def __init__(
        self,
        oid: int,
        user: str,
        coin: str,
        dex: str,
        side: int,
        px: float,
        px_str: str,
        sz: float,
        reduce_only: bool,
        tif: str,
        cloid: str | None,
        timestamp: int,
    ) -> None:
        self.oid = oid
        self.user = user
        self.coin = coin
        self.dex = dex
        self.side = side
        self.px = px
        self.px_str = px_str
        self.sz = sz
        self.orig_sz = sz
        self.reduce_only = reduce_only
        self.tif = tif
        self.cloid = cloid
        self.timestamp = timestamp
        self.queue_ahead = 0.0
        self.status = "open"
        self.status_ts = timestamp


#: a fill decided by the book: (resting user order or None for market liquidity, price,
#: size, rule)
Fill = tuple[UserOrder | None, float, float, str]


class CoinBook:
    """Market levels (from the latest snapshot, minus what our takers consumed) + user orders."""

    def __init__(self, coin: str) -> None:
        self.coin = coin
        self.bids: list[list[float]] = []  # [px, sz, n], best first
        self.asks: list[list[float]] = []
        self.orders: dict[int, UserOrder] = {}  # resting user orders, insertion = time order
        self.has_snapshot = False

    # -- market data ------------------------------------------------------------------------
    def set_snapshot(
        self,
        bid_px: list[float],
        bid_sz: list[float],
        bid_n: list[int],
        ask_px: list[float],
        ask_sz: list[float],
        ask_n: list[int],
    ) -> list[Fill]:
        """Replace the market levels; returns fills of user orders the new book crosses."""
        self.bids = [[p, s, n] for p, s, n in zip(bid_px, bid_sz, bid_n, strict=True)]
        self.asks = [[p, s, n] for p, s, n in zip(ask_px, ask_sz, ask_n, strict=True)]
        self.has_snapshot = True
        fills: list[Fill] = []
        for o in self._sorted_orders(+1):
            fills.extend(self._cross(o, self.asks, lambda lvl, o=o: lvl <= o.px))
        for o in self._sorted_orders(-1):
            fills.extend(self._cross(o, self.bids, lambda lvl, o=o: lvl >= o.px))
        return fills

    def _cross(self, o: UserOrder, levels: list[list[float]], crosses: Any) -> list[Fill]:
        fills: list[Fill] = []
        for lvl in levels:
            if o.sz <= EPS or not crosses(lvl[0]):
                break
            take = min(o.sz, lvl[1])
            if take <= EPS:
                continue
            lvl[1] -= take
            fills.append((o, o.px, take, "cross"))
            o.sz -= take
        return fills

    def on_trade(self, side: int, px: float, sz: float) -> list[Fill]:
        """A market trade (``side`` = aggressor): fills of resting user orders it reaches."""
        rest_side = -side
        avail = sz
        fills: list[Fill] = []
        for o in self._sorted_orders(rest_side):
            if avail <= EPS:
                break
            through = px < o.px if rest_side == +1 else px > o.px
            if through:
                take = min(o.sz, avail)
                rule = "trade_through"
            elif px == o.px:
                beyond = sz - o.queue_ahead
                o.queue_ahead = max(0.0, o.queue_ahead - sz)
                take = min(o.sz, max(0.0, beyond), avail)
                rule = "trade_at"
            else:
                break  # sorted best first: no worse order can be reached
            if take > EPS:
                avail -= take
                o.sz -= take
                fills.append((o, o.px, take, rule))
        return fills

    # -- user orders ------------------------------------------------------------------------
    def _sorted_orders(self, side: int) -> list[UserOrder]:
        os_ = [o for o in self.orders.values() if o.side == side and o.sz > EPS]
        # best price first, then time (insertion / oid)
        os_.sort(key=lambda o: (-o.px if side == +1 else o.px, o.oid))
        return os_

    def displayed_at(self, side: int, px: float) -> float:
        """Market size plus resting user size at ``px`` on ``side`` (queue ahead on arrival)."""
        levels = self.bids if side == +1 else self.asks
        total = sum(lvl[1] for lvl in levels if lvl[0] == px)
        total += sum(o.sz for o in self.orders.values() if o.side == side and o.px == px)
        return total

    def rest(self, o: UserOrder) -> None:
        o.queue_ahead = self.displayed_at(o.side, o.px)
        self.orders[o.oid] = o

    def remove(self, oid: int) -> UserOrder | None:
        return self.orders.pop(oid, None)

    def best(self, side: int) -> float | None:
        """Best price on ``side`` of the combined book (market + users)."""
        levels = self.bids if side == +1 else self.asks
        pxs = [lvl[0] for lvl in levels if lvl[1] > EPS]
        pxs += [o.px for o in self.orders.values() if o.side == side and o.sz > EPS]
        if not pxs:
            return None
        return max(pxs) if side == +1 else min(pxs)

    def take(
        self, side: int, limit_px: float, sz: float, user: str
    ) -> tuple[list[Fill], list[UserOrder]]:
        """Match a taker order of ``user``; returns (fills, own resting orders self-trade-canceled).

        Each fill is ``(maker user order or None for market liquidity, px, sz, "taker")``.
        """
        levels = self.asks if side == +1 else self.bids
        makers = self._sorted_orders(-side)
        within = (lambda p: p <= limit_px) if side == +1 else (lambda p: p >= limit_px)
        prices = sorted(
            {lvl[0] for lvl in levels if lvl[1] > EPS and within(lvl[0])}
            | {o.px for o in makers if within(o.px)},
            reverse=side == -1,
        )
        fills: list[Fill] = []
        canceled: list[UserOrder] = []
        remaining = sz
        for p in prices:
            if remaining <= EPS:
                break
            for lvl in levels:
                if lvl[0] == p and lvl[1] > EPS:
                    t = min(remaining, lvl[1])
                    lvl[1] -= t
                    remaining -= t
                    fills.append((None, p, t, "taker"))
                    break
            for o in makers:
                if remaining <= EPS:
                    break
                if o.px != p or o.sz <= EPS:
                    continue
                if o.user == user:
                    canceled.append(o)  # self-trade prevention cancels the resting order
                    continue
                t = min(remaining, o.sz)
                o.sz -= t
                remaining -= t
                fills.append((o, p, t, "taker"))
        return fills, canceled

    # -- publishing -------------------------------------------------------------------------
    def levels(self, side: int, depth: int = 20) -> list[tuple[float, float, int]]:
        """Combined levels on ``side`` best first: (px, sz, n)."""
        agg: dict[float, list[float]] = {}
        for p, s, n in self.bids if side == +1 else self.asks:
            if s > EPS:
                agg[p] = [s, n]
        for o in self.orders.values():
            if o.side == side and o.sz > EPS:
                a = agg.setdefault(o.px, [0.0, 0])
                a[0] += o.sz
                a[1] += 1
        pxs = sorted(agg, reverse=side == +1)[:depth]
        return [(p, agg[p][0], int(agg[p][1])) for p in pxs]
