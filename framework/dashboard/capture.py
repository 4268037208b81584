"""Screenshots of the dashboard at a fixed interval, from headless Chromium.

``--capture DIR`` keeps a picture of what the operator would have seen: the page is
opened once in Debian's Chromium (driven by Playwright's Python API with
``executable_path``; Playwright's own browser downloads are never used), and saved as
``DIR/dashboard-<n>-<UTC time>.png`` when it has its first state, every
``every_s`` seconds after that, and once more when the session ends.

It runs in a thread of its own (Playwright's sync API, its own browser process), so
a slow or crashed browser never holds up trading: a failure is one warning and the
captures stop; the session goes on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from framework.exits import UsageError, warn

__all__ = ["CAPTURE_EVERY_S", "CHROMIUM", "CHROMIUM_ARGS", "Capture", "check_capture", "chromium"]

#: Where Debian's ``chromium`` package puts the browser (``MARKET_MAKER_CHROMIUM``
#: overrides it).
CHROMIUM = "/usr/bin/chromium"
#: A fresh profile (``--user-data-dir``, given by Playwright's persistent context) and
#: nothing that phones home or updates itself.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
#: Seconds between captures (besides the first one and the last one).
CAPTURE_EVERY_S = 30.0
#: The browser window the page is laid out in.
VIEWPORT = {"width": 1400, "height": 900}


def chromium() -> str:
    """The Chromium executable to drive."""
    return os.environ.get("MARKET_MAKER_CHROMIUM") or CHROMIUM


def check_capture(directory: Path, flag: str = "--capture") -> None:
    """Refuse a capture that cannot work, before the session starts.

    Raises
    ------
    UsageError
        No Chromium at :func:`chromium`, Playwright missing, or ``directory`` is a file
        or cannot be created.
    """
    exe = chromium()
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise UsageError(
            f"{flag} {directory}: needs Chromium at {exe}; install it (Debian: "
            "apt-get install chromium) or set MARKET_MAKER_CHROMIUM to its path"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise UsageError(
            f"{flag} {directory}: needs the Python package playwright "
            "(pip install playwright; no browser download is needed)"
        ) from None
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{flag} {directory}: is a file; name a directory for the PNGs")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {directory}: cannot create it ({exc.strerror})") from None


class Capture:
    """Saves PNGs of the page at ``url`` into ``directory`` from a background thread.

    Parameters
    ----------
    url : str
        The dashboard page.
    directory : Path
        Where the PNGs go (created).
    every_s : float
        Seconds between captures.
    """

    def __init__(self, url: str, directory: Path, every_s: float = CAPTURE_EVERY_S) -> None:
        self.url = url
        self.directory = Path(directory)
        self.every_s = every_s
        self.paths: list[Path] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="dashboard-capture", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Take the last picture and close the browser."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the thread -----------------------------------------------------------------------
    def _path(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return self.directory / f"dashboard-{len(self.paths) + 1:05d}-{stamp}.png"

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        profile = tempfile.mkdtemp(prefix="mm-chromium-")
        try:
            with sync_playwright() as pw:
                ctx = pw.chromium.launch_persistent_context(
                    profile,
                    executable_path=chromium(),
                    headless=True,
                    args=list(CHROMIUM_ARGS),
                    viewport=VIEWPORT,
                )
                try:
                    page = ctx.new_page()
                    page.goto(self.url, wait_until="load", timeout=15_000)
                    # the first picture once the page shows a state (or after 10 s anyway)
                    deadline = time.monotonic() + 10
                    while not self._stop.is_set() and time.monotonic() < deadline:
                        if page.evaluate("() => (window.__mm || {}).updates > 0"):
                            break
                        self._stop.wait(0.1)
                    while True:
                        path = self._path()
                        page.screenshot(path=str(path), full_page=True)
                        self.paths.append(path)
                        if self._stop.is_set():
                            break
                        if self._stop.wait(self.every_s):
                            page.wait_for_timeout(300)  # the final state reaches the page
                finally:
                    ctx.close()
        except Exception as exc:  # a capture never stops the session
            self.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            warn(f"--capture {self.directory}: screenshots stopped: {self.error}")
        finally:
            shutil.rmtree(profile, ignore_errors=True)
