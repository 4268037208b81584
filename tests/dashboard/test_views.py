"""SessionViews, the interface sessions attach their views through (paper now, run later)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from framework.config import SessionConfig, unstructure
from framework.environments.backtest import component_list, open_session
from framework.environments.views import SessionViews, ViewOptions, view_options
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.exits import UsageError
from framework.journal import Manifest

T0 = 1_767_225_600_000_000_000


def _session(out: Path):
    cfg = SessionConfig()
    manifest = Manifest(
        mode="paper",
        asset="HYPE",
        coin="HYPE",
        seed=0,
        config=unstructure(cfg),
        components=component_list(cfg),
    )
    return open_session(out, manifest)


def _tick(engine, writer, n: int) -> None:
    """Step one journaled clock tick (the engine's time moves)."""
    if not engine.events:
        engine.start(T0)
    seq = engine.next_input_seq()
    row = (seq, T0 + n * 10**8, T0 + n * 10**8, "test")
    writer.append(Kind.CLOCK, row)
    engine.step(Kind.CLOCK, seq, row[2], Columns.from_rows(Kind.CLOCK, [row]), 0)


def test_one_dashboard_follows_two_sessions_in_turn(tmp_path):
    out = io.StringIO()
    views = SessionViews(
        ViewOptions(terminal=True, dashboard_port=0, sample_hz=20, lines_every_s=3600),
        Console(file=out, force_terminal=False),
    )

    async def run() -> list[dict]:
        seen = []
        for name in ("paper", "live"):
            writer, engine = _session(tmp_path / name)
            async with views.attach(engine, tmp_path / name, mode=name, coin="HYPE"):
                for n in range(5):
                    _tick(engine, writer, n)
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)
                seen.append((await asyncio.to_thread(httpx.get, views.url + "state")).json())
            writer.close()
            # between sessions the page still answers, with the last state
            after = (await asyncio.to_thread(httpx.get, views.url + "state")).json()
            assert after["journal"] == str(tmp_path / name) and after["events"] == 5
        return seen

    try:
        seen = asyncio.run(run())
    finally:
        views.close()
    assert [s["mode"] for s in seen] == ["paper", "live"]
    assert [s["journal"] for s in seen] == [str(tmp_path / "paper"), str(tmp_path / "live")]
    with pytest.raises(httpx.ConnectError):
        httpx.get(views.url + "state", timeout=2)  # closed: the port is released
    printed = out.getvalue().splitlines()
    assert printed[0] == f"dashboard: {views.url} (read-only)"
    assert sum(1 for x in printed if x.startswith("paper HYPE ")) == 1  # the final line
    assert sum(1 for x in printed if x.startswith("live HYPE ")) == 1
    for name in ("paper", "live"):
        log = (tmp_path / name / "session.log").read_text().splitlines()
        assert log[-1].split(" ", 1)[1].startswith(f"{name} HYPE 0:00:00 | pos 0.0000")


def test_quiet_without_a_dashboard_samples_nothing_and_prints_nothing(tmp_path):
    out = io.StringIO()
    views = SessionViews(ViewOptions(terminal=False), Console(file=out))
    writer, engine = _session(tmp_path / "p")

    async def run() -> None:
        async with views.attach(engine, tmp_path / "p", mode="paper", coin="HYPE"):
            _tick(engine, writer, 0)
            await asyncio.sleep(0.3)

    asyncio.run(run())
    writer.close()
    views.close()
    assert views.samples == 0 and out.getvalue() == "" and views.url is None
    assert (tmp_path / "p" / "session.log").exists()


def test_the_flags():
    assert view_options() == ViewOptions(terminal=True)
    assert view_options(quiet=True, dashboard=True).dashboard_port == 3000
    assert view_options(dashboard=True, dashboard_port=0).dashboard_port == 0
    capture = view_options(capture=Path("png"))
    assert capture.dashboard_port == 3000 and capture.capture_dir == Path("png")
    with pytest.raises(UsageError, match="given without --dashboard"):
        view_options(dashboard_port=3001)
