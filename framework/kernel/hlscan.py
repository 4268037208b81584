"""Fast scanner of raw Hyperliquid capture lines (``l2Book`` and ``trades``) into columns.

Cython pure-Python mode: compiled by ``setup.py``, and the same source runs interpreted
(correct, slower) where it was not.  :class:`Scanner` takes whole capture lines
(``<19-digit ns> <json>\\n``) and, for the two channels that make up nearly every line,
parses them straight into typed column buffers, applies the importer's time repairs,
trade de-duplication and seq assignment, and never builds a Python object per number.

It accepts only a strict subset of the wire format: the exact shapes Hyperliquid sends
(no whitespace, no escapes, known keys once each, prices and sizes as decimal strings
of at most 18 digits, the journal's coin).  Any other line is *declined*
(:meth:`Scanner.scan` stops before it) and the importer parses it with the reference
parser (:mod:`framework.recordings.messages`), so a problem line gets exactly the
reference message.  A line the scanner accepts gives the very rows the reference parser
gives: a decimal string ``m / 10**k`` with ``m < 2**53`` and ``k <= 22`` is converted
by one IEEE division of two exact doubles, which is correctly rounded, as Python's
``float()`` is (Clinger's fast path).

State shared with the reference path (it is the importer's ``repair`` object and seq
counter): :meth:`recv`, :meth:`ts`, :meth:`next_seq`, :attr:`counts`, :attr:`worst_ns`.
"""

from __future__ import annotations

import cython
import numpy as np

