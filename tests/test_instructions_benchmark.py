"""``python -m benchmarks.instructions``: a count under cachegrind and its parsing, and a
recording that is not a journal (the full count of a 24 h backtest is the benchmark)."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import instructions

needs_valgrind = pytest.mark.skipif(
    shutil.which("valgrind") is None or shutil.which("cg_annotate") is None,
    reason="valgrind is not installed",
)


@needs_valgrind
def test_a_multi_line_script_is_counted_and_its_hottest_functions_listed(tmp_path):
    code = "import sys\nfor i in range(3):\n    print(i)\n"
    n, out = instructions.count(code, ["x"], tmp_path / "cg.out")
    assert out.split() == ["0", "1", "2"]
    assert 10_000_000 < n < 2_000_000_000  # an interpreter's start, not zero, not a parse slip
    top = instructions.hottest(tmp_path / "cg.out", 3)
    assert len(top) == 3 and all("%)" in line for line in top)


@needs_valgrind
def test_a_failing_script_raises_with_its_error(tmp_path):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        instructions.count("1 / 0\n", [], tmp_path / "cg.out")


def test_a_recording_that_is_not_a_journal_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(instructions.shutil, "which", lambda name: "/usr/bin/" + name)
    assert instructions.main(["--recording", str(tmp_path)]) == 2
    assert "not a journal" in capsys.readouterr().err
