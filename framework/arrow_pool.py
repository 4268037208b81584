"""Which allocator Arrow's buffers come from: jemalloc, not pyarrow's default mimalloc.

A backtest decodes the book's level lists batch after batch (a few MB each, freed
once the engine has stepped them).  mimalloc hands those pages back to the kernel and
faults in fresh ones for the next batch, which the kernel zeroes: as transparent huge
pages, 2 MB at a time.  Measured on the 24 h peer capture (``cli.py backtest``, whole
process, 4 interleaved runs each):

* mimalloc: 5.10-5.55 s wall, 1.97-2.20 s of it system time (``clear_page_erms``
  under ``mi_page_free_list_extend`` in a ``perf`` profile), peak RSS 269-284 MB;
* jemalloc: 3.75-4.18 s, 0.26-0.30 s system, 206-212 MB;
* the system's malloc: 3.99-4.26 s, 0.24-0.29 s system, 211-225 MB.

The 7-day backtest peaks at 256 MB with jemalloc, 336 MB with mimalloc.  The
allocator changes no value the engine computes.

Arrow's C++ picks its default pool once, from ``ARROW_DEFAULT_MEMORY_POOL``, when
pyarrow loads; ``pyarrow.set_memory_pool`` later reaches only pyarrow's own calls, not
the Parquet decoder's.  So :func:`prefer_jemalloc` sets the variable, and
``framework/__init__.py`` calls it before anything imports pyarrow.  It leaves alone a
variable the user set, a process that imported pyarrow first, and platforms where the
wheels are not known to carry jemalloc (Arrow would warn and keep its default).
"""

from __future__ import annotations

import os
import sys

ENV = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_jemalloc() -> bool:
    """Ask Arrow for jemalloc (see the module doc); True when this call set ``ENV``."""
    if os.environ.get(ENV, "").strip() or "pyarrow" in sys.modules:
        return False
    if not sys.platform.startswith("linux"):
        return False  # measured on Linux; elsewhere Arrow's default stays
    os.environ[ENV] = "jemalloc"
    return True
