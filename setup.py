"""Builds the typed kernel (``framework/kernel/*.py``, Cython pure-Python mode).

Everything else is in ``pyproject.toml``.  Floating point is compiled exactly as
written: no contraction into fused multiply-adds, no fast-math reassociation, so the
compiled kernel writes the same bits as the interpreted one on any CPU.  Where no C
compiler (or no Cython) is present the build says so and the kernel runs interpreted;
``MM_NO_COMPILE=1`` asks for that on purpose.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNEL = Path("framework") / "kernel"
# Exact IEEE arithmetic in C: what `replay --verify` relies on across machines.
CFLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math", "-fexcess-precision=standard"]


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

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(
                f"warning: {ext.name} was not compiled ({exc}); it runs interpreted",
                file=sys.stderr,
            )


setup(ext_modules=kernel_extensions(), cmdclass={"build_ext": OptionalBuildExt})
