"""Strategy, risk and order-tracker code never read the wall clock or global randomness."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = [REPO / "strategies", REPO / "framework" / "risk", REPO / "framework" / "orders.py"]
FORBIDDEN = re.compile(
    r"\b(time\.time|time\.monotonic|time\.perf_counter|datetime\.now|datetime\.utcnow|"
    r"import random|(?<![\w.])random\.|uuid)\b"
)


def test_no_wall_clock_or_global_random_in_the_core():
    files = [p for c in CORE for p in ([c] if c.is_file() else sorted(c.rglob("*.py")))]
    assert len(files) >= 8
    bad = [
        f"{p.relative_to(REPO)}:{n}: {line.strip()}"
        for p in files
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if FORBIDDEN.search(line) and not line.lstrip().startswith("#")
    ]
    assert not bad, "\n".join(bad)
