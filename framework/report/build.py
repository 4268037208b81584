"""``market-maker report``: collect, draw, write one HTML file."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from framework.config import CalibrationConfig
from framework.report.data import DEFAULT_BUCKETS, ReportData, collect

if TYPE_CHECKING:
    from framework.report.plots import Plot

__all__ = ["REPORT_NAME", "ReportResult", "build_report", "report_command", "session_report"]

#: The report's file name in a session directory (the default ``--out``).
REPORT_NAME = "report.html"


@attrs.frozen(eq=False)
class ReportResult:
    out: Path
    data: ReportData
    plots: tuple[Plot, ...]
    timings: dict[str, float]  # seconds per stage
    problems: tuple[str, ...]  # why the journal is not whole, if it is not

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def build_report(
    journal: Path | str,
    out: Path | str | None = None,
    cfg: CalibrationConfig | None = None,
    *,
    buckets: int = DEFAULT_BUCKETS,
) -> ReportResult:
    """Write the report of the journal at ``journal`` to ``out`` (default
    ``journal/report.html``), atomically.

    Raises
    ------
    framework.journal.errors.JournalError
        When ``journal`` is not a readable journal.
    OSError
        When ``out`` cannot be written.
    """
    from framework.journal.completeness import check_completeness
    from framework.journal.duck import connect
    from framework.journal.reader import JournalReader
    from framework.report.html import render
    from framework.report.plots import PLOTS, png_bytes

    t = time.perf_counter()
    root = Path(journal)
    reader = JournalReader(root, warn=False)
    problems = tuple(check_completeness(reader).problems)
    con = connect(root, reader=reader)
    open_s = time.perf_counter() - t
    try:
        data = collect(con, root, reader.manifest, cfg, buckets=buckets)
    finally:
        con.close()
    timings = {"open": open_s, **{f"query_{k}": v for k, v in data.timings.items()}}
    drawn: list[tuple[Plot, bytes | None]] = []
    for make in PLOTS:
        t = time.perf_counter()
        p = make(data)
        png = png_bytes(p.figure) if p.figure is not None else None
        timings[f"plot_{p.name}"] = time.perf_counter() - t
        drawn.append((p, png))
    t = time.perf_counter()
    page = render(data, drawn, problems=problems, timings=timings)
    dest = Path(out) if out is not None else root / REPORT_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, dest)
    timings["write"] = time.perf_counter() - t
    return ReportResult(dest, data, tuple(p for p, _ in drawn), timings, problems)


def missing_matplotlib() -> str | None:
    """The error line when matplotlib (the report's plots) is not installed, else None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return (
            "the report draws its plots with matplotlib, which is not installed: "
            "pip install 'hl-market-maker[notebooks]' (or the requirements.lock)"
        )
    return None


def report_command(journal: Path, *, out: Path | None = None, config: Path | None = None) -> int:
    """``market-maker report``: 0 written; 2 when the journal, config or output is unusable
    (or matplotlib is missing)."""
    from framework.config import ConfigError, load_config
    from framework.journal.errors import JournalError

    missing = missing_matplotlib()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2

    try:
        cfg = load_config(config).calibration
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if out is not None and out.is_dir():
        print(
            f"error: --out {out} is a directory; name the HTML file, e.g. {out / REPORT_NAME}",
            file=sys.stderr,
        )
        return 2
    try:
        result = report_to(journal, out, cfg)
    except JournalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"error: --out {out or journal / REPORT_NAME}: cannot write the report: {exc}",
            file=sys.stderr,
        )
        return 2
    print(f"report: {result.out} ({result.seconds:.2f} s)")
    return 0


def report_to(journal: Path, out: Path | None, cfg: CalibrationConfig) -> ReportResult:
    """:func:`build_report`, warnings (an incomplete journal) on stderr."""
    result = build_report(journal, out, cfg)
    for line in result.problems:
        print(f"warning: {journal} is incomplete: {line}", file=sys.stderr)
    return result


def session_report(journal: Path, cfg: CalibrationConfig | None = None) -> int:
    """The report at the end of a session (``paper --report``): its path on stdout and 0,
    or one error line on stderr and 1 (the journal stays as it is; ``market-maker report
    DIR`` can be re-run on it)."""
    from framework.journal.errors import JournalError

    missing = missing_matplotlib()
    if missing:
        print(
            f"error: {missing}; the journal is intact, report it later with: "
            f"market-maker report {journal}",
            file=sys.stderr,
        )
        return 1
    try:
        result = report_to(journal, None, cfg or CalibrationConfig())
    except (JournalError, OSError) as exc:
        print(
            f"error: the report of {journal} failed: {exc}; the journal is intact, "
            f"retry with: market-maker report {journal}",
            file=sys.stderr,
        )
        return 1
    print(f"report: {result.out} ({result.seconds:.2f} s)")
    return 0
