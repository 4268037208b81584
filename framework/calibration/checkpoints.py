"""Writing a running session's prior: periodically (wall clock) and at the end.

The environment owns this, never the engine: it decides when (``checkpoint_every_s``
of wall time, from :class:`framework.config.CalibrationConfig`), flushes the journal so
every row up to ``engine.seq`` is on disk, has DuckDB assess the journal up to that
seq (the stamp is exactly what ``market-maker readiness --up-to-seq`` says) and
writes the prior atomically, so a session killed at any moment leaves its last prior
whole and loadable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from framework.calibration.prior import save_prior
from framework.calibration.readiness import assess
from framework.calibration.transfer import snapshot_prior

__all__ = ["PriorWriter"]


class PriorWriter:
    """Writes the prior of the session journaled by ``writer`` to ``path``.

    Parameters
    ----------
    engine, manifest, writer
        The session's engine, manifest and journal writer.
    journal : Path
        The journal directory.
    path : Path
        Where the prior goes (``checkpoints/paper/<coin>/prior.json``).
    calibration : CalibrationConfig
        Thresholds for the stamp and ``checkpoint_every_s``.
    clock : callable
        Monotonic seconds (the wall clock of the environment).
    checkpoint : callable, optional
        Journals and steps a checkpoint ``clock`` input (estimators publish their
        current rows) before each stamp.
    """

    def __init__(
        self,
        engine: Any,
        manifest: Any,
        writer: Any,
        journal: Path,
        path: Path,
        calibration: Any,
        clock: Callable[[], float] = time.monotonic,
        checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.manifest = manifest
        self.writer = writer
        self.journal = Path(journal)
        self.path = Path(path)
        self.calibration = calibration
        self.clock = clock
        self.checkpoint = checkpoint
        self.every_s = calibration.checkpoint_every_s
        self._next = clock() + self.every_s
        self.written = 0
        self.last: dict[str, Any] | None = None

    def maybe_write(self) -> dict[str, Any] | None:
        """Write when ``checkpoint_every_s`` has passed since the last one."""
        if self.clock() < self._next:
            return None
        return self.write()

    def write(self, *, flush: bool = True) -> dict[str, Any]:
        """Flush the journal (unless closed), stamp it up to ``engine.seq``, save the
        prior; returns ``{"path", "verdict", "seq"}``."""
        if flush:
            if self.checkpoint is not None:
                self.checkpoint()  # the estimators journal their current rows first
            self.writer.flush()
        seq = self.engine.seq
        stamp = assess(self.journal, self.calibration, up_to_seq=seq)
        prior = snapshot_prior(self.engine, self.manifest, self.journal, stamp)
        save_prior(prior, self.path)
        self.written += 1
        self._next = self.clock() + self.every_s
        self.last = {"path": str(self.path), "verdict": stamp.verdict, "seq": seq}
        return self.last
