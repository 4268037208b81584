"""Signed ``/exchange`` actions over WS post with HTTP fallback, and typed results.

Usage::

    ex = Executor(signer=signer, nonces=NonceStore(path), directory=directory,
                  is_mainnet=False, rest=rest, ws=ws)            # ws optional
    res = await ex.place([OrderRequest("BTC", True, "69000", "0.001", tif="Alo",
                                       cloid=wire.cloid_from_int(1))])
    res.statuses[0].status          # "resting" | "filled" | "error" | "waitingForTrigger" ...
    rows = await ex.execute_commands([order_command_event, ...])   # order_responses payloads

Every action is signed with a fresh nonce from the :class:`NonceStore` (the signer's
address is the nonce key) and the explicit ``is_mainnet`` flag.  It is posted over WS
when the socket is up; if the WS post fails (not connected, timeout, transport error) the
**same signed payload** is posted over HTTP.  Re-sending an identical payload is safe: the
venue applies a nonce at most once (the second copy is rejected as a reused nonce).
``/exchange`` over HTTP is retried only on 429 and connection failures.

Results (:class:`ExchangeResult`): ``ok`` is False for a top-level
``{"status": "err", "response": text}`` (``error`` holds the text, and every element gets
status ``error`` with that text).  Per-element statuses are mapped to
:class:`ElementResult`; when the venue returns fewer statuses than elements (a whole-batch
pre-validation error), a single error status applies to every element, and any other
missing element gets ``error`` = :data:`MISSING_STATUS_TEXT`.

:meth:`Executor.execute_commands` turns engine ``order_commands`` rows (place / cancel /
modify) into one request per action type (orders, cancelByCloid, batchModify) and
returns ``order_responses`` payload tuples
``(cloid, oid, action, status, error, filled_sz, avg_px, cause_seq)``, ``cause_seq``
being the command row's seq.  A command that cannot be put on the wire (unknown coin,
price off grid, below $10) is answered locally with status ``error`` and an error text
starting ``client:``, without a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from framework.hyperliquid import wire
from framework.hyperliquid.dexes import AssetDirectory
from framework.hyperliquid.errors import (
    AssetNotFoundError,
    HyperliquidError,
    ProtocolError,
    RequestTimeoutError,
    TransportError,
    WireError,
)
from framework.hyperliquid.keys import Signer
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.rest import RestClient
from framework.hyperliquid.signing import sign_l1_action, sign_user_signed_action
from framework.hyperliquid.ws import WsClient

MISSING_STATUS_TEXT = "client: venue returned no status for this element"


@attrs.frozen
class OrderRequest:
    """One order to place (or the new state of a modified order).

    ``px``/``sz`` must already be on the grid (``wire.round_price`` / ``round_size``).
    ``trigger`` is ``(trigger_px, is_market, "tp" | "sl")``; when given, ``tif`` is ignored.
    """

    coin: str
    is_buy: bool
    px: Decimal | float | str
    sz: Decimal | float | str
    tif: str = "Alo"
    reduce_only: bool = False
    cloid: str | None = None
    trigger: tuple[Decimal | float | str, bool, str] | None = None


@attrs.frozen
class ElementResult:
    """The venue's answer for one element of a batch.

    ``status``: ``resting`` | ``filled`` | ``success`` (cancel) | ``error`` |
    ``waitingForFill`` | ``waitingForTrigger`` | another bare status string.
    """

    status: str
    oid: int | None = None
    cloid: str | None = None
    filled_sz: float | None = None
    avg_px: float | None = None
    error: str | None = None


@attrs.frozen
class ExchangeResult:
    """Answer of one ``/exchange`` request."""

    ok: bool
    response_type: str | None
    statuses: list[ElementResult]
    error: str | None = None
    raw: Any = None
    via: str = "http"


def parse_element(s: Any) -> ElementResult:
    """Map one ``statuses[i]`` entry (object or bare string) to an :class:`ElementResult`."""
    if isinstance(s, str):
        return ElementResult(status=s)
    if not isinstance(s, Mapping) or len(s) != 1:
        raise ProtocolError(f"status entry {s!r:.200}: expected a string or a one-key object")
    ((key, val),) = s.items()
    if key == "error":
        return ElementResult(status="error", error=str(val))
    if key == "resting" and isinstance(val, Mapping):
        return ElementResult(status="resting", oid=val.get("oid"), cloid=val.get("cloid"))
    if key == "filled" and isinstance(val, Mapping):
        return ElementResult(
            status="filled",
            oid=val.get("oid"),
            cloid=val.get("cloid"),
            filled_sz=float(val["totalSz"]) if "totalSz" in val else None,
            avg_px=float(val["avgPx"]) if "avgPx" in val else None,
        )
    return ElementResult(status=str(key))


def parse_exchange_response(body: Any, n_elements: int, via: str = "http") -> ExchangeResult:
    """Map an ``/exchange`` JSON answer for a request of ``n_elements`` elements.

    Raises
    ------
    ProtocolError
        When ``body`` is not a ``{"status": ..., "response": ...}`` object.
    """
    if not isinstance(body, Mapping) or "status" not in body:
        raise ProtocolError(f"/exchange answer {body!r:.200}: expected {{status, response}}")
    if body["status"] != "ok":
        text = str(body.get("response"))
        return ExchangeResult(
            ok=False,
            response_type=None,
            statuses=[ElementResult(status="error", error=text)] * n_elements,
            error=text,
            raw=body,
            via=via,
        )
    resp = body.get("response")
    rtype = resp.get("type") if isinstance(resp, Mapping) else None
    data = resp.get("data") if isinstance(resp, Mapping) else None
    raw_statuses = data.get("statuses") if isinstance(data, Mapping) else None
    if raw_statuses is None:
        # e.g. {"type": "default"}: success without per-element statuses
        return ExchangeResult(
            True, rtype, [ElementResult("success")] * n_elements, raw=body, via=via
        )
    statuses = [parse_element(s) for s in raw_statuses]
    if len(statuses) < n_elements:
        if len(statuses) == 1 and statuses[0].status == "error":
            statuses = statuses * n_elements  # whole-batch pre-validation error
        else:
            missing = ElementResult(status="error", error=MISSING_STATUS_TEXT)
            statuses = statuses + [missing] * (n_elements - len(statuses))
    return ExchangeResult(True, rtype, statuses, raw=body, via=via)


def _get(cmd: Any, name: str) -> Any:
    return cmd[name] if isinstance(cmd, Mapping) else getattr(cmd, name)


class Executor:
    """Builds, signs and sends actions; maps answers to typed results.

    Parameters
    ----------
    signer : Signer
        The key that signs (the account, or an approved agent).
    nonces : NonceStore
    directory : AssetDirectory
        Coin -> asset id and szDecimals.
    is_mainnet : bool
        Signing network; explicit, never inferred from a URL.
    rest : RestClient
        HTTP transport (fallback, and the only one when ``ws`` is None).
    ws : WsClient, optional
        WS transport for posts.
    vault_address : str, optional
        Trade for this vault / sub-account.
    expires_after_ms : int, optional
        When set, every L1 action carries ``expiresAfter = nonce + expires_after_ms``.
    check_notional : bool
        Refuse non-reduce-only orders below $10 locally.
    """

    def __init__(
        self,
        *,
        signer: Signer,
        nonces: NonceStore,
        directory: AssetDirectory,
        is_mainnet: bool,
        rest: RestClient,
        ws: WsClient | None = None,
        vault_address: str | None = None,
        expires_after_ms: int | None = None,
        check_notional: bool = True,
        ws_timeout_s: float | None = None,
    ) -> None:
        if not isinstance(is_mainnet, bool):
            raise WireError("is_mainnet must be True or False (the signing network is explicit)")
        self.signer = signer
        self.nonces = nonces
        self.directory = directory
        self.is_mainnet = is_mainnet
        self.rest = rest
        self.ws = ws
        self.vault_address = None if vault_address is None else wire.check_address(vault_address)
        self.expires_after_ms = expires_after_ms
        self.check_notional = check_notional
        self.ws_timeout_s = ws_timeout_s
        self.fallbacks = 0  # WS posts that fell back to HTTP

    # -- transport ---------------------------------------------------------------------

    async def post(self, payload: dict[str, Any], n_elements: int) -> ExchangeResult:
        """Post a signed ``/exchange`` body (WS first, then HTTP) and parse the answer.

        Raises :class:`RequestTimeoutError` when a WS post timed out and its HTTP resend
        was refused: the WS copy may have been applied, so the outcome is unknown.
        """
        weight = wire.exchange_weight(payload["action"])
        timed_out: RequestTimeoutError | None = None
        if self.ws is not None and self.ws.connected:
            await self.rest.budget.acquire(weight)  # WS posts share the IP budget
            try:
                body = await self.ws.post_action(payload, self.ws_timeout_s)
                return parse_exchange_response(body, n_elements, via="ws")
            except RequestTimeoutError as exc:
                timed_out = exc
                self.fallbacks += 1
            except TransportError:
                self.fallbacks += 1  # same signed payload over HTTP: nonce makes it at-most-once
        body = await self.rest.post("/exchange", payload, weight=weight, idempotent=False)
        res = parse_exchange_response(body, n_elements, via="http")
        if timed_out is not None and not res.ok:
            # the timed-out WS copy may have been applied, in which case the resend is
            # refused for its (already used) nonce: the outcome is unknown, not rejected
            raise RequestTimeoutError(
                f"{timed_out}; HTTP resend refused ({res.error}): outcome unknown, reconcile"
            )
        return res

    async def send(self, action: dict[str, Any]) -> ExchangeResult:
        """Sign an L1 action with a fresh nonce and post it."""
        nonce = self.nonces.next(self.signer.address)
        expires = None if self.expires_after_ms is None else nonce + self.expires_after_ms
        sig = sign_l1_action(
            self.signer, action, nonce, self.vault_address, expires, is_mainnet=self.is_mainnet
        )
        payload = wire.exchange_payload(action, nonce, sig, self.vault_address, expires)
        return await self.post(payload, wire.batch_length(action))

    async def send_user_signed(self, action: dict[str, Any]) -> ExchangeResult:
        """Sign a user-signed action (its own ``nonce``/``time`` is the envelope nonce)."""
        posted, sig = sign_user_signed_action(self.signer, action, is_mainnet=self.is_mainnet)
        nonce = posted.get("nonce", posted.get("time"))
        payload = wire.exchange_payload(posted, nonce, sig, None, None)
        return await self.post(payload, 1)

    # -- actions -----------------------------------------------------------------------

    def order_wire(self, req: OrderRequest) -> dict[str, Any]:
        """Validate one request against the asset's grid and build its wire form."""
        asset = self.directory.resolve(req.coin)
        px, sz = wire.to_decimal(req.px, "px"), wire.to_decimal(req.sz, "sz")
        if not wire.is_valid_price(px, asset.sz_decimals):
            raise WireError(
                f"px {px} is off the {req.coin} grid (szDecimals {asset.sz_decimals}); "
                "round it with wire.round_price"
            )
        if not wire.is_valid_size(sz, asset.sz_decimals):
            raise WireError(
                f"sz {sz} is not a positive multiple of 10^-{asset.sz_decimals} for {req.coin}"
            )
        if self.check_notional and not req.reduce_only:
            wire.check_min_notional(px, sz)
        if req.trigger is not None:
            tpx, is_market, tpsl = req.trigger
            otype = wire.trigger(wire.to_decimal(tpx, "triggerPx"), is_market, tpsl)
        else:
            otype = wire.limit(req.tif)
        return wire.order_wire(
            asset.asset_id, req.is_buy, px, sz, req.reduce_only, otype, req.cloid
        )

    async def place(
        self,
        orders: Sequence[OrderRequest],
        grouping: str = "na",
        builder: Mapping[str, Any] | None = None,
    ) -> ExchangeResult:
        """Place orders (one ``order`` action)."""
        return await self.send(
            wire.order_action([self.order_wire(o) for o in orders], grouping, builder)
        )

    async def cancel(self, cancels: Sequence[tuple[str, int]]) -> ExchangeResult:
        """Cancel by ``(coin, oid)``."""
        return await self.send(
            wire.cancel_action([(self.directory.resolve(c).asset_id, oid) for c, oid in cancels])
        )

    async def cancel_by_cloid(self, cancels: Sequence[tuple[str, str]]) -> ExchangeResult:
        """Cancel by ``(coin, cloid)``."""
        return await self.send(
            wire.cancel_by_cloid_action(
                [(self.directory.resolve(c).asset_id, cl) for c, cl in cancels]
            )
        )

    async def modify(self, oid: int | str, order: OrderRequest) -> ExchangeResult:
        """Single ``modify`` action (answer type ``default``, no statuses)."""
        return await self.send(wire.modify_action(oid, self.order_wire(order)))

    async def batch_modify(
        self, modifies: Sequence[tuple[int | str, OrderRequest]]
    ) -> ExchangeResult:
        """``batchModify``: per-element statuses like ``order``."""
        return await self.send(
            wire.batch_modify_action([(oid, self.order_wire(o)) for oid, o in modifies])
        )

    async def update_leverage(
        self, coin: str, leverage: int, is_cross: bool = True
    ) -> ExchangeResult:
        return await self.send(
            wire.update_leverage_action(self.directory.resolve(coin).asset_id, is_cross, leverage)
        )

    async def schedule_cancel(self, time_ms: int | None) -> ExchangeResult:
        """Dead-man switch: cancel all at ``time_ms`` (>= 5 s ahead); None clears it."""
        return await self.send(wire.schedule_cancel_action(time_ms))

    async def noop(self) -> ExchangeResult:
        """Burn a nonce (invalidates a pending signed action with a lower nonce)."""
        return await self.send(wire.noop_action())

    async def approve_agent(self, agent_address: str, name: str | None = None) -> ExchangeResult:
        """Approve an API wallet (must be signed by the account owner)."""
        nonce = self.nonces.next(self.signer.address)
        return await self.send_user_signed(wire.approve_agent_action(agent_address, nonce, name))

    # -- engine commands ---------------------------------------------------------------

    async def execute_commands(self, commands: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Send engine ``order_commands`` rows; return ``order_responses`` payload tuples.

        Parameters
        ----------
        commands : sequence
            :class:`framework.events.classes.OrderCommand` events or mappings with the
            table's columns (``seq`` included: it becomes the response's ``cause_seq``).

        Returns
        -------
        list of tuple
            One ``(cloid, oid, action, status, error, filled_sz, avg_px, cause_seq)`` per
            command, in the order given.
        """
        out: dict[int, tuple[Any, ...]] = {}
        groups: dict[str, list[tuple[int, Any, Any]]] = {"place": [], "cancel": [], "modify": []}
        for i, cmd in enumerate(commands):
            action = _get(cmd, "action")
            try:
                if action not in groups:
                    raise WireError(f"action {action!r} must be place, cancel or modify")
                groups[action].append((i, cmd, self._command_element(cmd)))
            except (WireError, AssetNotFoundError) as exc:
                out[i] = _row(cmd, ElementResult("error", error=f"client: {exc}"))
        for action, items in groups.items():
            if items:
                await self._send_group(action, items, out)
        return [out[i] for i in range(len(commands))]

    def _command_element(self, cmd: Any) -> Any:
        action = _get(cmd, "action")
        coin = _get(cmd, "coin")
        if action == "cancel":
            # the order_commands contract: a cancel names the order in ``cloid`` (target_cloid
            # None); a target_cloid, when given, is honoured
            target = _get(cmd, "target_cloid") or _get(cmd, "cloid")
            if not target:
                raise WireError("cancel command without cloid (the order to cancel)")
            return (self.directory.resolve(coin).asset_id, wire.check_cloid(target))
        req = OrderRequest(
            coin=coin,
            is_buy=int(_get(cmd, "side")) > 0,
            px=_get(cmd, "px"),
            sz=_get(cmd, "sz"),
            tif=_get(cmd, "tif") or "Gtc",
            reduce_only=bool(_get(cmd, "reduce_only")),
            cloid=_get(cmd, "cloid"),
        )
        order = self.order_wire(req)
        if action == "modify":
            target = _get(cmd, "target_cloid")
            if not target:
                raise WireError("modify command without target_cloid")
            return (wire.check_cloid(target), order)
        return order

    async def _send_group(
        self, action: str, items: list[tuple[int, Any, Any]], out: dict[int, tuple[Any, ...]]
    ) -> None:
        elements = [e for _, _, e in items]
        if action == "place":
            act = wire.order_action(elements)
        elif action == "cancel":
            act = wire.cancel_by_cloid_action(elements)
        else:
            act = wire.batch_modify_action(elements)
        try:
            res = await self.send(act)
            statuses = res.statuses
        except HyperliquidError as exc:
            # the action may or may not have reached the venue: the engine reconciles
            statuses = [ElementResult("error", error=f"client: {type(exc).__name__}: {exc}")] * len(
                items
            )
        for (i, cmd, _), st in zip(items, statuses, strict=True):
            out[i] = _row(cmd, st)


def _row(cmd: Any, st: ElementResult) -> tuple[Any, ...]:
    return (
        _get(cmd, "cloid"),
        st.oid,
        _get(cmd, "action"),
        st.status,
        st.error,
        st.filled_sz,
        st.avg_px,
        _get(cmd, "seq"),
    )
