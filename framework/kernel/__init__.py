"""The typed kernel: the hot loops, in Cython's pure-Python mode.

Every module here is ordinary Python that Cython compiles (``setup.py`` lists them;
``pip install -e .`` builds them in place with a C compiler).  The same source runs
interpreted where no compiler built it, and both paths must write identical journals
(a test runs a backtest under each and compares every table).

Which path is imported, per module:

* ``MM_KERNEL=python`` in the environment: the Python source, always (how the tests
  check the compiled path against the interpreted one);
* otherwise the compiled extension, when there is one and it was built from the source
  beside it (``setup.py`` records the sha256 of each source, with the kernel's ``.pxd``
  declarations, in ``_build.json``; an edited ``.py`` or ``.pxd`` beside a stale build
  runs interpreted, with a warning to rebuild, instead of
  silently running the old code);
* otherwise the Python source.

:func:`status` says which, for the manifest.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import json
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


_STAMP = _HERE / "_build.json"  # written by setup.py: module -> _source_digest


@functools.cache
def _built_from() -> dict[str, str]:
    try:
        return json.loads(_STAMP.read_text())
    except (OSError, ValueError):
        return {}


@functools.cache
def _choose(leaf: str) -> Path | None:
    """The extension to import for kernel module ``leaf``, or None for its source: none
    when forced, or when the source is not the one the extension was built from (by
    content, as setup.py recorded it; file times cannot say it, a wheel install writes
    the .py after the .so)."""
    if _FORCE_PYTHON:
        return None
    ext = _extension(leaf)
    if ext is None:
        return None
    want = _built_from().get(leaf)
    if want is None:
        return None  # built by something that did not record its source: not trusted
    return ext if _source_digest(leaf) == want else None


def _source_digest(leaf: str) -> str:
    """sha256 of module ``leaf``'s source, of the kernel's ``.pxd`` files (the C
    declarations a module may cimport) and of the kernel modules they declare (a
    compiled module calls their C functions: it cannot run beside their interpreted
    source), as setup.py records it for a build."""
    h = hashlib.sha256((_HERE / f"{leaf}.py").read_bytes())
    for pxd in sorted(_HERE.glob("*.pxd")):
        h.update(pxd.read_bytes())
        if pxd.with_suffix(".py").exists():
            h.update(pxd.with_suffix(".py").read_bytes())
    return h.hexdigest()


def _sources() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.py") if p.name != "__init__.py")


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
        ext = _choose(leaf)
        if ext is None and not _FORCE_PYTHON and _extension(leaf) is not None:
            warnings.warn(
                f"{src.name} is not the source its compiled build was made from: running "
                "it interpreted; rebuild with `pip install --no-deps --no-build-isolation -e .`",
                RuntimeWarning,
                stacklevel=2,
            )
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


def build() -> str:
    """``"compiled"``, ``"interpreted"`` or ``"mixed"``: what importing the kernel
    modules would load here (the manifest records it; both paths write the same bits)."""
    chosen = {_choose(leaf) is not None for leaf in _sources()}
    if chosen == {True}:
        return "compiled"
    return "mixed" if len(chosen) == 2 else "interpreted"
