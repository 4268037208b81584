"""Journals read and write without importing pandas, and pandas still works on demand."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SESSION = textwrap.dedent(
    """
    import sys
    from framework.events import Kind
    from framework.journal import JournalReader, JournalWriter, Manifest
    root = sys.argv[1]
    with JournalWriter(root, Manifest(mode="test", asset="X")) as w:
        w.append(Kind.BOOK, (1, 1, 1, "X", [40.0, 39.9], [1.0, 2.0], [1, 2], [40.1], [3.0], [1]))
        w.append(Kind.CONTROL, (2, 2, 2, "run", "start", None, "a detail"))
    r = JournalReader(root)
    chunks = list(r.merged())
    assert chunks[0].columns[Kind.BOOK].bid_px[0] == [40.0, 39.9]
    print("pandas imported:", "pandas" in sys.modules)
    # Something that needs pandas still gets it.
    import pyarrow as pa
    df = r.table(Kind.BOOK).to_pandas()
    import pandas as pd
    assert pa.array(pd.Series([1.5, 2.5])).type == pa.float64()
    print("to_pandas rows:", len(df))
    """
)


def test_journal_io_leaves_pandas_unimported_until_something_needs_it(tmp_path):
    res = subprocess.run(
        [sys.executable, "-c", _SESSION, str(tmp_path / "j")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:2] == ["pandas imported: False", "to_pandas rows: 1"]
