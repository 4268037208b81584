"""Live sessions against the local exchange simulator: real sockets, real signatures.

Every session runs ``cli.py run`` in a subprocess (signals are real: SIGINT, SIGKILL,
SIGSTOP) with ``--network testnet`` (the simulator verifies testnet signatures) and
its own throw-away key, so nonces and orders of one test never meet another's.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from framework.hyperliquid.keys import Signer
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"
PY = sys.executable


@attrs.frozen
class Sim:
    base_url: str

    def fault(self, **spec: Any) -> None:
        httpx.post(self.base_url + "/admin/fault", json=spec).raise_for_status()

    def deposit(self, address: str, usdc: float) -> None:
        r = httpx.post(self.base_url + "/admin/deposit", json={"user": address, "usdc": usdc})
        r.raise_for_status()

    def info(self, body: dict[str, Any]) -> Any:
        r = httpx.post(self.base_url + "/info", json=body)
        r.raise_for_status()
        return r.json()

    def open_orders(self, address: str) -> list[dict[str, Any]]:
        return self.info({"type": "frontendOpenOrders", "user": address})


@pytest.fixture(scope="package")
def sim() -> Iterator[Sim]:
    """The bundled sample at 20x (HYPE on the main dex and on the HIP-3 dex hyena).

    Every test process shares one IP: the per-IP weight budget is raised so that the
    tests' own polling of the venue never rate-limits the sessions under test."""
    from framework.hyperliquid.simulator import SimConfig, SimulatorThread

    cfg = SimConfig(port=0, recording=SAMPLE, speed=20.0, ip_weight_per_min=1_000_000)
    with SimulatorThread(cfg) as h:
        s = Sim(h.base_url)
        yield s
        s.fault(kind="clear")


@attrs.frozen
class Account:
    key: str
    address: str


def make_account(sim: Sim, name: str, usdc: float = 100_000.0) -> Account:
    """A funded account whose key is derived from ``name`` (one per test)."""
    key = "0x" + hashlib.sha256(f"live-test-{name}".encode()).hexdigest()
    addr = Signer.from_private_key(key).address
    if usdc:
        sim.deposit(addr, usdc)
    return Account(key, addr)


@pytest.fixture
def account(sim: Sim, request: pytest.FixtureRequest) -> Account:
    return make_account(sim, request.node.name)


def run_args(sim: Sim, tmp: Path, *args: str) -> list[str]:
    return [
        PY,
        str(REPO / "cli.py"),
        "run",
        "--asset",
        "HYPE",
        "--network",
        "testnet",
        "--base-url",
        sim.base_url,
        "--checkpoint-dir",
        str(tmp / "ck"),
        *args,
    ]


def env_for(acct: Account, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MM_", "HL_"))}
    return {**env, "HL_PRIVATE_KEY": acct.key, **extra}


def run(
    sim: Sim, tmp: Path, acct: Account, *args: str, timeout: float = 60.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``run`` to completion (give ``--duration``)."""
    return subprocess.run(
        run_args(sim, tmp, *args),
        env=env_for(acct),
        cwd=cwd or tmp,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(sim: Sim, tmp: Path, acct: Account, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        run_args(sim, tmp, *args),
        env=env_for(acct),
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(pred: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        v = pred()
        if v:
            return v
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def wait_quoting(sim: Sim, acct: Account, n: int = 2, timeout: float = 20.0) -> list[dict]:
    return wait_for(
        lambda: (o := sim.open_orders(acct.address)) and len(o) >= n and o,
        timeout,
        f"{n} resting orders of {acct.address}",
    )


def stop(p: subprocess.Popen[str], sig: int = signal.SIGINT, timeout: float = 30.0) -> tuple:
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"no exit {timeout:g} s after {sig!r}: {err[-2000:]}") from None
    return p.returncode, out, err


def control(journal: Path) -> list[tuple[str, str, Any, Any]]:
    """The journal's control rows (topic, action, value, detail), in seq order."""
    from framework.journal import JournalReader

    t = JournalReader(journal, warn=False).table("control").sort_by("seq")
    return list(
        zip(*(t.column(c).to_pylist() for c in ("topic", "action", "value", "detail")), strict=True)
    )


def table(journal: Path, name: str) -> Any:
    from framework.journal import JournalReader

    return JournalReader(journal, warn=False).table(name).sort_by("seq")


def verify(journal: Path) -> str:
    r = subprocess.run(
        [PY, str(REPO / "cli.py"), "replay", str(journal), "--verify"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def write_config(tmp: Path, text: str) -> Path:
    p = tmp / "cfg.toml"
    p.write_text(text)
    return p


#: A quicker market maker for tests: quotes close to the touch.
BASE_CONFIG = '[strategy]\nspread_profile = "aggressive"\n'
