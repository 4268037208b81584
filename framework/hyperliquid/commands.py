"""The ``list-dexs`` and ``record`` commands (cli.py only parses their flags)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from framework.hyperliquid.errors import HyperliquidError
from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL


def base_url_for(base_url: str | None, testnet: bool) -> str:
    """The REST base URL: ``--base-url`` if given, else mainnet or (``--testnet``) testnet."""
    if base_url:
        return base_url.rstrip("/")
    return TESTNET_API_URL if testnet else MAINNET_API_URL


async def _list_dexs(base_url: str) -> list[str]:
    from framework.hyperliquid.dexes import AssetDirectory
    from framework.hyperliquid.info import InfoClient

    async with InfoClient(base_url) as info:
        directory = await AssetDirectory.load(info, dexes=None)
    lines = []
    for k, name in enumerate(directory.dex_names):
        label = "(main)" if k == 0 else name
        assets = [a for a in directory.assets() if a.dex_index == k]
        lines.append(f"dex {k} {label}: {len(assets)} assets")
        for a in assets:
            flags = " delisted" if a.is_delisted else ""
            flags += " isolated-only" if a.only_isolated else ""
            lines.append(
                f"  {a.asset_id:>7}  {a.coin:<20} szDecimals={a.sz_decimals} "
                f"maxLeverage={a.max_leverage}{flags}"
            )
    return lines


def list_dexs_command(base_url: str | None, testnet: bool) -> int:
    """Print every perp dex and its assets with asset ids; exit code."""
    url = base_url_for(base_url, testnet)
    try:
        lines = asyncio.run(_list_dexs(url))
    except HyperliquidError as exc:
        print(f"error: {url}: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def record_command(
    asset: str,
    dex: str,
    duration_s: float,
    out: Path,
    base_url: str | None,
    testnet: bool,
) -> int:
    """Record market data into a journal at ``out``; exit code."""
    from framework.hyperliquid.recorder import record

    url = base_url_for(base_url, testnet)
    if duration_s <= 0:
        print("error: --duration must be > 0 seconds", file=sys.stderr)
        return 2
    if (out / "session.json").exists():
        print(f"error: {out} already holds a journal; choose a new --out", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(record(url, asset, duration_s, out, dex=dex))
    except HyperliquidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{k} {v}" for k, v in sorted(result.rows.items())) or "no rows"
    print(f"recorded {result.coin} (asset {result.asset_id}) into {result.out}: {rows}")
    if result.skipped:
        print(f"skipped: {result.skipped}", file=sys.stderr)
    return 0
