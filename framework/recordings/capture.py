"""The raw WebSocket capture format (hftbacktest's collector).

One message per line, gzip or plain text::

    1737918843893903000 {"channel":"l2Book","data":{...}}

the first 19 characters are the local receive time in ns, then one space, then the
WS message exactly as received.
"""

from __future__ import annotations

import json
from typing import Any

from framework.recordings.errors import JsonLineError, PrefixError, TruncatedLineError

FORMAT = "capture"
PREFIX_LEN = 19
#: The largest time a journal holds (int64 ns: 2262-04-11).
MAX_NS = 2**63 - 1


def looks_like_capture(line: bytes) -> bool:
    """True when ``line`` starts with a 19-digit number and a space."""
    return len(line) > PREFIX_LEN + 1 and line[:PREFIX_LEN].isdigit() and line[19:20] == b" "


def parse_capture_line(line: bytes, *, last: bool = False) -> tuple[int, Any]:
    """``(recv_ts_ns, message)`` of one capture line.

    Parameters
    ----------
    line : bytes
        The line, with or without its trailing newline.
    last : bool
        The line is the file's last and has no newline: a JSON error then means the
        capture was cut short (:class:`TruncatedLineError`).

    Raises
    ------
    PrefixError, JsonLineError, TruncatedLineError
    """
    if not looks_like_capture(line):
        head = line[:30].decode("utf-8", "replace").rstrip()
        raise PrefixError(
            f"no '<19-digit receive ns> ' prefix (line starts {head!r}); capture lines look "
            "like '1737918843893903000 {\"channel\":...}'"
        )
    recv_ts = int(line[:PREFIX_LEN])
    if recv_ts > MAX_NS:
        raise PrefixError(
            f"receive time {recv_ts} ns is past 2262-04-11 (the int64 ns a journal holds); "
            "the prefix is not a receive time"
        )
    return recv_ts, load_json(line[PREFIX_LEN + 1 :], last=last)


def load_json(text: bytes, *, last: bool) -> Any:
    """Decode the JSON part of a line; errors name the column and the likely cause."""
    try:
        return json.loads(text)
    except RecursionError:
        raise JsonLineError("invalid JSON (nested deeper than the decoder's limit)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a >4300-digit integer
        if last:
            raise TruncatedLineError(
                f"line is cut short ({exc}); the file ends mid-message, the recording was "
                "probably interrupted: the line is dropped"
            ) from None
        raise JsonLineError(f"invalid JSON ({exc})") from None
