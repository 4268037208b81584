"""``market-maker sweep``: check everything, run the trials on Ray, write what came out.

Every flag, the space file and every recording is checked before anything is written
or Ray is started (a usage error: exit 2, one line).  OUT then holds:

* ``sweep.json``: the sweep's definition (recordings, space, search, trials, objective,
  seed, keep, workers); ``--resume`` refuses an OUT started with other ones;
* ``trials/<id>/``: each finished trial, committed whole (see :mod:`framework.sweep.trial`);
* ``results.parquet`` (:mod:`framework.sweep.results`) and ``report.html``
  (:mod:`framework.sweep.report`).

Exit codes: 0 every trial ran (some may have failed: their errors are in the results);
1 no trial succeeded, or Ray lost trials for good (``--resume`` reruns those);
2 usage error; 130 stopped by Ctrl+C (``--resume`` finishes the sweep).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from framework.exits import UsageError, warn
from framework.journal.durable import commit, temp_path
from framework.sweep.data import check_recording, recording_names
from framework.sweep.objective import Objective, parse_objective
from framework.sweep.plan import DONE, SEARCHES, Committed, Plan, make_plan
from framework.sweep.report import print_top, write_report
from framework.sweep.results import RESULTS_NAME, write_results
from framework.sweep.space import Space, load_space
from framework.sweep.trial import TrialSpec, clear_staging, committed_records

__all__ = ["SWEEP_NAME", "sweep_command"]

SWEEP_NAME = "sweep.json"
KEEPS = ("journal", "summary")

#: Fields of sweep.json a resumed sweep must repeat (workers too under Optuna: the
#: batch size shapes its suggestions).
_SAME = ("recordings", "space", "search", "trials", "objective", "seed", "keep")

#: Results are rewritten at most this often while trials finish (and at the end).
RESULTS_EVERY_S = 2.0


def _check_flags(search: str, keep: str, trials: int | None, workers: int | None) -> None:
    if search not in SEARCHES:
        raise UsageError(f"--search {search!r}: use one of {', '.join(SEARCHES)}")
    if keep not in KEEPS:
        raise UsageError(f"--keep {keep!r}: use journal (every table) or summary (manifest)")
    for flag, value in (("--trials", trials), ("--workers", workers)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} {value}: must be at least 1")


def _check_address(address: str | None) -> None:
    """A cluster address that something answers at (Ray itself would wait for it)."""
    if address is None or address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not (sep and host and port.isdigit()):
        raise UsageError(
            f"--address {address!r}: use HOST:PORT (the head node's GCS port, 6379 by "
            "default), ray://HOST:10001 (Ray Client) or auto (from a node of the cluster)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise UsageError(
            f"--address {address}: nothing answers there ({exc.strerror or exc}); check "
            "the address (`ray status` on the head node prints it)"
        ) from None


def _definition(
    recordings: list[str],
    space_path: Path,
    search: str,
    trials: int | None,
    objective: Objective,
    seed: int,
    keep: str,
) -> dict[str, Any]:
    import tomllib

    return {
        "recordings": recordings,
        "space": tomllib.loads(space_path.read_text(encoding="utf-8")),
        "space_file": str(space_path),
        "search": search,
        "trials": trials,
        "objective": str(objective),
        "seed": seed,
        "keep": keep,
    }


@contextmanager
def _sweep_dir(out: Path, definition: dict[str, Any], resume: bool) -> Iterator[dict]:
    """OUT created (or reopened for --resume), locked for this process, with its
    ``sweep.json``; yields the definition in force (``workers`` from the file when
    resuming without ``--workers``).  A sweep that fails before any trial started
    (Ray cannot be joined) removes the OUT it created."""
    path = out / SWEEP_NAME
    if resume and not path.is_file():
        raise UsageError(f"--resume: {out} holds no sweep ({SWEEP_NAME}); drop --resume")
    if not resume and out.exists() and any(out.iterdir()):
        what = "a sweep" if path.is_file() else "files"
        raise UsageError(
            f"--out {out}: already holds {what}; pass --resume to finish that sweep, or "
            "choose a new directory"
        )
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".lock", "w")  # noqa: SIM115 - held for the whole sweep
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(
                f"--out {out}: another sweep is running into it; wait for it to end"
            ) from None
        if resume:
            definition = _resumed(out, json.loads(path.read_text()), definition)
        tmp = temp_path(path)
        tmp.write_text(json.dumps(definition, indent=1, default=str) + "\n")
        commit(tmp, path)
        yield definition
    except BaseException:
        if created and not (out / "trials").exists():  # nothing ran: leave nothing behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        lock.close()


def _resumed(out: Path, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The definition of a resumed sweep: the new one, which must repeat the old."""
    if new["workers"] is None:
        new = {**new, "workers": old.get("workers")}
    same = _SAME + (("workers",) if new["search"] == "optuna" else ())
    for key in same:
        if old.get(key) != new.get(key):
            flag = "--space (its content)" if key == "space" else f"--{key}"
            raise UsageError(
                f"--resume: {flag} differs from the sweep in {out} ({old.get(key)!r} there, "
                f"{new.get(key)!r} now); resume with the flags it was started with, or "
                "choose a new --out"
            )
    return new


