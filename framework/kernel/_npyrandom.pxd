# numpy's C API for its random generators (numpy/random/bitgen.h, distributions.h):
# the bit generator behind a Generator and the two functions Generator.random() and
# Generator.integers(n) call for one value.  The functions are linked from numpy's
# libnpyrandom (shipped for extensions, numpy/random/lib), so they are numpy's code.
from libc.stdint cimport uint32_t, uint64_t


cdef extern from "numpy/random/bitgen.h":
    struct bitgen:
        void *state
        uint64_t (*next_uint64)(void *st) nogil
        uint32_t (*next_uint32)(void *st) nogil
        double (*next_double)(void *st) nogil
        uint64_t (*next_raw)(void *st) nogil

    ctypedef bitgen bitgen_t


cdef extern from "numpy/random/distributions.h":
    double random_standard_uniform(bitgen_t *bitgen_state) nogil
    void random_bounded_uint64_fill(bitgen_t *bitgen_state, uint64_t off, uint64_t rng,
                                    Py_ssize_t cnt, bint use_masked, uint64_t *out) nogil
