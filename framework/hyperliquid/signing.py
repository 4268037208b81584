"""Hyperliquid signing: L1 actions (phantom agent) and user-signed actions (EIP-712).

Pure functions, no I/O.  The network is always an explicit ``is_mainnet`` flag; it is
never inferred from a URL (the SDK's habit of treating every non-mainnet URL as testnet
is a trap for a local simulator).

L1 actions (order, cancel, cancelByCloid, modify, batchModify, updateLeverage,
scheduleCancel, noop, ...), reference §5.1-5.2::

    connection_id = keccak(msgpack(action) + nonce(8 bytes BE)
                           + (b"\\x00" | b"\\x01" + vault 20 bytes)
                           + [b"\\x00" + expires_after(8 bytes BE)])
    phantom agent = {"source": "a" mainnet | "b" testnet, "connectionId": connection_id}
    EIP-712 domain Exchange / 1 / chainId 1337 / zero address, primary type Agent

User-signed actions (approveAgent, usdSend, withdraw3, spotSend, usdClassTransfer,
approveBuilderFee, sendAsset), reference §5.3: EIP-712 over the action's own fields,
domain HyperliquidSignTransaction / 1 / chainId = signatureChainId (0x66eee).

API (signatures are ``{"r": "0x..", "s": "0x..", "v": 27|28}``, r/s unpadded hex as the
SDK's ``eth_utils.to_hex(int)`` makes them; compare them as integers)::

    action_hash(action, nonce, vault_address, expires_after) -> bytes
    l1_typed_data(connection_id, is_mainnet) -> dict          # full EIP-712 message
    l1_digest(action, nonce, vault_address, expires_after, is_mainnet) -> bytes
    sign_l1_action(signer, action, nonce, vault_address=None, expires_after=None, *, is_mainnet)
    recover_l1_signer(action, nonce, vault_address, expires_after, signature, is_mainnet) -> str
    prepare_user_signed_action(action, is_mainnet) -> dict    # adds chain fields (copy)
    user_signed_typed_data(action) -> dict
    sign_user_signed_action(signer, action, *, is_mainnet) -> (posted_action, signature)
    recover_user_signed_signer(action, signature, is_mainnet) -> str

Recovered addresses are lowercase ``0x`` hex.  ``signer`` is a
:class:`framework.hyperliquid.keys.Signer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack
from eth_account import Account
from eth_account.messages import encode_typed_data

try:  # pycryptodome (eth-hash's backend) directly: eth_utils.keccak adds ~10 us of checks
    from Crypto.Hash import keccak as _keccak256

    def keccak(data: bytes) -> bytes:
        """Keccak-256 of ``data`` (Ethereum's, not SHA3-256)."""
        return _keccak256.new(data=data, digest_bits=256).digest()

except ImportError:  # pragma: no cover - another eth-hash backend
    from eth_utils import keccak

from framework.hyperliquid.errors import SigningError
from framework.hyperliquid.keys import Signer

L1_CHAIN_ID = 1337
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SIGNATURE_CHAIN_ID = "0x66eee"  # SDK constant (421614); any chain id is accepted

_EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_AGENT_TYPE = [
    {"name": "source", "type": "string"},
    {"name": "connectionId", "type": "bytes32"},
]

# primaryType and typed fields of every user-signed action we support, by action "type"
USER_SIGNED_TYPES: dict[str, tuple[str, list[dict[str, str]]]] = {
    "approveAgent": (
        "HyperliquidTransaction:ApproveAgent",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "agentAddress", "type": "address"},
            {"name": "agentName", "type": "string"},
            {"name": "nonce", "type": "uint64"},
        ],
    ),
    "usdSend": (
        "HyperliquidTransaction:UsdSend",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "destination", "type": "string"},
            {"name": "amount", "type": "string"},
            {"name": "time", "type": "uint64"},
        ],
    ),
    "withdraw3": (
        "HyperliquidTransaction:Withdraw",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "destination", "type": "string"},
            {"name": "amount", "type": "string"},
            {"name": "time", "type": "uint64"},
        ],
    ),
    "spotSend": (
        "HyperliquidTransaction:SpotSend",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "destination", "type": "string"},
            {"name": "token", "type": "string"},
            {"name": "amount", "type": "string"},
            {"name": "time", "type": "uint64"},
        ],
    ),
    "usdClassTransfer": (
        "HyperliquidTransaction:UsdClassTransfer",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "amount", "type": "string"},
            {"name": "toPerp", "type": "bool"},
            {"name": "nonce", "type": "uint64"},
        ],
    ),
    "approveBuilderFee": (
        "HyperliquidTransaction:ApproveBuilderFee",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "maxFeeRate", "type": "string"},
            {"name": "builder", "type": "address"},
            {"name": "nonce", "type": "uint64"},
        ],
    ),
    "sendAsset": (
        "HyperliquidTransaction:SendAsset",
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "destination", "type": "string"},
            {"name": "sourceDex", "type": "string"},
            {"name": "destinationDex", "type": "string"},
            {"name": "token", "type": "string"},
            {"name": "amount", "type": "string"},
            {"name": "fromSubAccount", "type": "string"},
            {"name": "nonce", "type": "uint64"},
        ],
    ),
}

