"""Typed results of the info endpoint (attrs classes, structured with cattrs).

Field names are the wire's camelCase keys in snake_case (``szDecimals`` ->
``sz_decimals``); the converter maps them back.  Unknown keys are ignored (the venue adds
keys over time); optional keys default to None/False.  Numeric strings become ``float``
(the journal's type; prices have at most 5 significant figures, so floats are exact
enough); ids and times stay ``int``.

Use :func:`structure` (``structure(payload, Meta)``); it raises
:class:`~framework.hyperliquid.errors.ProtocolError` naming the type when the payload
does not fit.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from framework.hyperliquid.errors import ProtocolError

T = TypeVar("T")


# ---- meta ------------------------------------------------------------------------------


@attrs.frozen
class AssetMeta:
    """One ``meta.universe`` entry; its position in the universe is its index."""

    name: str
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False
    is_delisted: bool = False
    margin_mode: str | None = None
    margin_table_id: int | None = None


@attrs.frozen
class Meta:
    """``meta`` response (``margin_tables`` kept raw)."""

    universe: list[AssetMeta]
    margin_tables: list[Any] = attrs.Factory(list)
    collateral_token: int | None = None


@attrs.frozen
class AssetCtx:
    """Perp asset context (``metaAndAssetCtxs`` element, WS ``activeAssetCtx.ctx``)."""

    funding: float
    open_interest: float
    mark_px: float
    oracle_px: float
    prev_day_px: float | None = None
    day_ntl_vlm: float | None = None
    premium: float | None = None
    mid_px: float | None = None
    impact_pxs: list[float] | None = None
    day_base_vlm: float | None = None


@attrs.frozen
class PerpDex:
    """A ``perpDexs`` entry (HIP-3 dex); ``index`` is its position in the response."""

    name: str
    full_name: str | None = None
    deployer: str | None = None
    oracle_updater: str | None = None
    fee_recipient: str | None = None
    index: int = 0


# ---- account ---------------------------------------------------------------------------


@attrs.frozen
class Leverage:
    type: str
    value: int
    raw_usd: float | None = None


@attrs.frozen
class CumFunding:
    all_time: float
    since_change: float
    since_open: float


@attrs.frozen
class Position:
    coin: str
    szi: float
    leverage: Leverage
    entry_px: float | None = None
    position_value: float = 0.0
    unrealized_pnl: float = 0.0
    return_on_equity: float = 0.0
    liquidation_px: float | None = None
    margin_used: float = 0.0
    max_leverage: int | None = None
    cum_funding: CumFunding | None = None


@attrs.frozen
class AssetPosition:
    position: Position
    type: str = "oneWay"


@attrs.frozen
class MarginSummary:
    account_value: float
    total_margin_used: float
    total_ntl_pos: float
    total_raw_usd: float


@attrs.frozen
class ClearinghouseState:
    """``clearinghouseState`` response (per dex)."""

    margin_summary: MarginSummary
    cross_margin_summary: MarginSummary
    withdrawable: float
    asset_positions: list[AssetPosition] = attrs.Factory(list)
    cross_maintenance_margin_used: float = 0.0
    time: int | None = None

    def position(self, coin: str) -> Position | None:
        """The position in ``coin``, or None when flat."""
        for p in self.asset_positions:
            if p.position.coin == coin:
                return p.position
        return None


@attrs.frozen
class OpenOrder:
    """``openOrders`` element (``sz`` = remaining)."""

    coin: str
    side: str
    limit_px: float
    sz: float
    oid: int
    timestamp: int
    orig_sz: float | None = None
    cloid: str | None = None


@attrs.frozen
class FrontendOpenOrder(OpenOrder):
    """``frontendOpenOrders`` element, also the inner order of ``orderStatus``: the
    ``openOrders`` fields plus the order's type, tif and trigger details."""

    order_type: str | None = None
    tif: str | None = None
    reduce_only: bool = False
    is_trigger: bool = False
    is_position_tpsl: bool = False
    trigger_condition: str | None = None
    trigger_px: float | None = None
    children: list[Any] = attrs.Factory(list)


