"""Per-signer nonces that never repeat and never go backwards, even across restarts.

The venue tracks nonces per signer (the agent address when an API wallet signs) and
rejects a nonce it has seen or one below its window (reference §5.7).  A nonce is
``max(now_ms, last + 1)``; the high-water mark is persisted (write + fsync + atomic
rename) before the nonce is handed out, so a crash cannot make the next process reuse it.

Usage::

    store = NonceStore(Path("state/nonces.json"))        # clock defaults to wall time
    nonce = store.next(signer.address)

Tests inject ``clock_ms`` (a zero-argument callable returning int milliseconds).
The file is JSON ``{"<lowercase address>": <last nonce>, ...}``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from framework.hyperliquid.errors import NonceError


def wall_clock_ms() -> int:
    """Milliseconds since the epoch (the live default clock)."""
    return time.time_ns() // 1_000_000


class NonceStore:
    """Hands out strictly increasing nonces per signer address.

    Parameters
    ----------
    path : Path or None
        File holding the high-water marks; None keeps them in memory only (tests, paper).
    clock_ms : callable, optional
        Returns the current time in ms; defaults to the wall clock.
    """

    def __init__(self, path: Path | None, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._path = Path(path) if path is not None else None
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._last: dict[str, int] = self._load()

    def _load(self) -> dict[str, int]:
        if self._path is None or not self._path.exists():
            return {}
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError) as exc:
            raise NonceError(
                f"nonce file {self._path}: unreadable ({type(exc).__name__}); fix or delete it "
                "(deleting is safe once the clock is past the last nonce used)"
            ) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in data.items()
        ):
            raise NonceError(f"nonce file {self._path}: must be a JSON object of address -> int")
        return {k.lower(): v for k, v in data.items()}

    def _persist(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(self._path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(self._last, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)
        # fsync the directory so the rename itself survives a crash
        dir_fd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def next(self, address: str) -> int:
        """The next nonce for ``address``: ``max(now_ms, last + 1)``, persisted first."""
        key = address.lower()
        with self._lock:
            n = max(int(self._clock_ms()), self._last.get(key, 0) + 1)
            self._last[key] = n
            self._persist()
            return n

    def last(self, address: str) -> int | None:
        """The last nonce handed out for ``address`` (None if never)."""
        return self._last.get(address.lower())
