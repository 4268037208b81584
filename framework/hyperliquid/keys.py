"""Private keys: loaded from the environment or an eth keystore file, never shown.

Production code gets a :class:`Signer` from :meth:`Signer.from_env` (``HL_PRIVATE_KEY``)
or :meth:`Signer.from_keystore` (a JSON keystore file plus a password from
``HL_KEYSTORE_PASSWORD``).  :meth:`Signer.from_private_key` exists for tests and the
simulator (throw-away keys).  ``repr``/``str`` show only the address; errors name the
source (variable or file), never the key or the password.

Usage::

    signer = Signer.from_env()           # reads HL_PRIVATE_KEY
    signer.address                       # "0x..." lowercase
    sig = signer.sign_typed_data(full_message)   # {"r": hex, "s": hex, "v": 27|28}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_hex

from framework.hyperliquid.errors import KeyLoadError

DEFAULT_KEY_ENV = "HL_PRIVATE_KEY"
DEFAULT_PASSWORD_ENV = "HL_KEYSTORE_PASSWORD"


class Signer:
    """Holds one private key and signs with it.

    Attributes
    ----------
    address : str
        The key's address, lowercase ``0x`` hex.
    """

    __slots__ = ("__account", "address")

    def __init__(self, account: Any) -> None:
        self.__account = account
        self.address: str = account.address.lower()

    # -- loading ---------------------------------------------------------------------

    @classmethod
    def from_env(cls, var: str = DEFAULT_KEY_ENV) -> Signer:
        """Load the key from environment variable ``var`` (hex, with or without ``0x``)."""
        raw = os.environ.get(var)
        if not raw:
            raise KeyLoadError(
                f"environment variable {var} is not set; export the hex private key there "
                "or use a keystore file"
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
        return cls._from_hex(bytes(key).hex(), f"keystore {p}")

    @classmethod
    def from_private_key(cls, key: str | bytes) -> Signer:
        """Wrap a key given in code.  For tests and simulator agents only."""
        if isinstance(key, bytes):
            key = key.hex()
        return cls._from_hex(key, "private key argument")

    @classmethod
    def _from_hex(cls, raw: str, source: str) -> Signer:
        try:
            account = Account.from_key(raw)
        except Exception:
            # `from None`: the original exception text may quote the key
            raise KeyLoadError(f"{source}: not a valid 32-byte hex private key") from None
        return cls(account)

    # -- signing ---------------------------------------------------------------------

    def sign_typed_data(self, full_message: Mapping[str, Any]) -> dict[str, Any]:
        """Sign EIP-712 typed data; returns ``{"r": hex, "s": hex, "v": int}`` like the SDK."""
        signed = self.__account.sign_message(encode_typed_data(full_message=dict(full_message)))
        return {"r": to_hex(signed.r), "s": to_hex(signed.s), "v": signed.v}

    def sign_hash(self, digest: bytes) -> dict[str, Any]:
        """Sign a 32-byte EIP-712 digest directly (same signature as :meth:`sign_typed_data`)."""
        signed = self.__account.unsafe_sign_hash(digest)
        return {"r": to_hex(signed.r), "s": to_hex(signed.s), "v": signed.v}

    def encrypt(
        self, password: str, *, kdf: str | None = None, iterations: int | None = None
    ) -> dict[str, Any]:
        """Keystore JSON of this key (to create a keystore file in tests or setup)."""
        return Account.encrypt(self.__account.key, password, kdf=kdf, iterations=iterations)

    def __repr__(self) -> str:
        return f"Signer(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Signer cannot be pickled (it holds a private key)")
