"""Hyperliquid wire format: decimal strings, the price/size grid, and action builders.

Pure functions, no I/O.  Every builder returns a plain ``dict`` whose keys are in the
exact order of the protocol reference §4, because the L1 signature hashes the msgpack
encoding of the action in insertion order (see :mod:`framework.hyperliquid.signing`).
Send the dict exactly as built.

Numbers
-------
Prices and sizes travel as canonical decimal strings (:func:`to_wire`): plain notation,
no exponent, no trailing zeros, no trailing ``.``, ``"0"`` for zero, at most 8 decimals
(the same strings the SDK's ``float_to_wire`` makes).  Inputs may be ``Decimal``, ``int``,
``str`` or ``float`` (a float is read through ``repr``, so ``0.1 + 0.2`` stays
``0.30000000000000004`` and is refused as having more than 8 decimals: round first).

Grid (perps, reference §5.6)
----------------------------
The grid rules live in :mod:`framework.grid` (one implementation); the functions here
are Decimal-in/Decimal-out wrappers for the wire:

* price: at most 5 significant figures and at most ``6 - szDecimals`` decimals; integer
  prices are always valid.  :func:`round_price` rounds bids down and asks up (stay
  passive); :func:`is_valid_price` checks.
* size: a multiple of ``10**-szDecimals``; :func:`round_size` rounds down by default.
* minimum notional: ``px * sz >= 10`` USDC (:func:`check_min_notional`).

Builders
--------
``order_wire(asset, is_buy, px, sz, reduce_only, order_type, cloid=None)`` with
``order_type`` from :func:`limit` (``"Alo" | "Gtc" | "Ioc"``) or :func:`trigger`;
``order_action(orders, grouping="na", builder=None)``; ``cancel_action([(asset, oid)])``;
``cancel_by_cloid_action([(asset, cloid)])``; ``modify_action(oid_or_cloid, order)``;
``batch_modify_action([(oid_or_cloid, order)])``;
``update_leverage_action(asset, is_cross, leverage)``; ``schedule_cancel_action(time=None)``;
``noop_action()``; user-signed: ``approve_agent_action``, ``usd_send_action``,
``withdraw_action``; the ``/exchange`` body: :func:`exchange_payload`;
IP weight of an ``/exchange`` request: :func:`exchange_weight`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from framework import grid
from framework.hyperliquid.errors import MinNotionalError, WireError

Number = Decimal | int | str | float

TIFS: tuple[str, ...] = ("Alo", "Gtc", "Ioc")
GROUPINGS: tuple[str, ...] = ("na", "normalTpsl", "positionTpsl")
TPSL: tuple[str, ...] = ("tp", "sl")

WIRE_MAX_DECIMALS = 8
MIN_NOTIONAL_USD = Decimal(10)
# IP weight of one /exchange request: 1 + floor(batch_length / 40) (reference §6.1).
EXCHANGE_BATCH_WEIGHT_DIVISOR = 40

_CLOID_RE = re.compile(r"^0x[0-9a-f]{32}$")
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


# ---- numbers -------------------------------------------------------------------------


def to_decimal(x: Number, field: str = "value") -> Decimal:
    """Read a number exactly as a ``Decimal``.

    Parameters
    ----------
    x : Decimal, int, str or float
        Floats are read through ``repr`` (the shortest string that round-trips).
    field : str
        Name used in the error message.

    Raises
    ------
    WireError
        For bools, NaN, infinities and unparsable strings.
    """
    if isinstance(x, bool):
        raise WireError(f"{field}: expected a number, got bool {x!r}")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, float):
        d = Decimal(repr(x))
    elif isinstance(x, str):
        try:
            d = Decimal(x.strip())
        except ArithmeticError:
            raise WireError(f"{field}: {x!r} is not a decimal number") from None
    else:
        raise WireError(f"{field}: expected Decimal/int/str/float, got {type(x).__name__}")
    if not d.is_finite():
        raise WireError(f"{field}: {x!r} is not finite")
    return d


def to_wire(x: Number, field: str = "value") -> str:
    """Canonical wire string of a price or size.

    Plain notation, no exponent, no trailing zeros and no trailing ``.``; zero is ``"0"``.

    Parameters
    ----------
    x : Decimal, int, str or float
    field : str
        Name used in the error message.

    Returns
    -------
    str
        E.g. ``100 -> "100"``, ``Decimal("1900.50") -> "1900.5"``, ``1e-8 -> "0.00000001"``.

    Raises
    ------
    WireError
        If the value has more than 8 decimals (the venue's limit; round it first).
    """
    d = to_decimal(x, field)
    if d == 0:
        return "0"
    n = d.normalize()
    exp = n.as_tuple().exponent
    assert isinstance(exp, int)
    if exp < -WIRE_MAX_DECIMALS:
        raise WireError(
            f"{field}: {x!r} has more than {WIRE_MAX_DECIMALS} decimals; round it to the grid first"
        )
    return format(n, "f")


def price_tick(px: Number, sz_decimals: int) -> Decimal:
    """The grid step at the magnitude of ``px`` (``framework.grid.price_decimals``)."""
    d = to_decimal(px, "px")
    if d <= 0:
        raise WireError(f"px: {px!r} must be positive")
    try:
        return Decimal(1).scaleb(-grid.price_decimals(float(d), sz_decimals))
    except ValueError as exc:
        raise WireError(str(exc)) from None


def is_valid_price(px: Number, sz_decimals: int) -> bool:
    """True when ``px`` is on the perp grid (5 significant figures, decimals rule, or integer)."""
    d = to_decimal(px, "px")
    return d > 0 and d % price_tick(d, sz_decimals) == 0


def round_price(px: Number, sz_decimals: int, is_buy: bool, *, passive: bool = True) -> Decimal:
    """Round a price onto the perp grid (delegates to :func:`framework.grid.round_price`).

    Parameters
    ----------
    px : number
        Positive price.
    sz_decimals : int
        The asset's ``szDecimals`` from meta.
    is_buy : bool
        Side of the order.  With ``passive`` (default) bids round down and asks up, so the
        rounded order never becomes more aggressive than asked.
    passive : bool
        False rounds the other way (bids up, asks down), e.g. for an Ioc price cap.

    Returns
    -------
    Decimal
        A valid price (``is_valid_price`` holds), normalised.
    """
    d = to_decimal(px, "px")
    down = is_buy == passive
    try:
        out = grid.round_price(float(d), sz_decimals, +1 if down else -1)
    except ValueError as exc:
        raise WireError(str(exc)) from None
    if out <= 0:
        raise WireError(f"px: {px!r} rounds to 0 on the grid; it is below one tick")
    return Decimal(repr(out)).normalize()


def round_size(sz: Number, sz_decimals: int, *, down: bool = True) -> Decimal:
    """Round a size to a multiple of ``10**-szDecimals`` (towards zero by default).

    Delegates to :func:`framework.grid.round_size`; ``down=False`` rounds to nearest.
    """
    d = to_decimal(sz, "sz")
    if d < 0:
        raise WireError(f"sz: {sz!r} must not be negative (the side carries the sign)")
    try:
        out = grid.round_size(float(d), sz_decimals, down=down)
    except ValueError as exc:
        raise WireError(str(exc)) from None
    return Decimal(repr(out)).normalize()


def is_valid_size(sz: Number, sz_decimals: int) -> bool:
    """True when ``sz`` is a positive multiple of ``10**-szDecimals``."""
    d = to_decimal(sz, "sz")
    try:
        return d > 0 and grid.is_valid_size(float(d), sz_decimals)
    except ValueError as exc:
        raise WireError(str(exc)) from None


def check_min_notional(px: Number, sz: Number, *, minimum: Decimal = MIN_NOTIONAL_USD) -> None:
    """Raise :class:`MinNotionalError` when ``px * sz`` is below the $10 minimum."""
    ntl = to_decimal(px, "px") * to_decimal(sz, "sz")
    if ntl < minimum:
        raise MinNotionalError(
            f"order notional {ntl.normalize():f} USDC (px {px} * sz {sz}) is below the "
            f"minimum of ${minimum}; increase sz"
        )


# ---- ids -----------------------------------------------------------------------------


def cloid_from_int(n: int) -> str:
    """Client order id from a non-negative integer: ``"0x"`` + 32 lowercase hex digits."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n >= 1 << 128:
        raise WireError(f"cloid: {n!r} must be an int in [0, 2**128)")
    return f"{n:#034x}"


def check_cloid(cloid: str, field: str = "cloid") -> str:
    """Validate a cloid (``"0x"`` + 32 hex digits) and return it lowercased."""
    if not isinstance(cloid, str) or not _CLOID_RE.match(cloid.lower()):
        raise WireError(f"{field}: {cloid!r} must be '0x' followed by 32 hex digits")
    return cloid.lower()


def check_address(address: str, field: str = "address") -> str:
    """Validate a 20-byte hex address and return it lowercased (as actions need it)."""
    if not isinstance(address, str) or not _ADDRESS_RE.match(address):
        raise WireError(f"{field}: {address!r} must be '0x' followed by 40 hex digits")
    return address.lower()


def _check_int(x: Any, field: str, *, minimum: int = 0) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < minimum:
        raise WireError(f"{field}: {x!r} must be an int >= {minimum}")
    return x


def _check_bool(x: Any, field: str) -> bool:
    if not isinstance(x, bool):
        raise WireError(f"{field}: {x!r} must be a bool")
    return x


# ---- order types -----------------------------------------------------------------------


def limit(tif: str) -> dict[str, Any]:
    """Limit order type ``{"limit": {"tif": tif}}``; tif is ``Alo``, ``Gtc`` or ``Ioc``."""
    if tif not in TIFS:
        raise WireError(f"tif: {tif!r} is not one of {', '.join(TIFS)}")
    return {"limit": {"tif": tif}}


def trigger(trigger_px: Number, is_market: bool, tpsl: str) -> dict[str, Any]:
    """Trigger order type (key order isMarket, triggerPx, tpsl)."""
    if tpsl not in TPSL:
        raise WireError(f"tpsl: {tpsl!r} is not one of tp, sl")
    return {
        "trigger": {
            "isMarket": _check_bool(is_market, "isMarket"),
            "triggerPx": to_wire(trigger_px, "triggerPx"),
            "tpsl": tpsl,
        }
    }


def _check_order_type(order_type: Mapping[str, Any]) -> dict[str, Any]:
    if list(order_type) == ["limit"]:
        return limit(order_type["limit"].get("tif"))
    if list(order_type) == ["trigger"]:
        t = order_type["trigger"]
        return trigger(t["triggerPx"], t["isMarket"], t["tpsl"])
    raise WireError(
        f"order type: {dict(order_type)!r} must be {{'limit': ...}} or {{'trigger': ...}}"
    )


# ---- L1 actions ------------------------------------------------------------------------


def order_wire(
    asset: int,
    is_buy: bool,
    px: Number,
    sz: Number,
    reduce_only: bool,
    order_type: Mapping[str, Any],
    cloid: str | None = None,
) -> dict[str, Any]:
    """One order in wire form, keys ``a, b, p, s, r, t[, c]``.

    Parameters
    ----------
    asset : int
        Asset id (see :mod:`framework.hyperliquid.dexes`).
    px, sz : number
        Already on the grid; they are only formatted here (use :func:`round_price`,
        :func:`round_size` first).
    order_type : dict
        From :func:`limit` or :func:`trigger`.
    cloid : str, optional
        ``"0x"`` + 32 hex; the ``c`` key is omitted when None.
    """
    w: dict[str, Any] = {
        "a": _check_int(asset, "a (asset)"),
        "b": _check_bool(is_buy, "b (is_buy)"),
        "p": to_wire(px, "p (px)"),
        "s": to_wire(sz, "s (sz)"),
        "r": _check_bool(reduce_only, "r (reduce_only)"),
        "t": _check_order_type(order_type),
    }
    if cloid is not None:
        w["c"] = check_cloid(cloid, "c (cloid)")
    return w


def builder_wire(address: str, fee_tenths_bp: int) -> dict[str, Any]:
    """Builder-fee object ``{"b": lowercase address, "f": fee in tenths of a bp}``."""
    return {"b": check_address(address, "builder.b"), "f": _check_int(fee_tenths_bp, "builder.f")}


def order_action(
    orders: Sequence[Mapping[str, Any]],
    grouping: str = "na",
    builder: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``{"type": "order", "orders": [...], "grouping": ..., ["builder": ...]}``.

    Parameters
    ----------
    orders : list of dict
        From :func:`order_wire`; at least one.
    grouping : {"na", "normalTpsl", "positionTpsl"}
    builder : dict, optional
        From :func:`builder_wire`; the key is omitted when None.
    """
    if not orders:
        raise WireError("orders: an order action needs at least one order")
    if grouping not in GROUPINGS:
        raise WireError(f"grouping: {grouping!r} is not one of {', '.join(GROUPINGS)}")
    action: dict[str, Any] = {
        "type": "order",
        "orders": [dict(o) for o in orders],
        "grouping": grouping,
    }
    if builder is not None:
        action["builder"] = builder_wire(builder["b"], builder["f"])
    return action


def cancel_action(cancels: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """``{"type": "cancel", "cancels": [{"a": asset, "o": oid}, ...]}``."""
    items = [
        {"a": _check_int(a, f"cancels[{i}].a"), "o": _check_int(o, f"cancels[{i}].o")}
        for i, (a, o) in enumerate(cancels)
    ]
    if not items:
        raise WireError("cancels: a cancel action needs at least one cancel")
    return {"type": "cancel", "cancels": items}


def cancel_by_cloid_action(cancels: Iterable[tuple[int, str]]) -> dict[str, Any]:
    """``{"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}, ...]}``."""
    items = [
        {
            "asset": _check_int(a, f"cancels[{i}].asset"),
            "cloid": check_cloid(c, f"cancels[{i}].cloid"),
        }
        for i, (a, c) in enumerate(cancels)
    ]
    if not items:
        raise WireError("cancels: a cancelByCloid action needs at least one cancel")
    return {"type": "cancelByCloid", "cancels": items}


def _oid_or_cloid(x: int | str, field: str) -> int | str:
    return check_cloid(x, field) if isinstance(x, str) else _check_int(x, field)


def modify_action(oid: int | str, order: Mapping[str, Any]) -> dict[str, Any]:
    """``{"type": "modify", "oid": oid_or_cloid, "order": order_wire}``."""
    return {"type": "modify", "oid": _oid_or_cloid(oid, "oid"), "order": dict(order)}


def batch_modify_action(modifies: Iterable[tuple[int | str, Mapping[str, Any]]]) -> dict[str, Any]:
    """``{"type": "batchModify", "modifies": [{"oid": ..., "order": ...}, ...]}``."""
    items = [
        {"oid": _oid_or_cloid(oid, f"modifies[{i}].oid"), "order": dict(order)}
        for i, (oid, order) in enumerate(modifies)
    ]
    if not items:
        raise WireError("modifies: a batchModify action needs at least one modify")
    return {"type": "batchModify", "modifies": items}


def update_leverage_action(asset: int, is_cross: bool, leverage: int) -> dict[str, Any]:
    """``{"type": "updateLeverage", "asset": a, "isCross": bool, "leverage": int}``."""
    return {
        "type": "updateLeverage",
        "asset": _check_int(asset, "asset"),
        "isCross": _check_bool(is_cross, "isCross"),
        "leverage": _check_int(leverage, "leverage", minimum=1),
    }


def schedule_cancel_action(time: int | None = None) -> dict[str, Any]:
    """``{"type": "scheduleCancel"[, "time": ms]}``; without ``time`` it clears the schedule."""
    action: dict[str, Any] = {"type": "scheduleCancel"}
    if time is not None:
        action["time"] = _check_int(time, "time")
    return action


def noop_action() -> dict[str, Any]:
    """``{"type": "noop"}``: consumes a nonce and nothing else."""
    return {"type": "noop"}


# ---- user-signed actions -------------------------------------------------------------------
# signatureChainId / hyperliquidChain are added by signing.sign_user_signed_action.


def approve_agent_action(
    agent_address: str, nonce: int, agent_name: str | None = None
) -> dict[str, Any]:
    """``{"type": "approveAgent", "agentAddress", ["agentName"], "nonce"}``.

    Unnamed agents are signed with ``agentName: ""`` and posted without the key (as the
    SDK does); :mod:`signing` handles that.
    """
    action: dict[str, Any] = {"type": "approveAgent", "agentAddress": check_address(agent_address)}
    if agent_name is not None:
        action["agentName"] = agent_name
    action["nonce"] = _check_int(nonce, "nonce")
    return action


def usd_send_action(destination: str, amount: Number, time: int) -> dict[str, Any]:
    """``{"type": "usdSend", "destination", "amount", "time"}`` (perp USDC transfer)."""
    return {
        "type": "usdSend",
        "destination": check_address(destination, "destination"),
        "amount": to_wire(amount, "amount"),
        "time": _check_int(time, "time"),
    }


def withdraw_action(destination: str, amount: Number, time: int) -> dict[str, Any]:
    """``{"type": "withdraw3", "destination", "amount", "time"}`` (bridge withdrawal)."""
    return {
        "type": "withdraw3",
        "destination": check_address(destination, "destination"),
        "amount": to_wire(amount, "amount"),
        "time": _check_int(time, "time"),
    }


# ---- envelope --------------------------------------------------------------------------


def exchange_payload(
    action: Mapping[str, Any],
    nonce: int,
    signature: Mapping[str, Any],
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> dict[str, Any]:
    """The ``/exchange`` body (also the WS post ``action`` payload).

    ``vaultAddress`` and ``expiresAfter`` are always present (null when unused), as the
    SDK sends them.
    """
    return {
        "action": action,
        "nonce": nonce,
        "signature": dict(signature),
        "vaultAddress": None
        if vault_address is None
        else check_address(vault_address, "vaultAddress"),
        "expiresAfter": expires_after,
    }


def batch_length(action: Mapping[str, Any]) -> int:
    """Number of elements an action carries (orders, cancels, modifies); 1 for others.

    Safe on unvalidated bodies (the simulator weighs requests before parsing them): a
    key whose value is not a list counts as one element.
    """
    for key in ("orders", "cancels", "modifies"):
        v = action.get(key)
        if isinstance(v, list):
            return len(v)
    return 1


def exchange_weight(action: Mapping[str, Any]) -> int:
    """IP weight of one ``/exchange`` request: ``1 + floor(batch_length / 40)``."""
    return 1 + batch_length(action) // EXCHANGE_BATCH_WEIGHT_DIVISOR
