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

A prior another session left at ``path`` is not lost to this one **[ours]**: a short
session's Insufficient prior used to replace a day's Ready one without a word.  While
this session's verdict ranks below the one it found there (Ready > Marginal >
Insufficient) and that prior is not stale, this session's prior goes beside it,
``prior.latest.json``, and the better one stays where ``run`` looks; once this session
does as well, its prior replaces the old one, which is kept as ``prior.prev.json``.
A warning says when a better prior is kept or a stale better one replaced.
``backtest --save-prior`` places its prior by the same rule.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from framework.calibration.prior import Prior, PriorError, load_prior, save_prior
from framework.calibration.readiness import assess
from framework.calibration.transfer import snapshot_prior
from framework.exits import warn

__all__ = ["PriorWriter"]

#: Verdicts by rank: a prior is not replaced by one of a lower rank while it is fresh.
RANK = {"Insufficient": 0, "Marginal": 1, "Ready": 2}
LATEST_NAME = "prior.latest.json"  # this session's prior, kept beside a better one
PREV_NAME = "prior.prev.json"  # the prior this session's replaced


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
        # The prior another session left at `path`: (verdict, created_ns), until this
        # session's replaces it; None when there is none (or it is this session's).
        self._found = found_prior(self.path)
        self._warned = False
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
        path = self._target(stamp.verdict, draft.created_ns)
        save_prior(attrs.evolve(draft, stamp=stamp), path)
        return {"path": str(path), "verdict": stamp.verdict, "seq": seq}

    def _target(self, verdict: str, now_ns: int) -> Path:
        """Where this prior goes (see :func:`place_prior`); one warning per outcome."""
        if self._found is None:
            return self.path
        target, note = place_prior(
            self.path, self._found, verdict, now_ns, self.calibration.stale_after_s
        )
        if target == self.path:
            self._found = None  # replaced: from now on the prior there is this session's
            self._warned = False
        if note is not None and not self._warned:
            self._warned = True
            warn(note)
        return target

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


def place_prior(
    path: Path, found: tuple[str, int], verdict: str, now_ns: int, stale_after_s: float
) -> tuple[Path, str | None]:
    """Where a session's ``verdict`` prior goes when another session's ``found =
    (verdict, created_ns)`` is at ``path``, and the warning that says so (None when it
    replaces one no better: nothing to say): beside it (``prior.latest.json``) while
    that one is fresh and better, else ``path``, the old one copied to
    ``prior.prev.json`` first (see the module doc)."""
    old_verdict, created_ns = found
    worse = RANK.get(verdict, 0) < RANK.get(old_verdict, 0)
    if worse and (now_ns - created_ns) / 1e9 <= stale_after_s:
        latest = path.with_name(LATEST_NAME)
        return latest, (
            f"kept the {old_verdict} prior at {path} (another session's, still fresh); this "
            f"session's {verdict} prior is at {latest} until it does as well"
        )
    prev = path.with_name(PREV_NAME)
    shutil.copyfile(path, prev)
    if not worse:
        return path, None
    return path, (
        f"this session's {verdict} prior replaces the {old_verdict} one at {path} (stale), "
        f"which is kept as {prev}"
    )


def found_prior(path: Path) -> tuple[str, int] | None:
    """``(verdict, created_ns)`` of the prior at ``path``; None when there is none.  One
    that cannot be read counts as Insufficient (a copy is still kept)."""
    if not path.is_file():
        return None
    try:
        prior = load_prior(path)
    except PriorError:
        return ("Insufficient", 0)
    return (prior.stamp.verdict, prior.created_ns)
