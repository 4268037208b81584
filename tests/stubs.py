"""Event factories and a toy component for engine and journal tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from framework.engine.core import Engine
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.journal import JournalWriter, Manifest

TOY_PATH = "tests.stubs:ToyQuoter"
REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``market-maker *args`` from the repository root, output captured.

    In process (Typer's runner through the app's own error boundary: the exit code and
    the lines a user sees), which spares each call an interpreter and its imports; tests
    of process behaviour (signals, kills) start real subprocesses themselves."""
    import os

    from typer.testing import CliRunner

    from cli import app

    here = Path.cwd()
    os.chdir(REPO)
    try:
        r = CliRunner().invoke(app, list(args), input=stdin)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["market-maker", *args], r.exit_code, r.stdout, r.stderr)


class ToyQuoter:
    """Quotes around the mid with a random offset on every book; a timer emits estimates.

    Uses the engine's clock, generator and cloid counter, so replay must regenerate
    every output exactly.
    """

    name = "toy"

    def __init__(self, width: float = 0.01) -> None:
        self.width = width
        self.quotes = 0

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        engine.subscribe(Kind.BOOK, self.on_book)
        engine.call_every(2_000_000_000, self.on_timer)

    def on_book(self, cols: Columns, i: int) -> None:
        bid, ask = cols.bid_px.first(i), cols.ask_px.first(i)
        if bid is None or ask is None:
            return
        mid = (bid + ask) / 2
        off = float(self.engine.rng.random()) * self.width
        self.quotes += 1
        e = self.engine
        e.emit(
            Kind.QUOTES, ("TEST", mid - off, 1.0, mid + off, 1.0, mid, off, 0.0, 0.0, e.input_seq)
        )
        e.emit(
            Kind.ORDER_COMMANDS,
            (
                e.next_cloid(),
                "place",
                "TEST",
                1,
                mid - off,
                1.0,
                "Alo",
                False,
                None,
                e.input_seq,
                "toy",
            ),
        )

    def on_timer(self, t: int) -> None:
        self.engine.emit(
            Kind.ESTIMATES, ("toy", "quotes", float(self.quotes), self.quotes, None, False)
        )

    def snapshot(self) -> dict[str, Any]:
        return {"quotes": self.quotes}


def book_row(seq: int, t: int, mid: float, coin: str = "TEST", levels: int = 3) -> tuple:
    bids = [round(mid - 0.01 * (j + 1), 4) for j in range(levels)]
    asks = [round(mid + 0.01 * (j + 1), 4) for j in range(levels)]
    sz = [1.0 + j for j in range(levels)]
    n = [1] * levels
    return (seq, t, t + 1000, coin, bids, sz, n, asks, sz, n)


def trade_row(seq: int, t: int, px: float, side: int = 1, sz: float = 0.5) -> tuple:
    return (seq, t, t + 1000, "TEST", side, px, sz, seq, f"0x{seq:064x}")


def write_market_session(root, n_books: int = 200, seed: int = 3, components=None, **manifest_kw):
    """A journal of market inputs (and the toy's outputs when components are given)."""
    from framework.engine.drive import build_engine

    comps = components if components is not None else [{"path": TOY_PATH, "config": {}}]
    man = Manifest(mode="test", asset="TEST", seed=seed, components=comps, **manifest_kw)
    writer = JournalWriter(root, man, flush_rows=97)
    engine = build_engine(man, writer)
    started = False
    for j in range(n_books):
        t = 1_700_000_000_000_000_000 + j * 550_000_000
        for kind, row in (
            (Kind.BOOK, book_row(0, t, 40.0 + 0.01 * (j % 7))),
            (Kind.TRADES, trade_row(0, t + 1, 40.01, 1 if j % 2 else -1)),
        ):
            seq = engine.next_input_seq()
            row = (seq, *row[1:])
            writer.append(kind, row)
            if not started:
                engine.start(row[2])
                started = True
            engine.step(kind, seq, row[2], Columns.from_rows(kind, [row]), 0)
    writer.close()
    return root
