"""``session.json``: what a journal is, and how to rebuild the engine that wrote it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import attrs
import cattrs

import framework
from framework.events.schema import TABLES, schema_fingerprint
from framework.journal.durable import commit, temp_path
from framework.journal.errors import ManifestError

MANIFEST_NAME = "session.json"
FORMAT_VERSION = 1

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
    backtests).  ``sz_decimals`` is the coin's ``szDecimals`` (size lot ``10**-n``, at
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
        return _converter.structure(raw, Manifest)
    except (json.JSONDecodeError, cattrs.BaseValidationError, TypeError, KeyError) as exc:
        raise ManifestError(f"{path}: unreadable manifest ({exc})") from exc
