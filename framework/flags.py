"""Checks of command-line values, run before a command connects, reads or writes anything.

Each check raises :class:`framework.exits.UsageError` naming the flag, the value and the
fix in one line, so a typo costs no connection, no half journal and no traceback.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from framework.exits import UsageError

__all__ = [
    "base_url",
    "coin_override",
    "fresh_out",
    "journal_dir",
    "new_out",
    "port",
    "queue_model",
    "seconds",
    "spread_profile",
]

MAKE_ONE = (
    "record one with `market-maker record`, import one with `market-maker import` or "
    "generate one with `market-maker synth`"
)


def journal_dir(flag: str, path: Path) -> Any:
    """The manifest of the journal ``path`` names, or a UsageError saying what it is not."""
    from framework.journal.errors import ManifestError, NewerFormatError
    from framework.journal.manifest import MANIFEST_NAME, read_manifest

    path = Path(path)
    if not path.exists():
        raise UsageError(
            f"{flag} {path}: no such directory; pass a journal directory (one holding "
            f"{MANIFEST_NAME}, e.g. recordings/sample-hype), or {MAKE_ONE}"
        )
    if not path.is_dir():
        raise UsageError(f"{flag} {path}: a file, not a journal directory; pass its directory")
    if not (path / MANIFEST_NAME).exists():
        raise UsageError(f"{flag} {path}: not a journal (no {MANIFEST_NAME}); {MAKE_ONE}")
    try:
        return read_manifest(path)
    except NewerFormatError as exc:
        raise UsageError(f"{flag} {path}: {exc}") from exc
    except ManifestError as exc:
        why = exc.__cause__ or exc
        raise UsageError(
            f"{flag} {path}: {path / MANIFEST_NAME} is unreadable ({why}); restore it from "
            "a copy or re-create the journal"
        ) from exc


def port(flag: str, value: int) -> int:
    if not 0 <= value <= 65535:
        raise UsageError(f"{flag} {value}: not a TCP port; use 1-65535, or 0 for a free one")
    return value


def seconds(flag: str, value: float, *, zero: str | None = None) -> float:
    """A finite, non-negative number of seconds (``zero`` says what 0 means)."""
    if not (math.isfinite(value) and value >= 0):
        hint = f" (0 = {zero})" if zero else ""
        raise UsageError(f"{flag} {value:g}: must be a number of seconds >= 0{hint}")
    return value


def spread_profile(value: str | None) -> None:
    from framework.config import PROFILES

    if value is not None and value not in PROFILES:
        names = ", ".join(
            f"{k} ({p.band_bps[0]:g}-{p.band_bps[1]:g} bps)" for k, p in PROFILES.items()
        )
        raise UsageError(f"--spread-profile {value!r}: unknown profile; use one of {names}")


def queue_model(value: str | None) -> None:
    from framework.fills.queue import make_queue

    if value is None:
        return
    try:
        make_queue(value)
    except ValueError as exc:
        # make_queue's message reads "queue='x': unknown queue model; use ...": keep the
        # reason and the names it lists, under the flag's name
        reason = str(exc).partition(": ")[2] or str(exc)
        raise UsageError(f"--queue-model {value!r}: {reason}") from None


def base_url(value: str) -> str:
    """An http(s) URL with a host: the REST base the WS URL is derived from too."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--base-url {value!r}: not an http(s) URL; use e.g. https://api.hyperliquid.xyz "
            "or http://127.0.0.1:3001 (a local sim-exchange)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise UsageError(f"--base-url {value!r}: bad port; use 1-65535") from None
    return value


def new_out(flag: str, out: Path | None) -> None:
    """Refuse an output directory that cannot take a new journal (it holds one, or a
    journal's tables without its manifest, or it is a file)."""
    from framework.journal.outdir import occupied

    why = occupied(out) if out is not None else None
    if why is not None:
        raise UsageError(f"{flag} {out}: {why}")


def fresh_out(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``, ... : the first that does not exist yet (a
    default output directory; never one a previous run wrote)."""
    path = Path(path)
    n = 1
    candidate = path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def coin_override(config: Path | None, coin: str, by: str) -> str | None:
    """The warning when ``config`` sets ``[strategy] coin`` (or ``[orders] coin``) to
    something other than ``coin``, which ``by`` (the recording, ``--asset``) imposes."""
    if config is None:
        return None
    try:
        data = tomllib.loads(Path(config).read_text())
    except (OSError, tomllib.TOMLDecodeError):  # the config loader reports these itself
        return None
    for section in ("strategy", "orders"):
        table = data.get(section)
        given = table.get("coin") if isinstance(table, dict) else None
        if given is not None and given != coin:
            return (
                f"--config {config}: [{section}] coin = {given!r} is ignored: {by} sets the "
                f"coin to {coin!r}; remove the key from the config"
            )
    return None


def paper_checkpoint(path: Path | None) -> Any:
    """The prior ``--paper-checkpoint`` names, loaded and checked (None without the flag).

    Raises PriorError (a usage error: exit 2) naming the file and the problem.
    """
    if path is None:
        return None
    from framework.calibration.prior import load_prior

    return load_prior(path)
