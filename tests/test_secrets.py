"""The private key never leaves the process: with a known key in the environment, run
status, a paper session, generate-config, validate-config and failing key loads (bad hex,
wrong keystore password) as real processes, then look for the key (with and without 0x,
any case, and its raw bytes) in every file they wrote and in their stdout and stderr.

Parquet files are searched decoded as well as raw (their pages are compressed).
``key_leaks(bytes)`` and ``scan_for_key(directory)`` are for other tests to reuse (a live
session's journal, checkpoint and output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from framework.hyperliquid.keys import Signer
from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import SimulatorThread
from tests.conftest import REPO

pytestmark = pytest.mark.simulator

KEY = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"
PASSWORD = "correct horse battery staple"
SIGNER = Signer.from_private_key(KEY)


def _needles() -> list[bytes]:
    bare = KEY[2:]
    texts = {bare, bare.upper(), "0x" + bare, "0X" + bare.upper(), "0x" + bare.upper()}
    # a near miss of the key is still most of it: its first 48 digits must not appear either
    texts |= {bare[:48], bare[:48].upper()}
    return [t.encode() for t in texts] + [bytes.fromhex(bare)]


def key_leaks(data: bytes) -> list[bytes]:
    """The forms of :data:`KEY` found in ``data`` (empty: none)."""
    low = data.lower()
    return [n for n in _needles() if n in data or n.lower() in low]


def _parquet_text(path: Path) -> bytes:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return json.dumps(table.to_pylist(), default=str).encode()


def scan_for_key(root: Path) -> dict[str, list[bytes]]:
    """``{file: forms of the key found}`` for every file under ``root`` (empty: clean)."""
    found: dict[str, list[bytes]] = {}
    for p in root.rglob("*"):
        if not p.is_file():
            continue
        data = p.read_bytes()
        hits = key_leaks(data)
        if p.suffix == ".parquet":
            hits += key_leaks(_parquet_text(p))
        if hits:
            found[str(p)] = hits
    return found


@pytest.fixture(scope="module")
def sim_url():
    cfg = SimConfig(
        port=0, synthetic=True, asset="HYPE", seed=4, speed=10, deposits={SIGNER.address: 5000.0}
    )
    with SimulatorThread(cfg) as handle:
        yield handle.base_url


PAPER = ["paper", "--asset", "HYPE", "--duration", "2", "--out", "out/paper", "--quiet"]

DRIVER = """
import json, os, sys
from cli import app

base = dict(os.environ)
for args, extra, _ in json.loads(sys.argv[1]):
    os.environ.clear()
    os.environ.update(base | extra)
    try:
        app(args, prog_name="market-maker")
        rc = 0
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    sys.stderr.flush()
    print("###", " ".join(args[:2]), rc, flush=True)
"""


def test_the_key_is_in_no_file_and_no_output(sim_url, tmp_path):
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MM_", "HL_"))}
    base |= {"TMPDIR": str(tmp), "HL_PRIVATE_KEY": KEY, "COLUMNS": "200"}
    keystore = work / "key.json"
    keystore.write_text(json.dumps(SIGNER.encrypt(PASSWORD, kdf="pbkdf2", iterations=2)))
    before = set(scan_for_key(work))  # the keystore holds the key encrypted only
    assert before == set()

    runs: list[tuple[list[str], dict[str, str], int]] = [
        # status of the key's account (read-only: the key only gives the address)
        (["status", "--base-url", sim_url, "--network", "testnet"], {}, 0),
        (["status", "--base-url", sim_url, "--json"], {}, 0),
        # a paper session with the key in the environment
        (
            [*PAPER, "--base-url", sim_url],
            {},
            0,
        ),
        (["generate-config"], {}, 0),
        (["validate-config"], {"MM_LIVE_KEYSTORE": str(keystore)}, 0),
        # the keystore, decrypted with its password
        (
            ["status", "--base-url", sim_url],
            {"MM_LIVE_KEYSTORE": str(keystore), "HL_KEYSTORE_PASSWORD": PASSWORD},
            0,
        ),
        # failing loads: a wrong password, a key with a bad digit, a key cut short
        (
            ["status", "--base-url", sim_url],
            {"MM_LIVE_KEYSTORE": str(keystore), "HL_KEYSTORE_PASSWORD": "wrong"},
            2,
        ),
        (["status", "--base-url", sim_url], {"HL_PRIVATE_KEY": KEY[:-1] + "g"}, 2),
        (["--debug", "status", "--base-url", sim_url], {"HL_PRIVATE_KEY": KEY[:-2]}, 2),
        # a key put in a config variable by mistake is not echoed either
        (["validate-config"], {"MM_LIVE_PRIVATE_KEY": KEY}, 1),
    ]
    # one process runs every command (one interpreter start-up instead of ten); its
    # stdout and stderr are the real file descriptors, captured by this test
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(runs)],
        cwd=work,
        env=base | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    codes = [
        int(ln.rsplit(b" ", 1)[1]) for ln in proc.stdout.splitlines() if ln.startswith(b"### ")
    ]
    assert codes == [code for _, _, code in runs], (proc.stdout[-3000:], proc.stderr[-3000:])
    assert key_leaks(proc.stdout) == [], proc.stdout
    assert key_leaks(proc.stderr) == [], proc.stderr
    assert proc.stdout.count(SIGNER.address.encode()) >= 3  # status shows the address
    assert b"cannot decrypt (wrong password in HL_KEYSTORE_PASSWORD" in proc.stderr
    assert b"HL_PRIVATE_KEY: not a valid private key" in proc.stderr
    assert b"Traceback" in proc.stderr  # --debug printed one, without the key
    assert (work / "out" / "paper" / "session.json").exists()
    assert any((work / "checkpoints").rglob("prior.json"))
    written = [p for p in work.rglob("*") if p.is_file()]
    assert len(written) > 10, written
    assert scan_for_key(work) == {}
    assert scan_for_key(tmp) == {}


def test_the_scan_finds_the_key_in_any_form(tmp_path):
    # the detector itself: each form, in a plain file and inside a compressed Parquet file
    import pyarrow as pa
    import pyarrow.parquet as pq

    for i, form in enumerate([KEY, KEY.upper(), KEY[2:], KEY[2:].upper(), KEY[2:50]]):
        (tmp_path / f"{i}.txt").write_text(f"x {form} y")
    (tmp_path / "raw.bin").write_bytes(b"\0" + bytes.fromhex(KEY[2:]) + b"\0")
    pq.write_table(pa.table({"s": [f"zz{KEY}zz"] * 50}), tmp_path / "t.parquet", compression="zstd")
    found = scan_for_key(tmp_path)
    assert set(found) == {str(p) for p in tmp_path.iterdir()}
