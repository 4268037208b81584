"""Exit codes and the command line's error boundary: one line per failure, no traceback.

Exit codes::

    0  done
    1  runtime failure: the work started and failed (network, venue, engine, a corrupt
       part found midway, a replay divergence) or an unexpected error (a bug)
    2  usage or config error: the command line, or a file or port it names, cannot be
       used as given (bad flag value, missing or unreadable journal, bad config, an
       output that already holds a journal, a port in use); nothing was done

The project's own exceptions are mapped to a code by class (:data:`USAGE`, :data:`RUNTIME`)
and reported as ``error: <their message>``; their messages already name the field, flag
or file and the fix.  Anything else is a bug: one line names the exception and the file
its full traceback was written to (``traceback.txt`` in the session's journal directory
when the session got that far, else ``<tempdir>/market-maker/traceback-<time>-<pid>.txt``);
``--debug`` prints the traceback instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "exit_code",
    "note_session",
    "report",
    "report_unexpected",
    "reset",
    "set_debug",
    "warn",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class UsageError(ValueError):
    """A flag's value, or a file or port the command line names, cannot be used.

    The message names the flag (or file) and the fix, in one line.
    """


#: (module, class name) of the project's usage/config errors, checked before RUNTIME
#: (ManifestError is a JournalError, AssetNotFoundError a HyperliquidError).
USAGE: tuple[tuple[str, str], ...] = (
    ("framework.exits", "UsageError"),
    ("framework.config", "ConfigError"),
    ("framework.engine.drive", "ComponentError"),
    ("framework.synth.params", "SynthParamError"),
    ("framework.environments.backtest", "BacktestError"),
    ("framework.journal.errors", "ManifestError"),
    ("framework.hyperliquid.errors", "AssetNotFoundError"),
    ("framework.hyperliquid.errors", "KeyLoadError"),
    ("framework.recordings.errors", "FileFormatError"),
    ("framework.calibration.prior", "PriorError"),
)

#: (module, class name) of the project's runtime failures.
RUNTIME: tuple[tuple[str, str], ...] = (
    ("framework.environments.paper", "PaperError"),
    ("framework.environments.live", "LiveError"),
    ("framework.live.pipeline", "CalibrationGateError"),
    ("framework.engine.core", "EngineError"),
    ("framework.journal.errors", "JournalError"),
    ("framework.hyperliquid.errors", "HyperliquidError"),
    ("framework.recordings.errors", "RecordingError"),
)

_state: dict[str, object] = {"debug": False, "session": None}


def reset(*, debug: bool = False) -> None:
    """Start of a command: the debug flag, and no session directory yet."""
    _state["debug"] = debug
    _state["session"] = None


def set_debug(debug: bool) -> None:
    _state["debug"] = debug


def note_session(path: Path | str) -> None:
    """The journal directory of the running session: a traceback is written there."""
    _state["session"] = Path(path)


def _is(exc: BaseException, table: tuple[tuple[str, str], ...]) -> bool:
    # A class whose module was never imported cannot have been raised: look it up in
    # sys.modules rather than importing every subsystem to classify one error.
    for module, name in table:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def exit_code(exc: BaseException) -> int | None:
    """2 for a usage/config error, 1 for a runtime failure, None when not the project's."""
    if _is(exc, USAGE):
        return EXIT_USAGE
    if _is(exc, RUNTIME) or isinstance(exc, OSError):
        # OSError: the system refused (permission, disk full): its message names the path
        return EXIT_FAILURE
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report(exc: BaseException, code: int | None = None) -> int:
    """Print ``error: <message>`` (after the traceback under ``--debug``); the exit code.

    ``exc`` must be one of the project's errors (or ``code`` given).
    """
    if _state["debug"]:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"error: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr, flush=True)
    return code if code is not None else exit_code(exc) or EXIT_FAILURE


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr."""
    print(f"warning: {_one_line(message)}", file=sys.stderr, flush=True)


def _traceback_path() -> Path:
    session = _state["session"]
    if isinstance(session, Path) and session.is_dir():
        return session / "traceback.txt"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = Path(tempfile.gettempdir()) / "market-maker"
    return root / f"traceback-{stamp}-{os.getpid()}.txt"


def report_unexpected(exc: BaseException, argv: list[str] | None = None) -> int:
    """A bug: one line naming the exception and where its traceback went; exit code 1.

    Under ``--debug`` the traceback is printed instead of written.
    """
    what = f"{type(exc).__name__}: {_one_line(str(exc))}".rstrip(": ")
    if _state["debug"]:
        traceback.print_exception(exc, file=sys.stderr)
        print(f"error: unexpected {what} (a bug; traceback above)", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    text = "".join(traceback.format_exception(exc))
    if argv is not None:
        text = f"command: {' '.join(argv)}\n{text}"
    path: Path | str = "a traceback file"
    try:
        path = _traceback_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        where = f"full traceback in {path}"
    except OSError as write_exc:  # nowhere to write: print it rather than lose it
        sys.stderr.write(text)
        where = f"traceback above (could not write {path}: {write_exc.strerror})"
    print(
        f"error: unexpected {what} (a bug; {where}; rerun with --debug to print it)",
        file=sys.stderr,
        flush=True,
    )
    return EXIT_FAILURE
