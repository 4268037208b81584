# The C signatures of fpmath.py's functions, for the kernel modules that cimport them
# (hmm_estep, market): a C call, no Python frame.  Errors propagate as in Python.

cpdef double exp(double x) except? -1.0
cpdef double log(double x) except? -1.0
cpdef double log1p(double x) except? -1.0
cpdef double pow(double x, double y) except? -1.0
