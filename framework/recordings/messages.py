"""Parse one Hyperliquid WebSocket market-data message into journal rows.

This is a pure function of the message and its receive time; the importers, the live
recorder and the WS client all use it, so a message means the same rows everywhere.

>>> rows = parse_ws_message(msg, recv_ts)        # doctest: +SKIP
>>> for kind, row in rows:
...     writer.append(kind, (next_seq(), *row))   # row = (ts, recv_ts, *payload)

Channels (shapes in the protocol reference, section 3.3):

=================  ==================  ==================================================
channel            table               rows per message
=================  ==================  ==================================================
``l2Book``         ``book``            one full snapshot (levels best first)
``trades``         ``trades``          one per print; side "B" -> +1, "A" -> -1
``bbo``            ``bbo``             one; a missing side is null
``activeAssetCtx`` ``asset_ctx``       one
=================  ==================  ==================================================

``subscriptionResponse``, ``pong`` and ``post`` are skipped (no rows); any other
channel raises :class:`UnknownChannelError`.  A malformed message raises
:class:`MessageError` naming the field.
"""

from __future__ import annotations

import math
from typing import Any

from framework.events.schema import Kind
from framework.recordings.errors import MessageError, UnknownChannelError

#: A row without its seq: ``(ts, recv_ts, *payload)`` in the table's column order.
Row = tuple[Any, ...]

CHANNEL_KIND: dict[str, Kind] = {
    "l2Book": Kind.BOOK,
    "trades": Kind.TRADES,
    "bbo": Kind.BBO,
    "activeAssetCtx": Kind.ASSET_CTX,
}
SKIPPED_CHANNELS: frozenset[str] = frozenset({"subscriptionResponse", "pong", "post"})
SIDE: dict[str, int] = {"B": 1, "A": -1}
MS = 1_000_000
#: Bounds of the journal's integer columns: a value past them is malformed, not a row
#: the writer fails on later (ts/tid int64, order count int32).
MAX_MS = (2**63 - 1) // MS
MAX_I64 = 2**63 - 1
MAX_I32 = 2**31 - 1

#: Choices where the protocol reference is silent or marked [UNCERTAIN]; kept here only.
ASSUMPTIONS: dict[str, str] = {
    "asset_ctx_ts": "activeAssetCtx carries no exchange time: its ts is the receive time",
    "number_fields": "px/sz/ctx numbers arrive as decimal strings; JSON numbers are accepted too "
    "(the docs type them as numbers)",
    "level_n": "a book level's order count 'n' is required (always present on the wire)",
    "empty_side": "a book side may be empty (thin HIP-3 books); a bbo side may be null",
}


