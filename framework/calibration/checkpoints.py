"""Writing a running session's prior: periodically (wall clock) and at the end.

The environment owns this, never the engine: it decides when (``checkpoint_every_s``
of wall time, from :class:`framework.config.CalibrationConfig`), flushes the journal so
every row up to ``engine.seq`` is on disk, has DuckDB assess the journal up to that
seq (the stamp is exactly what ``market-maker readiness --up-to-seq`` says) and
writes the prior atomically, so a session killed at any moment leaves its last prior
whole and loadable.

The periodic prior (:meth:`PriorWriter.maybe_write`) takes the engine's side (the
estimators' rows, the flush, the model's state) in the caller's thread and leaves the
assessment and the save to a thread of its own: DuckDB over the journal takes 0.2-0.4 s
(0.25 s on a 24 h backtest's journal), which a live or paper session's event loop spent
with market data and order answers waiting in the socket, every five minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from framework.calibration.prior import Prior, save_prior
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
        self._pool: ThreadPoolExecutor | None = None
        self._job: Future[dict[str, Any]] | None = None  # the periodic prior in flight
        # DuckDB now, not on the checkpoint thread in the middle of a session (its
        # import holds the interpreter for about half a second).
        import framework.journal.duck  # noqa: F401

    def maybe_write(self) -> dict[str, Any] | None:
        """When ``checkpoint_every_s`` has passed since the last one, start the next
        prior: the engine's side now, the stamp and the save on the checkpoint thread.

        Returns the result of the previous periodic prior when it finished since the last
        call (``{"path", "verdict", "seq"}``, also in :attr:`last`), else None; raises
        its error if it failed.  While one is in flight the next waits for it.
        """
        done = self._reap()
        if self._job is None and self.clock() >= self._next:
            draft, seq = self._draft(flush=True)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="prior-checkpoint")
            self._job = self._pool.submit(self._finish, draft, seq)
            self._next = self.clock() + self.every_s
        return done

    def write(self, *, flush: bool = True) -> dict[str, Any]:
        """Flush the journal (unless closed), stamp it up to ``engine.seq``, save the
        prior, in this thread (after the periodic one in flight); returns ``{"path",
        "verdict", "seq"}``."""
        self._reap(wait=True)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        draft, seq = self._draft(flush)
        self._done(self._finish(draft, seq))
        self._next = self.clock() + self.every_s
        assert self.last is not None
        return self.last

    def _draft(self, flush: bool) -> tuple[Prior, int]:
        """The prior of the engine as it stands (stamp to come) and the seq it is at."""
        if flush:
            if self.checkpoint is not None:
                self.checkpoint()  # the estimators journal their current rows first
            self.writer.flush()
        seq = self.engine.seq
        return snapshot_prior(self.engine, self.manifest, self.journal, None), seq

    def _finish(self, draft: Prior, seq: int) -> dict[str, Any]:
        """Stamp ``draft`` with DuckDB's readiness of the journal up to ``seq``; save it."""
        stamp = assess(self.journal, self.calibration, up_to_seq=seq)
        save_prior(attrs.evolve(draft, stamp=stamp), self.path)
        return {"path": str(self.path), "verdict": stamp.verdict, "seq": seq}

    def _reap(self, wait: bool = False) -> dict[str, Any] | None:
        job = self._job
        if job is None or not (wait or job.done()):
            return None
        self._job = None
        return self._done(job.result())  # a failed prior raises here

    def _done(self, result: dict[str, Any]) -> dict[str, Any]:
        self.written += 1
        self.last = result
        return result
