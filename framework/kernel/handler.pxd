# The C declarations of handler.py (cimported by engine_loop and market): a kernel
# component's per-event entry, called by the engine as a C method.

cdef class Handler:
    cpdef void handle(self, int route, object cols, Py_ssize_t i) except *
    cpdef void on_tick(self, int route, long long t) except *
    cpdef void on_return(self, long long t, object r, long long k) except *

cdef class Route:
    cdef readonly Handler target
    cdef readonly int code

cdef class Tick:
    cdef readonly Handler target
    cdef readonly int code

cdef class Clock:
    cdef public long long now
