"""Putting another journal's finished parts into a journal: a hard link, else a copy.

A part is never changed once written (the writer writes a temp file and renames it;
compaction writes a new part and deletes the old ones), so two journals can share
one: a backtest keeps its recording's input tables this way, at no cost.  Nothing may
edit a part in place (open it for writing): the edit would show in every journal
sharing it.  Across
filesystems (or where hard links are refused) the part is copied, durably.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from framework.journal.durable import commit, temp_path


def link_or_copy(src: Path, dest: Path) -> bool:
    """Make ``dest`` hold ``src``'s bytes: a hard link if possible, else a durable copy.

    Returns True when linked.  The caller fsyncs ``dest``'s directory (once for many).

    Raises
    ------
    FileExistsError
        ``dest`` exists already (a journal's part is never replaced this way).
    """
    try:
        os.link(src, dest)
        return True
    except FileExistsError:
        raise
    except OSError:
        # EXDEV (another filesystem), EPERM/ENOTSUP (no hard links there), EMLINK.
        if dest.exists():
            raise FileExistsError(f"{dest}: already exists") from None
        tmp = temp_path(dest)
        shutil.copyfile(src, tmp)
        commit(tmp, dest)
        return False
