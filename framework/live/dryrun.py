"""``market-maker run --dry-run``: every check a live start makes, no order placed.

It connects, validates the config, loads the key (printing only its address), resolves
the asset (a HIP-3 dex and its asset id included), subscribes to the book and waits for
it, reads the account (value, position), the coin's leverage and margin mode and the
request budget's headroom, looks at the prior the calibration gate would use, and prints
one checklist line per check.  Nothing is signed or sent to ``/exchange``.  Exit 0 when
every check passed, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from framework.config import SessionConfig

__all__ = ["dry_run"]

BOOK_WAIT_S = 10.0


async def dry_run(
    asset: str,
    dex: str,
    cfg: SessionConfig,
    *,
    signer: Any,
    checkpoint_dir: Path,
    paper_checkpoint: Path | None,
    force: bool = False,
    skip_calibration: bool = False,
    no_auto_paper: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    from framework.calibration.prior import PriorError, prior_path
    from framework.hyperliquid.errors import HyperliquidError
    from framework.hyperliquid.ws import WsConfig
    from framework.live.pipeline import load_gate, plan
    from framework.live.venue import Venue, api_url

    checks: list[tuple[bool, str, str]] = []

    def check(ok: bool, name: str, detail: str) -> None:
        checks.append((ok, name, detail))
        say(f"[{'ok' if ok else 'FAIL'}] {name}: {detail}")

    check(True, "config", "valid (flags > environment > file > defaults)")
    check(True, "key", f"loaded; signer address {signer.address}")
    got_book = asyncio.Event()

    def on_message(msg: dict[str, Any], _recv: int) -> None:
        if msg.get("channel") == "l2Book":
            got_book.set()

    url = api_url(cfg.live)
    try:
        venue = await Venue.open(
            cfg.live,
            asset,
            dex,
            signer=signer,
            nonce_path=None,
            on_message=on_message,
            ws_config=WsConfig(stall_after_s=None),
        )
    except HyperliquidError as exc:
        check(False, "venue", f"{url}: {exc}")
        return _result(checks, say)
    try:
        a = venue.asset
        check(True, "venue", f"{url} ({cfg.live.network} signing)")
        check(
            not a.is_delisted,
            "asset",
            f"{a.coin}: asset id {a.asset_id}, dex {a.dex or 'main'}, szDecimals "
            f"{a.sz_decimals}, max leverage {a.max_leverage}"
            + (" (DELISTED)" if a.is_delisted else ""),
        )
        check(
            True,
            "account",
            f"{venue.account}"
            + (f" (agent {signer.address} signs)" if venue.account != signer.address else ""),
        )
        try:
            await venue.ws.subscribe({"type": "l2Book", "coin": a.coin})
            await venue.ws.start()
            await asyncio.wait_for(got_book.wait(), BOOK_WAIT_S)
            check(True, "market data", f"l2Book of {a.coin} arriving over {venue.ws.url}")
        except (TimeoutError, HyperliquidError) as exc:
            check(False, "market data", f"no l2Book of {a.coin} within {BOOK_WAIT_S:g} s ({exc!r})")
        try:
            st = await venue.info.clearinghouse_state(venue.account, dex=a.dex)
            pos = st.position(a.coin)
            value = st.margin_summary.account_value
            check(
                value > 0,
                "balance",
                f"account value {value:.2f} USDC, withdrawable {st.withdrawable:.2f}"
                + ("" if value > 0 else "; deposit before trading"),
            )
            check(True, "position", f"{pos.szi if pos else 0:g} {a.coin}")
            active = await venue.info.raw(
                {"type": "activeAssetData", "user": venue.account, "coin": a.coin}
            )
            lev = (active or {}).get("leverage") or {}
            mode, value_lev = lev.get("type", "?"), lev.get("value", "?")
            want_mode = venue.margin_mode
            want = int(cfg.risk.leverage)
            ok_lev = 1 <= want <= a.max_leverage
            check(
                ok_lev,
                "leverage",
                f"now {value_lev}x {mode}; run sets {want}x {want_mode}"
                + ("" if ok_lev else f" (over the max {a.max_leverage}x: lower --leverage)"),
            )
            rl = await venue.info.user_rate_limit(venue.account)
            head = 1.0 - rl.n_requests_used / rl.n_requests_cap if rl.n_requests_cap else 0.0
            check(
                head > cfg.risk.forcing_headroom,
                "rate limit",
                f"{rl.n_requests_used} of {rl.n_requests_cap} requests used "
                f"(headroom {head:.1%}; forcing mode below {cfg.risk.forcing_headroom:.0%})",
            )
        except HyperliquidError as exc:
            check(False, "account", f"cannot read the account: {exc}")
        path = paper_checkpoint or prior_path(checkpoint_dir, a.coin)
        try:
            stale = cfg.calibration.stale_after_s
            g = None if force else load_gate(path, now_ns=time.time_ns(), stale_after_s=stale)
            # The chart's own decision with these flags, as `run` would take it.
            p = plan(g, force=force, skip_calibration=skip_calibration, no_auto_paper=no_auto_paper)
            nxt = {"live": "go live", "auto_paper": "auto-paper first", "refuse": "refuse"}
            check(
                p.next != "refuse",
                "calibration",
                f"{p.steps[-1][1]}; run would {nxt[p.next]}"
                + (f" (readiness {p.readiness})" if p.next == "live" else ""),
            )
        except PriorError as exc:
            check(False, "calibration", str(exc))
        check(True, "orders", "none placed (dry run)")
    finally:
        await venue.aclose()
    return _result(checks, say)


def _result(checks: list[tuple[bool, str, str]], say: Callable[[str], None]) -> int:
    bad = [name for ok, name, _ in checks if not ok]
    if bad:
        say(f"dry run: {len(bad)} check(s) failed: {', '.join(bad)}")
        return 1
    say(f"dry run: all {len(checks)} checks passed; nothing was sent")
    return 0