def parse_ws_message(msg: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of one WS message ``{"channel": ..., "data": ...}``.

    Parameters
    ----------
    msg : dict
        The decoded JSON message, as the server sent it.
    recv_ts : int
        Local receive time in ns; becomes every row's ``recv_ts``.

    Returns
    -------
    list of (Kind, tuple)
        ``(kind, (ts, recv_ts, *payload))`` per row, payload in schema order;
        empty for skipped channels and for an empty trades batch.

    Raises
    ------
    UnknownChannelError
        The channel is not imported and not on :data:`SKIPPED_CHANNELS`.
    MessageError
        The message is malformed; the text names the field.
    """
    if not isinstance(msg, dict):
        raise MessageError(f"message is a {type(msg).__name__}, expected a JSON object")
    channel = msg.get("channel")
    if not isinstance(channel, str):
        raise MessageError("message has no 'channel' string")
    if channel in SKIPPED_CHANNELS:
        return []
    parse = _PARSERS.get(channel)
    if parse is None:
        raise UnknownChannelError(
            f"unknown channel {channel!r}; importable channels: {', '.join(CHANNEL_KIND)} "
            f"({', '.join(sorted(SKIPPED_CHANNELS))} are skipped)"
        )
    if "data" not in msg:
        raise MessageError(f"{channel} message has no 'data'")
    return parse(msg["data"], recv_ts)


# -- channels ------------------------------------------------------------------------------
def parse_book(data: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of an ``l2Book`` payload (one snapshot)."""
    coin, ts, levels = _head(data, "l2Book data", "levels", "[bids, asks]")
    bid_px, bid_sz, bid_n = _side(levels[0], "levels[0] (bids)", descending=True)
    ask_px, ask_sz, ask_n = _side(levels[1], "levels[1] (asks)", descending=False)
    return [(Kind.BOOK, (ts, recv_ts, coin, bid_px, bid_sz, bid_n, ask_px, ask_sz, ask_n))]


def parse_trades(data: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of a ``trades`` payload (one row per print, in message order)."""
    if not isinstance(data, list):
        raise MessageError(f"trades data is {_short(data)}, expected a list of trades")
    rows: list[tuple[Kind, Row]] = []
    for j, t in enumerate(data):
        where = f"trades[{j}]"
        t = _obj(t, where)
        side = SIDE.get(t["side"]) if isinstance(t.get("side"), str) else None
        if side is None:
            raise MessageError(f"{where}.side is {_short(t.get('side'))}, expected 'B' or 'A'")
        tid = t.get("tid")
        if not isinstance(tid, int) or isinstance(tid, bool) or not 0 <= tid <= MAX_I64:
            raise MessageError(f"{where}.tid is {_short(tid)}, expected a trade id (int >= 0)")
        h = t.get("hash")
        if h is not None and not _text(h):
            raise MessageError(f"{where}.hash is {_short(h)}, expected a string")
        row = (
            _ms(t, "time", where),
            recv_ts,
            _str(t, "coin", where),
            side,
            _pos(t, "px", where),
            _pos(t, "sz", where),
            tid,
            h,
        )
        rows.append((Kind.TRADES, row))
    return rows


def parse_bbo(data: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of a ``bbo`` payload; a null side gives null price and size."""
    coin, ts, sides = _head(data, "bbo data", "bbo", "[bid, ask]")
    out: list[float | None] = []
    for name, lvl in zip(("bbo[0] (bid)", "bbo[1] (ask)"), sides, strict=True):
        if lvl is None:
            out += [None, None]
        else:
            lvl = _obj(lvl, name)
            out += [_pos(lvl, "px", name), _pos(lvl, "sz", name)]
    return [(Kind.BBO, (ts, recv_ts, coin, *out))]


def parse_asset_ctx(data: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of an ``activeAssetCtx`` payload (perp context)."""
    d = _obj(data, "activeAssetCtx data")
    coin = _str(d, "coin", "activeAssetCtx data")
    where = "activeAssetCtx data.ctx"
    c = _obj(d.get("ctx"), where)
    row = (
        recv_ts,  # ASSUMPTIONS["asset_ctx_ts"]
        recv_ts,
        coin,
        _num(c, "markPx", where),
        _num(c, "oraclePx", where),
        _opt(c, "midPx", where),
        _num(c, "funding", where),
        _opt(c, "premium", where),
        _opt(c, "openInterest", where),
        _opt(c, "dayNtlVlm", where),
    )
    return [(Kind.ASSET_CTX, row)]


_PARSERS = {
    "l2Book": parse_book,
    "trades": parse_trades,
    "bbo": parse_bbo,
    "activeAssetCtx": parse_asset_ctx,
}


# -- fields --------------------------------------------------------------------------------
def _side(
    levels: Any, where: str, *, descending: bool
) -> tuple[list[float], list[float], list[int]]:
    if not isinstance(levels, list):
        raise MessageError(f"l2Book {where} is {_short(levels)}, expected a list of levels")
    pxs: list[float] = []
    szs: list[float] = []
    ns: list[int] = []
    for j, lvl in enumerate(levels):
        at = f"l2Book {where}[{j}]"
        lvl = _obj(lvl, at)
        px = _pos(lvl, "px", at)
        if pxs and (px >= pxs[-1] if descending else px <= pxs[-1]):
            order = "descending" if descending else "ascending"
            raise MessageError(f"{at}.px {px!r} breaks the best-first ({order}) order")
        n = lvl.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_I32:
            raise MessageError(f"{at}.n is {_short(n)}, expected an order count")
        pxs.append(px)
        szs.append(_pos(lvl, "sz", at))
        ns.append(n)
    return pxs, szs, ns


def _obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise MessageError(f"{where} is {_short(v)}, expected a JSON object")
    return v


def _head(data: Any, where: str, key: str, shape: str) -> tuple[str, int, list[Any]]:
    """``coin``, ``time`` (ns) and the two-sided ``key`` of a book-like payload."""
    d = _obj(data, where)
    coin, ts = _str(d, "coin", where), _ms(d, "time", where)
    sides = d.get(key)
    if not isinstance(sides, list) or len(sides) != 2:
        raise MessageError(f"{where}.{key} must be {shape}, got {_short(sides)}")
    return coin, ts, sides


def _str(d: dict[str, Any], key: str, where: str) -> str:
    v = d.get(key)
    if not v or not _text(v):
        raise MessageError(f"{where}.{key} is {_short(v)}, expected a non-empty string")
    return v


def _text(v: Any) -> bool:
    """A string the journal can store: UTF-8 encodable (JSON's "\\ud800" escape gives a
    lone surrogate, which is not)."""
    if not isinstance(v, str):
        return False
    if v.isascii():
        return True
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _ms(d: dict[str, Any], key: str, where: str) -> int:
    v = d.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_MS:
        raise MessageError(f"{where}.{key} is {_short(v)}, expected exchange time in ms")
    return v * MS


def _num(d: dict[str, Any], key: str, where: str) -> float:
    if key not in d:
        raise MessageError(f"{where} has no {key!r}")
    v = d[key]
    if isinstance(v, str | int | float) and not isinstance(v, bool):
        try:
            x = float(v)
        except (ValueError, OverflowError):  # not a number; an int beyond a double
            pass
        else:
            if math.isfinite(x):
                return x
    raise MessageError(f"{where}.{key} is {_short(v)}, expected a decimal number")


def _pos(d: dict[str, Any], key: str, where: str) -> float:
    x = _num(d, key, where)
    if x <= 0.0:
        raise MessageError(f"{where}.{key} is {d[key]!r}, expected a positive number")
    return x


def _opt(d: dict[str, Any], key: str, where: str) -> float | None:
    return None if d.get(key) is None else _num(d, key, where)


def _short(v: Any, limit: int = 60) -> str:
    text = "missing or null" if v is None else repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."
