"""Keep pyarrow from importing pandas when nothing asks for pandas.

pyarrow's ``pa.array`` and ``Array.to_numpy`` ask its lazy pandas shim whether an
object is a pandas one, and the shim's first probe imports pandas: 0.3 s that every
command reading or writing a journal paid, and that a paper or live session paid
mid-session at its first flush.  :func:`settle_pandas_probe` answers that first probe
with pandas hidden, so the shim records "no pandas" for its lazy checks.  Nothing is
lost: pyarrow retries the import whenever a call needs pandas itself
(``Table.to_pandas``, ``pa.Table.from_pandas``, a pandas object passed in), and a test
checks that it still does, so a pyarrow that changes this fails the tests instead of
breaking notebooks.
"""

from __future__ import annotations

import sys
import threading

import pyarrow as pa

_done = False
_lock = threading.Lock()


class _HidePandas:
    """A meta-path finder that makes ``import pandas`` fail (installed briefly)."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is hidden while pyarrow's shim settles (see pyarrow_shim)")
        return None


def settle_pandas_probe() -> None:
    """Run pyarrow's first pandas probe with pandas hidden (once; a no-op when pandas
    is already imported, since then the probe costs nothing)."""
    global _done
    if _done:
        return
    with _lock:
        if _done or "pandas" in sys.modules:
            _done = True
            return
        sys.meta_path.insert(0, _HidePandas)
        try:
            pa.array([0])
        finally:
            sys.meta_path.remove(_HidePandas)
            _done = True