class _Progress:
    """The progress bar over trials, with the best objective so far."""

    def __init__(self, total: int, objective: Objective, console: Console, enabled: bool):
        self.objective = objective
        self.best: dict[str, Any] | None = None
        self.failed = 0
        self._bar = Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} trials"),
            TextColumn("{task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self._task = self._bar.add_task("sweep", total=total, best="")

    def __enter__(self) -> _Progress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def add(self, record: dict[str, Any]) -> None:
        if record["status"] != "ok":
            self.failed += 1
        elif self.best is None or self.objective.better(
            record.get("objective"), self.best.get("objective")
        ):
            self.best = record
        best = (
            f"best {self.objective.key} {self.best['objective']:+.6g} (trial {self.best['id']})"
            if self.best and self.best.get("objective") is not None
            else "best -"
        )
        failed = f"  failed {self.failed}" if self.failed else ""
        self._bar.update(self._task, advance=1, best=best + failed)

    def print(self, text: str) -> None:
        self._bar.console.print(text)


def sweep_command(
    *,
    recordings: list[str],
    space: Path,
    search: str = "grid",
    trials: int | None = None,
    objective: str = "net_pnl_usd",
    seed: int = 0,
    address: str | None = None,
    workers: int | None = None,
    out: Path | None = None,
    keep: str = "journal",
    resume: bool = False,
    quiet: bool = False,
    console: Console | None = None,
) -> int:
    """The body of ``market-maker sweep``; returns the exit code (usage errors raise
    :class:`~framework.exits.UsageError` or :class:`~framework.sweep.space.SpaceError`)."""
    from framework.flags import fresh_out

    _check_flags(search, keep, trials, workers)
    goal = parse_objective(objective)
    sp = load_space(space)
    locations = [check_recording(r) for r in recordings]
    _check_address(address)
    make_plan(search, sp, goal, trials=trials, seed=seed, batch=workers or 1)  # checks only
    if out is None:
        if resume:
            raise UsageError("--resume needs --out DIR: the directory of the sweep to finish")
        out = fresh_out(Path("out") / f"sweep-{space.stem}-{seed}")
    out = Path(out).resolve()
    definition = _definition(locations, space, search, trials, goal, seed, keep)
    definition["workers"] = workers
    console = console or Console(soft_wrap=True)
    with _sweep_dir(out, {**definition}, resume) as defined:
        return _run(out, defined, sp, goal, address, console, quiet, resume)


def _run(
    out: Path,
    definition: dict[str, Any],
    space: Space,
    objective: Objective,
    address: str | None,
    console: Console,
    quiet: bool,
    resume: bool,
) -> int:
    from framework.sweep.runner import ray_session

    records = committed_records(out) if resume else {}
    clear_staging(out)
    started = time.perf_counter()
    with contextlib.ExitStack() as ray:
        joined = definition["workers"] is None
        if joined:  # as many as Ray's CPUs; recorded (Optuna's batch size)
            definition["workers"] = ray.enter_context(ray_session(address, None))
            _rewrite(out, definition)
        plan = _plan(space, objective, definition, records)
        records = {i: r for i, r in records.items() if i < plan.total}
        if records:
            console.print(
                f"resuming {out}: {len(records)} of {plan.total} trials already done",
                soft_wrap=True,
            )
        first = plan.ask()
        lost: dict[int, dict[str, Any]] = {}
        interrupted = False
        with _Progress(plan.total, objective, console, not quiet) as bar:
            for rec in sorted(records.values(), key=lambda r: r["trial"]):
                bar.add(rec)
            if first != DONE:  # else every trial is committed: no Ray needed
                if not joined:
                    ray.enter_context(ray_session(address, definition["workers"]))
                interrupted = _execute(
                    out, definition, space, objective, plan, first, bar, records, lost
                )
    return _finish(
        out, definition, space, objective, records, lost, plan, console, interrupted, started
    )


def _execute(
    out: Path,
    definition: dict[str, Any],
    space: Space,
    objective: Objective,
    plan: Plan,
    first: Any,
    bar: _Progress,
    records: dict[int, dict[str, Any]],
    lost: dict[int, dict[str, Any]],
) -> bool:
    """Run the plan's trials on Ray, filling ``records`` (and ``lost``: trials Ray gave
    up on); whether Ctrl+C stopped it."""
    from framework.sweep.runner import run_trials

    spec = TrialSpec(
        out=str(out),
        recordings=tuple(definition["recordings"]),
        names=tuple(recording_names(definition["recordings"])),
        fixed=space.fixed,
        seed=definition["seed"],
        keep=definition["keep"],
        objective=objective,
    )
    written = [0.0]

    def on_record(record: dict[str, Any]) -> None:
        (lost if record["status"] == "lost" else records)[record["trial"]] = record
        bar.add(record)
        if time.perf_counter() - written[0] > RESULTS_EVERY_S:
            write_results(out, {**records, **lost}, space.keys)
            written[0] = time.perf_counter()

    def on_retry(index: int, failures: int) -> None:
        bar.print(f"Ray lost the worker of trial {index:04d}; retrying ({failures})")

    try:
        run_trials(
            plan,
            spec,
            workers=definition["workers"],
            first=first,
            on_record=on_record,
            on_retry=on_retry,
        )
    except KeyboardInterrupt:
        return True
    return False


def _plan(
    space: Space, objective: Objective, definition: dict[str, Any], records: dict[int, dict]
) -> Plan:
    committed = {i: Committed(r["params"], r["objective"]) for i, r in records.items()}
    return make_plan(
        definition["search"],
        space,
        objective,
        trials=definition["trials"],
        seed=definition["seed"],
        batch=definition["workers"],
        committed=committed,
    )


def _rewrite(out: Path, definition: dict[str, Any]) -> None:
    path = out / SWEEP_NAME
    tmp = temp_path(path)
    tmp.write_text(json.dumps(definition, indent=1, default=str) + "\n")
    commit(tmp, path)


def _finish(
    out: Path,
    definition: dict[str, Any],
    space: Space,
    objective: Objective,
    records: dict[int, dict[str, Any]],
    lost: dict[int, dict[str, Any]],
    plan: Plan,
    console: Console,
    interrupted: bool,
    started: float,
) -> int:
    """Write the results and the report, print the top trials; the exit code."""
    everything = {**records, **lost}
    write_results(out, everything, space.keys)
    if everything:
        write_report(out, everything, space, objective, definition)
        print_top(console, everything, space, objective)
    failed = [r for r in records.values() if r["status"] != "ok"]
    for r in failed[:5]:
        warn(f"trial {r['id']} failed: {r['error']}")
    if len(failed) > 5:
        warn(f"{len(failed) - 5} more trials failed (status = 'error' in {RESULTS_NAME})")
    minutes = (time.perf_counter() - started) / 60
    console.print(
        f"{len(records)} of {plan.total} trials in {minutes:.1f} min; results: "
        f"{out / RESULTS_NAME}; report: {out / 'report.html'}; query: market-maker sql "
        f'{out} "SELECT * FROM results ORDER BY objective DESC LIMIT 5"',
        soft_wrap=True,
    )
    if not lost and len(records) == plan.total:  # done: Tune's snapshots are not needed
        shutil.rmtree(out / ".ray", ignore_errors=True)
    clear_staging(out)
    if interrupted or len(records) + len(lost) < plan.total:
        warn(f"stopped with {len(records)} of {plan.total} trials done; rerun with --resume")
        return 130
    if lost:
        warn(f"Ray lost {len(lost)} trials for good; rerun with --resume to run them again")
        return 1
    if records and len(failed) == len(records):
        warn("every trial failed; the first error is above")
        return 1
    return 0
