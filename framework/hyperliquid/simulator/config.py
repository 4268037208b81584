"""Simulator configuration and the listed markets (main dex plus HIP-3 dexes)."""

from __future__ import annotations

from pathlib import Path

import attrs

from framework.hyperliquid.dexes import asset_id

DEFAULT_PORT = 3001
DEFAULT_BALANCE = 100_000.0


@attrs.frozen
class Listing:
    """One perp market: its dex, name as the venue spells it, and trading parameters.

    ``name`` is prefixed on HIP-3 dexes (``"hyena:HYPE"``); ``asset`` is the asset id
    (main dex: index; HIP-3: ``100000 + dex_index * 10000 + index``).
    """

    dex: str
    name: str
    index: int
    asset: int
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False


@attrs.frozen
class DexSpec:
    """A perp dex and its coins as ``(base coin, szDecimals, maxLeverage)`` tuples."""

    name: str
    full_name: str
    coins: tuple[tuple[str, int, int], ...]
    only_isolated: bool = False


#: The default listing: the original dex and one HIP-3 dex (``hyena``, perp dex index 1).
DEFAULT_DEXES: tuple[DexSpec, ...] = (
    DexSpec("", "", (("BTC", 5, 40), ("ETH", 4, 25), ("HYPE", 2, 10))),
    DexSpec("hyena", "HyENA", (("HYPE", 2, 10), ("BTC", 5, 20)), only_isolated=True),
)


def build_listings(dexes: tuple[DexSpec, ...]) -> list[Listing]:
    """Asset ids and names for every coin of every dex (reference §5.8)."""
    out = []
    for d_idx, d in enumerate(dexes):
        for i, (coin, szd, lev) in enumerate(d.coins):
            if d_idx == 0:
                out.append(Listing("", coin, i, i, szd, lev))
            else:
                out.append(
                    Listing(
                        d.name,
                        f"{d.name}:{coin}",
                        i,
                        asset_id(d_idx, i),
                        szd,
                        lev,
                        d.only_isolated,
                    )
                )
    return out


@attrs.frozen
class SimConfig:
    """Everything the simulator is started with.

    Parameters
    ----------
    host, port : where to listen (loopback only; port 0 = a free port).
    default_balance : USDC every new account starts with (per dex clearinghouse).
    deposits : explicit starting balances, ``{address: usdc}``.
    recording : journal directory driving the market (None with ``synthetic``).
    speed : replay speed factor; 0 = paused (advance with ``POST /admin/step``).
    synthetic, asset, seed : drive from a generated journal for ``asset`` with ``seed``
        (``synthetic_hours`` of market; looped).
    mainnet : verify signatures as mainnet (default testnet, as the SDK signs localhost).
    loop : restart the recording when it ends.
    ip_weight_per_min, initial_budget, open_order_cap : venue limits (reference §6).
    auto_accounts : make an account of any recovered L1 signer (hides signing bugs; off).
    ws_idle_s : close a WebSocket nothing was sent on for this long (venue: 60 s).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    default_balance: float = DEFAULT_BALANCE
    deposits: dict[str, float] = attrs.field(factory=dict)
    recording: Path | None = None
    speed: float = 1.0
    synthetic: bool = False
    asset: str = "HYPE"
    seed: int = 0
    mainnet: bool = False
    synthetic_hours: float = 1.0
    loop: bool = True
    dexes: tuple[DexSpec, ...] = DEFAULT_DEXES
    ip_weight_per_min: int = 1200
    initial_budget: int = 10_000
    open_order_cap: int = 1000
    maker_fee: float = 0.00015
    taker_fee: float = 0.00045
    default_leverage: int = 20
    ws_idle_s: float = 60.0
    auto_accounts: bool = False
    ws_max_subscriptions: int = 1000
    ws_max_users: int = 10
    faults: tuple[dict, ...] = ()
    #: orders priced further than this fraction from the oracle are refused (our choice)
    oracle_band: float = 0.8

    def __attrs_post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"host: {self.host!r}; the simulator listens on loopback only")
        if self.speed < 0:
            raise ValueError(f"speed: {self.speed!r} must be >= 0 (0 = paused)")
