"""Builds the typed kernel (``framework/kernel/*.py``, Cython pure-Python mode).

Everything else is in ``pyproject.toml``.  Floating point is compiled exactly as
written: no contraction into fused multiply-adds, no fast-math reassociation, so the
compiled kernel writes the same bits as the interpreted one on any CPU.  Where no C
compiler (or no Cython) is present the build says so and the kernel runs interpreted;
``MM_NO_COMPILE=1`` asks for that on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNEL = Path("framework") / "kernel"
# Which source each extension was compiled from (sha256), beside the extensions: the
# kernel's importer runs a module interpreted when its source changed since the build.
# File times cannot say it: a wheel install writes the .py after the .so.
STAMP = "_build.json"
# Exact IEEE arithmetic in C: what `replay --verify` relies on across machines.
CFLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math", "-fexcess-precision=standard"]


def source_digest(kernel: Path, leaf: str) -> str:
    """sha256 of kernel module ``leaf``'s source, of the kernel's ``.pxd`` files (the C
    declarations a module may cimport) and of the modules they declare.
    framework/kernel/__init__.py computes the same to tell a build from a stale one."""
    h = hashlib.sha256((kernel / f"{leaf}.py").read_bytes())
    for pxd in sorted(kernel.glob("*.pxd")):
        h.update(pxd.read_bytes())
        if pxd.with_suffix(".py").exists():  # a module others cimport: they call its C
            h.update(pxd.with_suffix(".py").read_bytes())
    return h.hexdigest()


def _numpy_random() -> dict[str, list[str]]:
    """Compiler settings for a module that calls numpy's random C API (headers and the
    ``libnpyrandom`` numpy ships for extensions)."""
    import numpy as np

    lib = Path(np.__file__).parent / "random" / "lib"
    return {
        "include_dirs": [np.get_include()],
        "library_dirs": [str(lib)],
        "libraries": ["npyrandom"],
    }


#: Kernel modules that need more than Python's headers, and what.
EXTRA = {"draws": _numpy_random}


def kernel_extensions() -> list[Extension]:
    if os.environ.get("MM_NO_COMPILE"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("Cython is not installed: the kernel runs interpreted", file=sys.stderr)
        return []
    sources = sorted(p for p in KERNEL.glob("*.py") if p.name != "__init__.py")
    exts = [
        Extension(
            ".".join(p.with_suffix("").parts),
            [str(p)],
            extra_compile_args=CFLAGS,
            **(EXTRA[p.stem]() if p.stem in EXTRA else {}),
        )
        for p in sources
    ]
    return cythonize(
        exts,
        compiler_directives={"language_level": 3, "binding": False, "embedsignature": True},
        quiet=True,
    )


class OptionalBuildExt(build_ext):
    """A failed compile leaves the interpreted kernel in place instead of failing the
    install (a machine without gcc still runs, slower)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # compiler missing or broken
            print(
                f"warning: the kernel was not compiled ({exc}); it runs interpreted",
                file=sys.stderr,
            )
        self._stamp()

    def _stamp(self) -> None:
        """Write :data:`STAMP` (module -> sha256 of the source it was compiled from)
        beside the extensions built here and in the source tree."""
        built = {}
        for ext in self.extensions:
            leaf = ext.name.rsplit(".", 1)[1]
            outputs = (
                Path(self.get_ext_fullpath(ext.name)),
                KERNEL / Path(self.get_ext_filename(leaf)),
            )
            if any(o.exists() for o in outputs):
                built[leaf] = source_digest(KERNEL, leaf)
        text = json.dumps(built, indent=1, sort_keys=True) + "\n"
        for d in {KERNEL, Path(self.build_lib) / KERNEL}:
            if d.is_dir():
                (d / STAMP).write_text(text)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(
                f"warning: {ext.name} was not compiled ({exc}); it runs interpreted",
                file=sys.stderr,
            )


setup(ext_modules=kernel_extensions(), cmdclass={"build_ext": OptionalBuildExt})
