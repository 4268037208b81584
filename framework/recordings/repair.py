"""Time repairs applied once, at import, so the engine never sees them.

Two rules, after hftbacktest's ``data/validation.py`` (which shifts every local
timestamp by the worst negative feed latency and splits out-of-order rows into
separate exchange/local events).  We work in one streaming pass, so we clamp instead:

``recv_ts`` must be non-decreasing
    ``recv_ts`` is the engine's clock and seq follows it.  A message received "before"
    the previous one (local clock stepped back, files merged out of order) gets the
    previous ``recv_ts``.  Counted as ``recv_backwards``.
``ts`` (exchange time) never after ``recv_ts``
    A negative feed latency means the local clock is behind the exchange.  The row's
    ``ts`` is clamped to its ``recv_ts``.  Counted as ``ts_after_recv``.  (Shifting all
    ``recv_ts`` like hftbacktest needs the global minimum latency, i.e. two passes,
    and would move the receive clock we measured.)

Not a repair: the first ``trades`` push after subscribing replays older trades, whose
``ts`` lies well before their ``recv_ts``.  They are kept as they are (ts from the
exchange, recv_ts as received); :class:`TimeRepair` counts them as ``stale_ts``
(latency above :data:`STALE_NS`) so the summary says so.

Duplicate trades (the same ``(coin, tid, ts)`` seen again, e.g. the replay after a
reconnect) are dropped by :class:`TradeDedup` and counted as ``duplicate_trades``.
"""

from __future__ import annotations

from collections import OrderedDict

#: A row whose exchange time is more than this before its receive time is "stale".
STALE_NS = 5_000_000_000


class TimeRepair:
    """Streaming clamps of ``recv_ts`` and ``ts``, with counts and worst magnitudes."""

    def __init__(self) -> None:
        self.last_recv = -(2**63)
        self.counts: dict[str, int] = {"recv_backwards": 0, "ts_after_recv": 0, "stale_ts": 0}
        self.worst_ns: dict[str, int] = {"recv_backwards": 0, "ts_after_recv": 0}

    def recv(self, recv_ts: int) -> int:
        """The repaired receive time of the next message (non-decreasing)."""
        if recv_ts < self.last_recv:
            self._count("recv_backwards", self.last_recv - recv_ts)
            return self.last_recv
        self.last_recv = recv_ts
        return recv_ts

    def ts(self, ts: int, recv_ts: int) -> int:
        """The repaired exchange time of a row received at ``recv_ts``."""
        if ts > recv_ts:
            self._count("ts_after_recv", ts - recv_ts)
            return recv_ts
        if recv_ts - ts > STALE_NS:
            self.counts["stale_ts"] += 1
        return ts

    def _count(self, key: str, by: int) -> None:
        self.counts[key] += 1
        self.worst_ns[key] = max(self.worst_ns[key], by)


class TradeDedup:
    """Remembers the last ``window`` trade keys and reports repeats.

    Parameters
    ----------
    window : int, default 100_000
        Keys kept; far more than one subscribe replay (~30 trades), bounded memory.
    """

    def __init__(self, window: int = 100_000) -> None:
        self.window = window
        self._seen: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self.duplicates = 0

    def is_duplicate(self, coin: str, tid: int, ts: int) -> bool:
        """True (and counted) when this trade was already seen."""
        key = (coin, tid, ts)
        if key in self._seen:
            self.duplicates += 1
            return True
        self._seen[key] = None
        if len(self._seen) > self.window:
            self._seen.popitem(last=False)
        return False
