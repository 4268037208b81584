"""Async client of the ``/info`` endpoint with typed results.

Usage::

    async with InfoClient("http://127.0.0.1:3001") as info:     # or transport=MockTransport
        meta = await info.meta()                                 # types.Meta
        book = await info.l2_book("BTC")                         # types.L2Book
        state = await info.clearinghouse_state(account, dex="xyz")

Every method posts ``{"type": ..., ...}`` through :class:`~framework.hyperliquid.rest.RestClient`
(IP weight per :data:`~framework.hyperliquid.rest.INFO_WEIGHTS`, retries on 429/5xx/timeouts
with backoff and seeded jitter) and structures the answer with
:mod:`framework.hyperliquid.types`.  ``dex`` is sent only where the protocol takes it
(``""`` = the original dex).  Query with the **account** address, never the agent's.
:meth:`InfoClient.raw` returns the decoded JSON of any request type.
"""

from __future__ import annotations

from typing import Any

from framework.hyperliquid.rest import RestClient, info_item_weight, info_weight
from framework.hyperliquid.types import (
    AssetCtx,
    ClearinghouseState,
    Fill,
    FrontendOpenOrder,
    L2Book,
    Meta,
    OpenOrder,
    OrderStatus,
    PerpDex,
    UserRateLimit,
    structure,
)


class InfoClient:
    """Typed ``/info`` requests.

    Parameters
    ----------
    base_url : str, optional
        Used when ``rest`` is not given.
    rest : RestClient, optional
        Shared transport (share one with the executor so both draw on one IP budget).
    **rest_kwargs
        Passed to :class:`RestClient` when ``rest`` is not given (``transport``,
        ``timeout_s``, ``retry``, ``rng``, ``sleep``, ``budget``).
    """

    def __init__(
        self, base_url: str | None = None, *, rest: RestClient | None = None, **rest_kwargs: Any
    ) -> None:
        if rest is None:
            rest = RestClient(base_url, **rest_kwargs) if base_url else RestClient(**rest_kwargs)
        self.rest = rest

    async def aclose(self) -> None:
        await self.rest.aclose()

    async def __aenter__(self) -> InfoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def raw(self, body: dict[str, Any]) -> Any:
        """POST any info request; returns the decoded JSON (weight charged per type)."""
        kind = body["type"]
        out = await self.rest.post("/info", body, weight=info_weight(kind), idempotent=True)
        if isinstance(out, list):
            self.rest.budget.charge(info_item_weight(kind, len(out)))
        return out

    @staticmethod
    def _with_dex(body: dict[str, Any], dex: str) -> dict[str, Any]:
        if dex:
            body["dex"] = dex
        return body

    # -- market ------------------------------------------------------------------------

    async def meta(self, dex: str = "") -> Meta:
        """Perp universe of ``dex`` (index in ``universe`` = asset index)."""
        return structure(await self.raw(self._with_dex({"type": "meta"}, dex)), Meta)

    async def meta_and_asset_ctxs(self, dex: str = "") -> tuple[Meta, list[AssetCtx]]:
        """Universe plus one context per asset (same order)."""
        out = await self.raw(self._with_dex({"type": "metaAndAssetCtxs"}, dex))
        if not isinstance(out, list) or len(out) != 2:
            return structure(out, tuple[Meta, list[AssetCtx]])  # raises ProtocolError
        return structure(out[0], Meta), structure(out[1], list[AssetCtx])

    async def perp_dexs(self) -> list[PerpDex | None]:
        """HIP-3 dexes; element ``i`` has ``index == i``; element 0 (original dex) is None."""
        out = await self.raw({"type": "perpDexs"})
        if not isinstance(out, list):
            return structure(out, list[PerpDex])  # raises ProtocolError
        return [
            None if d is None else structure({**d, "index": i}, PerpDex) for i, d in enumerate(out)
        ]

    async def l2_book(
        self, coin: str, n_sig_figs: int | None = None, mantissa: int | None = None
    ) -> L2Book:
        """L2 snapshot (up to 20 levels a side)."""
        body = {"type": "l2Book", "coin": coin, "nSigFigs": n_sig_figs, "mantissa": mantissa}
        return structure(await self.raw(body), L2Book)

    async def all_mids(self, dex: str = "") -> dict[str, float]:
        """Coin -> mid price."""
        out = await self.raw(self._with_dex({"type": "allMids"}, dex))
        return structure(out, dict[str, float])

    # -- account -----------------------------------------------------------------------

    async def clearinghouse_state(self, user: str, dex: str = "") -> ClearinghouseState:
        """Margin summary and positions of ``user`` on ``dex``."""
        body = self._with_dex({"type": "clearinghouseState", "user": user}, dex)
        return structure(await self.raw(body), ClearinghouseState)

    async def open_orders(self, user: str, dex: str = "") -> list[OpenOrder]:
        body = self._with_dex({"type": "openOrders", "user": user}, dex)
        return structure(await self.raw(body), list[OpenOrder])

    async def frontend_open_orders(self, user: str, dex: str = "") -> list[FrontendOpenOrder]:
        body = self._with_dex({"type": "frontendOpenOrders", "user": user}, dex)
        return structure(await self.raw(body), list[FrontendOpenOrder])

    async def user_fills(self, user: str, aggregate_by_time: bool = False) -> list[Fill]:
        """Up to the 2000 most recent fills, newest first."""
        body = {"type": "userFills", "user": user, "aggregateByTime": aggregate_by_time}
        return structure(await self.raw(body), list[Fill])

    async def user_fills_by_time(
        self,
        user: str,
        start_ms: int,
        end_ms: int | None = None,
        aggregate_by_time: bool = False,
    ) -> list[Fill]:
        """Fills in ``[start_ms, end_ms]`` (at most 2000 per call; paginate by time)."""
        body: dict[str, Any] = {"type": "userFillsByTime", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        body["aggregateByTime"] = aggregate_by_time
        return structure(await self.raw(body), list[Fill])

    async def user_rate_limit(self, user: str) -> UserRateLimit:
        """Address action budget."""
        return structure(await self.raw({"type": "userRateLimit", "user": user}), UserRateLimit)

    async def order_status(self, user: str, oid: int | str) -> OrderStatus:
        """Status of an order by oid (int) or cloid (hex string)."""
        body = {"type": "orderStatus", "user": user, "oid": oid}
        return structure(await self.raw(body), OrderStatus)
