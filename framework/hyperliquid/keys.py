"""Private keys: loaded from the environment or an eth keystore file, never shown.

Production code gets a :class:`Signer` from :func:`load_signer` (the ``[live] keystore``
file when one is configured, else ``HL_PRIVATE_KEY``), i.e. from :meth:`Signer.from_env`
or :meth:`Signer.from_keystore` (a JSON keystore file plus a password from
``HL_KEYSTORE_PASSWORD``).  :meth:`Signer.from_private_key` exists for tests and the
simulator (throw-away keys).  ``repr``/``str`` show only the address; errors name the
source (variable or file), never the key or the password; a Signer cannot be pickled.

Signing goes straight to libsecp256k1 through coincurve (RFC 6979 nonces, low-s), the
same signature eth-account makes, in about 35 µs instead of eth-account's ~250 µs
(which re-derives the public key on every call) or eth-keys' pure-Python ~5 ms.

API (agent) wallets: the signer may be an agent the account approved (``approveAgent``);
the venue then applies the agent's actions to the account, nonces are tracked per
signer, and every info query must name the **account** (an agent has no state of its
own).  :func:`account_address` picks the account: ``[live] account_address`` when set,
else the signer's address.

Usage::

    signer = load_signer(cfg.live.keystore)   # keystore file, or HL_PRIVATE_KEY
    account = account_address(cfg.live.account_address, signer)
    signer.address                            # "0x..." lowercase
    sig = signer.sign_hash(digest32)          # {"r": hex, "s": hex, "v": 27|28}
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import coincurve
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from framework.hyperliquid.errors import KeyLoadError

DEFAULT_KEY_ENV = "HL_PRIVATE_KEY"
DEFAULT_PASSWORD_ENV = "HL_KEYSTORE_PASSWORD"

_HEX_KEY = re.compile(r"(0[xX])?[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def address_of(public_key: coincurve.PublicKey) -> str:
    """The Ethereum address (lowercase ``0x`` hex) of a secp256k1 public key."""
    return "0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex()


class Signer:
    """Holds one private key and signs with it.

    Attributes
    ----------
    address : str
        The key's address, lowercase ``0x`` hex.
    """

    __slots__ = ("__key", "address")

    def __init__(self, secret: bytes) -> None:
        """``secret``: the 32 key bytes.  Prefer the ``from_*`` constructors."""
        self.__key = coincurve.PrivateKey(secret)
        self.address: str = address_of(self.__key.public_key)

    # -- loading ---------------------------------------------------------------------

    @classmethod
    def from_env(cls, var: str = DEFAULT_KEY_ENV) -> Signer:
        """Load the key from environment variable ``var`` (hex, with or without ``0x``)."""
        raw = os.environ.get(var)
        if not raw:
            raise KeyLoadError(
                f"environment variable {var} is not set; export the hex private key there "
                "or set [live] keystore to an encrypted keystore file"
            )
        return cls._from_hex(raw.strip(), f"environment variable {var}")

    @classmethod
    def from_keystore(cls, path: str | Path, password_env: str = DEFAULT_PASSWORD_ENV) -> Signer:
        """Decrypt an eth JSON keystore file with the password in ``password_env``."""
        p = Path(path)
        password = os.environ.get(password_env)
        if password is None:
            raise KeyLoadError(
                f"environment variable {password_env} is not set; it must hold the password "
                f"of keystore {p}"
            )
        try:
            blob = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise KeyLoadError(f"keystore {p}: cannot read JSON ({type(exc).__name__})") from None
        try:
            key = Account.decrypt(blob, password)
        except Exception:  # eth_account raises ValueError / KeyError variants
            raise KeyLoadError(
                f"keystore {p}: cannot decrypt (wrong password in {password_env} or bad file)"
            ) from None
        return cls._from_bytes(bytes(key), f"keystore {p}")

    @classmethod
    def from_private_key(cls, key: str | bytes) -> Signer:
        """Wrap a key given in code.  For tests and simulator agents only."""
        if isinstance(key, bytes):
            return cls._from_bytes(key, "private key argument")
        return cls._from_hex(key, "private key argument")

    @classmethod
    def _from_hex(cls, raw: str, source: str) -> Signer:
        # never echo ``raw``: a near-miss (a typo, a cut) is still most of the key
        if not _HEX_KEY.fullmatch(raw):
            raise KeyLoadError(
                f"{source}: not a valid private key; it must be 64 hex digits (32 bytes), "
                "with or without 0x"
            ) from None  # nothing chained that could hold the text
        h = raw[2:] if raw[:2] in ("0x", "0X") else raw
        return cls._from_bytes(bytes.fromhex(h), source)

    @classmethod
    def _from_bytes(cls, secret: bytes, source: str) -> Signer:
        try:
            return cls(secret)
        except Exception:
            # `from None`: the original exception text may quote the key
            raise KeyLoadError(
                f"{source}: not a valid secp256k1 private key (32 bytes, 0 < key < n)"
            ) from None

    # -- signing ---------------------------------------------------------------------

    def sign_hash(self, digest: bytes) -> dict[str, Any]:
        """Sign a 32-byte digest; ``{"r": hex, "s": hex, "v": 27|28}`` as the SDK makes it
        (r and s unpadded ``0x`` hex, as ``eth_utils.to_hex(int)``)."""
        sig = self.__key.sign_recoverable(digest, hasher=None)
        return {  # hex(int) is eth_utils.to_hex(int), without its checks
            "r": hex(int.from_bytes(sig[:32], "big")),
            "s": hex(int.from_bytes(sig[32:64], "big")),
            "v": sig[64] + 27,
        }

    def sign_typed_data(self, full_message: Mapping[str, Any]) -> dict[str, Any]:
        """Sign EIP-712 typed data; returns ``{"r": hex, "s": hex, "v": int}`` like the SDK."""
        m = encode_typed_data(full_message=dict(full_message))
        return self.sign_hash(keccak(b"\x19" + m.version + m.header + m.body))

    def encrypt(
        self, password: str, *, kdf: str | None = None, iterations: int | None = None
    ) -> dict[str, Any]:
        """Keystore JSON of this key (to create a keystore file in tests or setup)."""
        return Account.encrypt(self.__key.secret, password, kdf=kdf, iterations=iterations)

    def __repr__(self) -> str:
        return f"Signer(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Signer cannot be pickled (it holds a private key)")

    def __copy__(self) -> Any:
        raise TypeError("Signer cannot be copied (it holds a private key)")

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("Signer cannot be copied (it holds a private key)")


def load_signer(
    keystore: str | Path | None = None,
    *,
    key_env: str = DEFAULT_KEY_ENV,
    password_env: str = DEFAULT_PASSWORD_ENV,
) -> Signer:
    """The session's signer: the ``keystore`` file when given (``[live] keystore``; its
    password in ``password_env``), else the hex key in ``key_env``.

    Raises
    ------
    KeyLoadError
        Naming the variable or file and the fix; never the key or the password.
    """
    if keystore:
        p = Path(keystore).expanduser()
        if not p.is_file():
            raise KeyLoadError(
                f'[live] keystore {p}: no such file; fix the path, or set it to "" to use {key_env}'
            )
        return Signer.from_keystore(p, password_env)
    return Signer.from_env(key_env)


def check_address(value: str, what: str) -> str:
    """``value`` as a lowercase address, or a :class:`KeyLoadError` naming ``what``."""
    if not _ADDRESS.fullmatch(value):
        raise KeyLoadError(f"{what} {value!r}: not an address; write 0x followed by 40 hex digits")
    return value.lower()


def account_address(configured: str | None, signer: Signer | None) -> str:
    """The traded account: ``configured`` (``--address`` / ``[live] account_address``)
    when set, else the signer's own address.

    With an API (agent) wallet the signer is the agent and ``configured`` must name the
    account that approved it: info queries with the agent's address return nothing.
    """
    if configured:
        return check_address(configured, "account address")
    if signer is None:
        raise KeyLoadError(
            "no account: pass --address 0x..., set [live] account_address, or provide a key "
            f"({DEFAULT_KEY_ENV} or [live] keystore)"
        )
    return signer.address
