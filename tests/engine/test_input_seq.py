"""Live and paper inputs get strided seqs: multiples of SEQ_STRIDE, outputs in between."""

from __future__ import annotations

from pathlib import Path

from framework.engine import Engine, ListSink
from framework.events import Columns, Kind
from framework.events.schema import INPUT_KINDS, SEQ_STRIDE
from framework.journal import JournalReader
from tests.environments.test_paper import T0, book_msg, make_feed
from tests.stubs import book_row


class _Echo:
    """Emits ``n`` risk rows per book (outputs to fill the seqs after an input)."""

    name = "echo"

    def __init__(self, n: int) -> None:
        self.n = n

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        engine.subscribe(Kind.BOOK, self.on_book)

    def on_book(self, cols: Columns, i: int) -> None:
        for _ in range(self.n):
            self.engine.emit(Kind.RISK, ("echo", "ok", 0.0, 0.0, "test"))

    def snapshot(self) -> dict:
        return {}


def test_next_input_seq_is_the_next_multiple_of_the_stride() -> None:
    sink = ListSink()
    e = Engine([_Echo(3)], seed=1, sink=sink)
    assert e.next_input_seq() == SEQ_STRIDE
    seqs = []
    for j in range(3):
        seq = e.next_input_seq()
        row = book_row(seq, 1_000 + j, 40.0)
        e.step(Kind.BOOK, seq, 2_000 + j, Columns.from_rows(Kind.BOOK, [row]), 0)
        seqs.append(seq)
    assert seqs == [SEQ_STRIDE, 2 * SEQ_STRIDE, 3 * SEQ_STRIDE]
    out = [row[0] for _, row in sink.rows]
    assert out[:3] == [SEQ_STRIDE + 1, SEQ_STRIDE + 2, SEQ_STRIDE + 3]
    assert e.seq == 3 * SEQ_STRIDE + 3 and e.next_input_seq() == 4 * SEQ_STRIDE


def test_paper_journals_its_inputs_at_multiples_of_the_stride(tmp_path: Path) -> None:
    feed, writer = make_feed(tmp_path / "p")
    for j in range(20):
        t = T0 + j * 500_000_000
        feed.on_message(book_msg(t // 1_000_000, "38.000", "38.004"), t + 10_000)
        feed.tick()
    writer.close()
    assert feed.error is None
    r = JournalReader(tmp_path / "p")
    inputs = sorted(s for k in INPUT_KINDS for s in r.table(k).column("seq").to_pylist())
    assert inputs == [n * SEQ_STRIDE for n in range(1, 41)]
    cmds = r.table(Kind.ORDER_COMMANDS).to_pylist()
    assert cmds and all(c["cause_seq"] < c["seq"] < c["cause_seq"] + SEQ_STRIDE for c in cmds)
