"""Single draws from the engine's generator: numpy's values, without numpy's per-call cost.

A ``Generator.random()`` or ``Generator.integers(n)`` for one value goes through
numpy's array machinery (argument arrays, dtype checks, a lock, a numpy scalar back):
0.5-1.5 µs in a quiet loop and 3-6 µs inside a backtest (measured: the Q-learner's two
draws a decision cost 9 µs there).  :func:`uniform` and :func:`below` return the same
values and leave the generator in the same state, because compiled they call the very
C functions numpy calls for one value (``random_standard_uniform`` and
``random_bounded_uint64_fill`` with Lemire's method, numpy's ``libnpyrandom``) on the
generator's own bit generator.  Interpreted, they are the numpy calls.

numpy holds the bit generator's lock around a draw; these do not: the engine's
generator is used by the engine's thread only.  Anything that is not a numpy
``Generator`` (a test's stand-in) is asked through its own methods.
"""

from __future__ import annotations

import cython
import numpy as np

_GENERATOR = np.random.Generator

if cython.compiled:
    from cython.cimports.cpython.pycapsule import PyCapsule_GetPointer
    from cython.cimports.framework.kernel._npyrandom import (
        bitgen_t,
        random_bounded_uint64_fill,
        random_standard_uniform,
    )
    from cython.cimports.libc.stdint import uint64_t


# The last generator drawn from and its bit generator (compiled only): a session draws
# from one generator, and its two attribute reads and the capsule lookup cost more than
# the draw.  The reference keeps the generator, and so the pointer, alive.
_last_rng = cython.declare(object, None)
_last_bitgen = cython.declare(cython.p_void, cython.NULL)


@cython.cfunc
@cython.inline
def _bitgen(rng: object) -> cython.pointer(bitgen_t):
    # compiled only: the bit generator of a numpy Generator (whose bit_generator is
    # read-only: the pointer stays the generator's for its life)
    global _last_rng, _last_bitgen
    if rng is not _last_rng:
        _last_bitgen = PyCapsule_GetPointer(rng.bit_generator.capsule, b"BitGenerator")
        _last_rng = rng
    return cython.cast(cython.pointer(bitgen_t), _last_bitgen)


@cython.ccall
def uniform(rng: object) -> cython.double:
    """``float(rng.random())``: a double in [0, 1)."""
    if cython.compiled and type(rng) is _GENERATOR:
        return random_standard_uniform(_bitgen(rng))
    return float(rng.random())


@cython.ccall
def below(rng: object, n: cython.longlong) -> cython.longlong:
    """``int(rng.integers(n))``: an integer in [0, n), for 1 <= n < 2⁶³."""
    if n < 1:
        raise ValueError(f"below(rng, n) needs n >= 1, got {n}")
    if cython.compiled and type(rng) is _GENERATOR:
        out: uint64_t = 0
        # numpy's scalar path: off 0, the closed range [0, n - 1], Lemire (not masked)
        random_bounded_uint64_fill(_bitgen(rng), 0, n - 1, 1, False, cython.address(out))
        return cython.cast(cython.longlong, out)
    return int(rng.integers(n))
