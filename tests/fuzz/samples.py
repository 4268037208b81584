"""Real inputs the fuzzers mutate: the BTC capture's lines and messages, and the shapes of
the two channels it lacks (bbo, activeAssetCtx) as the protocol reference documents them."""

from __future__ import annotations

import functools
import gzip
import json
import time
from typing import Any

from tests.conftest import BTC_CAPTURE

BBO = {
    "channel": "bbo",
    "data": {
        "coin": "BTC",
        "time": 1_775_001_612_600,
        "bbo": [{"px": "75951.0", "sz": "1.5", "n": 3}, {"px": "75952.0", "sz": "2.0", "n": 4}],
    },
}
ASSET_CTX = {
    "channel": "activeAssetCtx",
    "data": {
        "coin": "BTC",
        "ctx": {
            "funding": "0.0000125",
            "premium": "-0.00017",
            "markPx": "75933.0",
            "oraclePx": "75965.0",
            "midPx": "75951.5",
            "openInterest": "1.0",
            "dayNtlVlm": "2.0",
            "prevDayPx": "75000.0",
            "impactPxs": ["75951.0", "75952.0"],
        },
    },
}
SKIPPED = [
    {"channel": "subscriptionResponse", "data": {"method": "subscribe"}},
    {"channel": "pong"},
]


@functools.cache
def capture_lines() -> tuple[bytes, ...]:
    """The 55 lines of the real capture, without their newlines."""
    return tuple(gzip.decompress(BTC_CAPTURE.read_bytes()).splitlines())


@functools.cache
def messages() -> tuple[Any, ...]:
    """Every real message: 46 l2Book, 9 trades, bbo, ctx, two skipped (shared: copy before
    changing one; :func:`tests.fuzz.mutate.mutate_doc` does)."""
    msgs = [json.loads(line[20:]) for line in capture_lines()]
    return (*msgs, BBO, ASSET_CTX, *SKIPPED)


@functools.cache
def by_channel() -> dict[str, tuple[Any, ...]]:
    """The real messages grouped by channel (a fuzzer picks the channel first)."""
    out: dict[str, list[Any]] = {}
    for m in messages():
        out.setdefault(m["channel"], []).append(m)
    return {k: tuple(v) for k, v in out.items()}


def iso(ns: int) -> str:
    s, frac = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}"


def archive_line(recv_ns: int, msg: Any) -> bytes:
    """One official-archive line for ``msg`` received at ``recv_ns``."""
    return json.dumps({"time": iso(recv_ns), "ver_num": 1, "raw": msg}).encode()
