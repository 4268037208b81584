"""The engine is deterministic and replay --verify proves it, naming the first divergence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from framework.engine import Engine, EngineError, ListSink, load_component
from framework.environments.replay import replay
from framework.events import OUTPUT_KINDS, Columns, Kind
from framework.events.schema import SEQ_STRIDE
from framework.journal import JournalReader, list_parts
from tests.stubs import ToyQuoter, book_row, run_cli, write_market_session

REPO = Path(__file__).resolve().parents[2]


def _outputs(root: Path) -> dict[str, pa.Table]:
    r = JournalReader(root, strict=True)
    return {k.name: r.table(k) for k in OUTPUT_KINDS}


def test_same_inputs_give_identical_output_tables(tmp_path: Path) -> None:
    a = write_market_session(tmp_path / "a")
    b = write_market_session(tmp_path / "b")
    ta, tb = _outputs(a), _outputs(b)
    assert ta["QUOTES"].num_rows > 100
    for name in ta:
        assert ta[name].equals(tb[name]), name
    c = write_market_session(tmp_path / "c", seed=4)  # another seed decides differently
    assert not ta["QUOTES"].equals(_outputs(c)["QUOTES"])


def test_replay_verify_passes_on_an_untouched_journal(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j")
    result = replay(root, verify=True)
    assert result.ok, result.divergence
    reader = JournalReader(root)
    recorded = sum(reader.count(k) for k in OUTPUT_KINDS)
    assert result.events == 400 and result.outputs == recorded > 400


def _alter_value(root: Path, table: str, row: int, column: str, value: float) -> int:
    part = list_parts(root / table)[0].path
    t = pq.read_table(part)
    col = t.column(column).to_pylist()
    col[row] = value
    t = t.set_column(t.schema.get_field_index(column), t.schema.field(column), pa.array(col))
    pq.write_table(t, part)
    return t.column("seq")[row].as_py()


def test_one_altered_output_value_is_named_by_seq_and_column(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j")
    seq = _alter_value(root, "quotes", 57, "ask_px", 123.456)
    result = replay(root, verify=True)
    d = result.divergence
    assert d is not None
    assert (d.seq, d.table, d.column, d.recorded) == (seq, "quotes", "ask_px", 123.456)
    assert d.replayed != 123.456


def test_cli_replay_verify_exits_1_and_prints_the_divergence(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j")
    ok = run_cli("replay", str(root), "--verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "verified: 400 input events" in ok.stdout
    seq = _alter_value(root, "order_commands", 3, "sz", 2.0)
    bad = run_cli("replay", str(root), "--verify")
    assert bad.returncode == 1
    assert re.search(
        rf"seq {seq}, table 'order_commands', column 'sz': recorded 2.0, replayed 1.0", bad.stdout
    ), bad.stdout


def test_replay_until_stops_there_and_prints_state(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j")
    until = 150 * SEQ_STRIDE + 1  # inputs are at multiples of SEQ_STRIDE
    result = replay(root, verify=True, until=until)
    assert result.ok
    assert result.engine.input_seq == 150 * SEQ_STRIDE and result.engine.events == 150
    assert result.engine.seq < 151 * SEQ_STRIDE  # stopped before the next input
    out = run_cli("replay", str(root), "--until", str(until))
    assert out.returncode == 0
    assert '"toy": {' in out.stdout and '"quotes":' in out.stdout
    # stdout is the state alone, strict JSON (it had the status line after it, and NaN)
    state = json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert "toy" in state["components"] and "replayed: 150 input events" in out.stderr


def test_replay_of_the_sample_until_a_seq_prints_strict_json() -> None:
    out = run_cli("replay", "recordings/sample-hype", "--until", "5000000")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


def test_engine_rejects_a_seq_that_goes_backwards() -> None:
    e = Engine([ToyQuoter()], seed=1, sink=ListSink())
    row = book_row(5, 1_000, 40.0)
    e.step(Kind.BOOK, 5, 2_000, Columns.from_rows(Kind.BOOK, [row]), 0)
    with pytest.raises(EngineError, match="not after the last seq"):
        e.step(Kind.BOOK, 5, 3_000, Columns.from_rows(Kind.BOOK, [row]), 0)


def test_a_chunk_s_arrays_step_as_its_lists_do() -> None:
    """step_many over int64 arrays (a merged chunk, the typed loop when compiled) takes
    the same steps, in the same order, as over lists, and refuses a seq going back."""
    rows = [book_row(s, 1_000 * s, 40.0 + 0.01 * s) for s in (1, 2, 3, 4)]
    cols = [None] * len(Kind)
    cols[Kind.BOOK] = Columns.from_rows(Kind.BOOK, rows)
    runs = []
    for as_array in (False, True):
        seen: list[tuple[int, int, int]] = []
        e = Engine([ToyQuoter()], seed=1, sink=ListSink())
        e.subscribe(Kind.BOOK, lambda c, i, e=e, seen=seen: seen.append((e.seq, e.now, i)))
        e.start(2_000)
        e.call_every(2_500, lambda t, seen=seen: seen.append((-1, t, -1)), start_ns=2_500)
        seqs, ts, rws = [10, 20, 30, 40], [2_000, 3_000, 5_000, 7_000], [0, 1, 2, 3]
        kinds = [0] * 4
        args = [kinds, seqs, ts, rws]
        if as_array:
            args = [np.asarray(a, dtype=np.int64) for a in args]
        e.step_many(*args, cols)
        assert type(e.seq) is int and type(e.now) is int
        with pytest.raises(EngineError, match="not after the last seq"):
            bad = [[0], [40], [8_000], [0]]
            e.step_many(*(np.asarray(a, dtype=np.int64) for a in bad) if as_array else bad, cols)
        runs.append((list(seen), e.events, [r[1][:3] for r in e.sink.rows]))

        def boom(c, i):
            raise RuntimeError(f"handler failed at row {i}")

        e.subscribe(Kind.BOOK, boom)  # a handler's error stops the step, as it is
        late = [[0], [50], [8_000], [2]]
        with pytest.raises(RuntimeError, match="handler failed at row 2"):
            e.step_many(*(np.asarray(a, dtype=np.int64) for a in late) if as_array else late, cols)
    assert runs[0] == runs[1]
    assert [s for s in runs[0][0] if s[0] == -1] == [(-1, 2_500, -1), (-1, 5_000, -1)]


def test_timers_fire_from_event_time_in_order() -> None:
    fired: list[tuple[str, int]] = []

    class Timed:
        name = "timed"

        def bind(self, engine: Engine) -> None:
            engine.call_at(5_000, lambda t: fired.append(("a", t)))
            engine.call_at(3_000, lambda t: fired.append(("b", t)))
            engine.call_at(3_000, lambda t: fired.append(("c", t)))

        def snapshot(self) -> dict:
            return {}

    e = Engine([Timed()], seed=0, sink=ListSink())
    cols = Columns.from_rows(
        Kind.CLOCK, [(1, 0, 2_000, "t"), (2, 0, 4_000, "t"), (3, 0, 9_000, "t")]
    )
    e.step(Kind.CLOCK, 1, 2_000, cols, 0)
    assert fired == []
    e.step(Kind.CLOCK, 2, 4_000, cols, 1)
    assert fired == [("b", 3_000), ("c", 3_000)]
    e.step(Kind.CLOCK, 3, 9_000, cols, 2)
    assert fired[-1] == ("a", 5_000) and e.now == 9_000


def test_periodic_timers_start_one_period_in_or_immediately_and_rearm_after_running() -> None:
    fired: list[tuple[str, int]] = []

    class Periodic:
        name = "periodic"

        def bind(self, engine: Engine) -> None:
            engine.call_every(1_000, lambda t: fired.append(("every", t)))
            engine.call_every(1_000, self.first, immediate=True)
            self.engine = engine

        def first(self, t: int) -> None:
            fired.append(("immediate", t))
            # a one-shot set for the periodic's next due time runs before its next tick
            self.engine.call_at(t + 1_000, lambda u: fired.append(("oneshot", u)))

        def snapshot(self) -> dict:
            return {}

    e = Engine([Periodic()], seed=0, sink=ListSink())
    cols = Columns.from_rows(Kind.CLOCK, [(1, 0, 10_000, "t"), (2, 0, 12_500, "t")])
    e.start(10_000)
    e.step(Kind.CLOCK, 1, 10_000, cols, 0)
    assert fired == [("immediate", 10_000)]  # before the first event's handlers
    e.step(Kind.CLOCK, 2, 12_500, cols, 1)
    assert fired[1:] == [
        ("every", 11_000),
        ("oneshot", 11_000),
        ("immediate", 11_000),
        ("every", 12_000),
        ("oneshot", 12_000),
        ("immediate", 12_000),
    ]


_BANNED = re.compile(
    r"\btime\.time\(|\btime\.monotonic\(|\btime\.perf_counter\(|datetime\.now\(|datetime\.utcnow\("
    r"|^\s*import random\b|^\s*from random import|\bnp\.random\.(rand|random|normal|seed|choice)\("
    r"|\buuid\d?\(",
    re.M,
)
_CORE = [
    "framework/engine",
    "framework/estimators",
    "framework/risk",
    "framework/fills",
    "framework/book.py",
    "framework/orders.py",
    "strategies",
]


def test_core_reads_no_wall_clock_and_no_global_randomness() -> None:
    offenders = []
    for rel in _CORE:
        base = REPO / rel
        files = [base] if base.is_file() else sorted(base.rglob("*.py")) if base.exists() else []
        for f in files:
            for m in _BANNED.finditer(f.read_text()):
                line = f.read_text()[: m.start()].count("\n") + 1
                offenders.append(f"{f.relative_to(REPO)}:{line}: {m.group(0).strip()}")
    assert not offenders, "nondeterminism in the core:\n" + "\n".join(offenders)


def test_bad_component_entry_is_named_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"'framework.book:Nope' names no importable class"):
        load_component({"path": "framework.book:Nope"})
    with pytest.raises(ValueError, match=r"'framework.book:MarketState' rejects its config"):
        load_component({"path": "framework.book:MarketState", "config": {"depth": 5}})


def test_replay_of_a_journal_with_a_broken_component_entry_exits_2(tmp_path: Path) -> None:
    root = write_market_session(tmp_path / "j", n_books=5)
    manifest = json.loads((root / "session.json").read_text())
    manifest["components"][0]["path"] = "tests.stubs:Missing"
    (root / "session.json").write_text(json.dumps(manifest))
    out = run_cli("replay", str(root), "--verify")
    assert out.returncode == 2
    assert "'tests.stubs:Missing' names no importable class" in out.stderr
    assert "Traceback" not in out.stderr


def test_client_order_ids_carry_the_seed_and_the_seed_is_fixed() -> None:
    e = Engine([], seed=0x1_2345_6789, sink=ListSink())
    assert [e.next_cloid(), e.next_cloid()] == [
        "0x23456789" + f"{1:024x}",
        "0x23456789" + f"{2:024x}",
    ]
    with pytest.raises(AttributeError):
        e.seed = 7  # the ids (and the rng) were derived from the first one
    assert e.seed == 0x1_2345_6789
