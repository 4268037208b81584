"""Nonces (monotonic across restarts) and key handling (never shown)."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from framework.hyperliquid.errors import KeyLoadError, NonceError
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
A = "0xAbC0000000000000000000000000000000000001"
B = "0x0000000000000000000000000000000000000002"


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def test_nonce_is_max_of_clock_and_last_plus_one(tmp_path):
    clock = Clock(1_000)
    store = NonceStore(tmp_path / "n.json", clock)
    assert [store.next(A) for _ in range(3)] == [1_000, 1_001, 1_002]  # same ms: +1
    clock.t = 5_000
    assert store.next(A) == 5_000
    clock.t = 4_000  # clock stepped back
    assert store.next(A) == 5_001
    assert store.next(B) == 4_000  # per signer
    assert store.last(A.lower()) == 5_001


def test_nonce_survives_restart_with_clock_behind(tmp_path):
    path = tmp_path / "state" / "nonces.json"
    clock = Clock(10_000)
    first = NonceStore(path, clock)
    issued = [first.next(A) for _ in range(5)]
    # restart: new process, clock now behind the persisted high-water mark
    second = NonceStore(path, Clock(9_000))
    n = second.next(A)
    assert n == issued[-1] + 1
    assert n not in issued
    assert json.loads(path.read_text())[A.lower()] == n
    assert not (path.parent / "nonces.json.tmp").exists()


def test_corrupt_nonce_file_is_a_clear_error(tmp_path):
    path = tmp_path / "n.json"
    path.write_text("{not json")
    with pytest.raises(NonceError, match=r"n\.json"):
        NonceStore(path)
    path.write_text('{"0xabc": "12"}')
    with pytest.raises(NonceError, match="address -> int"):
        NonceStore(path)


def test_signer_never_shows_the_key(monkeypatch):
    monkeypatch.setenv("HL_PRIVATE_KEY", KEY)
    s = Signer.from_env()
    assert s.address == Account.from_key(KEY).address.lower()
    text = repr(s) + str(s) + repr(vars(s) if hasattr(s, "__dict__") else "")
    assert KEY[2:] not in text and s.address in text
    with pytest.raises(TypeError, match="pickled"):
        import pickle

        pickle.dumps(s)


def test_bad_key_errors_name_the_source_not_the_key(monkeypatch):
    bad = "0x" + "zz" * 32
    monkeypatch.setenv("HL_PRIVATE_KEY", bad)
    with pytest.raises(KeyLoadError) as info:
        Signer.from_env()
    assert "HL_PRIVATE_KEY" in str(info.value)
    assert "zz" * 4 not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    monkeypatch.delenv("HL_PRIVATE_KEY")
    with pytest.raises(KeyLoadError, match="not set"):
        Signer.from_env()


def test_keystore_round_trip_and_wrong_password(tmp_path, monkeypatch):
    s = Signer.from_private_key(KEY)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(s.encrypt("pw-123", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("HL_KEYSTORE_PASSWORD", "pw-123")
    assert Signer.from_keystore(path).address == s.address
    monkeypatch.setenv("HL_KEYSTORE_PASSWORD", "s3cr3t-nope")
    with pytest.raises(KeyLoadError, match="cannot decrypt") as info:
        Signer.from_keystore(path)
    assert "s3cr3t-nope" not in str(info.value)
    monkeypatch.delenv("HL_KEYSTORE_PASSWORD")
    with pytest.raises(KeyLoadError, match="HL_KEYSTORE_PASSWORD"):
        Signer.from_keystore(path)
