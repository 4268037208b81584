"""Inputs of the synthetic market generator, and the known-assets table.

Every number the generator uses lives here, so the manifest can record all of them.
The defaults are calibrated to ``shared/data/hyperliquid/README.md`` for HYPE: price
~$38, tick $0.001 (~0.26 bps), spread of a few ticks, 1-1,500 HYPE per level, book
snapshots every ~0.55 s, tens of trades a minute.  Depth parameters (``delta0_bps``,
``kappa_per_bps``) scale with the asset's tick in bps, so sweeps walk a similar number
of levels for any asset.  Shocks (``jump_*``, ``deep_sweep_*``: rare takers that walk
tens to 150 bps into the book) are in bps of price; their defaults are justified where
they are declared.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import attrs

from framework.grid import MAX_PERP_DECIMALS, tick_size

#: 2026-01-01T00:00:00Z, the default session start (ns).
DEFAULT_START_NS = 1_767_225_600 * 1_000_000_000
#: Deepest shock (bps): a sweep walks the book tick by tick, so this bounds its cost.
MAX_SHOCK_BPS = 1_000.0


@attrs.frozen
class AssetSpec:
    """What the generator needs to know about an asset."""

    sz_decimals: int
    start_px: float
    #: Median notional of one book level, USD (scales sizes to the asset's depth).
    level_notional_usd: float
    #: Scales each regime's spread beyond one tick: BTC/ETH sit at 1 tick, HYPE wider.
    spread_scale: float = 1.0


#: The one table of known assets.  Anything else needs ``start_px`` and ``sz_decimals``.
KNOWN_ASSETS: dict[str, AssetSpec] = {
    "HYPE": AssetSpec(sz_decimals=2, start_px=38.0, level_notional_usd=1_500.0),
    "BTC": AssetSpec(
        sz_decimals=5, start_px=100_000.0, level_notional_usd=150_000.0, spread_scale=0.03
    ),
    "ETH": AssetSpec(
        sz_decimals=4, start_px=3_000.0, level_notional_usd=60_000.0, spread_scale=0.15
    ),
    "SOL": AssetSpec(sz_decimals=2, start_px=150.0, level_notional_usd=8_000.0, spread_scale=0.6),
}


class SynthParamError(ValueError):
    """A generator input is missing or out of range; the message names it and the fix."""


@attrs.frozen
class RegimeSpec:
    """One volatility regime of the Markov chain.

    ``exit_probs[j]`` is the probability of jumping to regime ``j`` on leaving this
    one (its own entry is 0).  ``drift_bps_per_s`` is a magnitude: each segment of the
    regime draws its sign (+ or - with equal odds).
    """

    name: str
    mean_duration_s: float
    sigma_bps_per_sqrt_s: float
    drift_bps_per_s: float
    trade_event_rate_per_s: float
    #: Mean extra ticks each side of the touch sits beyond the ticks around the mid.
    spread_extra_ticks_mean: float
    exit_probs: tuple[float, ...]
    #: Share of aggressor events on the drift's side (0.5 = no bias).
    with_drift_prob: float = 0.5


DEFAULT_REGIMES: tuple[RegimeSpec, ...] = (
    RegimeSpec("calm", 900.0, 1.2, 0.0, 0.20, 1.0, (0.0, 0.5, 0.5)),
    RegimeSpec("volatile", 300.0, 3.5, 0.0, 0.45, 2.5, (0.7, 0.0, 0.3)),
    RegimeSpec("trending", 480.0, 2.0, 0.25, 0.30, 1.5, (0.6, 0.4, 0.0), 0.6),
)


@attrs.frozen
class SynthParams:
    """Every input of one generated recording (recorded as ``generator.params``)."""

    asset: str
    sz_decimals: int
    start_px: float
    hours: float
    seed: int
    dex: str = ""
    start_ns: int = DEFAULT_START_NS
    regimes: tuple[RegimeSpec, ...] = DEFAULT_REGIMES
    # -- book --------------------------------------------------------------------------
    book_levels: int = 20
    book_cadence_s: float = 0.55  # median interval between l2Book snapshots
    book_cadence_sigma: float = 0.08  # lognormal sigma of the interval (jitter)
    level_refresh_s: float = 15.0  # a price level keeps its size for about this long
    level_notional_usd: float = 1_500.0
    level_size_shape: float = 1.5  # log-logistic shape: heavy right tail
    level_notional_max_usd: float = 57_000.0  # ~1,500 HYPE
    level_notional_min_usd: float = 20.0
    # -- trades ------------------------------------------------------------------------
    delta0_bps: float = 0.3
    kappa_per_bps: float = 1.0
    taker_notional_usd: float = 300.0  # median size of the last print of a sweep
    taker_size_shape: float = 1.2
    # -- shocks (framework/synth/shocks.py) ----------------------------------------------
    # Without shocks every taker stops within a few bps of the mid (kappa ~ 1 per bps),
    # so nothing reaches a quote 20-25 bps out, while real books are swept that deep by
    # news moves and liquidations.  Sizes are bps of price, for every asset.
    # Jumps: one an hour, the reference rate for a volatile alt perp such as HYPE.  Size:
    # truncated Pareto, tail index 1.5 on 20-150 bps (heavy-tailed: median 31 bps, mean
    # 40, 70 % beyond 25 bps, 15 % beyond 60), random sign.  The jump variance, about
    # (47 bps)^2 an hour, stays below the diffusion's ((72 bps)^2 an hour calm, (210)^2
    # volatile): most of a liquid perp's variance is diffusive.  A jump is 1..4 taker
    # sweeps within 300 ms (a burst of market orders chasing the move), then the next
    # snapshot is built around the new mid.
    jump_rate_per_h: float = 1.0
    jump_min_bps: float = 20.0
    jump_max_bps: float = 150.0
    jump_tail_alpha: float = 1.5
    jump_sweeps_max: int = 4
    jump_sweep_span_ms: int = 300
    # Deep sweeps: one taker order walking 40-150 bps into the book (a liquidation or a
    # fat finger) with no lasting move: liquidity refills by the next snapshot.  One an
    # hour; truncated Pareto, tail index 1.5 (median 58 bps, two in three reach 50 bps,
    # 13 % beyond 100).
    deep_sweep_rate_per_h: float = 1.0
    deep_sweep_min_bps: float = 40.0
    deep_sweep_max_bps: float = 150.0
    deep_sweep_tail_alpha: float = 1.5
    # -- feed --------------------------------------------------------------------------
    latency_ms_median: float = 30.0
    latency_sigma: float = 0.3  # lognormal sigma of the slow latency component
    latency_jitter_ms: float = 2.0
    # -- asset context -----------------------------------------------------------------
    # A push every minute keeps mark and oracle near the book (mark-mid basis a few
    # bps); the funding rate is drawn once per hour, as it is paid.
    ctx_interval_s: float = 60.0
    funding_rate: float = 1.25e-5
    funding_noise: float = 5e-6
    basis_bps_mean: float = -3.0  # mark minus book mid
    basis_bps_std: float = 1.5
    premium_mean: float = -1e-4
    premium_std: float = 1e-4
    open_interest_usd: float = 700e6
    day_ntl_vlm_usd: float = 300e6

    @property
    def coin(self) -> str:
        return f"{self.dex}:{self.asset}" if self.dex else self.asset

    @property
    def duration_ns(self) -> int:
        return round(self.hours * 3600e9)

    @property
    def tick(self) -> float:
        """The tick at the start price."""
        return tick_size(self.start_px, self.sz_decimals)

    def check(self) -> None:
        """Raise :class:`SynthParamError` naming the first input out of range."""
        rules = [
            ("hours", self.hours, self.hours > 0, "> 0"),
            ("start_px", self.start_px, self.start_px > 0, "> 0"),
            (
                "book_levels",
                self.book_levels,
                1 <= self.book_levels <= 20,
                "in 1..20 (l2Book depth)",
            ),
            ("book_cadence_s", self.book_cadence_s, self.book_cadence_s >= 0.05, ">= 0.05"),
            ("ctx_interval_s", self.ctx_interval_s, self.ctx_interval_s >= 1, ">= 1"),
            ("level_refresh_s", self.level_refresh_s, self.level_refresh_s > 0, "> 0"),
            ("kappa_per_bps", self.kappa_per_bps, self.kappa_per_bps > 0, "> 0"),
            ("delta0_bps", self.delta0_bps, self.delta0_bps >= 0, ">= 0"),
            ("latency_ms_median", self.latency_ms_median, self.latency_ms_median >= 0, ">= 0"),
            ("jump_rate_per_h", self.jump_rate_per_h, self.jump_rate_per_h >= 0, ">= 0"),
            ("jump_min_bps", self.jump_min_bps, self.jump_min_bps > 0, "> 0"),
            (
                "jump_max_bps",
                self.jump_max_bps,
                self.jump_min_bps <= self.jump_max_bps <= MAX_SHOCK_BPS,
                f"in jump_min_bps..{MAX_SHOCK_BPS:g}",
            ),
            ("jump_tail_alpha", self.jump_tail_alpha, self.jump_tail_alpha > 0, "> 0"),
            ("jump_sweeps_max", self.jump_sweeps_max, self.jump_sweeps_max >= 1, ">= 1"),
            (
                "jump_sweep_span_ms",
                self.jump_sweep_span_ms,
                self.jump_sweep_span_ms >= 0,
                ">= 0 (0: every sweep of a jump in one ms)",
            ),
            (
                "deep_sweep_rate_per_h",
                self.deep_sweep_rate_per_h,
                self.deep_sweep_rate_per_h >= 0,
                ">= 0",
            ),
            ("deep_sweep_min_bps", self.deep_sweep_min_bps, self.deep_sweep_min_bps > 0, "> 0"),
            (
                "deep_sweep_max_bps",
                self.deep_sweep_max_bps,
                self.deep_sweep_min_bps <= self.deep_sweep_max_bps <= MAX_SHOCK_BPS,
                f"in deep_sweep_min_bps..{MAX_SHOCK_BPS:g}",
            ),
            (
                "deep_sweep_tail_alpha",
                self.deep_sweep_tail_alpha,
                self.deep_sweep_tail_alpha > 0,
                "> 0",
            ),
        ]
        for r in self.regimes:
            rules += [
                (f"regimes[{r.name}].{attr}", getattr(r, attr), getattr(r, attr) >= 0, ">= 0")
                for attr in ("sigma_bps_per_sqrt_s", "trade_event_rate_per_s")
            ]
        for name, value, ok, want in rules:
            if not ok:
                raise SynthParamError(f"{name}={value!r}: must be {want}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every input."""
        d = attrs.asdict(self, recurse=True)
        d["regimes"] = [{**r, "exit_probs": list(r["exit_probs"])} for r in d["regimes"]]
        d["coin"] = self.coin
        return d


