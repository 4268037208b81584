"""The engine's exp / log / log1p / pow: close to libm's, and the same bits everywhere.

"Everywhere": compiled and interpreted, and whichever variant of glibc's libm the CPU
selects (the FMA one, or the one ``GLIBC_TUNABLES`` leaves when FMA is hidden).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from framework.kernel import fpmath

REPO = Path(__file__).resolve().parents[2]
NO_FMA = {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX"}


def _ulps(a: float, b: float) -> int:
    ia, ib = (struct.unpack("<q", struct.pack("<d", v))[0] for v in (a, b))
    return abs(ia - ib)


def _inputs(seed: int = 5) -> dict[str, list]:
    """Inputs drawn without libm (so every process draws the same ones)."""
    rnd = random.Random(seed)
    mags = [2.0 ** rnd.randint(-1070, 1020) * rnd.uniform(1.0, 2.0) for _ in range(20000)]
    return {
        "exp": [rnd.uniform(-745.0, 709.0) for _ in range(20000)]
        + [rnd.uniform(-1.0, 1.0) for _ in range(20000)]
        + [rnd.uniform(-1e-9, 1e-9) for _ in range(2000)],
        "log": mags
        + [rnd.uniform(0.5, 2.0) for _ in range(20000)]
        + [1.0 + rnd.uniform(-1e-7, 1e-7) for _ in range(2000)]
        + [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308],
        "log1p": [rnd.uniform(-0.999999, 10.0) for _ in range(20000)]
        + [rnd.uniform(-1e-9, 1e-9) for _ in range(2000)]
        + [2.0 ** rnd.randint(-60, 60) * rnd.uniform(1.0, 2.0) for _ in range(5000)],
        "pow": [(rnd.uniform(0.0, 1e4), rnd.uniform(-3.0, 3.0)) for _ in range(20000)]
        + [(1.0 + rnd.uniform(0.0, 1e4), 0.7) for _ in range(5000)],
    }


def _digest(mod) -> str:
    h = hashlib.sha256()
    ins = _inputs()
    for name in ("exp", "log", "log1p"):
        fn = getattr(mod, name)
        h.update(struct.pack(f"<{len(ins[name])}d", *map(fn, ins[name])))
    h.update(struct.pack(f"<{len(ins['pow'])}d", *(mod.pow(x, y) for x, y in ins["pow"])))
    return h.hexdigest()


def test_close_to_libm():
    ins = _inputs()
    assert max(_ulps(fpmath.exp(x), math.exp(x)) for x in ins["exp"]) <= 1
    assert max(_ulps(fpmath.log(x), math.log(x)) for x in ins["log"]) <= 1
    assert max(_ulps(fpmath.log1p(x), math.log1p(x)) for x in ins["log1p"]) <= 2
    for x, y in ins["pow"]:
        want = x**y
        if 0.0 < want < 1e300 and x > 0.0:
            # exp(y log x): the rounding of y log x, relative, becomes the result's
            bound = 2 + 2 * abs(y * math.log(x))
            assert _ulps(fpmath.pow(x, y), want) <= bound, (x, y)


def test_special_values_and_errors_follow_math():
    inf, nan = math.inf, math.nan
    assert fpmath.exp(0.0) == 1.0 and fpmath.log(1.0) == 0.0 and fpmath.log1p(0.0) == 0.0
    assert math.copysign(1.0, fpmath.log1p(-0.0)) == -1.0
    assert fpmath.exp(-inf) == 0.0 and fpmath.exp(-746.0) == 0.0 and fpmath.exp(inf) == inf
    assert fpmath.log(inf) == inf and fpmath.log1p(inf) == inf
    assert fpmath.exp(709.0) == pytest.approx(math.exp(709.0), rel=1e-15)
    assert fpmath.exp(-740.0) == pytest.approx(math.exp(-740.0), rel=1e-6)  # subnormal
    for fn in (fpmath.exp, fpmath.log, fpmath.log1p):
        assert math.isnan(fn(nan))
    assert math.isnan(fpmath.pow(nan, 2.0)) and math.isnan(fpmath.pow(2.0, nan))
    assert fpmath.pow(0.0, 2.0) == 0.0 and fpmath.pow(5.0, 0.0) == 1.0
    assert fpmath.pow(1.0, 1e308) == 1.0 and fpmath.pow(2.0, 10.0) == pytest.approx(1024.0)
    with pytest.raises(ValueError, match="math domain error"):
        fpmath.log(0.0)
    with pytest.raises(ValueError, match="math domain error"):
        fpmath.log(-1.0)
    with pytest.raises(ValueError, match="math domain error"):
        fpmath.log1p(-1.0)
    with pytest.raises(OverflowError, match="math range error"):
        fpmath.exp(710.0)
    with pytest.raises(OverflowError):
        fpmath.pow(1e300, 2.0)
    with pytest.raises(ZeroDivisionError):
        fpmath.pow(0.0, -1.0)
    with pytest.raises(ValueError, match="negative base"):
        fpmath.pow(-2.0, 0.5)
    assert fpmath.square(3.0) == 9.0 and fpmath.square(-inf) == inf
    with pytest.raises(OverflowError, match="math range error"):
        fpmath.square(1e300)


def test_compiled_and_interpreted_give_the_same_bits():
    # The module's source, imported under another name: always the interpreted path.
    path = Path(fpmath.__file__).with_name("fpmath.py")
    spec = importlib.util.spec_from_file_location("fpmath_source", path)
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    assert not source.cython.compiled
    assert _digest(source) == _digest(fpmath)


def test_the_same_bits_with_libm_s_non_fma_variant():
    code = (
        "from tests.kernel.test_fpmath import _digest; from framework.kernel import fpmath;"
        "print(_digest(fpmath))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for env in ({}, NO_FMA, {"MM_KERNEL": "python", **NO_FMA})
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert len({r.stdout for r in runs}) == 1