@attrs.frozen
class Fill:
    """``userFills`` element (and WS ``WsFill``)."""

    coin: str
    px: float
    sz: float
    side: str
    time: int
    oid: int
    tid: int
    fee: float
    crossed: bool
    start_position: float = 0.0
    dir: str | None = None
    closed_pnl: float = 0.0
    hash: str | None = None
    fee_token: str | None = None
    builder_fee: float | None = None
    cloid: str | None = None
    liquidation: dict[str, Any] | None = None


@attrs.frozen
class UserRateLimit:
    """``userRateLimit``: address action budget (cap = 10000 + cumulative volume)."""

    cum_vlm: float
    n_requests_used: int
    n_requests_cap: int
    n_requests_surplus: int | None = None


@attrs.frozen
class L2Level:
    px: float
    sz: float
    n: int


@attrs.frozen
class L2Book:
    """``l2Book`` (info or WS): bids best first (descending), asks best first."""

    coin: str
    time: int
    bids: list[L2Level]
    asks: list[L2Level]


@attrs.frozen
class OrderStatusInfo:
    order: FrontendOpenOrder
    status: str
    status_timestamp: int


@attrs.frozen
class OrderStatus:
    """``orderStatus``: ``status`` is ``"order"`` (then ``order`` is set) or ``"unknownOid"``."""

    status: str
    order: OrderStatusInfo | None = None


# ---- converter -------------------------------------------------------------------------

_CAMEL_EXCEPTIONS: dict[str, str] = {}


def _camel(name: str) -> str:
    if name in _CAMEL_EXCEPTIONS:
        return _CAMEL_EXCEPTIONS[name]
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _float(v: Any, _: Any) -> float:
    if isinstance(v, bool):
        raise TypeError(f"expected a number, got bool {v!r}")
    return float(v)


def _int(v: Any, _: Any) -> int:
    if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
        raise TypeError(f"expected an integer, got {v!r}")
    return int(v)


def _bool(v: Any, _: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected true/false, got {v!r}")
    return v


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)  # bool subclasses int: needs its own hook

    def factory(cl: type) -> Any:
        renames = {a.name: override(rename=_camel(a.name)) for a in attrs.fields(cl)}
        return make_dict_structure_fn(cl, conv, **renames)

    conv.register_structure_hook_factory(attrs.has, factory)
    conv.register_structure_hook(L2Book, _structure_book)
    conv.register_structure_hook(PerpDex, _structure_perp_dex)
    return conv


def _structure_book(d: Any, _: Any) -> L2Book:
    levels = d["levels"]
    if not isinstance(levels, list) or len(levels) != 2:
        raise TypeError("l2Book.levels must be [bids, asks]")
    return L2Book(
        coin=d["coin"],
        time=int(d["time"]),
        bids=[L2Level(float(x["px"]), float(x["sz"]), int(x["n"])) for x in levels[0]],
        asks=[L2Level(float(x["px"]), float(x["sz"]), int(x["n"])) for x in levels[1]],
    )


def _structure_perp_dex(d: Any, _: Any) -> PerpDex:
    return PerpDex(
        name=d["name"],
        full_name=d.get("fullName"),
        deployer=d.get("deployer"),
        oracle_updater=d.get("oracleUpdater"),
        fee_recipient=d.get("feeRecipient"),
        index=int(d.get("index", 0)),
    )


converter = _make_converter()


def structure(payload: Any, cls: type[T]) -> T:
    """Structure a decoded JSON payload into ``cls`` (a class above or ``list[cls]``).

    Raises
    ------
    ProtocolError
        When the payload does not fit; the message names the type and the problem.
    """
    try:
        return converter.structure(payload, cls)
    except Exception as exc:
        detail = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else repr(exc)
        )
        raise ProtocolError(f"cannot read {getattr(cls, '__name__', cls)}: {detail}") from None
