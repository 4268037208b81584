"""Recordings: parse WS market data into journal rows, import captures and archives.

* :mod:`.messages` - ``parse_ws_message(msg, recv_ts)``: one WS message -> rows
  (shared with the live recorder and WS client).
* :mod:`.capture` - the raw WS capture format (``<19-digit ns> <json>`` lines).
* :mod:`.archive` - the official archive format (lz4, ``{"time", "raw"}`` lines).
* :mod:`.repair` - the receive/exchange time repairs applied at import.
* :mod:`.coins` - the one table of known coins' ``szDecimals`` (the importer's default).
* :mod:`.importer` - ``import_recordings(paths, out)`` and ``market-maker import``.
* :mod:`.errors` - the exception tree.
"""

from framework.recordings.errors import (
    BrokenFileError,
    EnvelopeError,
    FileFormatError,
    JsonLineError,
    LineError,
    MessageError,
    PrefixError,
    RecordingError,
    TruncatedLineError,
    UnknownChannelError,
)
from framework.recordings.messages import CHANNEL_KIND, SKIPPED_CHANNELS, parse_ws_message

__all__ = [
    "CHANNEL_KIND",
    "SKIPPED_CHANNELS",
    "BrokenFileError",
    "EnvelopeError",
    "FileFormatError",
    "JsonLineError",
    "LineError",
    "MessageError",
    "PrefixError",
    "RecordingError",
    "TruncatedLineError",
    "UnknownChannelError",
    "parse_ws_message",
]