# ---- precomputed EIP-712 pieces for the L1 (Agent) message --------------------------------
# digest = keccak(0x1901 || domainSeparator || keccak(typeHash || keccak(source) || connectionId))
_AGENT_TYPEHASH = keccak(b"Agent(string source,bytes32 connectionId)")
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_L1_DOMAIN_SEPARATOR = keccak(
    _DOMAIN_TYPEHASH
    + keccak(b"Exchange")
    + keccak(b"1")
    + L1_CHAIN_ID.to_bytes(32, "big")
    + bytes(32)
)
_SOURCE_HASH = {True: keccak(b"a"), False: keccak(b"b")}


# msgpack's integer range: a wider int would fail to pack after signing began.
_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1


def _plain(x: Any) -> bool:
    """Fast path of :func:`_check_msgpackable`: only str/int/bool in dicts and lists
    (what the wire builders make), by exact type; anything else takes the slow path."""
    t = type(x)
    if t is int:
        return _INT_MIN <= x <= _UINT_MAX  # msgpack has no wider integer
    if t is str or t is bool:
        return True
    if t is dict:
        for k, v in x.items():  # noqa: SIM110 - a loop is faster than all(genexpr)
            if type(k) is not str or not _plain(v):
                return False
        return True
    if t is list or t is tuple:
        for v in x:  # noqa: SIM110 - as above
            if not _plain(v):
                return False
        return True
    return False


def _check_msgpackable(x: Any, path: str) -> None:
    """Refuse values the venue's msgpack hash would not reproduce (None, floats, Decimals)."""
    if _plain(x):
        return
    if isinstance(x, bool | str):
        return
    if isinstance(x, int):
        if not _INT_MIN <= x <= _UINT_MAX:
            raise SigningError(
                f"{path} = {x} does not fit msgpack's 64-bit integers; "
                "send it as a wire string or a smaller number"
            )
        return
    if isinstance(x, Mapping):
        for k, v in x.items():
            if not isinstance(k, str):
                raise SigningError(f"{path}: key {k!r} must be a str")
            _check_msgpackable(v, f"{path}.{k}")
        return
    if isinstance(x, list | tuple):
        for i, v in enumerate(x):
            _check_msgpackable(v, f"{path}[{i}]")
        return
    if x is None:
        raise SigningError(f"{path} is None; omit optional keys instead of sending null")
    raise SigningError(
        f"{path} is a {type(x).__name__}; prices/sizes must be wire strings (wire.to_wire)"
    )


