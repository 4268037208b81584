"""The ``list-dexs`` and ``record`` commands (cli.py only parses their flags).

Both take a :class:`~framework.hyperliquid.venue.Venue` (``--network``, ``--base-url``,
``MM_LIVE_*``, ``[live]``); ``base_url_for`` is the older URL-only helper.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

from framework.hyperliquid.errors import AssetNotFoundError, HyperliquidError, UnknownDexError
from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL
from framework.hyperliquid.venue import Venue


def base_url_for(base_url: str | None, testnet: bool) -> str:
    """The REST base URL: ``--base-url`` if given, else mainnet or (``--testnet``) testnet."""
    if base_url:
        return base_url.rstrip("/")
    return TESTNET_API_URL if testnet else MAINNET_API_URL


#: What every order must satisfy, printed under the list (reference §5.7, §6).
CONSTRAINTS = (
    "constraints: an order is at least $10 of notional (reduce-only exempt); a price has "
    "at most 5 significant figures (an integer price is always valid) and at most "
    "6 - szDecimals decimals; a size is a multiple of 10^-szDecimals; a HIP-3 dex has its "
    "own margin and clearinghouse (isolated-only assets cannot use cross margin) and a "
    "streaming open-interest cap per asset (oiCap); the address request budget is 10000 + "
    "the traded USDC (`market-maker status` shows its headroom)"
)


async def _list_dexs(base_url: str) -> list[str]:
    from framework.hyperliquid.dexes import AssetDirectory
    from framework.hyperliquid.info import InfoClient

    async with InfoClient(base_url) as info:
        directory = await AssetDirectory.load(info, dexes=None)
        raw = await info.raw({"type": "perpDexs"})
    caps: dict[str, str] = {}
    full: dict[str, str] = {}
    for d in raw if isinstance(raw, list) else []:
        if isinstance(d, dict):
            full[str(d.get("name"))] = str(d.get("fullName") or "")
            for pair in d.get("assetToStreamingOiCap") or []:
                if isinstance(pair, list | tuple) and len(pair) == 2:
                    caps[str(pair[0])] = str(pair[1])
    lines = []
    for k, name in enumerate(directory.dex_names):
        label = "(main)" if k == 0 else name
        if k and full.get(str(name)):
            label += f" ({full[str(name)]})"
        assets = [a for a in directory.assets() if a.dex_index == k]
        lines.append(f"dex {k} {label}: {len(assets)} assets")
        for a in assets:
            flags = " delisted" if a.is_delisted else ""
            flags += " isolated-only" if a.only_isolated else ""
            if a.coin in caps:
                flags += f" oiCap={caps[a.coin]}"
            lines.append(
                f"  {a.asset_id:>7}  {a.coin:<20} szDecimals={a.sz_decimals} "
                f"maxLeverage={a.max_leverage}{flags}"
            )
    lines += textwrap.wrap(CONSTRAINTS, 100)
    return lines


def list_dexs_command(venue: Venue) -> int:
    """Print every perp dex and its assets with asset ids and constraints; exit code.

    What ``list-dexs``, ``market-maker --list-dexs`` and ``run --list-dexs`` print
    (``venue`` from :func:`framework.hyperliquid.venue.resolve_venue`).
    """
    url = venue.base_url
    try:
        lines = asyncio.run(_list_dexs(url))
    except HyperliquidError as exc:
        print(f"error: {url}: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def record_command(asset: str, dex: str, duration_s: float, out: Path, venue: Venue) -> int:
    """Record market data into a journal at ``out``; exit code."""
    from framework.hyperliquid.recorder import record
    from framework.journal.outdir import occupied

    url = venue.base_url
    if duration_s <= 0:
        print("error: --duration must be > 0 seconds", file=sys.stderr)
        return 2
    why = occupied(out)
    if why is not None:
        print(f"error: --out {out}: {why}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(record(url, asset, duration_s, out, dex=dex))
    except UnknownDexError as exc:  # its message names --dex
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AssetNotFoundError as exc:
        print(f"error: --asset {asset}: {exc}", file=sys.stderr)
        return 2
    except HyperliquidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{k} {v}" for k, v in sorted(result.rows.items())) or "no rows"
    print(f"recorded {result.coin} (asset {result.asset_id}) into {result.out}: {rows}")
    if result.skipped:
        print(f"skipped: {result.skipped}", file=sys.stderr)
    return 0
