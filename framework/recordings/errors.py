"""Errors of the recording importers.

Every exception derives from :class:`RecordingError`.  Line-level errors carry no file
name themselves: the importer turns them into a :class:`~framework.recordings.problems.Problem`
``FILE:LINE: what is wrong (fix)``, skips the line and imports the rest.

Tree::

    RecordingError
    ├── MessageError (also ValueError)   a WS message is malformed; names the field
    │   └── UnknownChannelError          a channel we neither import nor skip
    ├── LineError (also ValueError)      a line of a recording file is unusable
    │   ├── PrefixError                  capture line without the '<19-digit ns> ' prefix
    │   ├── JsonLineError                the JSON part does not parse
    │   │   └── TruncatedLineError       ... and it is the file's last line, cut short
    │   └── EnvelopeError                archive line without a usable "time" / "raw"
    └── FileFormatError                  a whole file is unusable: unknown format or
        │                                missing
        └── BrokenFileError              a file is truncated or its compressed stream is
                                         corrupt (import exits 1 even without --strict)
"""

from __future__ import annotations


class RecordingError(Exception):
    """Base class of every recording-import error."""


class MessageError(RecordingError, ValueError):
    """One WebSocket message does not have the shape the protocol documents."""


class UnknownChannelError(MessageError):
    """The message's channel is neither imported nor on the skip list."""


class LineError(RecordingError, ValueError):
    """One line of a recording file cannot be decoded into (recv_ts, message)."""


class PrefixError(LineError):
    """A raw-capture line does not start with a 19-digit ns receive time and a space."""


class JsonLineError(LineError):
    """The JSON text of a line does not parse."""


class TruncatedLineError(JsonLineError):
    """The last line of a file ends mid-message (the capture was interrupted)."""


class EnvelopeError(LineError):
    """An archive line lacks a parseable ``time`` or a ``raw`` message object."""


class FileFormatError(RecordingError):
    """A file cannot be read as a recording at all."""


class BrokenFileError(FileFormatError):
    """A file ends early or its compressed stream is corrupt: worse than a bad line,
    because what was read may stop anywhere (or, on a checksum error, be wrong)."""
