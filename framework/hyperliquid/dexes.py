"""Asset id resolution from ``meta`` and ``perpDexs`` (reference §2.3, §5.8).

* main dex: asset id = index in ``meta.universe`` (BTC = 0 on mainnet), coin ``"BTC"``;
* HIP-3 dex ``d`` at ``perpDexs`` index ``k``: asset id = ``100000 + k*10000 + i`` for
  ``universe[i]`` of ``meta(dex=d)``, coin ``"d:COIN"`` (the HIP-3 meta already carries
  the prefix; we add it when it does not).

Ids differ between mainnet and testnet: always resolve at start::

    directory = await AssetDirectory.load(info, dexes=["xyz"])   # main dex always loaded
    a = directory.resolve("xyz:TSLA")        # or resolve("TSLA", dex="xyz")
    a.asset_id, a.sz_decimals, a.coin
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from framework.hyperliquid.errors import AssetNotFoundError, UnknownDexError
from framework.hyperliquid.types import Meta, PerpDex

if TYPE_CHECKING:
    from framework.hyperliquid.info import InfoClient

HIP3_BASE = 100000
HIP3_DEX_STRIDE = 10000


@attrs.frozen
class AssetInfo:
    """One tradable perp: its venue coin name, asset id and grid."""

    coin: str
    asset_id: int
    dex: str
    dex_index: int
    index: int
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False
    is_delisted: bool = False


def asset_id(dex_index: int, index: int) -> int:
    """Asset id of ``universe[index]`` of the dex at ``perpDexs[dex_index]`` (0 = main)."""
    if dex_index == 0:
        return index
    if not 0 <= index < HIP3_DEX_STRIDE:
        raise AssetNotFoundError(f"asset index {index} out of range for a HIP-3 dex")
    return HIP3_BASE + dex_index * HIP3_DEX_STRIDE + index


def split_coin(coin: str) -> tuple[str, str]:
    """``"xyz:TSLA" -> ("xyz", "TSLA")``; ``"BTC" -> ("", "BTC")``."""
    dex, sep, name = coin.partition(":")
    return (dex, name) if sep else ("", coin)


def check_dexes(perp_dexs: Sequence[PerpDex | None], wanted: Iterable[str]) -> None:
    """Raise :class:`UnknownDexError` for the first of ``wanted`` not in ``perpDexs``
    (asked for anyway, the venue answers HTTP 422 "Failed to deserialize")."""
    known = [d.name for d in perp_dexs if d is not None]
    for d in wanted:
        if d and d not in known:
            raise UnknownDexError(
                f"--dex {d}: no such perp dex on this venue (it has "
                f"{', '.join(known) or 'only the main dex'}); pass one of them, or no "
                "--dex for the main dex (`market-maker --list-dexs` lists them)"
            )


class AssetDirectory:
    """Coin name <-> asset id for the main dex and any loaded HIP-3 dexes."""

    def __init__(self, assets: Iterable[AssetInfo], dex_names: Sequence[str | None]) -> None:
        self._by_coin: dict[str, AssetInfo] = {}
        self._by_id: dict[int, AssetInfo] = {}
        for a in assets:
            self._by_coin[a.coin] = a
            self._by_id[a.asset_id] = a
        self.dex_names: list[str | None] = list(dex_names)

    @classmethod
    def from_metas(
        cls, perp_dexs: Sequence[PerpDex | None], metas: dict[str, Meta]
    ) -> AssetDirectory:
        """Build from ``perpDexs`` and ``{dex name: meta}`` (``""`` = main dex)."""
        index_of = {"": 0} | {d.name: i for i, d in enumerate(perp_dexs) if d is not None}
        assets: list[AssetInfo] = []
        for dex, meta in metas.items():
            if dex not in index_of:
                raise AssetNotFoundError(
                    f"dex {dex!r} is not in perpDexs ({', '.join(n for n in index_of if n)})"
                )
            k = index_of[dex]
            for i, m in enumerate(meta.universe):
                coin = m.name if not dex or m.name.startswith(dex + ":") else f"{dex}:{m.name}"
                assets.append(
                    AssetInfo(
                        coin=coin,
                        asset_id=asset_id(k, i),
                        dex=dex,
                        dex_index=k,
                        index=i,
                        sz_decimals=m.sz_decimals,
                        max_leverage=m.max_leverage,
                        only_isolated=m.only_isolated
                        or m.margin_mode in ("strictIsolated", "noCross"),
                        is_delisted=m.is_delisted,
                    )
                )
        names = [None if d is None else d.name for d in perp_dexs] or [None]
        return cls(assets, names)

    @classmethod
    async def load(cls, info: InfoClient, dexes: Iterable[str] | None = ()) -> AssetDirectory:
        """Fetch ``perpDexs`` and the metas; ``dexes=None`` loads every HIP-3 dex."""
        perp_dexs = await info.perp_dexs()
        wanted = (
            [d.name for d in perp_dexs if d is not None]
            if dexes is None
            else [d for d in dexes if d]
        )
        check_dexes(perp_dexs, wanted)
        metas = {"": await info.meta()}
        for d in wanted:
            metas[d] = await info.meta(dex=d)
        return cls.from_metas(perp_dexs, metas)

    def resolve(self, coin: str, dex: str | None = None) -> AssetInfo:
        """Look up ``coin`` (``"BTC"``, ``"xyz:TSLA"``, or ``"TSLA"`` with ``dex="xyz"``)."""
        key = f"{dex}:{coin}" if dex and ":" not in coin else coin
        try:
            return self._by_coin[key]
        except KeyError:
            d, _ = split_coin(key)
            known = sorted(c for c in self._by_coin if split_coin(c)[0] == d)[:20]
            hint = (
                f"known on dex {d or 'main'!r}: {', '.join(known)}"
                if known
                else (f"dex {d!r} not loaded; pass --dex {d}" if d else "main dex meta empty")
            )
            raise AssetNotFoundError(f"coin {key!r} not found; {hint}") from None

    def by_id(self, asset_id: int) -> AssetInfo:
        try:
            return self._by_id[asset_id]
        except KeyError:
            raise AssetNotFoundError(f"asset id {asset_id} not found") from None

    def assets(self, dex: str | None = None) -> list[AssetInfo]:
        """All assets (of one dex when given), by asset id."""
        out = sorted(self._by_id.values(), key=lambda a: a.asset_id)
        return out if dex is None else [a for a in out if a.dex == dex]

    def __len__(self) -> int:
        return len(self._by_id)
