"""``session.json``: what a journal is, and how to rebuild the engine that wrote it."""

from __future__ import annotations

import json
import os
import platform as _platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import cattrs

import framework
from framework.events.schema import TABLES, schema_fingerprint
from framework.journal.durable import commit, temp_path
from framework.journal.errors import ManifestError, NewerFormatError

MANIFEST_NAME = "session.json"
#: The journal format this code writes; it reads every format up to it.  2: the book
#: table's top-of-book columns (a format-1 journal reads the same: they are computed).
FORMAT_VERSION = 2

#: Config keys whose values never reach a journal (matched case-insensitively).
_SECRET_KEY = re.compile(r"(private|secret|passw|mnemonic|seed_phrase|api_key|keystore_pass)", re.I)
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@attrs.define
class Manifest:
    """The contents of ``session.json``.

    ``components`` lists what the engine was built from (``"module:Class"`` with its
    config), so ``replay`` rebuilds the same engine; ``seed`` seeds its generator.
    ``seq_stride`` is :data:`~framework.events.schema.SEQ_STRIDE` when every input's
    seq is a multiple of it (a backtest then links the input tables instead of
    re-sequencing them); 0 when not (journals from before strides, re-sequenced
    backtests).  ``parts`` is written at close: each table's part files and their row
    counts, so a reader tells a deleted, unreadable or foreign part by name; None in
    journals closed before it existed (their readers compare ``stats["rows"]`` only).
    ``prior`` names the copy of the prior checkpoint the session started from (in the
    journal, with its sha256), so replay warm-starts exactly as the session did.
    ``platform`` is the machine that created the journal
    (:func:`platform_info`; empty for journals from before it was recorded), so a
    replay that diverges elsewhere can be told apart from a bug.
    ``sz_decimals`` is the coin's ``szDecimals`` (size lot ``10**-n``, at
    most ``6 - n`` price decimals) when the journal knows it: from the venue's ``meta``
    (record), :mod:`framework.recordings.coins` or ``--sz-decimals`` (import); None when
    unknown.  A backtest quotes on this grid.
    """

    mode: str  # record | synthetic | paper | backtest | live | import | replay
    asset: str
    dex: str = ""
    coin: str = ""
    seed: int = 0
    synthetic: bool = False
    config: dict[str, Any] = attrs.Factory(dict)
    components: list[dict[str, Any]] = attrs.Factory(list)
    generator: dict[str, Any] = attrs.Factory(dict)
    source: dict[str, Any] = attrs.Factory(dict)
    code_version: str = attrs.Factory(lambda: code_version())
    format_version: int = FORMAT_VERSION
    tables: dict[str, str] = attrs.Factory(
        lambda: {t.name: schema_fingerprint(k) for k, t in TABLES.items()}
    )
    created_ns: int = 0
    closed: bool = False
    stats: dict[str, Any] = attrs.Factory(dict)
    seq_stride: int = 0
    parts: dict[str, dict[str, int]] | None = None
    #: A random id given when the journal is created ("" in journals from before it).
    session_id: str = ""
    #: The prior the session started from: {"file", "sha256", "from", ...}; None = cold.
    prior: dict[str, Any] | None = None
    platform: dict[str, Any] = attrs.Factory(lambda: platform_info())
    sz_decimals: int | None = None

    def __attrs_post_init__(self) -> None:
        # Component configs are journaled too (replay rebuilds the engine from them).
        self.config = scrub_secrets(self.config)
        self.components = scrub_secrets(self.components)
        if not self.coin:
            self.coin = f"{self.dex}:{self.asset}" if self.dex else self.asset


_converter = cattrs.Converter()


def scrub_secrets(obj: Any) -> Any:
    """A copy of ``obj`` without secret-looking keys or private-key-looking values."""
    if isinstance(obj, dict):
        return {
            k: scrub_secrets(v)
            for k, v in obj.items()
            if not (isinstance(k, str) and _SECRET_KEY.search(k))
        }
    if isinstance(obj, list | tuple):
        return [scrub_secrets(v) for v in obj]
    if isinstance(obj, str) and _HEX_KEY.match(obj):
        return "<redacted>"
    return obj


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    here = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        rev = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{framework.__version__}+{rev}" if rev else framework.__version__


