"""The one table of coins whose ``szDecimals`` the importer knows without the venue.

A journal carries its coin's ``szDecimals`` (manifest ``sz_decimals``): the size lot is
``10**-szDecimals`` and a price may carry at most ``6 - szDecimals`` decimals, so a
backtest quoting on the wrong value sizes its orders 10x (or 1000x) off.  ``record``
reads the value from the venue's ``meta``; ``import`` has no venue to ask and takes
it from here (or from ``--sz-decimals N``, which wins).

Only values with a source are listed.  The venue can change a coin's szDecimals; when in
doubt, read it with ``market-maker list-dexs`` and pass ``--sz-decimals``.
"""

from __future__ import annotations

#: szDecimals of main-dex perps, by venue coin name.  Sources:
#: [D] ``../shared/data/hyperliquid/README.md`` section 3 (tick/lot rules, with prices
#:     seen in real data that fit the grid), [P] ``../shared/reference/
#:     hyperliquid_protocol.md`` section 2.1 (the ``meta`` example response).
KNOWN_SZ_DECIMALS: dict[str, int] = {
    "BTC": 5,  # [D] and [P]; the real capture's sizes (0.00219) have 5 decimals
    "ETH": 4,  # [D]
    "SOL": 2,  # [D]
    "HYPE": 2,  # [D]
    # Not sure: [P] lists these two in an example response; HPOS is thinly traded and
    # LOOM is delisted, so the values may be stale.  Check `list-dexs` before relying on them.
    "HPOS": 0,
    "LOOM": 1,
}


def known_sz_decimals(coin: str) -> int | None:
    """The table's szDecimals of ``coin``, or None when it is not listed (HIP-3 coins
    ``dex:COIN`` never are: their grid is the deployer's choice)."""
    return KNOWN_SZ_DECIMALS.get(coin)


def describe_known() -> str:
    """``BTC 5, ETH 4, ...`` for error messages."""
    return ", ".join(f"{c} {n}" for c, n in KNOWN_SZ_DECIMALS.items())
