"""Deserialising /exchange bodies: shapes and types only (business rules live in state).

A body that does not have the shape of an action raises :class:`Undeserializable`, which the
app answers with HTTP 422 (reference §1).  The action itself is kept exactly as received
(dict insertion order = JSON key order) because its msgpack hash is what was signed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from framework.hyperliquid.simulator.errors import Undeserializable

L1_TYPES = frozenset(
    {
        "order",
        "cancel",
        "cancelByCloid",
        "modify",
        "batchModify",
        "updateLeverage",
        "scheduleCancel",
        "noop",
        "updateIsolatedMargin",
    }
)
USER_SIGNED_TYPES = frozenset({"approveAgent", "usdSend", "withdraw3"})
TIFS = frozenset({"Alo", "Ioc", "Gtc", "FrontendMarket"})
_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")
_ADDR = re.compile(r"^0x[0-9a-fA-F]{40}$")


@attrs.frozen
class Envelope:
    action: dict[str, Any]
    nonce: int
    signature: dict[str, Any]
    vault_address: str | None
    expires_after: int | None


@attrs.frozen
class OrderSpec:
    """One order element of an ``order`` / ``modify`` action."""

    asset: int
    is_buy: bool
    px: str
    sz: str
    reduce_only: bool
    tif: str | None  # None for trigger orders
    cloid: str | None
    trigger: dict[str, Any] | None = None


def _int(x: Any, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise Undeserializable(f"{where}: expected an integer, got {x!r}")
    return x


def _bool(x: Any, where: str) -> bool:
    if not isinstance(x, bool):
        raise Undeserializable(f"{where}: expected a boolean, got {x!r}")
    return x


def _str(x: Any, where: str) -> str:
    if not isinstance(x, str):
        raise Undeserializable(f"{where}: expected a string, got {x!r}")
    return x


def _dict(x: Any, where: str) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise Undeserializable(f"{where}: expected an object, got {x!r}")
    return x


def _list(x: Any, where: str) -> list[Any]:
    if not isinstance(x, list):
        raise Undeserializable(f"{where}: expected an array, got {x!r}")
    return x


def _num_str(x: Any, where: str) -> str:
    s = _str(x, where)
    try:
        finite = math.isfinite(float(s))
    except ValueError:
        finite = False
    if not finite:  # "NaN", "inf", "1e999" are not decimal strings either
        raise Undeserializable(f"{where}: {s!r} is not a decimal string")
    return s


def load_body(raw: bytes | str) -> Any:
    """Decode a request body as the venue's JSON parser (serde_json) would.

    Python's ``json`` also takes ``NaN``/``Infinity`` tokens, numbers beyond a double
    (``1e999`` -> inf) and lone UTF-16 surrogate
    escapes (``"\\ud800"``, a string no UTF-8 encoder accepts); the venue refuses both, as
    it refuses any invalid JSON, and so do we.  Nesting deeper than the decoder's
    recursion limit is refused too (it raised RecursionError: an HTTP 500).

    Raises
    ------
    Undeserializable
        Naming why the body is not JSON (HTTP 422).
    """
    try:
        body = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise Undeserializable("invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a >4300-digit number
        raise Undeserializable(f"invalid JSON ({exc})") from None
    if (b"\\u" if isinstance(raw, bytes) else "\\u") in raw:
        _check_unicode(body)
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"number {text[:30]} out of range")
    return x


def _check_unicode(x: Any) -> None:
    """Raise Undeserializable if a string (or key) of ``x`` holds a lone surrogate."""
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise Undeserializable(
                    "invalid JSON (a string holds a lone UTF-16 surrogate escape)"
                ) from None
        elif isinstance(v, dict):
            stack += v.keys()
            stack += v.values()
        elif isinstance(v, list):
            stack += v


def parse_envelope(body: Any) -> Envelope:
    """The /exchange envelope; the action's type must be one we know."""
    b = _dict(body, "body")
    action = _dict(b.get("action"), "action")
    kind = action.get("type")
    if not isinstance(kind, str):
        raise Undeserializable("action: missing field `type`")
    if kind not in L1_TYPES and kind not in USER_SIGNED_TYPES:
        raise Undeserializable(f"action: unknown variant `{kind}`")
    nonce = _int(b.get("nonce"), "nonce")
    sig = _dict(b.get("signature"), "signature")
    for k in ("r", "s", "v"):
        if k not in sig:
            raise Undeserializable(f"signature: missing field `{k}`")
    vault = b.get("vaultAddress")
    if vault is not None and not (isinstance(vault, str) and _ADDR.match(vault)):
        raise Undeserializable(f"vaultAddress: {vault!r} is not an address")
    exp = b.get("expiresAfter")
    if exp is not None:
        exp = _int(exp, "expiresAfter")
    check_action(action)
    _check_ints(action)
    return Envelope(action, nonce, sig, vault, exp)


