"""Paper: WS messages and clock ticks become journaled, stepped inputs; replay verifies."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from framework.config import SessionConfig
from framework.engine.drive import build_engine
from framework.environments.backtest import apply_overrides, component_list
from framework.environments.paper import PaperFeed, run_paper
from framework.environments.replay import replay_command
from framework.events.schema import Kind
from framework.journal import JournalReader, JournalWriter, Manifest

T0 = 1_767_225_600_000_000_000


def book_msg(t_ms: int, bid: str, ask: str) -> dict:
    lv = [[{"px": bid, "sz": "50.0", "n": 3}], [{"px": ask, "sz": "40.0", "n": 2}]]
    return {"channel": "l2Book", "data": {"coin": "HYPE", "time": t_ms, "levels": lv}}


def make_feed(root: Path) -> tuple[PaperFeed, JournalWriter]:
    cfg = apply_overrides(SessionConfig(), coin="HYPE", sz_decimals=2)
    man = Manifest(mode="paper", asset="HYPE", seed=4, components=component_list(cfg))
    writer = JournalWriter(root, man)
    clock = iter(range(T0, T0 + 10**12, 100_000_000))
    return PaperFeed(build_engine(man, writer), writer, "HYPE", lambda: next(clock)), writer


def test_inputs_are_journaled_under_engine_seqs_and_replay_verifies(tmp_path):
    feed, writer = make_feed(tmp_path / "p")
    for j in range(30):
        t = T0 + j * 500_000_000
        feed.on_message(book_msg(t // 1_000_000, "38.000", "38.004"), t + 10_000)
        feed.on_message(book_msg(t // 1_000_000, "38.000", "38.004") | {"channel": "bogus"}, t)
        feed.tick()
    other = book_msg(T0 // 10**6, "1.0", "1.1")
    other["data"]["coin"] = "BTC"
    feed.on_message(other, T0 + 20 * 10**9)
    feed.on_connection("ws", "disconnected", "test")
    writer.close()
    assert feed.error is None and feed.skipped == 31
    r = JournalReader(tmp_path / "p")
    assert r.count(Kind.BOOK) == 30 and r.count(Kind.CLOCK) == 30 and r.count(Kind.CONNECTION) == 1
    assert r.count(Kind.ORDER_COMMANDS) >= 2 and r.count(Kind.QUOTES) >= 1
    assert replay_command(tmp_path / "p", verify=True, until=None) == 0


def test_commands_are_flushed_before_the_next_input(tmp_path):
    feed, writer = make_feed(tmp_path / "p")
    flushed: list[int] = []
    real_flush = writer.flush

    def spy(*a, **kw):
        flushed.append(feed.engine.counts[Kind.ORDER_COMMANDS])
        real_flush(*a, **kw)

    writer.flush = spy  # type: ignore[method-assign]
    feed.on_message(book_msg(T0 // 10**6, "38.000", "38.004"), T0)
    assert flushed and flushed[-1] >= 2  # the quote's two places hit disk at once
    assert list((tmp_path / "p" / "order_commands").glob("part-*.parquet"))
    writer.close()


def test_engine_failure_stops_the_session_with_the_seq(tmp_path):
    feed, writer = make_feed(tmp_path / "p")
    feed.input(Kind.CLOCK, T0, T0, ("x",))
    feed.engine.seq += 5  # corrupt: the next input's seq would not follow
    feed.engine.next_input_seq = lambda: 1  # type: ignore[method-assign]
    feed.input(Kind.CLOCK, T0 + 1, T0 + 1, ("x",))
    assert feed.failed.is_set() and "seq" in str(feed.error)
    writer.close()


@pytest.mark.simulator
def test_paper_against_the_local_exchange_simulator(tmp_path):
    from framework.hyperliquid.simulator import SimConfig, SimulatorThread

    # The bundled recording drives the local exchange at 20x: the issue's "accelerated
    # recording" (3 s of paper = 1 minute of the recorded HYPE market).
    sample = Path(__file__).resolve().parents[2] / "recordings" / "sample-hype"
    cfg = SimConfig(port=0, recording=sample, speed=20.0)
    with SimulatorThread(cfg) as h:
        res = asyncio.run(
            run_paper(
                "HYPE", duration_s=3.0, base_url=h.base_url, out=tmp_path / "p", progress=False
            )
        )
    r = JournalReader(res.out)
    assert r.manifest.mode == "paper" and r.manifest.coin == "HYPE"
    assert r.count(Kind.BOOK) > 0 and r.count(Kind.CLOCK) >= 20
    assert r.count(Kind.QUOTES) >= 1 and r.count(Kind.ORDER_COMMANDS) >= 2
    assert json.loads((res.out / "session.json").read_text())["closed"] is True
    assert replay_command(res.out, verify=True, until=None) == 0
