"""One live session per account on a machine.

Two sessions trading one account took each other for a crashed predecessor: each
cancelled the other's orders as orphans, journaled the other's fills as its own (a
position it never traded), and each counted nonces from the same file on its own.  A
session now holds an exclusive lock per address it trades or signs for, in
``<tempdir>/market-maker-<uid>/locks`` (the same place for a user whatever the checkpoint
directory); a second session is refused before it connects.  The kernel releases the
lock when the process ends, however it ends (a SIGKILL too), so there is nothing stale
to clean up.  Where ``fcntl`` does not exist (Windows), nothing is locked.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

from framework.exits import UsageError


def lock_dir() -> Path:
    """``<tempdir>/market-maker-<uid>/locks``: per user, so another user's directory
    (not writable here) is never in the way."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"market-maker-{uid}" / "locks"


class SessionLock:
    """Exclusive locks on ``addresses`` (lower-cased, de-duplicated) for one session."""

    def __init__(self, addresses: Iterable[str], directory: Path | None = None) -> None:
        self.addresses = sorted({a.lower() for a in addresses if a})
        self.directory = directory or lock_dir()
        self._held: list[IO[str]] = []

    def acquire(self) -> SessionLock:
        """Take every lock, or none: raises :class:`UsageError` naming the holder."""
        if fcntl is None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for address in self.addresses:
                path = self.directory / f"{address}.lock"
                fh = open(path, "a+")  # noqa: SIM115 - held open for the session's life
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    fh.close()
                    raise UsageError(
                        f"account {address}: another live session trades it on this machine "
                        f"({holder}; lock {path}); stop that session first: two sessions on "
                        "one account cancel each other's orders as orphans and count each "
                        "other's fills"
                    ) from None
                fh.seek(0)
                fh.truncate()
                fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
                fh.flush()
                self._held.append(fh)
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for fh in self._held:
            fh.close()  # closing the file releases its flock
        self._held = []

    def __enter__(self) -> SessionLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
