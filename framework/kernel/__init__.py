"""The typed kernel: the hot loops, in Cython's pure-Python mode.

Every module here is ordinary Python that Cython compiles (``setup.py`` lists them;
``pip install -e .`` builds them in place with a C compiler).  The same source runs
interpreted where no compiler built it, and both paths must write identical journals
(a test runs a backtest under each and compares every table).

Which path is imported, per module:

* ``MM_KERNEL=python`` in the environment: the Python source, always (how the tests
  check the compiled path against the interpreted one);
* otherwise the compiled extension, when there is one and it is not older than its
  source (an edited ``.py`` beside a stale build runs interpreted, with a warning to
  rebuild, instead of silently running the old code);
* otherwise the Python source.

:func:`status` says which, for the manifest.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_FORCE_PYTHON = os.environ.get("MM_KERNEL", "").strip().lower() == "python"


def _extension(leaf: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        p = _HERE / f"{leaf}{suffix}"
        if p.exists():
            return p
    return None


class _KernelFinder:
    """Chooses between a kernel module's extension and its source (see the module doc)."""

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None):
        prefix = __name__ + "."
        if not name.startswith(prefix) or "." in name[len(prefix) :]:
            return None
        leaf = name[len(prefix) :]
        src = _HERE / f"{leaf}.py"
        if not src.exists():
            return None
        ext = None if _FORCE_PYTHON else _extension(leaf)
        if ext is not None and ext.stat().st_mtime < src.stat().st_mtime:
            warnings.warn(
                f"{src.name} is newer than its compiled build {ext.name}: running it "
                "interpreted; rebuild with `pip install --no-build-isolation -e .`",
                RuntimeWarning,
                stacklevel=2,
            )
            ext = None
        if ext is None:
            return importlib.util.spec_from_file_location(name, src)
        loader = importlib.machinery.ExtensionFileLoader(name, str(ext))
        return importlib.util.spec_from_file_location(name, ext, loader=loader)


if _KernelFinder not in sys.meta_path:
    sys.meta_path.insert(0, _KernelFinder)


def status() -> dict[str, str]:
    """``{module: "compiled" | "interpreted"}`` for the kernel modules imported so far."""
    out: dict[str, str] = {}
    for name, mod in sorted(sys.modules.items()):
        if name.startswith(__name__ + ".") and mod is not None:
            compiled = str(getattr(mod, "__file__", "")).endswith(
                tuple(importlib.machinery.EXTENSION_SUFFIXES)
            )
            out[name.rsplit(".", 1)[1]] = "compiled" if compiled else "interpreted"
    return out
