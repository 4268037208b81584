"""Journal errors.

::

    JournalError
    ├── ManifestError        session.json missing, unreadable or incomplete
    ├── CorruptPartError     a Parquet part cannot be read (names the part)
    ├── SchemaDriftError     a part's columns differ from the table's schema
    └── SeqOrderError        seqs not strictly increasing inside a table
"""

from __future__ import annotations


class JournalError(Exception):
    """Base of every journal error."""


class ManifestError(JournalError):
    """The session manifest is missing or unusable."""


class NewerFormatError(ManifestError):
    """The journal was written in a format newer than this code reads."""


class CorruptPartError(JournalError):
    """A Parquet part is unreadable; the message names the file."""


class SchemaDriftError(JournalError):
    """A part's schema differs from the one defined in :mod:`framework.events`."""


class SeqOrderError(JournalError):
    """Rows of a table are not in strictly increasing seq order."""
