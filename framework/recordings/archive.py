"""The official Hyperliquid archive format (``hyperliquid-archive`` bucket).

lz4-frame compressed, one file per channel, coin and hour
(``market_data/<YYYYMMDD>/<H>/l2Book/<COIN>.lz4``), one JSON object per line::

    {"time":"2026-04-01T00:00:12.669126791","ver_num":1,"raw":{"channel":"l2Book","data":{...}}}

``time`` is the receive time (UTC, ns precision); ``raw`` is the WS message.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path
from typing import Any

from framework.recordings.capture import MAX_NS, load_json
from framework.recordings.errors import EnvelopeError
from framework.recordings.messages import CHANNEL_KIND

FORMAT = "archive"
#: Channel directories of the archive layout: the channels the importer reads.
CHANNEL_DIRS = frozenset(CHANNEL_KIND)

# ASCII digits only: in a str pattern \d also matches other scripts' digits, which int() reads
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:?00)?",
    re.ASCII,
)


def looks_like_archive(line: bytes) -> bool:
    """True when ``line`` is a JSON object with ``time`` and ``raw`` keys."""
    if not line.lstrip().startswith(b"{"):
        return False
    try:
        obj = load_json(line, last=False)
    except ValueError:
        return False
    return isinstance(obj, dict) and "time" in obj and "raw" in obj


def parse_archive_line(line: bytes, *, last: bool = False) -> tuple[int, Any]:
    """``(recv_ts_ns, message)`` of one archive line.

    Raises
    ------
    JsonLineError, TruncatedLineError, EnvelopeError
    """
    obj = load_json(line, last=last)
    if not isinstance(obj, dict) or "raw" not in obj:
        raise EnvelopeError(
            'not an archive envelope: expected {"time": "<ISO ns>", "raw": {<WS message>}}'
        )
    t = obj.get("time")
    if not isinstance(t, str):
        raise EnvelopeError(f"envelope 'time' is {t!r}, expected an ISO time string")
    return iso_to_ns(t), obj["raw"]


def iso_to_ns(text: str) -> int:
    """Nanoseconds since the epoch of ``2026-04-01T00:00:12.669126791`` (UTC).

    Raises
    ------
    EnvelopeError
        Not that shape, not a calendar time (``02-31``, second 60), or outside what a
        journal holds (1970 .. 2262-04-11, int64 ns).
    """
    m = _ISO.fullmatch(text)
    if m is None:
        raise EnvelopeError(
            f"envelope time {text!r} is not ISO 'YYYY-MM-DDTHH:MM:SS[.fraction]' (UTC)"
        )
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        dt.datetime(y, mo, d, h, mi, s)  # the calendar check (no 31 February, no second 60)
    except ValueError:
        raise EnvelopeError(f"envelope time {text!r} is not a calendar time") from None
    frac = m.group(7) or ""
    ns = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + int(frac.ljust(9, "0"))
    if not 0 <= ns <= MAX_NS:
        raise EnvelopeError(
            f"envelope time {text!r} is outside 1970 .. 2262-04-11 (int64 ns since the epoch)"
        )
    return ns


def archive_coin(path: Path) -> str | None:
    """The coin an archive file holds by its layout (``.../l2Book/BTC.lz4``), else None."""
    if path.parent.name in CHANNEL_DIRS:
        return path.name.split(".", 1)[0]
    return None