#: Environment variables that change which numeric kernels a process runs.
KERNEL_ENV = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES",
              "GLIBC_TUNABLES", "MM_KERNEL")  # fmt: skip

#: CPU flags that select numeric kernels: glibc's libm picks its FMA variants of exp,
#: log and pow when FMA and AVX2 are usable (the engine uses framework.kernel.fpmath's
#: instead); numpy and OpenBLAS dispatch on AVX2 / AVX-512.
_KERNEL_FLAGS = ("avx", "avx2", "fma", "fma4", "avx512f")


def _cpuinfo() -> tuple[str, list[str]]:
    """CPU model name and its kernel-selecting flags, from /proc/cpuinfo (Linux)."""
    model, flags = "", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    have = set(value.split())
                    flags = [x for x in _KERNEL_FLAGS if x in have]
                if model and flags:
                    break
    except OSError:
        pass
    return model or _platform.processor(), flags


def platform_info() -> dict[str, Any]:
    """Where a journal was made, for diagnosing a replay that diverges on another machine.

    CPU model and kernel-selecting flags, machine, OS, libc, Python, numpy (its BLAS
    and the SIMD targets it dispatches to here), pyarrow, and any environment variable
    that overrides those choices (:data:`KERNEL_ENV`).
    """
    model, flags = _cpuinfo()
    info: dict[str, Any] = {
        "cpu": model,
        "cpu_flags": flags,
        "machine": _platform.machine(),
        "system": f"{_platform.system()} {_platform.release()}",
        "libc": " ".join(_platform.libc_ver()).strip(),
        "python": sys.version.split()[0],
    }
    try:
        import numpy as np

        info["numpy"] = np.__version__
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # diagnostics only: never fail a session over them
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

        info["numpy_dispatch"] = [x for x in __cpu_dispatch__ if __cpu_features__.get(x)]
    except Exception:
        pass
    try:
        import pyarrow

        info["pyarrow"] = pyarrow.__version__
    except ImportError:
        pass
    try:
        from framework.kernel import build

        info["kernel"] = build()
    except Exception:
        pass
    env = {k: os.environ[k] for k in KERNEL_ENV if k in os.environ}
    if env:
        info["env"] = env
    return info


def platform_diff(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Lines ``key: recorded -> current`` for every platform entry that differs."""
    keys = sorted(set(recorded) | set(current))
    return [
        f"{k}: {recorded.get(k, '-')!s} -> {current.get(k, '-')!s}"
        for k in keys
        if recorded.get(k) != current.get(k)
    ]


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Write ``session.json`` atomically (temp file, fsync, rename, fsync the directory)."""
    data = json.dumps(_converter.unstructure(manifest), indent=2, sort_keys=True)
    path = Path(root) / MANIFEST_NAME
    tmp = temp_path(path)
    tmp.write_text(data + "\n")
    commit(tmp, path)


def read_manifest(root: Path) -> Manifest:
    """Read ``session.json``.

    Raises
    ------
    ManifestError
        Naming the file and what is wrong with it.
    """
    path = Path(root) / MANIFEST_NAME
    if not path.exists():
        raise ManifestError(f"{path}: no session manifest; is {root} a journal directory?")
    try:
        raw = json.loads(path.read_text())
        # A journal from before the platform record has none (not this machine's).
        if isinstance(raw, dict):
            raw.setdefault("platform", {})
        manifest = _converter.structure(raw, Manifest)
    except (json.JSONDecodeError, cattrs.BaseValidationError, TypeError, KeyError) as exc:
        raise ManifestError(f"{path}: unreadable manifest ({exc})") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise NewerFormatError(
            f"{path}: written in journal format {manifest.format_version} by a newer version "
            f"of this framework; this one reads formats up to {FORMAT_VERSION}: upgrade "
            "to read it"
        )
    return manifest