def params_for(
    asset: str,
    *,
    hours: float,
    seed: int,
    dex: str = "",
    start_ns: int | None = None,
    start_px: float | None = None,
    sz_decimals: int | None = None,
    **overrides: Any,
) -> SynthParams:
    """Parameters for ``asset`` from the known-assets table plus explicit overrides.

    Raises
    ------
    SynthParamError
        Unknown asset without both ``start_px`` and ``sz_decimals``; ``hours <= 0``;
        a non-positive price; ``sz_decimals`` outside 0..6.
    """
    name = asset.strip().upper()
    known = KNOWN_ASSETS.get(name)
    if known is None and (start_px is None or sz_decimals is None):
        raise SynthParamError(
            f"--asset {asset}: not a known asset ({', '.join(KNOWN_ASSETS)}); "
            "give --price and --sz-decimals to generate it anyway"
        )
    if not (isinstance(hours, int | float) and math.isfinite(hours) and hours > 0):
        raise SynthParamError(f"--hours {hours!r}: must be a number > 0 (e.g. --hours 2)")
    if int(seed) < 0:
        raise SynthParamError(f"--seed {seed!r}: must be an integer >= 0")
    szd = known.sz_decimals if sz_decimals is None else int(sz_decimals)
    if not 0 <= szd <= MAX_PERP_DECIMALS:
        raise SynthParamError(f"--sz-decimals {sz_decimals!r}: must be in 0..{MAX_PERP_DECIMALS}")
    px = known.start_px if start_px is None else float(start_px)
    if not (math.isfinite(px) and px > 0):
        raise SynthParamError(f"--price {start_px!r}: must be a price > 0 (e.g. --price 38)")
    notional = known.level_notional_usd if known else 1_500.0 * px / 38.0
    scale = known.spread_scale if known else 1.0
    regimes = tuple(
        attrs.evolve(r, spread_extra_ticks_mean=r.spread_extra_ticks_mean * scale)
        for r in DEFAULT_REGIMES
    )
    # Depth in ticks, not bps: a sweep walks a similar number of levels for any asset.
    tick_bps = tick_size(px, szd) / px * 1e4
    base = {
        "regimes": regimes,
        "level_notional_usd": notional,
        "level_notional_max_usd": notional * 38.0,
        "level_notional_min_usd": notional / 75.0,
        "taker_notional_usd": notional / 5.0,
        "delta0_bps": round(1.15 * tick_bps, 6),
        "kappa_per_bps": round(1.0 / (3.8 * tick_bps), 6),
        "open_interest_usd": notional * 4.7e5,
        "day_ntl_vlm_usd": notional * 2e5,
    }
    base.update(overrides)
    params = SynthParams(
        asset=name,
        sz_decimals=szd,
        start_px=px,
        hours=float(hours),
        seed=int(seed),
        dex=dex,
        start_ns=DEFAULT_START_NS if start_ns is None else int(start_ns),
        **base,
    )
    params.check()
    return params


def parse_start(text: str | None) -> int | None:
    """An ISO-8601 time (UTC when no offset is given) as ns since the epoch."""
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SynthParamError(
            f"--start {text!r}: not an ISO-8601 time (e.g. 2026-01-01T00:00:00Z)"
        ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1_000
