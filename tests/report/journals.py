"""Small journals written row by row for the report's tests: empty, a few seconds of
paper trading, and a live session (``fills`` / ``order_updates`` instead of ``sim_*``)."""

from __future__ import annotations

from pathlib import Path

from framework.events.schema import Kind
from framework.journal import JournalWriter, Manifest

T0 = 1_767_225_600_000_000_000
SEC = 1_000_000_000


class Crafted:
    """A journal written row by row; inputs take strided seqs, outputs the seqs after."""

    def __init__(self, root: Path, mode: str = "paper") -> None:
        self.root = root
        self.w = JournalWriter(root, Manifest(mode=mode, asset="HYPE"))
        self.seq = 0

    def _next(self, output: bool) -> int:
        self.seq = self.seq + 1 if output else (self.seq // 1_000_000 + 1) * 1_000_000
        return self.seq

    def book(self, t: int, bid: float, ask: float) -> None:
        row = ("HYPE", [bid], [1.0], [1], [ask], [1.0], [1])
        self.w.append(Kind.BOOK, (self._next(False), t, t, *row))

    def trade(self, t: int, side: int, px: float) -> None:
        self.w.append(Kind.TRADES, (self._next(False), t, t, "HYPE", side, px, 1.0, 1, None))

    def quote(self, t: int, bid: float, ask: float, inventory: float = 0.0) -> None:
        row = ("HYPE", bid, 1.0, ask, 1.0, (bid + ask) / 2, 5.0, 0.0, inventory, self.seq)
        self.w.append(Kind.QUOTES, (self._next(True), t, t, *row))

    def sim_order(self, t: int, cloid: str, side: int, px: float, status: str) -> None:
        row = (cloid, "HYPE", side, px, 1.0, status, None, 0.0, self.seq)
        self.w.append(Kind.SIM_ORDERS, (self._next(True), t, t, *row))

    def sim_fill(self, t: int, cloid: str, side: int, px: float, sz: float, pos: float) -> None:
        row = (cloid, "HYPE", side, px, sz, 0.0015 * px * sz, "maker", "trade_at", pos, self.seq)
        self.w.append(Kind.SIM_FILLS, (self._next(True), t, t, *row))

    def order_update(self, t: int, cloid: str, side: int, px: float, status: str) -> None:
        row = ("HYPE", 7, cloid, side, px, 1.0, 1.0, status)
        self.w.append(Kind.ORDER_UPDATES, (self._next(False), t, t, *row))

    def live_fill(self, t: int, cloid: str, side: int, px: float, sz: float, start: float) -> None:
        row = ("HYPE", 7, cloid, side, px, sz, 0.0015 * px * sz, False, 1, 0.0, start)
        self.w.append(Kind.FILLS, (self._next(False), t, t, *row))

    def close(self, summary: dict | None = None) -> Path:
        self.w.close(stats={"summary": summary} if summary is not None else None)
        return self.root


def empty(root: Path) -> Path:
    """A journal with no rows at all (a session that ended before any data came)."""
    return Crafted(root).close()


def short_paper(root: Path) -> Path:
    """Three seconds of paper trading: a few books, one quote, one order, one fill.

    By hand: the bid rests at 9.985 and is filled when the mid is 9.99 (book 9.98 / 10.00),
    the session ends on a 9.97 / 9.99 book (mark 9.98), the fee is 1.5 bps of 9.985.
    """
    j = Crafted(root)
    j.book(T0, 10.0, 10.02)
    j.quote(T0, 9.99, 10.03)
    j.sim_order(T0 + SEC // 10, "0x1", 1, 9.985, "resting")
    j.book(T0 + SEC, 9.98, 10.0)
    j.trade(T0 + 2 * SEC, -1, 9.985)
    j.sim_fill(T0 + 2 * SEC, "0x1", 1, 9.985, 1.0, 1.0)
    j.sim_order(T0 + 2 * SEC, "0x1", 1, 9.985, "filled")
    j.book(T0 + 3 * SEC, 9.97, 9.99)
    return j.close()


def live(root: Path, minutes: int = 10) -> Path:
    """A live journal: a book every second, an order resting at 2 bps on alternating sides
    every 30 s, filled when the price walks into it, else canceled."""
    j = Crafted(root, mode="live")
    pos, n = 0.0, 0
    mid = 10.0
    for s in range(minutes * 60):
        t = T0 + s * SEC
        mid = 10.0 + 0.002 * (s // 60) + 0.01 * ((s // 45) % 4 - 1.5)
        j.book(t, round(mid - 0.0005, 4), round(mid + 0.0005, 4))
        if s % 30 == 0:
            n += 1
            side = 1 if n % 2 else -1
            px = round(mid * (1 - side * 2e-4), 4)
            cloid = f"0x{n:032x}"
            j.order_update(t + SEC // 2, cloid, side, px, "open")
            if n % 3:
                j.live_fill(t + 10 * SEC + SEC // 2, cloid, side, px, 1.0, pos)
                pos += side
                j.order_update(t + 10 * SEC + SEC // 2 + 1, cloid, side, px, "filled")
            else:
                j.order_update(t + 20 * SEC + SEC // 2, cloid, side, px, "canceled")
    return j.close()