def _check_ints(action: Any) -> None:
    """Refuse integers no 64-bit field holds: the venue's typed fields would not
    deserialize them, and msgpack cannot hash them (an OverflowError was an HTTP 500)."""
    stack: list[tuple[Any, str]] = [(action, "action")]
    while stack:
        v, where = stack.pop()
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**64:
            raise Undeserializable(f"{where}: {v} is out of the 64-bit integer range")
        if isinstance(v, dict):
            stack += [(x, f"{where}.{k}") for k, x in v.items()]
        elif isinstance(v, list):
            stack += [(x, f"{where}[{i}]") for i, x in enumerate(v)]


def parse_order(o: Any, where: str) -> OrderSpec:
    """An order wire ``{a, b, p, s, r, t, c?}``."""
    o = _dict(o, where)
    for k in ("a", "b", "p", "s", "r", "t"):
        if k not in o:
            raise Undeserializable(f"{where}: missing field `{k}`")
    t = _dict(o["t"], f"{where}.t")
    tif = None
    trig = None
    if "limit" in t:
        tif = _str(_dict(t["limit"], f"{where}.t.limit").get("tif"), f"{where}.t.limit.tif")
        if tif not in TIFS:
            raise Undeserializable(f"{where}.t.limit.tif: unknown variant `{tif}`")
    elif "trigger" in t:
        trig = _dict(t["trigger"], f"{where}.t.trigger")
    else:
        raise Undeserializable(f"{where}.t: expected `limit` or `trigger`")
    cloid = o.get("c")
    if cloid is not None and not (isinstance(cloid, str) and _CLOID.match(cloid)):
        raise Undeserializable(f"{where}.c: {cloid!r} is not 0x + 32 hex digits")
    return OrderSpec(
        asset=_int(o["a"], f"{where}.a"),
        is_buy=_bool(o["b"], f"{where}.b"),
        px=_num_str(o["p"], f"{where}.p"),
        sz=_num_str(o["s"], f"{where}.s"),
        reduce_only=_bool(o["r"], f"{where}.r"),
        tif=tif,
        cloid=cloid.lower() if cloid else None,
        trigger=trig,
    )


def oid_or_cloid(x: Any, where: str) -> int | str:
    if isinstance(x, str) and _CLOID.match(x):
        return x.lower()
    return _int(x, where)


def check_action(a: Mapping[str, Any]) -> None:
    """Raise :class:`Undeserializable` if ``a`` does not have its type's fields."""
    kind = a["type"]
    if kind == "order":
        for i, o in enumerate(_list(a.get("orders"), "action.orders")):
            parse_order(o, f"action.orders[{i}]")
        _str(a.get("grouping", "na"), "action.grouping")
    elif kind == "cancel":
        for i, c in enumerate(_list(a.get("cancels"), "action.cancels")):
            c = _dict(c, f"action.cancels[{i}]")
            _int(c.get("a"), f"action.cancels[{i}].a")
            _int(c.get("o"), f"action.cancels[{i}].o")
    elif kind == "cancelByCloid":
        for i, c in enumerate(_list(a.get("cancels"), "action.cancels")):
            c = _dict(c, f"action.cancels[{i}]")
            _int(c.get("asset"), f"action.cancels[{i}].asset")
            cl = c.get("cloid")
            if not (isinstance(cl, str) and _CLOID.match(cl)):
                raise Undeserializable(f"action.cancels[{i}].cloid: {cl!r} is not a cloid")
    elif kind == "modify":
        oid_or_cloid(a.get("oid"), "action.oid")
        parse_order(a.get("order"), "action.order")
    elif kind == "batchModify":
        for i, m in enumerate(_list(a.get("modifies"), "action.modifies")):
            m = _dict(m, f"action.modifies[{i}]")
            oid_or_cloid(m.get("oid"), f"action.modifies[{i}].oid")
            parse_order(m.get("order"), f"action.modifies[{i}].order")
    elif kind == "updateLeverage":
        _int(a.get("asset"), "action.asset")
        _bool(a.get("isCross"), "action.isCross")
        _int(a.get("leverage"), "action.leverage")
    elif kind == "scheduleCancel":
        if "time" in a:
            _int(a["time"], "action.time")
    elif kind == "updateIsolatedMargin":
        _int(a.get("asset"), "action.asset")
        _int(a.get("ntli"), "action.ntli")
    elif kind in ("usdSend", "withdraw3"):
        dest = a.get("destination")
        if not (isinstance(dest, str) and _ADDR.match(dest)):
            raise Undeserializable(f"action.destination: {dest!r} is not an address")
        _num_str(a.get("amount"), "action.amount")
        _int(a.get("time"), "action.time")
        _str(a.get("hyperliquidChain"), "action.hyperliquidChain")
        _str(a.get("signatureChainId"), "action.signatureChainId")
    elif kind == "approveAgent":
        addr = a.get("agentAddress")
        if not (isinstance(addr, str) and _ADDR.match(addr)):
            raise Undeserializable(f"action.agentAddress: {addr!r} is not an address")
        _int(a.get("nonce"), "action.nonce")
        _str(a.get("hyperliquidChain"), "action.hyperliquidChain")
        _str(a.get("signatureChainId"), "action.signatureChainId")