def _check_nonce(x: Any, field: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < 1 << 64:
        raise SigningError(f"{field}: {x!r} must be an int in [0, 2**64)")
    return x


def _address_bytes(address: str, field: str) -> bytes:
    h = address[2:] if address.startswith("0x") else address
    try:
        b = bytes.fromhex(h)
    except ValueError:
        raise SigningError(f"{field}: {address!r} is not hex") from None
    if len(b) != 20:
        raise SigningError(f"{field}: {address!r} must be 20 bytes")
    return b


# ---- L1 actions ----------------------------------------------------------------------


def action_hash(
    action: Mapping[str, Any], nonce: int, vault_address: str | None, expires_after: int | None
) -> bytes:
    """The L1 ``connectionId``: keccak of msgpack(action) + nonce + vault + expiresAfter.

    Parameters
    ----------
    action : dict
        Hashed in its insertion order (build it with :mod:`framework.hyperliquid.wire`).
    nonce : int
        Milliseconds; 8 bytes big-endian.
    vault_address : str or None
        ``b"\\x00"`` when None, else ``b"\\x01"`` + the 20 address bytes.
    expires_after : int or None
        When given, ``b"\\x00"`` + 8 bytes big-endian are appended.
    """
    _check_msgpackable(action, "action")
    data = msgpack.packb(action)
    data += _check_nonce(nonce, "nonce").to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + _address_bytes(vault_address, "vaultAddress")
    if expires_after is not None:
        data += b"\x00" + _check_nonce(expires_after, "expiresAfter").to_bytes(8, "big")
    return keccak(data)


def l1_typed_data(connection_id: bytes, is_mainnet: bool) -> dict[str, Any]:
    """The full EIP-712 message of the phantom agent (what the SDK signs)."""
    return {
        "domain": {
            "chainId": L1_CHAIN_ID,
            "name": "Exchange",
            "verifyingContract": ZERO_ADDRESS,
            "version": "1",
        },
        "types": {"Agent": _AGENT_TYPE, "EIP712Domain": _EIP712_DOMAIN_TYPE},
        "primaryType": "Agent",
        "message": {"source": "a" if is_mainnet else "b", "connectionId": connection_id},
    }


def l1_digest(
    action: Mapping[str, Any],
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    is_mainnet: bool,
) -> bytes:
    """The 32-byte EIP-712 digest signed for an L1 action (equal to ``encode_typed_data``'s)."""
    if not isinstance(is_mainnet, bool):
        raise SigningError(f"is_mainnet: {is_mainnet!r} must be a bool (explicit network)")
    cid = action_hash(action, nonce, vault_address, expires_after)
    struct = keccak(_AGENT_TYPEHASH + _SOURCE_HASH[is_mainnet] + cid)
    return keccak(b"\x19\x01" + _L1_DOMAIN_SEPARATOR + struct)


def sign_l1_action(
    signer: Signer,
    action: Mapping[str, Any],
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
    *,
    is_mainnet: bool,
) -> dict[str, Any]:
    """Sign an L1 action; returns ``{"r", "s", "v"}`` as the SDK's ``sign_l1_action``."""
    return signer.sign_hash(l1_digest(action, nonce, vault_address, expires_after, is_mainnet))


def _vrs(signature: Mapping[str, Any]) -> tuple[int, int, int]:
    try:
        r, s, v = signature["r"], signature["s"], signature["v"]
        r_i = int(r, 16) if isinstance(r, str) else int(r)
        s_i = int(s, 16) if isinstance(s, str) else int(s)
        v_i = int(v)
    except (KeyError, TypeError, ValueError):
        raise SigningError('signature: must be {"r": hex, "s": hex, "v": 27|28}') from None
    return v_i, r_i, s_i


def recover_from_digest(digest: bytes, signature: Mapping[str, Any]) -> str:
    """Address (lowercase) that signed ``digest``; :class:`SigningError` if unrecoverable."""
    v, r, s = _vrs(signature)
    try:
        return Account._recover_hash(digest, vrs=(v, r, s)).lower()
    except Exception as exc:  # eth_keys raises BadSignature / ValidationError variants
        raise SigningError(f"Unable to recover signer ({type(exc).__name__})") from None


def recover_l1_signer(
    action: Mapping[str, Any],
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    signature: Mapping[str, Any],
    is_mainnet: bool,
) -> str:
    """Recover the address that signed an L1 action (lowercase ``0x`` hex).

    The simulator calls this with the action exactly as received (key order kept).
    """
    return recover_from_digest(
        l1_digest(action, nonce, vault_address, expires_after, is_mainnet), signature
    )


# ---- user-signed actions ---------------------------------------------------------------


def _user_types(action: Mapping[str, Any]) -> tuple[str, list[dict[str, str]]]:
    kind = action.get("type")
    if kind not in USER_SIGNED_TYPES:
        raise SigningError(
            f"action.type: {kind!r} is not a user-signed action we know "
            f"({', '.join(USER_SIGNED_TYPES)})"
        )
    return USER_SIGNED_TYPES[kind]


def prepare_user_signed_action(action: Mapping[str, Any], is_mainnet: bool) -> dict[str, Any]:
    """Copy of ``action`` with ``signatureChainId`` and ``hyperliquidChain`` set."""
    if not isinstance(is_mainnet, bool):
        raise SigningError(f"is_mainnet: {is_mainnet!r} must be a bool (explicit network)")
    out = dict(action)
    out["signatureChainId"] = out.get("signatureChainId", SIGNATURE_CHAIN_ID)
    out["hyperliquidChain"] = "Mainnet" if is_mainnet else "Testnet"
    return out


def user_signed_typed_data(action: Mapping[str, Any]) -> dict[str, Any]:
    """Full EIP-712 message of a prepared user-signed action."""
    primary, fields = _user_types(action)
    message = dict(action)
    if primary.endswith(":ApproveAgent") and "agentName" not in message:
        message["agentName"] = ""  # unnamed agents are signed with "" and posted without it
    missing = [f["name"] for f in fields if f["name"] not in message]
    if missing:
        raise SigningError(f"action ({action.get('type')}): missing field(s) {', '.join(missing)}")
    try:
        chain_id = int(message["signatureChainId"], 16)
    except (KeyError, TypeError, ValueError):
        raise SigningError("action.signatureChainId: must be a hex string like '0x66eee'") from None
    return {
        "domain": {
            "name": "HyperliquidSignTransaction",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": ZERO_ADDRESS,
        },
        "types": {primary: fields, "EIP712Domain": _EIP712_DOMAIN_TYPE},
        "primaryType": primary,
        "message": message,
    }


def sign_user_signed_action(
    signer: Signer, action: Mapping[str, Any], *, is_mainnet: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sign a user-signed action.

    Returns
    -------
    (dict, dict)
        The action to post (with the chain fields added) and the signature.  The envelope
        nonce must equal the action's ``nonce``/``time``, with ``vaultAddress`` null.
    """
    posted = prepare_user_signed_action(action, is_mainnet)
    return posted, signer.sign_typed_data(user_signed_typed_data(posted))


def recover_user_signed_signer(
    action: Mapping[str, Any], signature: Mapping[str, Any], is_mainnet: bool
) -> str:
    """Recover the signer of a user-signed action as received (lowercase ``0x`` hex).

    ``hyperliquidChain`` is forced to the verifier's network (as the SDK's recover does),
    so an action signed for the other network recovers to a different address.
    """
    prepared = dict(action)
    prepared["hyperliquidChain"] = "Mainnet" if is_mainnet else "Testnet"
    if "signatureChainId" not in prepared:
        raise SigningError("action.signatureChainId: missing from a user-signed action")
    try:
        signable = encode_typed_data(full_message=user_signed_typed_data(prepared))
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"action ({action.get('type')}): cannot encode ({exc})") from None
    v, r, s = _vrs(signature)
    try:
        return Account.recover_message(signable, vrs=(v, r, s)).lower()
    except Exception as exc:
        raise SigningError(f"Unable to recover signer ({type(exc).__name__})") from None
