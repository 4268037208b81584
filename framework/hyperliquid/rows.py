"""Journal rows from user streams and account queries (live mode inputs).

Market channels are parsed by :func:`framework.recordings.messages.parse_ws_message`;
this module covers what is ours: ``orderUpdates`` -> ``order_updates``, ``userFills`` /
``user`` fills -> ``fills``, a :class:`~framework.hyperliquid.types.ClearinghouseState`
-> ``account``, a :class:`~framework.hyperliquid.types.UserRateLimit` -> ``rate_limit``.
Rows have the layout of ``parse_ws_message``: ``(kind, (ts, recv_ts, *payload))``.

``userFills`` starts with an ``isSnapshot: true`` message (history); by default it is
skipped (``include_snapshot=True`` keeps it, e.g. to backfill after a reconnect; the
caller de-duplicates by ``tid``).  ``user`` events other than fills (funding,
liquidation, nonUserCancel) give no rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framework.events.schema import Kind
from framework.hyperliquid.errors import ProtocolError
from framework.hyperliquid.types import ClearinghouseState, UserRateLimit

MS = 1_000_000
SIDE = {"B": 1, "A": -1}
Row = tuple[Any, ...]


def _side(x: Any, where: str) -> int:
    try:
        return SIDE[x]
    except KeyError:
        raise ProtocolError(f"{where}.side: {x!r} must be 'B' or 'A'") from None


def order_update_rows(data: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of an ``orderUpdates`` payload (a list of ``{order, status, statusTimestamp}``)."""
    if not isinstance(data, list):
        raise ProtocolError(f"orderUpdates data is {type(data).__name__}, expected a list")
    rows: list[tuple[Kind, Row]] = []
    for j, u in enumerate(data):
        where = f"orderUpdates[{j}]"
        try:
            o = u["order"]
            rows.append(
                (
                    Kind.ORDER_UPDATES,
                    (
                        int(u["statusTimestamp"]) * MS,
                        recv_ts,
                        o["coin"],
                        int(o["oid"]),
                        o.get("cloid"),
                        _side(o["side"], where),
                        float(o["limitPx"]),
                        float(o["sz"]),
                        float(o.get("origSz", o["sz"])),
                        str(u["status"]),
                    ),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"{where}: {type(exc).__name__} {exc}") from None
    return rows


def fill_rows(fills: Any, recv_ts: int) -> list[tuple[Kind, Row]]:
    """Rows of a list of ``WsFill`` objects."""
    if not isinstance(fills, list):
        raise ProtocolError(f"fills is {type(fills).__name__}, expected a list")
    rows: list[tuple[Kind, Row]] = []
    for j, f in enumerate(fills):
        where = f"fills[{j}]"
        try:
            rows.append(
                (
                    Kind.FILLS,
                    (
                        int(f["time"]) * MS,
                        recv_ts,
                        f["coin"],
                        int(f["oid"]),
                        f.get("cloid"),
                        _side(f["side"], where),
                        float(f["px"]),
                        float(f["sz"]),
                        float(f["fee"]),
                        bool(f["crossed"]),
                        int(f["tid"]),
                        float(f.get("closedPnl", 0.0)),
                        float(f.get("startPosition", 0.0)),
                    ),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"{where}: {type(exc).__name__} {exc}") from None
    return rows


def parse_user_message(
    msg: Mapping[str, Any], recv_ts: int, *, include_snapshot: bool = False
) -> list[tuple[Kind, Row]]:
    """Rows of one user-stream WS message (``orderUpdates``, ``userFills``, ``user``).

    Other channels give no rows.  Raises :class:`ProtocolError` on a malformed payload.
    """
    channel = msg.get("channel")
    data = msg.get("data")
    if channel == "orderUpdates":
        return order_update_rows(data, recv_ts)
    if channel == "userFills":
        if not isinstance(data, Mapping):
            raise ProtocolError("userFills data must be an object")
        if data.get("isSnapshot") and not include_snapshot:
            return []
        return fill_rows(data.get("fills", []), recv_ts)
    if channel == "user":
        if isinstance(data, Mapping) and "fills" in data:
            return fill_rows(data["fills"], recv_ts)
        return []
    return []


def account_row(state: ClearinghouseState, coin: str, recv_ts: int) -> tuple[Kind, Row]:
    """``account`` row for ``coin`` from a clearinghouse state (position 0 when flat)."""
    pos = state.position(coin)
    ts = state.time * MS if state.time is not None else recv_ts
    return (
        Kind.ACCOUNT,
        (
            ts,
            recv_ts,
            coin,
            state.margin_summary.account_value,
            state.margin_summary.total_margin_used,
            pos.szi if pos else 0.0,
            pos.entry_px if pos else None,
            pos.unrealized_pnl if pos else 0.0,
            state.withdrawable,
        ),
    )


def rate_limit_row(rl: UserRateLimit, recv_ts: int) -> tuple[Kind, Row]:
    """``rate_limit`` row (the response carries no time: ``ts`` = ``recv_ts``)."""
    return (
        Kind.RATE_LIMIT,
        (recv_ts, recv_ts, rl.cum_vlm, rl.n_requests_used, rl.n_requests_cap),
    )
