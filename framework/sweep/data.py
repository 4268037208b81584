"""Where a sweep's recordings are: a local (or shared) directory, or a URI pyarrow opens.

A ``--recording`` is either a path every worker can read (on one machine any path; on a
cluster a shared filesystem mounted at the same path on every node) or a URI of any
filesystem :func:`pyarrow.fs.FileSystem.from_uri` opens: ``s3://bucket/recordings/day1``
(credentials from the usual AWS environment variables or instance role),
``gs://...``, ``hdfs://...``, ``file:///...``.  A worker copies a URI recording once
into a node-local cache (``<tempdir>/market-maker/recordings/``) before its first trial
on it; the cache entry is named after the URI and a hash of the recording's manifest,
so a recording that changes at its URI is fetched again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from framework.exits import UsageError
from framework.journal.manifest import MANIFEST_NAME

__all__ = ["check_recording", "is_uri", "local_recording", "recording_names"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(location: str) -> bool:
    """Whether ``location`` is a URI (``scheme://...``) rather than a path."""
    return bool(_SCHEME.match(location))


def check_recording(location: str) -> str:
    """The recording as workers should name it: an absolute path, or the URI as given.

    Raises
    ------
    UsageError
        Not a journal (no manifest), or the URI's filesystem cannot be opened.
    """
    if not is_uri(location):
        from framework import flags

        flags.journal_dir("--recording", Path(location))
        return str(Path(location).resolve())
    fs, path = _open(location)
    import pyarrow.fs as pafs

    try:
        info = fs.get_file_info(f"{path.rstrip('/')}/{MANIFEST_NAME}")
    except OSError as exc:
        raise UsageError(f"--recording {location}: cannot be read ({exc})") from None
    if info.type != pafs.FileType.File:
        raise UsageError(
            f"--recording {location}: not a journal (no {MANIFEST_NAME} there); pass the "
            "directory that holds it"
        )
    return location


def _open(location: str):  # -> (pyarrow FileSystem, path)
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(location)
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(
            f"--recording {location}: pyarrow cannot open this URI ({exc}); use a local "
            "path or a URI of a filesystem pyarrow supports (s3://, gs://, hdfs://, file://)"
        ) from None


def local_recording(location: str, cache: Path | None = None) -> Path:
    """A local directory holding the recording (a URI is copied into the node's cache
    once: into a fresh directory, then renamed into place, so a half copy is never
    used)."""
    if not is_uri(location):
        return Path(location)
    import pyarrow.fs as pafs

    fs, path = _open(location)
    with fs.open_input_stream(f"{path.rstrip('/')}/{MANIFEST_NAME}") as f:
        manifest_hash = hashlib.sha256(f.read()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.rstrip("/").rsplit("/", 1)[-1]) or "recording"
    key = hashlib.sha256(location.encode()).hexdigest()[:12]
    cache = cache or Path(tempfile.gettempdir()) / "market-maker" / "recordings"
    target = cache / f"{name}-{key}-{manifest_hash}"
    if (target / MANIFEST_NAME).exists():
        return target
    staging = cache / f".{target.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        pafs.copy_files(path, str(staging), source_filesystem=fs)
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / MANIFEST_NAME).exists():  # not another worker's copy: a real failure
            raise
    return target


def recording_names(locations: list[str]) -> list[str]:
    """A directory name per recording for a trial's journals (``day1``, ``day1-2``, ...)."""
    names: list[str] = []
    for loc in locations:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", loc.rstrip("/").rsplit("/", 1)[-1]) or "recording"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names
