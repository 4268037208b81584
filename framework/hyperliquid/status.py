"""``market-maker status``: an account's positions, balances, open orders and headroom.

Read-only: it needs the account's address, never a key.  The account is ``--address``,
else ``[live] account_address`` (config file or ``MM_LIVE_ACCOUNT_ADDRESS``), else the
address of the signer (``HL_PRIVATE_KEY`` or ``[live] keystore``), whose key is loaded
only to learn that address.  With an API (agent) wallet the account must be named: the
venue keeps no state under an agent's address.

For every perp dex (the main one and each HIP-3 dex, or only those ``--dex`` names) it
reads ``clearinghouseState`` (account value, margin used, withdrawable, positions) and
``frontendOpenOrders``; once per account it reads ``userRateLimit`` (the address-based
request budget: cap = 10000 + cumulative traded USDC), whose headroom is the share of
the cap still unused, the number the quote gate acts on (``[risk] widen_headroom`` and
``forcing_headroom``).

Usage::

    report = asyncio.run(fetch_status(info, account, dexes=None))   # a StatusReport
    print(render_text(report)) / json.dumps(report.to_json())
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from framework.hyperliquid.dexes import check_dexes
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.venue import Venue

__all__ = ["DexStatus", "StatusReport", "fetch_status", "render_text", "status_command"]


@attrs.frozen
class DexStatus:
    """One dex's clearinghouse of the account (``dex`` "" = the main dex)."""

    dex: str
    account_value: float
    margin_used: float
    withdrawable: float
    positions: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not (self.account_value or self.positions or self.open_orders)


@attrs.frozen
class StatusReport:
    account: str
    venue: Venue
    dexes: list[DexStatus]
    requests_used: int
    requests_cap: int
    cum_volume_usd: float
    signer: str | None = None
    widen_headroom: float | None = None
    forcing_headroom: float | None = None

    @property
    def headroom(self) -> float:
        """Unused share of the address request budget (``1 - used / cap``)."""
        return 1.0 - self.requests_used / self.requests_cap if self.requests_cap > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "signer": self.signer,
            "network": self.venue.network,
            "base_url": self.venue.base_url,
            "dexes": [attrs.asdict(d) for d in self.dexes],
            "rate_limit": {
                "requests_used": self.requests_used,
                "requests_cap": self.requests_cap,
                "headroom": self.headroom,
                "cum_volume_usd": self.cum_volume_usd,
                "widen_below": self.widen_headroom,
                "forcing_below": self.forcing_headroom,
            },
        }


async def _dex_status(info: InfoClient, account: str, dex: str) -> DexStatus:
    state, orders = await asyncio.gather(
        info.clearinghouse_state(account, dex=dex), info.frontend_open_orders(account, dex=dex)
    )
    positions = [
        {
            "coin": p.position.coin,
            "size": p.position.szi,
            "entry_px": p.position.entry_px,
            "value_usd": p.position.position_value,
            "unrealized_pnl": p.position.unrealized_pnl,
            "leverage": p.position.leverage.value,
            "margin_mode": p.position.leverage.type,
            "liquidation_px": p.position.liquidation_px,
            "margin_used": p.position.margin_used,
        }
        for p in state.asset_positions
    ]
    open_orders = [
        {
            "coin": o.coin,
            "side": "buy" if o.side == "B" else "sell",
            "px": o.limit_px,
            "size": o.sz,
            "orig_size": o.orig_sz,
            "oid": o.oid,
            "cloid": o.cloid,
            "tif": o.tif,
            "reduce_only": o.reduce_only,
        }
        for o in orders
    ]
    m = state.margin_summary
    return DexStatus(
        dex=dex,
        account_value=m.account_value,
        margin_used=m.total_margin_used,
        withdrawable=state.withdrawable,
        positions=positions,
        open_orders=open_orders,
    )


