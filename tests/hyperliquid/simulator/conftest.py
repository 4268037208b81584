"""Fixtures: a scripted market journal, a running simulator, and a raw signing client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import eth_account
import httpx
import pytest
from hyperliquid.utils.signing import sign_l1_action

from framework.events.schema import Kind
from framework.hyperliquid.simulator import SimConfig, SimulatorThread
from framework.journal import JournalWriter, Manifest

T0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC, ns
MS = 1_000_000

# The scripted HYPE market (szDecimals 2): 5 levels a side around 25.00.
BIDS = [25.0, 24.99, 24.98, 24.97, 24.96]
ASKS = [25.01, 25.02, 25.03, 25.04, 25.05]
SIZES = [10.0, 20.0, 30.0, 40.0, 50.0]


def book_row(seq: int, t: int, coin: str = "HYPE", bids=BIDS, asks=ASKS, sizes=SIZES) -> tuple:
    n = [1] * len(sizes)
    return (
        seq,
        t,
        t,
        coin,
        list(bids),
        list(sizes[: len(bids)]),
        n[: len(bids)],
        list(asks),
        list(sizes[: len(asks)]),
        n[: len(asks)],
    )


def trade_row(seq: int, t: int, side: int, px: float, sz: float, coin: str = "HYPE") -> tuple:
    return (seq, t, t, coin, side, px, sz, 5000 + seq, None)


def ctx_row(
    seq: int, t: int, mark: float = 25.005, funding: float = 0.0001, coin: str = "HYPE"
) -> tuple:
    return (seq, t, t, coin, mark, mark, mark, funding, 0.0, 1000.0, 1e6)


def write_journal(root: Path, rows: list[tuple[Kind, tuple]]) -> Path:
    w = JournalWriter(root, Manifest(mode="record", asset="HYPE"))
    for kind, row in rows:
        w.append(kind, row)
    w.close()
    return root


def scripted_rows() -> list[tuple[Kind, tuple]]:
    """Events the tests step through one by one (index = step number - 1)."""
    return [
        (Kind.BOOK, book_row(1, T0)),  # 1: the book
        (Kind.ASSET_CTX, ctx_row(2, T0 + 1 * MS)),  # 2: ctx
        (Kind.TRADES, trade_row(3, T0 + 2 * MS, -1, 25.0, 4.0)),  # 3: sell 4 @ 25.00
        (Kind.TRADES, trade_row(4, T0 + 3 * MS, -1, 25.0, 10.0)),  # 4: sell 10 @ 25.00
        (Kind.TRADES, trade_row(5, T0 + 4 * MS, -1, 24.98, 3.0)),  # 5: sell through to 24.98
        (Kind.BOOK, book_row(6, T0 + 5 * MS)),  # 6: same book again
        # 7: an hour later: funding settles on the boundary
        (Kind.ASSET_CTX, ctx_row(7, T0 + 3_600_000 * MS + 10 * MS)),
    ]


@pytest.fixture
def scripted_journal(tmp_path: Path) -> Path:
    return write_journal(tmp_path / "market", scripted_rows())


class Sim:
    """A running simulator seen from outside: URLs plus admin helpers over HTTP."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.base_url = handle.base_url
        self.ws_url = handle.ws_url
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    def step(self, n: int = 1) -> dict:
        return self.http.post("/admin/step", json={"n": n}).json()

    def fault(self, **spec: Any) -> dict:
        r = self.http.post("/admin/fault", json=spec)
        r.raise_for_status()
        return r.json()

    def info(self, body: dict) -> Any:
        r = self.http.post("/info", json=body)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def sim_factory(scripted_journal: Path) -> Iterator[Any]:
    """Start simulators with config overrides; the scripted journal is stepped once (book)."""
    threads = []

    def start(step: int = 1, **overrides: Any) -> Sim:
        kw: dict[str, Any] = {"port": 0, "recording": scripted_journal, "speed": 0, "loop": False}
        kw.update(overrides)
        th = SimulatorThread(SimConfig(**kw))
        handle = th.__enter__()
        threads.append(th)
        s = Sim(handle)
        if step and kw.get("speed") == 0 and kw.get("recording") is not None:
            s.step(step)
        return s

    yield start
    for th in threads:
        th.__exit__(None, None, None)


@pytest.fixture
def sim(sim_factory: Any) -> Sim:
    return sim_factory()


class Trader:
    """A raw client: builds actions, signs them with the official SDK's signer, posts them."""

    _last = 0

    def __init__(self, sim: Sim, wallet: Any = None, account: str | None = None) -> None:
        self.sim = sim
        self.wallet = wallet or eth_account.Account.create()
        self.address = (account or self.wallet.address).lower()

    @classmethod
    def nonce(cls) -> int:
        cls._last = max(time.time_ns() // MS, cls._last + 1)
        return cls._last

    def register(self) -> None:
        """Name the account to the simulator (an info query), which funds it."""
        self.sim.info({"type": "clearinghouseState", "user": self.address})

    def envelope(
        self,
        action: dict,
        nonce: int | None = None,
        *,
        mainnet: bool = False,
        expires_after: int | None = None,
        vault: str | None = None,
    ) -> dict:
        nonce = self.nonce() if nonce is None else nonce
        sig = sign_l1_action(self.wallet, action, vault, nonce, expires_after, mainnet)
        env = {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": vault}
        if expires_after is not None:
            env["expiresAfter"] = expires_after
        return env

    def post(self, action: dict, nonce: int | None = None, **kw: Any) -> httpx.Response:
        return self.sim.http.post("/exchange", json=self.envelope(action, nonce, **kw))

    def act(self, action: dict, nonce: int | None = None) -> dict:
        r = self.post(action, nonce)
        assert r.status_code == 200, r.text
        return r.json()

    def order(
        self,
        is_buy: bool,
        px: str,
        sz: str,
        tif: str = "Gtc",
        *,
        asset: int = 2,
        reduce_only: bool = False,
        cloid: str | None = None,
    ) -> Any:
        o: dict[str, Any] = {
            "a": asset,
            "b": is_buy,
            "p": px,
            "s": sz,
            "r": reduce_only,
            "t": {"limit": {"tif": tif}},
        }
        if cloid:
            o["c"] = cloid
        resp = self.act({"type": "order", "orders": [o], "grouping": "na"})
        assert resp["status"] == "ok", resp
        return resp["response"]["data"]["statuses"][0]


@pytest.fixture
def trader(sim: Sim) -> Trader:
    t = Trader(sim)
    t.register()
    return t


def dumps(x: Any) -> str:
    return json.dumps(x)
