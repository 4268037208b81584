"""Signer on coincurve: the same signatures as eth-account, loading from the environment or
a keystore, and the account an API (agent) wallet trades for."""

from __future__ import annotations

import json
import random

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from framework.hyperliquid.errors import KeyLoadError
from framework.hyperliquid.keys import Signer, account_address, load_signer
from framework.hyperliquid.signing import l1_typed_data


def test_signatures_equal_eth_accounts():
    rng = random.Random(12)
    for _ in range(50):
        key = rng.randbytes(32)
        ours, ref = Signer.from_private_key(key), Account.from_key(key)
        assert ours.address == ref.address.lower()
        digest = rng.randbytes(32)
        theirs = ref.unsafe_sign_hash(digest)
        assert ours.sign_hash(digest) == {
            "r": hex(theirs.r),
            "s": hex(theirs.s),
            "v": theirs.v,
        }
        typed = l1_typed_data(rng.randbytes(32), rng.random() < 0.5)
        signed = ref.sign_message(encode_typed_data(full_message=typed))
        assert ours.sign_typed_data(typed) == {
            "r": hex(signed.r),
            "s": hex(signed.s),
            "v": signed.v,
        }


@pytest.mark.parametrize(
    "raw",
    ["0x" + "00" * 32, "ff" * 32, "0x" + "11" * 31, "0x" + "11" * 33, "0x" + "1" * 63 + "g"],
)
def test_invalid_keys_are_refused_without_echo(raw, monkeypatch):
    monkeypatch.setenv("HL_PRIVATE_KEY", raw)
    with pytest.raises(KeyLoadError) as info:
        Signer.from_env()
    msg = str(info.value)
    assert msg.startswith("environment variable HL_PRIVATE_KEY: not a valid")
    assert raw.removeprefix("0x")[:16] not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_key_case_and_prefix_do_not_matter(monkeypatch):
    key = "ab" * 32
    ref = Signer.from_private_key(bytes.fromhex(key)).address
    for raw in (key, "0x" + key, "0X" + key.upper(), f"  {key}\n"):
        monkeypatch.setenv("HL_PRIVATE_KEY", raw)
        assert Signer.from_env().address == ref


def test_load_signer_prefers_the_keystore(tmp_path, monkeypatch):
    env_key, file_key = "0x" + "21" * 32, "0x" + "43" * 32
    monkeypatch.setenv("HL_PRIVATE_KEY", env_key)
    assert load_signer("").address == Signer.from_private_key(env_key).address
    path = tmp_path / "key.json"
    signer = Signer.from_private_key(file_key)
    path.write_text(json.dumps(signer.encrypt("pw", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("HL_KEYSTORE_PASSWORD", "pw")
    assert load_signer(path).address == signer.address
    with pytest.raises(KeyLoadError, match=r"keystore .*missing\.json: no such file"):
        load_signer(tmp_path / "missing.json")


def test_account_is_the_configured_one_else_the_signers():
    agent = Signer.from_private_key("0x" + "77" * 32)
    master = "0x" + "AB" * 20
    assert account_address(master, agent) == master.lower()  # an API wallet trading for it
    assert account_address("", agent) == agent.address
    with pytest.raises(KeyLoadError, match="no account: pass --address"):
        account_address("", None)
    with pytest.raises(KeyLoadError, match="not an address"):
        account_address("0x1234", agent)


def test_signer_cannot_be_copied_or_pickled():
    import copy
    import pickle

    s = Signer.from_private_key("0x" + "31" * 32)
    for f in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            f(s)
    assert repr(s) == f"Signer(address={s.address})"
