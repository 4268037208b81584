# The C signatures of gridfast.py's fast paths, for the kernel modules that cimport them
# (quotemath): a C call, no Python frame.

cpdef double round_price_fast(double px, int sz_decimals, int side)
cpdef double round_size_fast(double x, int sz_decimals, bint down)
