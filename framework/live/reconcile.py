"""Reconciliation with the venue: what happened while we were not looking.

At start (after a crash or any earlier session) :func:`previous_session` reads what the
last session of this account and coin journaled (``state.json`` next to the live
checkpoint names its journal): the fills it saw.  :func:`missed_fills` asks the venue
for the fills since the last of them and keeps those the journal lacks (by trade id);
:func:`open_orders` lists what rests on the venue.  The environment journals both as
inputs (``fills``, ``order_updates`` and ``control`` rows), cancels every order that
rests at start (none of them is this session's: orphans of the last one), and only
then starts quoting.  After a WS reconnect the same fill query catches up what the
stream missed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from framework.calibration.prior import coin_key
from framework.events.schema import Kind
from framework.hyperliquid.rows import fill_rows

__all__ = [
    "PreviousSession",
    "missed_fills",
    "open_orders",
    "previous_session",
    "state_path",
    "write_state",
]

STATE_NAME = "state.json"


def state_path(checkpoint_dir: Path | str, coin: str) -> Path:
    """``<checkpoint_dir>/live/<coin key>/state.json``."""
    return Path(checkpoint_dir) / "live" / coin_key(coin) / STATE_NAME


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Write the live state file atomically (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@attrs.frozen
class PreviousSession:
    """What the last live session of this coin journaled, for reconciliation."""

    journal: str
    seed: int
    started_ms: int
    last_fill_ms: int  # time of its last journaled fill (started_ms when none)
    tids: frozenset[int]  # trade ids it journaled
    closed: bool  # its journal was closed (a clean stop), else it crashed
    # The UTC day (days since the epoch) its daily loss counted from, and that day's
    # start equity: a restart the same day keeps counting from it.
    risk_day: int | None = None
    day_start_equity: float | None = None


def previous_session(path: Path, account: str) -> PreviousSession | None:
    """The last session recorded in ``path`` (a ``state.json``) for ``account``, with
    the fills its journal holds; None when there is none (or another account's)."""
    from framework.journal import JournalReader
    from framework.journal.manifest import read_manifest

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if str(data.get("account", "")).lower() != account.lower():
        return None
    journal = Path(data.get("journal", ""))
    tids: set[int] = set()
    last_ms = int(data.get("started_ms", 0))
    closed = False
    if journal.is_dir():
        try:
            closed = read_manifest(journal).closed
            fills = JournalReader(journal, warn=False).table(Kind.FILLS)
            if fills.num_rows:
                tids = set(fills.column("tid").to_pylist())
                last_ms = max(last_ms, max(fills.column("ts").to_pylist()) // 1_000_000)
        except Exception:  # a journal cut short: what the state file says is enough
            pass
    day, equity = data.get("risk_day"), data.get("day_start_equity")
    return PreviousSession(
        journal=str(journal),
        seed=int(data.get("seed", 0)),
        started_ms=int(data.get("started_ms", 0)),
        last_fill_ms=last_ms,
        tids=frozenset(tids),
        closed=closed,
        risk_day=int(day) if isinstance(day, int) else None,
        day_start_equity=float(equity) if isinstance(equity, int | float) else None,
    )


async def missed_fills(
    info: Any, account: str, coin: str, since_ms: int, seen: set[int] | frozenset[int]
) -> list[tuple[Kind, tuple[Any, ...]]]:
    """``fills`` rows (layout of :func:`framework.hyperliquid.rows.fill_rows`) of
    ``coin`` at or after ``since_ms`` whose trade id is not in ``seen``, oldest first."""
    raw = await info.raw({"type": "userFillsByTime", "user": account, "startTime": int(since_ms)})
    mine = [f for f in raw if f.get("coin") == coin and int(f.get("tid", -1)) not in seen]
    mine.sort(key=lambda f: (int(f["time"]), int(f["tid"])))
    return fill_rows(mine, 0)


async def open_orders(info: Any, account: str, coin: str, dex: str) -> list[dict[str, Any]]:
    """The venue's open orders of ``account`` in ``coin`` (frontendOpenOrders: with
    cloids), oldest first."""
    raw = await info.raw(
        {"type": "frontendOpenOrders", "user": account, **({"dex": dex} if dex else {})}
    )
    return sorted((o for o in raw if o.get("coin") == coin), key=lambda o: int(o["oid"]))