async def fetch_status(
    info: InfoClient, account: str, venue: Venue, dexes: list[str] | None = None
) -> StatusReport:
    """Read the account's state on every dex (or the main dex and ``dexes``)."""
    if dexes is None:
        perp = await info.perp_dexs()
        names = [""] + [d.name for d in perp if d is not None]
    else:
        check_dexes(await info.perp_dexs(), dexes)
        names = [""] + [d for d in dexes if d]
    states = await asyncio.gather(*(_dex_status(info, account, d) for d in names))
    limit = await info.user_rate_limit(account)
    return StatusReport(
        account=account,
        venue=venue,
        dexes=list(states),
        requests_used=limit.n_requests_used,
        requests_cap=limit.n_requests_cap,
        cum_volume_usd=limit.cum_vlm,
    )


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _px(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def render_text(r: StatusReport) -> str:
    """The report as the terminal shows it."""
    whose = " (the address of the key; with an API wallet pass the account's --address)"
    lines = [f"account  {r.account}{whose if r.signer else ''}"]
    lines.append(f"venue    {r.venue.describe()}")
    shown = [d for d in r.dexes if d.dex == "" or not d.empty]
    for d in shown:
        label = "main dex" if d.dex == "" else f"dex {d.dex}"
        lines.append("")
        lines.append(
            f"{label}: account value {_num(d.account_value)} USDC, margin used "
            f"{_num(d.margin_used)}, withdrawable {_num(d.withdrawable)}"
        )
        if d.positions:
            lines.append(
                f"  {'position':<18} {'size':>12} {'entry':>12} {'value USD':>12} "
                f"{'uPnL':>10} {'leverage':>12} {'liq px':>12}"
            )
            for p in d.positions:
                lines.append(
                    f"  {p['coin']:<18} {p['size']:>12g} {_px(p['entry_px']):>12} "
                    f"{_num(p['value_usd']):>12} {_num(p['unrealized_pnl']):>10} "
                    f"{str(p['leverage']) + 'x ' + p['margin_mode']:>12} "
                    f"{_px(p['liquidation_px']):>12}"
                )
        else:
            lines.append("  no positions")
        if d.open_orders:
            lines.append(
                f"  {'open order':<18} {'side':<5} {'px':>12} {'size':>12} {'oid':>12} "
                f"{'tif':<4} cloid"
            )
            for o in d.open_orders:
                ro = " reduce-only" if o["reduce_only"] else ""
                lines.append(
                    f"  {o['coin']:<18} {o['side']:<5} {_px(o['px']):>12} {o['size']:>12g} "
                    f"{o['oid']:>12} {o['tif'] or '-':<4} {o['cloid'] or '-'}{ro}"
                )
        else:
            lines.append("  no open orders")
    hidden = len(r.dexes) - len(shown)
    if hidden:
        lines.append("")
        plural = "es" if hidden > 1 else ""
        lines.append(f"({hidden} other dex{plural}: no balance, position or order)")
    lines.append("")
    state = ""
    if r.forcing_headroom is not None and r.headroom < r.forcing_headroom:
        state = " (below forcing: only the inventory-reducing side would be quoted)"
    elif r.widen_headroom is not None and r.headroom < r.widen_headroom:
        state = " (below widen: spreads would widen)"
    if r.requests_cap <= 0:
        lines.append(
            "rate limit: no request budget: the venue does not know this address (an API "
            "wallet has none of its own: name the account with --address)"
        )
    else:
        lines.append(
            f"rate limit: {r.requests_used:,} of {r.requests_cap:,} requests used, headroom "
            f"{r.headroom:.2%}{state}; cumulative volume {_num(r.cum_volume_usd)} USDC"
        )
    return "\n".join(lines)


def status_command(
    *,
    address: str | None,
    network: str | None,
    base_url: str | None,
    config: Path | None,
    dexes: list[str] | None,
    as_json: bool,
) -> int:
    """``market-maker status``: print the report; the exit code.

    Raises
    ------
    framework.config.ConfigError, KeyLoadError
        Bad flags, config or environment, or no way to know the account (exit 2).
    """
    from framework.config import resolve_config
    from framework.hyperliquid.errors import HyperliquidError, UnknownDexError
    from framework.hyperliquid.keys import account_address, check_address, load_signer
    from framework.hyperliquid.venue import VENUE_FLAGS, venue_flags

    cfg = resolve_config(config, venue_flags(network, base_url), flag_names=VENUE_FLAGS)
    venue = Venue.from_live(cfg.live)
    signer = None
    if address:
        account = check_address(address, "--address")
    elif cfg.live.account_address:
        account = account_address(cfg.live.account_address, None)
    else:
        signer = load_signer(cfg.live.keystore)  # only its address is used
        account = signer.address
    try:
        report = asyncio.run(_fetch(venue, account, dexes))
    except UnknownDexError as exc:
        print(f"error: {exc} (at {venue.base_url})", file=sys.stderr)
        return 2
    except HyperliquidError as exc:
        print(f"error: {venue.base_url}: {exc}", file=sys.stderr)
        return 1
    report = attrs.evolve(
        report,
        signer=signer.address if signer is not None else None,
        widen_headroom=cfg.risk.widen_headroom,
        forcing_headroom=cfg.risk.forcing_headroom,
    )
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_text(report))
    return 0


async def _fetch(venue: Venue, account: str, dexes: list[str] | None) -> StatusReport:
    async with InfoClient(venue.base_url) as info:
        return await fetch_status(info, account, venue, dexes)
