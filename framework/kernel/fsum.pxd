# The C signatures of fsum.py's functions, for the kernel modules that cimport them
# (hmm_estep, hmm_fit): a C call, no Python frame.  Errors propagate as in Python.

cpdef double fsum(object xs) except? -1.0
cpdef double fsum_view(const double[::1] xs) except? -1.0
cpdef double fvar(object x, Py_ssize_t ddof=*) except? -1.0
