"""The journal writer's typed append keeps the writer's bookkeeping as its Python did:
the highest seq and seq order, each table's buffer, count and first seq, the
write-ahead log's pending rows, a flush at ``flush_rows`` (on the flush thread for a
flush-behind writer) and the time check every 256 appends; compiled and interpreted."""

from __future__ import annotations

from types import ModuleType

import pytest

from framework.kernel import rowbuffer
from tests.kernel.source import interpreted

_INTERPRETED = interpreted("rowbuffer")


def _buffer(module: ModuleType, *, flush_rows: int, behind: bool = False, wal: bool = False):
    class Recording(module.RowBuffer):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list = []
            self._rows = {"a": [], "b": []}
            self._buffered = {"a": 0, "b": 0}
            self._first = {"a": 0, "b": 0}
            self.flush_rows = flush_rows
            self._behind = behind
            self._wal = object() if wal else None

        def flush(self, kinds) -> None:
            self.calls.append(("flush", kinds, self._buffered[kinds[0]]))
            for k in kinds:
                self._rows[k], self._buffered[k] = [], 0

        def _flush_behind(self) -> None:
            self.calls.append(("behind",))

        def maybe_flush(self) -> None:
            self.calls.append(("maybe", self._appends))

    return Recording()


@pytest.mark.parametrize("module", [rowbuffer, _INTERPRETED], ids=["loaded", "interpreted"])
def test_append_keeps_the_writer_s_bookkeeping(module: ModuleType) -> None:
    buf = _buffer(module, flush_rows=3, wal=True)
    assert buf.flush_rows == 3 and buf._high == -1 and buf._ordered
    buf.append("a", (10, 0, 0, "x"))
    buf.append("b", (11, 0, 0, "y"))
    buf.append("a", (12, 0, 0, "z"))
    assert (buf._high, buf._ordered) == (12, True)
    assert buf._rows == {"a": [(10, 0, 0, "x"), (12, 0, 0, "z")], "b": [(11, 0, 0, "y")]}
    assert buf._buffered == {"a": 2, "b": 1} and buf._first == {"a": 10, "b": 11}
    assert buf._wal_pending == [
        ("a", (10, 0, 0, "x")),
        ("b", (11, 0, 0, "y")),
        ("a", (12, 0, 0, "z")),
    ]
    buf.append("a", (13, 0, 0, "w"))  # the third row of a: its table is flushed
    assert buf.calls == [("flush", ("a",), 3)]
    buf.append("b", (5, 0, 0, "late"))  # a seq below the highest: order is lost
    assert (buf._high, buf._ordered) == (13, False)


@pytest.mark.parametrize("module", [rowbuffer, _INTERPRETED], ids=["loaded", "interpreted"])
def test_a_flush_behind_writer_hands_over_and_the_clock_is_checked_every_256(
    module: ModuleType,
) -> None:
    buf = _buffer(module, flush_rows=1_000, behind=True)
    for seq in range(600):
        buf.append("a", (seq, 0, 0))
    assert buf.calls == [("maybe", 256), ("maybe", 512)]
    buf.flush_rows = 601
    buf.append("a", (600, 0, 0))
    assert buf.calls[-1] == ("behind",)
    assert buf._wal_pending == []  # no log: nothing pending
