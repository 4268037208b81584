"""What a parsed market row must be, and which message fields it is made of."""

from __future__ import annotations

import itertools
import math
from typing import Any

from framework.events.schema import Kind
from framework.journal.writer import rows_to_table
from tests.fuzz.mutate import Path

I64 = 2**63
I32 = 2**31


def used_paths(msg: Any) -> list[Path]:
    """The leaf paths of ``msg`` that :func:`parse_ws_message` builds rows from."""
    used: list[Path] = [("channel",)]
    if not isinstance(msg, dict):
        return [()]
    data = msg.get("data")
    channel = msg.get("channel")
    if channel == "l2Book":
        used += [("data", "coin"), ("data", "time"), ("data", "levels")]
        levels = data.get("levels") if isinstance(data, dict) else None
        if isinstance(levels, list):
            used.remove(("data", "levels"))
            used.append(("data", "levels", "len"))  # a different side count: changed_paths
            for i, side in enumerate(levels):  # names the list ("data", "levels") itself
                used.append(("data", "levels", i, "len"))
                for j, _ in enumerate(side if isinstance(side, list) else []):
                    used += [("data", "levels", i, j, k) for k in ("px", "sz", "n")]
    elif channel == "trades":
        used.append(("data", "len"))
        for i, _ in enumerate(data if isinstance(data, list) else []):
            used += [("data", i, k) for k in ("coin", "side", "px", "sz", "tid", "hash", "time")]
    elif channel == "bbo":
        used += [("data", "coin"), ("data", "time"), ("data", "bbo", "len")]
        used += [("data", "bbo", s, k) for s in (0, 1) for k in ("px", "sz")]
    elif channel == "activeAssetCtx":
        keys = ("markPx", "oraclePx", "midPx", "funding", "premium", "openInterest", "dayNtlVlm")
        used += [("data", "coin")] + [("data", "ctx", k) for k in keys]
    return used


def _finite_pos(x: Any) -> bool:
    return type(x) is float and math.isfinite(x) and x > 0


def _finite(x: Any) -> bool:
    return type(x) is float and math.isfinite(x)


def _time(x: Any) -> bool:
    return type(x) is int and 0 <= x < I64


def check_rows(rows: list[tuple[Kind, tuple[Any, ...]]]) -> None:
    """Every row fits its table (the writer takes it) and means something."""
    for kind, row in rows:
        rows_to_table(kind, [(1, *row)])  # raises on a value the Arrow schema cannot hold
        ts, recv, coin, *rest = row
        assert _time(ts) and _time(recv), row
        assert type(coin) is str and coin, row
        coin.encode("utf-8")
        if kind == Kind.BOOK:
            bpx, bsz, bn, apx, asz, an = rest
            assert len(bpx) == len(bsz) == len(bn) and len(apx) == len(asz) == len(an)
            assert all(map(_finite_pos, bpx + bsz + apx + asz)), row
            assert all(type(n) is int and 0 <= n < I32 for n in bn + an), row
            assert all(a > b for a, b in itertools.pairwise(bpx)), row
            assert all(a < b for a, b in itertools.pairwise(apx)), row
        elif kind == Kind.TRADES:
            side, px, sz, tid, h = rest
            assert side in (1, -1) and _finite_pos(px) and _finite_pos(sz), row
            assert type(tid) is int and 0 <= tid < I64, row
            assert h is None or (type(h) is str and h.encode("utf-8") is not None), row
        elif kind == Kind.BBO:
            bpx, bsz, apx, asz = rest
            for px, sz in ((bpx, bsz), (apx, asz)):
                assert (px is None and sz is None) or (_finite_pos(px) and _finite_pos(sz)), row
        elif kind == Kind.ASSET_CTX:
            mark, oracle, mid, funding, premium, oi, vlm = rest
            assert _finite(mark) and _finite(oracle) and _finite(funding), row
            assert all(v is None or _finite(v) for v in (mid, premium, oi, vlm)), row
        else:
            raise AssertionError(f"unexpected table {kind}")