SEQ_STRIDE = cython.declare(cython.longlong, 1_000)
MS = cython.declare(cython.longlong, 1_000_000)
STALE_NS = cython.declare(cython.longlong, 5_000_000_000)
MAX_MS = cython.declare(cython.ulonglong, (2**63 - 1) // 1_000_000)
MAX_I64 = cython.declare(cython.ulonglong, 2**63 - 1)
MAX_I32 = cython.declare(cython.ulonglong, 2**31 - 1)
TWO53 = cython.declare(cython.ulonglong, 2**53)
INT64_MIN = cython.declare(cython.longlong, -(2**63 - 1) - 1)
#: Rows per table handed out at a time (the journal's Parquet row group).
ROWS = 32_768
_ROWS = cython.declare(cython.Py_ssize_t, 32_768)
# multipliers of the trade-key hash (64-bit golden ratio and a Murmur constant)
_H1 = cython.declare(cython.ulonglong, 0x9E3779B97F4A7C15)
_H2 = cython.declare(cython.ulonglong, 0xC2B2AE3D27D4EB4F)
_FLAT = (
    ("bid_px", np.float64),
    ("bid_sz", np.float64),
    ("bid_n", np.int32),
    ("ask_px", np.float64),
    ("ask_sz", np.float64),
    ("ask_n", np.int32),
)
_TRADE = (
    ("seq", np.int64),
    ("ts", np.int64),
    ("recv_ts", np.int64),
    ("side", np.int8),
    ("px", np.float64),
    ("sz", np.float64),
    ("tid", np.int64),
    ("ha", np.int64),
    ("hb", np.int64),
    ("hend", np.int64),
    ("hvalid", np.int8),
)

_BOOK_HEAD = b'{"channel":"l2Book","data":{'
_TRADES_HEAD = b'{"channel":"trades","data":['
# key codes (:meth:`Scanner._key`)
K_COIN = cython.declare(cython.int, 1)
K_TIME = cython.declare(cython.int, 2)
K_LEVELS = cython.declare(cython.int, 3)
K_N = cython.declare(cython.int, 4)
K_PX = cython.declare(cython.int, 5)
K_SZ = cython.declare(cython.int, 6)
K_SIDE = cython.declare(cython.int, 7)
K_HASH = cython.declare(cython.int, 8)
K_TID = cython.declare(cython.int, 9)
K_USERS = cython.declare(cython.int, 10)


@cython.cfunc
@cython.inline
@cython.boundscheck(False)
@cython.wraparound(False)
def _lit(p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t, lit: bytes) -> cython.bint:
    """``lit`` is at ``p[i:]``."""
    q: cython.p_uchar = lit
    m: cython.Py_ssize_t = len(lit)
    j: cython.Py_ssize_t
    if i + m > n:
        return False
    for j in range(m):  # noqa: SIM110 - a C loop once compiled
        if p[i + j] != q[j]:
            return False
    return True


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
@cython.boundscheck(False)
@cython.wraparound(False)
def _at_n(p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t) -> cython.bint:
    """``"n":`` is at ``p[i:]``."""
    return i + 4 <= n and p[i] == 34 and p[i + 1] == 110 and p[i + 2] == 34 and p[i + 3] == 58


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
@cython.boundscheck(False)
@cython.wraparound(False)
def _at_key2(
    p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t, a: cython.uchar, b: cython.uchar
) -> cython.bint:
    """``,"ab":`` is at ``p[i:]``."""
    return (
        i + 6 <= n
        and p[i] == 44
        and p[i + 1] == 34
        and p[i + 2] == a
        and p[i + 3] == b
        and p[i + 4] == 34
        and p[i + 5] == 58
    )


@cython.cclass
class Scanner:
    """Column buffers of ``book`` and ``trades`` rows plus the import's running state.

    Parameters
    ----------
    window : int
        Trade keys remembered for de-duplication (``TradeDedup.window``).
    seq_stride : int
        Seq step between rows.
    """

    # running state (mirrors framework.recordings.repair.TimeRepair)
    _last_recv: cython.longlong
    _n_back: cython.longlong
    _n_after: cython.longlong
    _n_stale: cython.longlong
    _w_back: cython.longlong
    _w_after: cython.longlong
    _seq: cython.longlong
    _stride: cython.longlong
    _messages: cython.longlong
    _coin: bytes
    _coin_str: object
    # trade de-duplication (mirrors framework.recordings.repair.TradeDedup): the last
    # ``_window`` distinct (tid, ts) keys in a ring, indexed by an open-addressing table
    _window: cython.Py_ssize_t
    _ring_tid: cython.longlong[::1]
    _ring_ts: cython.longlong[::1]
    _ring_len: cython.Py_ssize_t
    _ring_head: cython.Py_ssize_t
    _h_tid: cython.longlong[::1]
    _h_ts: cython.longlong[::1]
    _h_used: cython.schar[::1]
    _h_mask: cython.Py_ssize_t
    _duplicates: cython.longlong
    # parse registers
    _u: cython.ulonglong
    _d: cython.double
    _a: cython.Py_ssize_t
    _b: cython.Py_ssize_t
    # book columns
    _bk_n: cython.Py_ssize_t
    _bk_seq: cython.longlong[::1]
    _bk_ts: cython.longlong[::1]
    _bk_recv: cython.longlong[::1]
    _bid_off: cython.int[::1]
    _ask_off: cython.int[::1]
    _bid_len: cython.Py_ssize_t
    _ask_len: cython.Py_ssize_t
    _flat_cap: cython.Py_ssize_t
    _bid_px: cython.double[::1]
    _bid_sz: cython.double[::1]
    _bid_c: cython.int[::1]
    _ask_px: cython.double[::1]
    _ask_sz: cython.double[::1]
    _ask_c: cython.int[::1]
    # trades columns
    _tr_n: cython.Py_ssize_t
    _tr_cap: cython.Py_ssize_t
    _tr_seq: cython.longlong[::1]
    _tr_ts: cython.longlong[::1]
    _tr_recv: cython.longlong[::1]
    _tr_side: cython.schar[::1]
    _tr_px: cython.double[::1]
    _tr_sz: cython.double[::1]
    _tr_tid: cython.longlong[::1]
    _tr_ha: cython.longlong[::1]
    _tr_hb: cython.longlong[::1]
    _tr_hend: cython.longlong[::1]
    _tr_hvalid: cython.schar[::1]
    _hash_buf: bytearray
    _arrays: dict
    _scanned: cython.Py_ssize_t

    def __init__(self, window: int = 100_000, seq_stride: int = 1_000) -> None:
        self._last_recv = INT64_MIN
        self._n_back = self._n_after = self._n_stale = 0
        self._w_back = self._w_after = 0
        self._seq = 0
        self._stride = seq_stride
        self._messages = 0
        self._scanned = 0
        self._coin = None
        self._coin_str = None
        self._window = window
        self._ring_tid = np.zeros(window + 1, np.int64)
        self._ring_ts = np.zeros(window + 1, np.int64)
        self._ring_len = self._ring_head = 0
        size = 1
        while size < 4 * (window + 1):
            size *= 2
        self._h_tid = np.zeros(size, np.int64)
        self._h_ts = np.zeros(size, np.int64)
        self._h_used = np.zeros(size, np.int8)
        self._h_mask = size - 1
        self._duplicates = 0
        self._bk_n = 0
        a = self._arrays = {
            "seq": np.zeros(ROWS, np.int64),
            "ts": np.zeros(ROWS, np.int64),
            "recv_ts": np.zeros(ROWS, np.int64),
            "bid_off": np.zeros(ROWS + 1, np.int32),
            "ask_off": np.zeros(ROWS + 1, np.int32),
        }
        self._bk_seq, self._bk_ts, self._bk_recv = a["seq"], a["ts"], a["recv_ts"]
        self._bid_off, self._ask_off = a["bid_off"], a["ask_off"]
        self._bid_len = self._ask_len = 0
        self._flat_cap = 0
        self._grow_flat(ROWS * 24)
        self._tr_n = 0
        self._tr_cap = 0
        self._hash_buf = bytearray()
        self._grow_trades(ROWS + 1024)

    # -- the state shared with the reference path ------------------------------------
    def set_coin(self, coin: str) -> None:
        """Rows of ``coin`` (the journal's, once its writer is open) may now be scanned."""
        self._coin = coin.encode("utf-8")
        self._coin_str = coin

    def recv(self, recv_ts: cython.longlong) -> cython.longlong:
        """The repaired receive time of the next message (``TimeRepair.recv``)."""
        return self._recv(recv_ts)

    def ts(self, ts: cython.longlong, recv_ts: cython.longlong) -> cython.longlong:
        """The repaired exchange time of a row (``TimeRepair.ts``)."""
        return self._ts(ts, recv_ts)

    def next_seq(self) -> cython.longlong:
        self._seq += self._stride
        return self._seq

    def count_message(self) -> None:
        self._messages += 1

    @property
    def messages(self) -> int:
        return self._messages

    @property
    def last_recv(self) -> int:
        return self._last_recv

    @property
    def counts(self) -> dict:
        return {
            "recv_backwards": self._n_back,
            "ts_after_recv": self._n_after,
            "stale_ts": self._n_stale,
        }

    @property
    def worst_ns(self) -> dict:
        return {"recv_backwards": self._w_back, "ts_after_recv": self._w_after}

    @cython.cfunc
    @cython.exceptval(check=False)
    def _recv(self, r: cython.longlong) -> cython.longlong:
        if r < self._last_recv:
            self._n_back += 1
            if self._last_recv - r > self._w_back:
                self._w_back = self._last_recv - r
            return self._last_recv
        self._last_recv = r
        return r

    @cython.cfunc
    @cython.exceptval(check=False)
    def _ts(self, t: cython.longlong, r: cython.longlong) -> cython.longlong:
        if t > r:
            self._n_after += 1
            if t - r > self._w_after:
                self._w_after = t - r
            return r
        if r - t > STALE_NS:
            self._n_stale += 1
        return t

    def decimal(self, text: bytes) -> float | None:
        """The value the scanner reads from the JSON string ``"text"``, or None where it
        declines (the reference parser then reads it); for tests."""
        buf = b'"' + text + b'"'
        p: cython.p_uchar = buf
        if self._dec(p, len(buf), 0) != len(buf):
            return None
        return self._d

    # -- trade de-duplication ---------------------------------------------------------
    def is_duplicate(self, coin: str, tid: int, ts: int) -> bool:
        """``TradeDedup.is_duplicate`` for the reference path.  Every key of one import
        has the journal's coin (rows of other coins are dropped before this check), so
        the key kept is ``(tid, ts)``."""
        return self._seen(tid, ts)

    @property
    def duplicates(self) -> int:
        return self._duplicates

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.cdivision(True)
    def _slot(self, tid: cython.longlong, ts: cython.longlong) -> cython.Py_ssize_t:
        """The table slot holding ``(tid, ts)``, or the empty slot where it would go."""
        h: cython.ulonglong = (
            cython.cast(cython.ulonglong, tid) * _H1 + cython.cast(cython.ulonglong, ts) * _H2
        )
        k: cython.Py_ssize_t = cython.cast(cython.Py_ssize_t, (h >> 32) & self._h_mask)
        while self._h_used[k]:
            if self._h_tid[k] == tid and self._h_ts[k] == ts:
                return k
            k = (k + 1) & self._h_mask
        return k

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _seen(self, tid: cython.longlong, ts: cython.longlong) -> cython.bint:
        """True (and counted) when ``(tid, ts)`` is among the last ``window`` distinct
        keys; otherwise remember it (forgetting the oldest beyond the window)."""
        k: cython.Py_ssize_t = self._slot(tid, ts)
        cap: cython.Py_ssize_t = self._window + 1
        tail: cython.Py_ssize_t
        if self._h_used[k]:
            self._duplicates += 1
            return True
        self._h_used[k] = 1
        self._h_tid[k] = tid
        self._h_ts[k] = ts
        tail = (self._ring_head + self._ring_len) % cap
        self._ring_tid[tail] = tid
        self._ring_ts[tail] = ts
        self._ring_len += 1
        if self._ring_len > self._window:
            self._forget(self._ring_tid[self._ring_head], self._ring_ts[self._ring_head])
            self._ring_head = (self._ring_head + 1) % cap
            self._ring_len -= 1
        return False

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _forget(self, tid: cython.longlong, ts: cython.longlong) -> cython.void:
        """Delete a key, shifting later entries of its probe run back (linear probing
        without tombstones)."""
        i: cython.Py_ssize_t = self._slot(tid, ts)
        j: cython.Py_ssize_t = i
        k: cython.Py_ssize_t
        h: cython.ulonglong
        self._h_used[i] = 0
        while True:
            j = (j + 1) & self._h_mask
            if not self._h_used[j]:
                return
            h = (
                cython.cast(cython.ulonglong, self._h_tid[j]) * _H1
                + cython.cast(cython.ulonglong, self._h_ts[j]) * _H2
            )
            k = cython.cast(cython.Py_ssize_t, (h >> 32) & self._h_mask)
            # the entry at j may move to the hole at i unless its home k lies
            # cyclically in (i, j]
            if (i <= j and (i < k <= j)) or (i > j and (k > i or k <= j)):
                continue
            self._h_used[i] = 1
            self._h_tid[i] = self._h_tid[j]
            self._h_ts[i] = self._h_ts[j]
            self._h_used[j] = 0
            i = j

    # -- buffers ----------------------------------------------------------------------
    def _grow_flat(self, cap: int) -> None:
        """Book level buffers of ``cap`` levels a side, keeping their contents."""
        a = self._arrays
        for name, dtype in _FLAT:
            new = np.zeros(cap, dtype)
            if name in a:
                new[: self._flat_cap] = a[name][: self._flat_cap]
            a[name] = new
        self._bid_px, self._bid_sz, self._bid_c = a["bid_px"], a["bid_sz"], a["bid_n"]
        self._ask_px, self._ask_sz, self._ask_c = a["ask_px"], a["ask_sz"], a["ask_n"]
        self._flat_cap = cap

    def _grow_trades(self, cap: int) -> None:
        """Trade buffers of ``cap`` rows, keeping their contents."""
        a = self._arrays
        for name, dtype in _TRADE:
            new = np.zeros(cap, dtype)
            if "t_" + name in a:
                new[: self._tr_cap] = a["t_" + name][: self._tr_cap]
            a["t_" + name] = new
        self._tr_seq, self._tr_ts, self._tr_recv = a["t_seq"], a["t_ts"], a["t_recv_ts"]
        self._tr_side, self._tr_px, self._tr_sz = a["t_side"], a["t_px"], a["t_sz"]
        self._tr_tid, self._tr_ha, self._tr_hb = a["t_tid"], a["t_ha"], a["t_hb"]
        self._tr_hend, self._tr_hvalid = a["t_hend"], a["t_hvalid"]
        self._tr_cap = cap

    def book_rows(self) -> int:
        return self._bk_n

    def trade_rows(self) -> int:
        return self._tr_n

    def full(self) -> bool:
        """A table holds :data:`ROWS` rows or more: take them before scanning on."""
        return self._bk_n >= ROWS or self._tr_n >= ROWS

    def take_book(self, limit: int = ROWS) -> dict:
        """The first ``min(limit, rows)`` book rows as numpy columns (copies; level
        lists as ``*_off`` offsets and flat values); the rest move to the front."""
        a = self._arrays
        k = min(limit, self._bk_n)
        rows = self._bk_n
        bo, ao = a["bid_off"], a["ask_off"]
        nb, na = int(bo[k]), int(ao[k])
        out = {name: a[name][:k].copy() for name in ("seq", "ts", "recv_ts")}
        out["bid_off"], out["ask_off"] = bo[: k + 1].copy(), ao[: k + 1].copy()
        for name, _ in _FLAT:
            out[name] = a[name][: nb if name.startswith("bid") else na].copy()
        for name in ("seq", "ts", "recv_ts"):
            a[name][: rows - k] = a[name][k:rows].copy()
        bo[: rows - k + 1] = bo[k : rows + 1] - nb
        ao[: rows - k + 1] = ao[k : rows + 1] - na
        for name, _ in _FLAT:
            used, start = (self._bid_len, nb) if name.startswith("bid") else (self._ask_len, na)
            a[name][: used - start] = a[name][start:used].copy()
        self._bid_len -= nb
        self._ask_len -= na
        self._bk_n = rows - k
        return out

    def take_trades(self, limit: int = ROWS) -> dict:
        """The first ``min(limit, rows)`` trade rows as numpy columns (copies; ``hash`` as
        UTF-8 ``hash_data`` with ``hash_off`` offsets and ``hash_valid`` flags); the rest
        move to the front."""
        a = self._arrays
        k = min(limit, self._tr_n)
        rows = self._tr_n
        out: dict = {}
        for name in ("seq", "ts", "recv_ts", "side", "px", "sz", "tid", "hvalid"):
            col = a["t_" + name]
            out[name] = col[:k].copy()
            col[: rows - k] = col[k:rows].copy()
        hend = a["t_hend"]
        used = int(hend[k - 1]) if k else 0
        out["hash_off"] = np.concatenate(([0], hend[:k])).astype(np.int32)
        out["hash_data"] = bytes(self._hash_buf[:used])
        out["hash_valid"] = out.pop("hvalid")
        del self._hash_buf[:used]
        hend[: rows - k] = hend[k:rows] - used
        self._tr_n = rows - k
        return out

    def add_book(self, seq: int, ts: int, recv_ts: int, bid_px: list, bid_sz: list,
                 bid_n: list, ask_px: list, ask_sz: list, ask_n: list) -> None:  # fmt: skip
        """Append one book row built by the reference path."""
        need = max(self._bid_len + len(bid_px), self._ask_len + len(ask_px))
        if need > self._flat_cap:
            self._grow_flat(max(need, 2 * self._flat_cap))
        r: cython.Py_ssize_t = self._bk_n
        self._bk_seq[r] = seq
        self._bk_ts[r] = ts
        self._bk_recv[r] = recv_ts
        j: cython.Py_ssize_t
        for j in range(len(bid_px)):
            self._bid_px[self._bid_len + j] = bid_px[j]
            self._bid_sz[self._bid_len + j] = bid_sz[j]
            self._bid_c[self._bid_len + j] = bid_n[j]
        for j in range(len(ask_px)):
            self._ask_px[self._ask_len + j] = ask_px[j]
            self._ask_sz[self._ask_len + j] = ask_sz[j]
            self._ask_c[self._ask_len + j] = ask_n[j]
        self._bid_len += len(bid_px)
        self._ask_len += len(ask_px)
        self._bid_off[r + 1] = self._bid_len
        self._ask_off[r + 1] = self._ask_len
        self._bk_n = r + 1

    def add_trade(self, seq: int, ts: int, recv_ts: int, side: int, px: float, sz: float,
                  tid: int, hash_: object) -> None:  # fmt: skip
        """Append one trade row built by the reference path."""
        if self._tr_n + 1 > self._tr_cap:
            self._grow_trades(2 * self._tr_cap)
        r: cython.Py_ssize_t = self._tr_n
        self._tr_seq[r] = seq
        self._tr_ts[r] = ts
        self._tr_recv[r] = recv_ts
        self._tr_side[r] = side
        self._tr_px[r] = px
        self._tr_sz[r] = sz
        self._tr_tid[r] = tid
        if hash_ is None:
            self._tr_hvalid[r] = 0
        else:
            self._hash_buf += hash_.encode("utf-8")
            self._tr_hvalid[r] = 1
        self._tr_hend[r] = len(self._hash_buf)
        self._tr_n = r + 1

    # -- scanning ---------------------------------------------------------------------
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def lines_scanned(self) -> int:
        """Lines accepted by :meth:`scan` so far."""
        return self._scanned

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def scan(self, buf: bytes, start: cython.Py_ssize_t) -> cython.Py_ssize_t:
        """Scan the whole lines of ``buf`` from offset ``start`` until a line is
        declined, the last whole line is done, or :meth:`full`; returns the offset of
        the first line not scanned (:meth:`lines_scanned` counts the lines)."""
        p: cython.p_uchar = buf
        i: cython.Py_ssize_t = start
        e: cython.Py_ssize_t
        if self._coin is None:
            return i
        while self._bk_n < _ROWS and self._tr_n < _ROWS:
            e = buf.find(b"\n", i)
            if e < 0 or not self._line(p, i, e):
                break
            self._scanned += 1
            i = e + 1
        return i

    @cython.cfunc
    @cython.exceptval(-1)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _line(self, p: cython.p_uchar, s: cython.Py_ssize_t, e: cython.Py_ssize_t) -> cython.bint:
        """The line ``p[s:e]`` (``p[e]`` is its newline), if it is one of ours."""
        k: cython.Py_ssize_t
        c: cython.uchar
        recv: cython.ulonglong = 0
        if e - s < 21 or p[e - 1] == 13:
            return False
        for k in range(s, s + 19):
            c = p[k]
            if c < 48 or c > 57:
                return False
            recv = recv * 10 + (c - 48)
        if p[s + 19] != 32 or recv > MAX_I64:
            return False
        if _lit(p, e, s + 20, _BOOK_HEAD):
            return self._book(p, e, s + 20 + len(_BOOK_HEAD), cython.cast(cython.longlong, recv))
        if _lit(p, e, s + 20, _TRADES_HEAD):
            return self._trades(
                p, e, s + 20 + len(_TRADES_HEAD), cython.cast(cython.longlong, recv)
            )
        return False

    # -- values: each returns the position after the value, or -1 --------------------
    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _uint(self, p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t,
              limit: cython.ulonglong) -> cython.Py_ssize_t:  # fmt: skip
        """A JSON integer >= 0 (no sign, fraction or exponent; at most 19 digits)."""
        v: cython.ulonglong = 0
        j: cython.Py_ssize_t = i
        c: cython.uchar
        while j < n:
            c = p[j]
            if c < 48 or c > 57:
                break
            if j - i >= 19:
                return -1
            v = v * 10 + (c - 48)
            j += 1
        if j == i or (p[i] == 48 and j > i + 1) or v > limit:
            return -1
        if j < n and (p[j] == 46 or p[j] == 101 or p[j] == 69):  # '.', 'e', 'E'
            return -1
        self._u = v
        return j

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.cdivision(True)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _dec(self, p: cython.p_uchar, n: cython.Py_ssize_t,
             i: cython.Py_ssize_t) -> cython.Py_ssize_t:  # fmt: skip
        """A positive decimal string ``"123.45"`` as the double ``float()`` gives."""
        m: cython.ulonglong = 0
        digits: cython.int = 0
        frac: cython.int = 0
        dot: cython.bint = False
        c: cython.uchar
        j: cython.Py_ssize_t = i + 1
        scale: cython.double = 1.0
        _k: cython.int
        if i >= n or p[i] != 34:
            return -1
        while j < n:
            c = p[j]
            if c >= 48 and c <= 57:
                digits += 1
                if digits > 18:
                    return -1
                m = m * 10 + (c - 48)
                if dot:
                    frac += 1
            elif c == 46 and not dot and digits > 0:
                dot = True
            elif c == 34:
                break
            else:
                return -1
            j += 1
        if j >= n or digits == 0 or (dot and frac == 0) or m == 0 or m > TWO53:
            return -1
        for _k in range(frac):
            scale *= 10.0
        self._d = cython.cast(cython.double, m) / scale
        return j + 1

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _str(self, p: cython.p_uchar, n: cython.Py_ssize_t,
             i: cython.Py_ssize_t) -> cython.Py_ssize_t:  # fmt: skip
        """A JSON string of printable ASCII without escapes; its content is
        ``p[self._a:self._b]``."""
        j: cython.Py_ssize_t = i + 1
        c: cython.uchar
        if i >= n or p[i] != 34:
            return -1
        while j < n:
            c = p[j]
            if c == 34:
                self._a = i + 1
                self._b = j
                return j + 1
            if c < 32 or c > 126 or c == 92:
                return -1
            j += 1
        return -1

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _coin_at(self, p: cython.p_uchar, n: cython.Py_ssize_t,
                 i: cython.Py_ssize_t) -> cython.Py_ssize_t:  # fmt: skip
        """The journal's coin as a JSON string (another coin: -1)."""
        j: cython.Py_ssize_t = self._str(p, n, i)
        q: cython.p_uchar = self._coin
        k: cython.Py_ssize_t
        if j < 0 or self._b - self._a != len(self._coin):
            return -1
        for k in range(self._b - self._a):
            if p[self._a + k] != q[k]:
                return -1
        return j

    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _key(self, p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t) -> cython.int:
        """The code of the object key ``"name":`` at ``p[i:]`` (0: not one of ours, or
        malformed); the position after the colon is left in ``self._b``."""
        j: cython.Py_ssize_t = self._str(p, n, i)
        a: cython.Py_ssize_t
        m: cython.Py_ssize_t
        c0: cython.uchar
        if j < 0 or j >= n or p[j] != 58:  # ':'
            return 0
        a = self._a
        m = self._b - a
        self._b = j + 1
        if m == 0:
            return 0
        c0 = p[a]
        if m == 1:
            return K_N if c0 == 110 else 0
        if m == 2:
            if c0 == 112 and p[a + 1] == 120:
                return K_PX
            if c0 == 115 and p[a + 1] == 122:
                return K_SZ
            return 0
        if m == 3:
            return K_TID if c0 == 116 and p[a + 1] == 105 and p[a + 2] == 100 else 0
        if m == 4:
            if c0 == 99 and p[a + 1] == 111 and p[a + 2] == 105 and p[a + 3] == 110:
                return K_COIN
            if c0 == 116 and p[a + 1] == 105 and p[a + 2] == 109 and p[a + 3] == 101:
                return K_TIME
            if c0 == 115 and p[a + 1] == 105 and p[a + 2] == 100 and p[a + 3] == 101:
                return K_SIDE
            if c0 == 104 and p[a + 1] == 97 and p[a + 2] == 115 and p[a + 3] == 104:
                return K_HASH
            return 0
        if m == 5:
            if c0 == 117 and p[a + 1] == 115 and p[a + 2] == 101 and p[a + 3] == 114:
                return K_USERS if p[a + 4] == 115 else 0
            return 0
        if m == 6 and c0 == 108 and p[a + 1] == 101 and p[a + 2] == 118 and p[a + 3] == 101:
            return K_LEVELS if p[a + 4] == 108 and p[a + 5] == 115 else 0
        return 0

    # -- l2Book -----------------------------------------------------------------------
    @cython.cfunc
    @cython.exceptval(-2)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _side(self, p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t,
              bid: cython.bint) -> cython.Py_ssize_t:  # fmt: skip
        """One side ``[{"n":..,"px":"..","sz":".."},...]`` into the flat buffers past the
        committed length; the level count is left in ``self._a``."""
        cnt: cython.Py_ssize_t = 0
        base: cython.Py_ssize_t = self._bid_len if bid else self._ask_len
        px: cython.double
        sz: cython.double
        nn: cython.ulonglong
        prev: cython.double = 0.0
        seen: cython.int
        code: cython.int
        j: cython.Py_ssize_t
        if i >= n or p[i] != 91:  # '['
            return -1
        i += 1
        if i < n and p[i] == 93:  # ']'
            self._a = 0
            return i + 1
        while True:
            if i >= n or p[i] != 123:  # '{'
                return -1
            i += 1
            seen = 0
            px = sz = 0.0
            nn = 0
            # the wire's own order first: "n":N,"px":"..","sz":".."}
            j = self._uint(p, n, i + 4, MAX_I32) if _at_n(p, n, i) else -1
            if j >= 0 and _at_key2(p, n, j, 112, 120):  # ,"px":
                nn = self._u
                j = self._dec(p, n, j + 6)
                px = self._d
                if j >= 0 and _at_key2(p, n, j, 115, 122):  # ,"sz":
                    j = self._dec(p, n, j + 6)
                    sz = self._d
                    if j >= 0 and j < n and p[j] == 125:
                        i = j + 1
                        seen = 7
            while seen != 7:  # any other order (or shape: then declined)
                code = self._key(p, n, i)
                i = self._b
                if code == K_PX and not seen & 1:
                    i = self._dec(p, n, i)
                    px = self._d
                    seen |= 1
                elif code == K_SZ and not seen & 2:
                    i = self._dec(p, n, i)
                    sz = self._d
                    seen |= 2
                elif code == K_N and not seen & 4:
                    i = self._uint(p, n, i, MAX_I32)
                    nn = self._u
                    seen |= 4
                else:
                    return -1
                if i < 0 or i >= n:
                    return -1
                if p[i] == 44:  # ','
                    i += 1
                elif p[i] == 125:  # '}'
                    i += 1
                    break
                else:
                    return -1
            if seen != 7:
                return -1
            if cnt > 0 and ((bid and px >= prev) or (not bid and px <= prev)):
                return -1  # out of order: the reference parser says where
            prev = px
            if base + cnt >= self._flat_cap:
                self._grow_flat(2 * self._flat_cap)
            if bid:
                self._bid_px[base + cnt] = px
                self._bid_sz[base + cnt] = sz
                self._bid_c[base + cnt] = cython.cast(cython.int, nn)
            else:
                self._ask_px[base + cnt] = px
                self._ask_sz[base + cnt] = sz
                self._ask_c[base + cnt] = cython.cast(cython.int, nn)
            cnt += 1
            if i >= n:
                return -1
            if p[i] == 44:
                i += 1
            elif p[i] == 93:
                self._a = cnt
                return i + 1
            else:
                return -1

    @cython.cfunc
    @cython.exceptval(-1)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _book(self, p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t,
              recv: cython.longlong) -> cython.bint:  # fmt: skip
        seen: cython.int = 0
        code: cython.int
        ms: cython.ulonglong = 0
        nb: cython.Py_ssize_t = 0
        na: cython.Py_ssize_t = 0
        r: cython.Py_ssize_t
        if self._bk_n >= _ROWS:
            return False
        while True:
            code = self._key(p, n, i)
            i = self._b
            if code == K_COIN and not seen & 1:
                i = self._coin_at(p, n, i)
                seen |= 1
            elif code == K_TIME and not seen & 2:
                i = self._uint(p, n, i, MAX_MS)
                ms = self._u
                seen |= 2
            elif code == K_LEVELS and not seen & 4:
                if i >= n or p[i] != 91:
                    return False
                i = self._side(p, n, i + 1, True)
                nb = self._a
                if i < 0 or i >= n or p[i] != 44:
                    return False
                i = self._side(p, n, i + 1, False)
                na = self._a
                if i < 0 or i >= n or p[i] != 93:
                    return False
                i += 1
                seen |= 4
            else:
                return False
            if i < 0 or i >= n:
                return False
            if p[i] == 44:
                i += 1
            elif p[i] == 125:
                i += 1
                break
            else:
                return False
        if seen != 7 or i + 1 != n or p[i] != 125:
            return False
        # commit: the message as _Run.message handles it
        recv = self._recv(recv)
        self._messages += 1
        self._seq += self._stride
        r = self._bk_n
        self._bk_seq[r] = self._seq
        self._bk_ts[r] = self._ts(cython.cast(cython.longlong, ms) * MS, recv)
        self._bk_recv[r] = recv
        self._bid_len += nb
        self._ask_len += na
        self._bid_off[r + 1] = self._bid_len
        self._ask_off[r + 1] = self._ask_len
        self._bk_n = r + 1
        return True

    # -- trades -----------------------------------------------------------------------
    @cython.cfunc
    @cython.exceptval(check=False)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _users(self, p: cython.p_uchar, n: cython.Py_ssize_t,
               i: cython.Py_ssize_t) -> cython.Py_ssize_t:  # fmt: skip
        """A list of plain strings (skipped)."""
        if i >= n or p[i] != 91:
            return -1
        i += 1
        if i < n and p[i] == 93:
            return i + 1
        while True:
            i = self._str(p, n, i)
            if i < 0 or i >= n:
                return -1
            if p[i] == 44:
                i += 1
            elif p[i] == 93:
                return i + 1
            else:
                return -1

    @cython.cfunc
    @cython.exceptval(-2)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _trade(self, p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t,
               r: cython.Py_ssize_t) -> cython.Py_ssize_t:  # fmt: skip
        """One trade object into row ``r`` (tentatively: ts in ms, hash as offsets)."""
        seen: cython.int = 0
        code: cython.int
        if i >= n or p[i] != 123:
            return -1
        i += 1
        self._tr_ha[r] = -1
        while True:
            code = self._key(p, n, i)
            i = self._b
            if code == K_COIN and not seen & 1:
                i = self._coin_at(p, n, i)
                seen |= 1
            elif code == K_SIDE and not seen & 2:
                if i + 3 > n or p[i] != 34 or p[i + 2] != 34:
                    return -1
                if p[i + 1] == 66:  # 'B'
                    self._tr_side[r] = 1
                elif p[i + 1] == 65:  # 'A'
                    self._tr_side[r] = -1
                else:
                    return -1
                i += 3
                seen |= 2
            elif code == K_PX and not seen & 4:
                i = self._dec(p, n, i)
                self._tr_px[r] = self._d
                seen |= 4
            elif code == K_SZ and not seen & 8:
                i = self._dec(p, n, i)
                self._tr_sz[r] = self._d
                seen |= 8
            elif code == K_TIME and not seen & 16:
                i = self._uint(p, n, i, MAX_MS)
                self._tr_ts[r] = cython.cast(cython.longlong, self._u)
                seen |= 16
            elif code == K_TID and not seen & 32:
                i = self._uint(p, n, i, MAX_I64)
                self._tr_tid[r] = cython.cast(cython.longlong, self._u)
                seen |= 32
            elif code == K_HASH and not seen & 64:
                i = self._str(p, n, i)
                self._tr_ha[r] = self._a
                self._tr_hb[r] = self._b
                seen |= 64
            elif code == K_USERS and not seen & 128:
                i = self._users(p, n, i)
                seen |= 128
            else:
                return -1
            if i < 0 or i >= n:
                return -1
            if p[i] == 44:
                i += 1
            elif p[i] == 125:
                i += 1
                break
            else:
                return -1
        if seen & 63 != 63:
            return -1
        return i

    @cython.cfunc
    @cython.exceptval(-1)
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _trades(self, p: cython.p_uchar, n: cython.Py_ssize_t, i: cython.Py_ssize_t,
                recv: cython.longlong) -> cython.bint:  # fmt: skip
        base: cython.Py_ssize_t = self._tr_n
        cnt: cython.Py_ssize_t = 0
        j: cython.Py_ssize_t
        w: cython.Py_ssize_t
        t: cython.longlong
        a: cython.Py_ssize_t
        if i < n and p[i] == 93:
            return False  # an empty batch: the reference path counts it as skipped
        while True:
            if base + cnt >= self._tr_cap:
                self._grow_trades(2 * self._tr_cap)
            i = self._trade(p, n, i, base + cnt)
            if i < 0 or i >= n:
                return False
            cnt += 1
            if p[i] == 44:
                i += 1
            elif p[i] == 93:
                i += 1
                break
            else:
                return False
        if i + 1 != n or p[i] != 125:
            return False
        # commit: the message as _Run.message handles it
        recv = self._recv(recv)
        self._messages += 1
        w = base
        for j in range(base, base + cnt):
            t = self._tr_ts[j] * MS
            if self._seen(self._tr_tid[j], t):
                continue
            self._seq += self._stride
            self._tr_seq[w] = self._seq
            self._tr_ts[w] = self._ts(t, recv)
            self._tr_recv[w] = recv
            self._tr_side[w] = self._tr_side[j]
            self._tr_px[w] = self._tr_px[j]
            self._tr_sz[w] = self._tr_sz[j]
            self._tr_tid[w] = self._tr_tid[j]
            a = self._tr_ha[j]
            if a < 0:
                self._tr_hvalid[w] = 0
            else:
                self._hash_buf += p[a : self._tr_hb[j]]
                self._tr_hvalid[w] = 1
            self._tr_hend[w] = len(self._hash_buf)
            w += 1
        self._tr_n = w
        return True
