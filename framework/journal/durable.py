"""Durable file replacement: the one crash-safety primitive of the journal.

A file is written under a hidden temp name, fsynced, renamed over its final name and
the directory fsynced, so after a crash either the old or the new file is there,
whole, and the rename itself survives a power loss.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (renames, unlinks) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(final: Path) -> Path:
    """The hidden temp name a file is written under before :func:`commit`."""
    return final.parent / f".{final.name}.tmp"


def commit(tmp: Path, final: Path) -> Path:
    """Fsync ``tmp``, rename it to ``final`` and fsync the directory; returns ``final``."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)
    return final
