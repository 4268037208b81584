"""Session configuration: frozen attrs classes with defaults, loaded from TOML.

A config file has one table per section::

    [strategy]
    spread_profile = "hip3"
    gamma_per_bps = 0.02

    [risk]
    max_drawdown = 0.03

Every bad value raises :class:`ConfigError` naming the field (``risk.max_drawdown``),
the value, what is allowed, and the file when there is one.  Unknown keys are errors
too (with the closest known name), so a typo never silently falls back to a default.
Every key is checked on its own, so :func:`config_problems` (and the error's
``problems``) lists all the problems of a file, not only the first.

:func:`resolve_config` applies the precedence flags > environment (``MM_<SECTION>_<KEY>``
variables, read as the key's type) > config file > defaults; a problem names the flag or
the variable it came from.

Components receive their section as keyword arguments (``MarketMaker(**unstructure(cfg
.strategy))``), so the dict recorded in a journal manifest rebuilds the same config.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import math
import re
import sys
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from framework.grid import MAX_PERP_DECIMALS

__all__ = [
    "ESTIMATOR_PATHS",
    "FLAG_NAMES",
    "PROFILES",
    "CalibrationConfig",
    "ConfigError",
    "EstimatorsConfig",
    "FillsConfig",
    "LiveConfig",
    "OrdersConfig",
    "RiskConfig",
    "SessionConfig",
    "Setting",
    "SpreadProfile",
    "StrategyConfig",
    "check_config",
    "config_from_dict",
    "config_problems",
    "env_settings",
    "load_config",
    "parse_env_value",
    "read_config_file",
    "resolve_config",
    "section_from_kwargs",
    "unstructure",
]


@attrs.frozen
class SpreadProfile:
    """A spread profile: the band the quoted spread lives in and the model parameters
    that put the GLFT quote there (mm_math §1.3, §1.5).

    The half spread is ``floor_bps + m_hs * GLFT(σ, κ, A, γ)`` (``m_hs`` is the
    Q-learner's multiplier) and the reservation price moves by the skew
    ``skew_scale * σ c2 * q`` (q in reference lots), so σ, κ, the Q action and
    inventory all move the quotes; the band is a guard-rail the result is clamped
    into, not the place the quote is decided.

    In GLFT one γ sets both the σ term of the half spread (``σ c2 / 2``) and the
    skew per lot (``σ c2``): a γ large enough for σ to matter in the spread skews far
    too hard (hftbacktest's GLFT notebook meets the same and scales the skew by
    ``adj2``).  So γ is chosen for the spread and ``skew_scale`` tunes the skew **[ours,
    as hftbacktest]**; the inventory aversion the quotes express is
    ``γ_eff = γ skew_scale²`` (the Q reward's penalty uses it).

    Attributes
    ----------
    band_bps : (float, float)
        Minimum and maximum total spread (ask - bid) in bps.
    floor_bps : float
        Added to the GLFT half spread: the edge the profile demands beyond the model's
        half spread.  **[ours]** Half the band's minimum less 1 bp: the GLFT half
        spread of a liquid market is 1-3 bps, so the quote lands in the lower part of
        the band and moves up with σ, κ and the Q action instead of sitting on an edge.
    gamma_per_bps : float
        γ per (bps · reference lot).  **[ours]** 0.25 for every profile: with the
        synthetic HYPE market's converged κ (k ≈ 1.1 /bps, A ≈ 0.4 /s) and σ ≈ 2 bps/√s
        the σ term of the half spread is about the monopolist term ``1/k``, so
        doubling σ adds about 1 bp to the half spread.
    skew_scale : float
        Multiplies the GLFT skew.  **[ours]** Chosen so that the skew at half the
        default USD position cap (25 reference lots of $100) is about one half spread
        of the profile on that market: inventory is pushed out long before the cap.
    """

    band_bps: tuple[float, float]
    floor_bps: float
    gamma_per_bps: float
    skew_scale: float


#: Spread profiles by name.  One place for these numbers.
PROFILES: dict[str, SpreadProfile] = {
    "default": SpreadProfile((40.0, 50.0), 19.0, 0.25, 0.5),
    "hip3": SpreadProfile((15.0, 25.0), 6.5, 0.25, 0.22),
    "aggressive": SpreadProfile((10.0, 20.0), 4.0, 0.25, 0.15),
}


#: The estimator components a trading session runs, by component name (the names of
#: the ``[estimators.<name>]`` tables), in binding order.  Kept here rather than in
#: :mod:`framework.environments.backtest` (which builds the engine from it) so the
#: config can check the names without importing the environments, which import it.
ESTIMATOR_PATHS: tuple[tuple[str, str], ...] = (
    ("volatility", "framework.estimators.volatility:VolatilityEstimator"),
    ("kappa", "framework.estimators.kappa:KappaEstimator"),
    ("adverse_selection", "framework.estimators.adverse_selection:AdverseSelectionEstimator"),
    ("regime", "framework.estimators.regime:RegimeEstimator"),
    ("fill_rate", "framework.estimators.fill_rate:FillRateEstimator"),
    ("kelly", "framework.estimators.kelly:KellyEstimator"),
)


class ConfigError(ValueError):
    """A config value is missing, unknown or out of range; the message names the field.

    ``problems`` lists every problem found (the message is the first, with a count of
    the others): :func:`config_problems` and ``market-maker validate-config`` show all.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems else [message]

    @classmethod
    def of(cls, problems: list[str]) -> ConfigError:
        """One error for a non-empty list of problems."""
        more = len(problems) - 1
        tail = (
            f" (and {more} more problem{'s' if more > 1 else ''}: "
            "`market-maker validate-config` lists them all)"
            if more
            else ""
        )
        return cls(problems[0] + tail, problems)


def _toml(value: Any) -> str:
    """``value`` as it is written in TOML (examples in error messages, generate-config)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # its escapes are TOML's too
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return repr(value)


# -- validators ---------------------------------------------------------------------------
# Each validator carries ``rule``: what the value must be, shown by generate-config.
def _field_name(inst: Any, attribute: attrs.Attribute) -> str:
    return f"{type(inst).SECTION}.{attribute.name}"


def _number(test: Callable[[float], bool], must: str, fix: str) -> Any:
    """An attrs validator: a finite number passing ``test``, else a ConfigError naming
    the field, the rule (``must``), the fix and the default."""

    def check(inst: Any, attribute: attrs.Attribute, value: float) -> None:
        # an int is finite whatever its size (math.isfinite would overflow on 10**400)
        finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
        if not (finite and test(value)):
            raise ConfigError(
                f"{_field_name(inst, attribute)} = {value!r}: must be {must}; "
                f"fix: {fix} (default {attribute.default!r})"
            )

    check.rule = must  # type: ignore[attr-defined]
    return check


_positive = _number(lambda v: v > 0, "a finite number > 0", "set a positive value")
_non_negative = _number(lambda v: v >= 0, "a finite number >= 0", "set a value >= 0")
_fraction = _number(
    lambda v: 0 < v < 1, "a fraction in (0, 1), e.g. 0.05 for 5 %", "set it between 0 and 1"
)
_sz_decimals = _number(
    lambda v: 0 <= v <= MAX_PERP_DECIMALS,
    f"the coin's szDecimals, an integer in 0..{MAX_PERP_DECIMALS}",
    "set the value the venue's meta gives (`market-maker list-dexs` prints it)",
)
_at_least_one = _number(lambda v: v >= 1, ">= 1 (a multiplier that widens)", "set a value >= 1")


def _optional(check: Any) -> Any:
    """A validator that lets ``None`` through (meaning: the default from elsewhere)."""

    def optional(inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            check(inst, attribute, value)

    optional.rule = getattr(check, "rule", "")  # type: ignore[attr-defined]
    return optional


def _one_of(*choices: Any) -> Any:
    def check(inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            raise ConfigError(
                f"{_field_name(inst, attribute)} = {value!r}: must be one of "
                f"{', '.join(repr(c) for c in choices)}; fix: pick one of them"
            )

    check.rule = "one of " + ", ".join(_toml(c) for c in choices)  # type: ignore[attr-defined]
    return check


def _matching(pattern: str, must: str, example: str) -> Any:
    """A str validator: ``""`` (not set) or a full match of ``pattern``."""
    compiled = re.compile(pattern)

    def check(inst: Any, attribute: attrs.Attribute, value: str) -> None:
        if value and not compiled.fullmatch(value):
            raise ConfigError(
                f"{_field_name(inst, attribute)} = {value!r}: must be {must}; "
                f'fix: write it like {attribute.name} = "{example}", or "" for the default'
            )

    check.rule = f'"" or {must}'  # type: ignore[attr-defined]
    return check


_http_url = _matching(
    r"https?://[^\s/:]+(:[0-9]{1,5})?(/\S*)?",
    "an http(s) URL",
    "http://127.0.0.1:3001",
)
_address = _matching(r"0x[0-9a-fA-F]{40}", "an address (0x and 40 hex digits)", "0x" + "ab" * 20)


# -- sections -----------------------------------------------------------------------------
@attrs.frozen
class StrategyConfig:
    """The reference GLFT market maker (units: bps of price, seconds, lots; see mm_math §0)."""

    SECTION: typing.ClassVar[str] = "strategy"

    #: the venue's coin name (``HYPE``, ``hyena:HYPE``); --asset or the recording sets it
    coin: str = "HYPE"
    #: the coin's size decimals (lot 10^-sz_decimals); the venue's meta or the recording
    #: sets it in a session
    sz_decimals: int = attrs.field(default=2, validator=_sz_decimals)
    #: the band of total spread and the GLFT parameters that land quotes in it (PROFILES):
    #: default 40-50 bps, hip3 15-25, aggressive 10-20; --spread-profile overrides it
    spread_profile: str = attrs.field(default="default", validator=_one_of(*PROFILES))
    #: GLFT variant (mm_math §1.3): A = CARA utility, B = running inventory penalty
    model: str = attrs.field(default="B", validator=_one_of("A", "B"))
    # unset: the spread profile's value (PROFILES); a number overrides it (also for
    # half_spread_floor_bps and skew_scale below)
    gamma_per_bps: float | None = attrs.field(default=None, validator=_optional(_positive))
    half_spread_floor_bps: float | None = attrs.field(
        default=None, validator=_optional(_non_negative)
    )
    # mm_math §4: hs >= AS(5 s) + maker fee + min edge once adverse selection converged
    adverse_selection_floor: bool = True
    skew_scale: float | None = attrs.field(default=None, validator=_optional(_non_negative))
    fair_price: str = attrs.field(default="mid", validator=_one_of("mid", "microprice"))
    funding_carry: bool = True
    # cold-start values used until the estimators converge
    sigma_bps_default: float = attrs.field(default=2.0, validator=_positive)
    k_per_bps_default: float = attrs.field(default=0.2, validator=_positive)
    A_per_s_default: float = attrs.field(default=1.0, validator=_positive)
    # sizing
    # base_notional_usd is also the reference lot inventory is counted in (mm_math §0:
    # q = position / reference size), so Kelly moving the order size never changes the
    # inventory skew per coin.
    base_notional_usd: float = attrs.field(default=100.0, validator=_positive)
    min_notional_usd: float = attrs.field(default=10.0, validator=_positive)
    max_order_notional_usd: float = attrs.field(default=2000.0, validator=_positive)
    # mm_math §7 caps on the Kelly size: at most this share of the displayed top-of-book
    # notional (smoothed), and the margin cap of the risk section's leverage limits
    tob_share: float = attrs.field(default=0.25, validator=_fraction)
    # edges and fees (mm_math §1.5: ask - bid >= 2 (maker_fee + min_edge))
    maker_fee_bps: float = attrs.field(default=1.5, validator=_non_negative)
    min_edge_bps: float = attrs.field(default=0.5, validator=_non_negative)
    # requoting
    requote_ticks: int = attrs.field(default=1, validator=_positive)
    # A move smaller than max(ticks, tolerance_bps, spread_fraction x half spread) does
    # not requote: each modify spends a request of the address budget (10000 + traded
    # USD), and a 40-50 bps quote gains nothing from following every 0.25 bps tick.
    requote_tolerance_bps: float = attrs.field(default=3.0, validator=_non_negative)
    requote_spread_fraction: float = attrs.field(default=0.25, validator=_non_negative)
    reject_backoff_s: float = attrs.field(default=1.0, validator=_positive)
    # inventory-forcing mode (request budget nearly spent): a side's order is modified
    # at most this often, so quoting spends requests slower than fills earn them
    forcing_requote_s: float = attrs.field(default=10.0, validator=_positive)
    requote_interval_s: float = attrs.field(default=5.0, validator=_positive)
    param_interval_s: float = attrs.field(default=5.0, validator=_positive)
    # Q-learning layer (mm_math §9)
    qlearning: bool = True
    q_step_s: float = attrs.field(default=5.0, validator=_positive)
    q_epsilon0: float = attrs.field(default=0.2, validator=_fraction)
    q_epsilon_min: float = attrs.field(default=0.02, validator=_fraction)
    q_discount: float = attrs.field(default=0.95, validator=_fraction)
    q_omega: float = attrs.field(default=0.7, validator=_fraction)
    q_inventory_penalty: float = attrs.field(default=1.0, validator=_non_negative)
    q_trust_visits: int = attrs.field(default=30, validator=_non_negative)


@attrs.frozen
class RiskConfig:
    """Limits, kill switches, the quote gate and rate-limit handling."""

    SECTION: typing.ClassVar[str] = "risk"

    #: position cap in contracts: at the cap only the side that reduces it is quoted
    max_position: float = attrs.field(default=200.0, validator=_positive)
    #: position cap in USD notional (same rule)
    max_position_usd: float = attrs.field(default=5000.0, validator=_positive)
    #: kill switch: stop quoting for good at this drawdown from the equity peak (0.05 = 5 %)
    max_drawdown: float = attrs.field(default=0.05, validator=_fraction)
    #: stop quoting for the rest of the UTC day after losing this much (USD)
    max_daily_loss_usd: float = attrs.field(default=500.0, validator=_positive)
    # a tripped position cap releases once |position| is back under this share of it
    # (hysteresis: a position sitting at the cap does not flap the quotes)
    position_release: float = attrs.field(default=0.8, validator=_fraction)
    # margin (mm_math §10.4): initial margin = notional / leverage, MMR = 1/(2 max_leverage);
    # worst-case inventory (position plus resting orders) stays under
    # equity / (k sigma_T + MMR) over the de-risk horizon T and under max_margin_usage
    leverage: float = attrs.field(
        default=3.0,
        validator=_number(
            lambda v: v >= 1 and v == int(v),
            "a whole number >= 1 (the venue sets integer leverage: 1, 2, 3 ...)",
            "set a whole number of at least 1",
        ),
    )
    #: the asset's maximum leverage on the venue (sets the maintenance margin rate)
    max_leverage: float = attrs.field(
        default=10.0,
        validator=_number(
            lambda v: v >= 1,
            ">= 1 (the asset's maximum leverage on the venue)",
            "set the venue's maxLeverage for the asset",
        ),
    )
    #: share of equity the worst-case inventory's initial margin may use
    max_margin_usage: float = attrs.field(default=0.5, validator=_fraction)
    #: k in the margin rule above: the adverse move survived, in sigmas over the horizon
    inventory_k_sigma: float = attrs.field(default=4.0, validator=_positive)
    #: T in the margin rule above: the time to de-risk the inventory (s)
    inventory_horizon_s: float = attrs.field(default=3600.0, validator=_positive)
    #: the quote gate pauses quoting after this long without book or trade progress
    stale_s: float = attrs.field(default=15.0, validator=_positive)
    #: period of the limit checks (event time)
    check_interval_s: float = attrs.field(default=1.0, validator=_positive)
    #: below this request-budget headroom spreads widen by sqrt(widen_headroom / headroom)
    widen_headroom: float = attrs.field(default=0.5, validator=_fraction)
    #: below this headroom only the side that reduces inventory is quoted (forcing mode)
    forcing_headroom: float = attrs.field(default=0.10, validator=_fraction)
    #: the headroom the widening formula floors at (caps the widening)
    min_headroom: float = attrs.field(default=0.01, validator=_fraction)
    # a rate-limit state (forcing, widened) ends only this far above its threshold
    headroom_hysteresis: float = attrs.field(default=0.02, validator=_fraction)
    #: the calibration verdict the session trades under; marginal applies the defensive
    #: multipliers below (wider spreads, smaller size)
    readiness: str = attrs.field(default="ready", validator=_one_of("ready", "marginal"))
    marginal_spread_mult: float = attrs.field(default=1.5, validator=_at_least_one)
    marginal_size_mult: float = attrs.field(default=0.5, validator=_fraction)


@attrs.frozen
class OrdersConfig:
    """The order tracker: account starting point and mark-to-market cadence."""

    SECTION: typing.ClassVar[str] = "orders"

    #: the coin traded (set with the strategy's by --asset or the recording)
    coin: str = "HYPE"
    #: paper account equity at the start (USD); PnL, drawdown and margin are measured on it
    initial_equity_usd: float = attrs.field(default=10_000.0, validator=_positive)
    #: mark-to-market period (event time)
    mark_interval_s: float = attrs.field(default=5.0, validator=_positive)


@attrs.frozen
class FillsConfig:
    """Paper fill simulator settings, passed through to its component as keyword arguments.

    The keys are :class:`framework.fills.config.FillSimConfig`'s (``queue``,
    ``place_ms``, ``maker_bps``, ``budget_used``, ...): each key must be one of its
    attrs fields and of that field's type, then the class itself checks the values; a
    bad one is reported as ``[fills] <key>`` with an example of a good line.
    """

    SECTION: typing.ClassVar[str] = "fills"

    options: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class EstimatorsConfig:
    """Per-estimator keyword arguments, keyed by component name (``[estimators.kappa]``).

    A name must be one of :data:`ESTIMATOR_PATHS`; the keys are the estimator class's
    ``__init__`` parameters (checked with :func:`inspect.signature`, types from their
    annotations or defaults), and the estimator is built once to check the values.
    """

    SECTION: typing.ClassVar[str] = "estimators"

    options: dict[str, dict[str, Any]] = attrs.Factory(dict)


@attrs.frozen
class CalibrationConfig:
    """The calibration verdict's thresholds (the seed's "Calibration verdicts") and the
    prior checkpoints' timing.  Defaults are the seed's; see framework/calibration/*.sql.
    """

    SECTION: typing.ClassVar[str] = "calibration"

    min_session_s: float = attrs.field(default=1800.0, validator=_non_negative)
    min_kelly_fills: int = attrs.field(default=20, validator=_non_negative)
    marginal_min_converged: int = attrs.field(default=3, validator=_non_negative)
    volatility_min_obs: int = attrs.field(default=200, validator=_non_negative)
    kappa_min_obs: int = attrs.field(default=50, validator=_non_negative)
    adverse_selection_min_obs: int = attrs.field(default=100, validator=_non_negative)
    regime_min_obs: int = attrs.field(default=200, validator=_non_negative)
    fill_rate_min_obs: int = attrs.field(default=200, validator=_non_negative)
    # beyond the seed: the gross edge of the fills (markout at this horizon) and the rule
    # that a Ready session whose 95 % interval lies below zero is only Marginal
    edge_horizon_s: float = attrs.field(default=5.0, validator=_positive)
    downgrade_negative_edge: bool = True
    # a prior older than this (event time of its stamp, age taken at load) is stale
    stale_after_s: float = attrs.field(default=4 * 3600.0, validator=_positive)
    # paper sessions write their prior this often (wall clock) and at the end
    checkpoint_every_s: float = attrs.field(default=300.0, validator=_positive)


@attrs.frozen
class LiveConfig:
    """Live trading (``market-maker run``): the venue, the account, the safety clocks and
    the auto-calibration gate (the seed's "Auto-Calibration Pipeline").  The private key
    is never here: it comes from ``HL_PRIVATE_KEY`` or the ``keystore`` file (password in
    ``HL_KEYSTORE_PASSWORD``)."""

    SECTION: typing.ClassVar[str] = "live"

    network: str = attrs.field(default="mainnet", validator=_one_of("mainnet", "testnet"))
    #: overrides the network's API URL (a local sim-exchange, a proxy); "" = the network's
    base_url: str = attrs.field(default="", validator=_http_url)
    #: the account traded; "" = the signer's address (set it when signing with an API
    #: (agent) wallet approved by the account)
    account_address: str = attrs.field(default="", validator=_address)
    #: an encrypted JSON keystore; "" = the key in HL_PRIVATE_KEY
    keystore: str = ""
    #: the venue's dead-man switch: orders are scheduled to cancel this far ahead
    dead_man_s: float = attrs.field(
        default=30.0,
        validator=_number(
            lambda v: v >= 6.0,
            "at least 6 s (the venue refuses a scheduleCancel less than 5 s ahead, and the "
            "request takes time to arrive)",
            "set 6 or more",
        ),
    )
    #: ... and the schedule is refreshed this often while the session is healthy
    dead_man_refresh_s: float = attrs.field(default=10.0, validator=_positive)
    #: on SIGINT/SIGTERM, wait at most this long for the cancel acknowledgements
    shutdown_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    #: clock ticks journaled as inputs (timers and the stale-data gate in a quiet market)
    clock_period_s: float = attrs.field(default=0.1, validator=_positive)
    #: the auto-paper calibration run before going live without a usable prior
    calibration_duration_s: float = attrs.field(default=1800.0, validator=_positive)
    #: the kill switch also flattens the position with reduce-only IOC orders
    flatten_on_kill: bool = False


@attrs.frozen
class SessionConfig:
    """Every section of a session's config."""

    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    orders: OrdersConfig = OrdersConfig()
    fills: FillsConfig = FillsConfig()
    estimators: EstimatorsConfig = EstimatorsConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    live: LiveConfig = LiveConfig()


_SECTIONS: dict[str, type] = {
    "strategy": StrategyConfig,
    "risk": RiskConfig,
    "orders": OrdersConfig,
    "fills": FillsConfig,
    "estimators": EstimatorsConfig,
    "calibration": CalibrationConfig,
    "live": LiveConfig,
}

_converter = cattrs.Converter()
# Pass-through sections unstructure to their TOML shape ([fills] key = value).
_converter.register_unstructure_hook(FillsConfig, lambda c: dict(c.options))
_converter.register_unstructure_hook(
    EstimatorsConfig, lambda c: {k: dict(v) for k, v in c.options.items()}
)


def unstructure(cfg: Any) -> dict[str, Any]:
    """A config as a JSON-serialisable dict in its TOML shape (what a manifest records)."""
    return _converter.unstructure(cfg)


# -- loading ------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_MAX_FLOAT_INT = int(sys.float_info.max)


def _float_like(value: Any) -> bool:
    """A number a float can hold (TOML integers are unbounded here)."""
    return _is_number(value) and not (isinstance(value, int) and abs(value) > _MAX_FLOAT_INT)


def _type_check(typ: Any) -> tuple[str, Any] | None:
    """``(description, predicate)`` for a field type, or None when any value may do."""
    origin = typing.get_origin(typ)
    if typ is float:
        return "a number (float)", _float_like
    if typ is int:
        return "a whole number (int)", lambda v: isinstance(v, int) and not isinstance(v, bool)
    if typ is bool:
        return "true or false (bool)", lambda v: isinstance(v, bool)
    if typ is str:
        return "a quoted string (str)", lambda v: isinstance(v, str)
    if origin is dict or typ is dict:
        return "a table (dict)", lambda v: isinstance(v, dict)
    if origin in (tuple, list) or typ in (tuple, list):
        args = [a for a in typing.get_args(typ) if a is not Ellipsis]
        if args and all(a is float for a in args):
            return (
                "a list of numbers (list of float)",
                lambda v: isinstance(v, list | tuple) and all(_float_like(x) for x in v),
            )
        return "a list", lambda v: isinstance(v, list | tuple)
    return None  # unions, Any, classes: left to the component's own checks


def _unoptional(typ: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(typ, False)``."""
    args = typing.get_args(typ)
    if type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None)), True
    return typ, False


def type_description(typ: Any) -> str:
    """How a value of ``typ`` is written, for messages and generate-config."""
    inner, optional = _unoptional(typ)
    check = _type_check(inner)
    desc = check[0] if check else "a value"
    return f"{desc}, or unset" if optional else desc


def _example(key: str, typ: Any, default: Any) -> str:
    """``key = <a value of the right type>``, from the default where it shows the type."""
    shown = default not in (attrs.NOTHING, inspect.Parameter.empty, None)
    if shown and not isinstance(default, attrs.Factory) and default != ():
        return f"{key} = {_toml(default)}"
    samples = {float: 1.5, int: 3, bool: True, str: "name"}
    if typ in samples:
        return f"{key} = {_toml(samples[typ])}"
    return f"{key} = [1.0, 2.0]"


def _check_type(name: str, value: Any, typ: Any, where: str, default: Any = attrs.NOTHING) -> Any:
    """Return ``value`` if it fits ``typ`` (ints widen to float), else raise.

    ``name`` is how the message names the field (``strategy.gamma_per_bps`` or
    ``[fills] maker_bps``); the fix shows an example line for the file.
    """
    typ, optional = _unoptional(typ)
    if optional and value is None:  # ``X | None``: None means "not set"
        return None
    check = _type_check(typ)
    if check is None:
        return value
    desc, ok = check
    if not ok(value):
        key = name.rsplit(" ", 1)[-1].rsplit(".", 1)[-1]
        raise ConfigError(
            f"{where}{name} = {value!r}: expected {desc}, got {type(value).__name__}; "
            f"fix: write it as {desc}, e.g. {_example(key, typ, default)}"
        )
    return float(value) if typ is float else value


def _unknown_key(where: str, section: str, key: str, known: list[str]) -> str:
    """The problem of a key ``section`` does not have: the closest known key, or all."""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
    return f"{where}{section}.{key}: unknown key; {hint}"


def _unknown_option(where: str, table: str, key: str, known: list[str]) -> str:
    """As :func:`_unknown_key` for a pass-through table (``[fills]``, ``[estimators.x]``):
    names the table and key as written in the file and lists every known key."""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"{where}{table} {key}: unknown key; {hint}known keys: {', '.join(known)}; "
        f"fix: use one of them or remove {key!r} from {table}"
    )


def _section_problems(cls: type, values: Any, where: str) -> tuple[Any, list[str]]:
    """``(section or None, problems)``: every bad or unknown key of ``values``.

    Each key is type-checked and then validated alone (the section built with that key
    and defaults elsewhere), so one bad key never hides another; the section is built
    from all the keys only when each passed on its own.
    """
    if not isinstance(values, dict):
        return None, [f"{where}[{cls.SECTION}] must be a table of key = value pairs"]
    if cls is FillsConfig:
        problems = _fills_problems(values, where)
        return (None if problems else cls(options=dict(values))), problems
    if cls is EstimatorsConfig:
        problems = _estimators_problems(values, where)
        return (None if problems else cls(options={k: dict(v) for k, v in values.items()})), (
            problems
        )
    fields = {f.name: f for f in attrs.fields(cls)}
    hints = typing.get_type_hints(cls)
    checked: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in values.items():
        if key not in fields:
            problems.append(_unknown_key(where, cls.SECTION, key, list(fields)))
            continue
        try:
            typed = _check_type(
                f"{cls.SECTION}.{key}", value, hints[key], where, fields[key].default
            )
            cls(**{key: typed})
        except ConfigError as exc:
            problems.append(str(exc) if str(exc).startswith(where) else f"{where}{exc}")
            continue
        checked[key] = typed
    if problems:
        return None, problems
    try:
        section = cls(**checked)
    except ConfigError as exc:  # a rule between keys
        return None, [f"{where}{p}" for p in exc.problems]
    broken = [f"{where}{p}" for p in _between_keys(section)]
    return (None, broken) if broken else (section, [])


#: Gated estimators the Marginal verdict counts (verdict.sql: "of 5 converged").
N_GATED_ESTIMATORS = 5


def _between_keys(section: Any) -> list[str]:
    """The rules between keys of one section (after each key passed alone): a line per
    broken rule, naming both keys and the fix."""
    out: list[str] = []
    if isinstance(section, StrategyConfig):
        lo, hi = section.min_notional_usd, section.max_order_notional_usd
        if lo > hi:
            out.append(
                f"strategy.min_notional_usd = {lo:g} is above strategy.max_order_notional_usd"
                f" = {hi:g}: every order would go out at {lo:g} USD; fix: lower "
                "min_notional_usd or raise max_order_notional_usd"
            )
    elif isinstance(section, RiskConfig):
        if section.leverage > section.max_leverage:
            out.append(
                f"risk.leverage = {section.leverage:g} is above risk.max_leverage = "
                f"{section.max_leverage:g} (the asset's maximum on the venue); fix: lower "
                "leverage or set max_leverage to the venue's value"
            )
    elif isinstance(section, LiveConfig):
        if section.dead_man_refresh_s >= section.dead_man_s:
            out.append(
                f"live.dead_man_refresh_s = {section.dead_man_refresh_s:g} is not below "
                f"live.dead_man_s = {section.dead_man_s:g}: the venue would cancel every "
                "order before the next refresh; fix: refresh at most every "
                f"{section.dead_man_s / 3:.3g} s (a third of dead_man_s)"
            )
    elif isinstance(section, CalibrationConfig):
        n = section.marginal_min_converged
        if n > N_GATED_ESTIMATORS:
            out.append(
                f"calibration.marginal_min_converged = {n} is more than the "
                f"{N_GATED_ESTIMATORS} estimators the verdict counts: no session could be "
                f"Marginal; fix: set 0..{N_GATED_ESTIMATORS}"
            )
    return out


def section_from_kwargs(cls: type, values: dict[str, Any], where: str = "") -> Any:
    """Build section ``cls`` from a dict, naming the field of any bad or unknown key."""
    section, problems = _section_problems(cls, values, where)
    if problems:
        raise ConfigError.of(problems)
    return section


def _fills_problems(values: dict[str, Any], where: str) -> list[str]:
    """Check ``[fills]`` against :class:`framework.fills.config.FillSimConfig`: every key
    one of its attrs fields, every value of the field's type, then the class's own checks."""
    try:
        from framework.fills.config import FillSimConfig
    except ImportError:  # the simulator is optional in a live-only install
        return []
    fields = {f.name: f for f in attrs.fields(FillSimConfig)}
    hints = typing.get_type_hints(FillSimConfig)
    problems: list[str] = []
    typed: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            problems.append(_unknown_option(where, "[fills]", key, sorted(fields)))
            continue
        try:
            _check_type(f"[fills] {key}", value, hints.get(key), where, fields[key].default)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        typed[key] = value
    # Each well-typed key alone (defaults elsewhere), so one bad value never hides
    # another.  A key that fails alone but not beside the keys that passed alone needed
    # them (latency = "empirical" needs its samples): not a problem of its own.  Then all
    # of them together (the class's rules between keys).
    alone: dict[str, str] = {}
    for key, value in typed.items():
        try:
            FillSimConfig(**{key: value})
        except (TypeError, ValueError, ArithmeticError) as exc:  # 1e308 ms overflows as ns
            alone[key] = str(exc)
    passed = {k: v for k, v in typed.items() if k not in alone}
    for key, why in alone.items():
        try:
            FillSimConfig(**{**passed, key: typed[key]})
        except (TypeError, ValueError, ArithmeticError):
            problems.append(f"{where}[fills]: {why}; fix that key in [fills]")
    if problems:
        return problems
    try:
        FillSimConfig(**values)
    except (TypeError, ValueError, ArithmeticError) as exc:
        return [f"{where}[fills]: {exc}; fix those keys in [fills]"]
    return []


def _estimator_class(path: str) -> type | None:
    """The class at ``module:Class``, or None when the module is not installed."""
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def estimator_params(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters of an estimator's ``__init__`` (its config keys)."""
    return {
        p.name: p
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def estimator_hints(cls: type) -> dict[str, Any]:
    """Each ``__init__`` parameter's type: its annotation, else its default's type."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: fall back to the defaults' types
        hints = {}
    out: dict[str, Any] = {}
    for name, p in estimator_params(cls).items():
        typ = hints.get(name)
        if typ is None and p.default is not p.empty and p.default is not None:
            typ = type(p.default)
        out[name] = typ
    return out


def _estimators_problems(values: dict[str, Any], where: str) -> list[str]:
    """Check each ``[estimators.<name>]`` table: a known estimator, keys its ``__init__``
    takes, values of their types, and what the estimator itself accepts."""
    paths = dict(ESTIMATOR_PATHS)
    problems: list[str] = []
    for name, opts in values.items():
        table = f"[estimators.{name}]"
        if name not in paths:
            close = difflib.get_close_matches(name, list(paths), n=1)
            hint = f"did you mean [estimators.{close[0]}]? " if close else ""
            problems.append(
                f"{where}{table}: unknown estimator; {hint}valid names: "
                f"{', '.join(paths)}; fix: rename the table to one of them"
            )
            continue
        if not isinstance(opts, dict):
            problems.append(
                f"{where}estimators.{name} = {opts!r}: expected a table {table} of that "
                f"estimator's settings; fix: write {table} on its own line, then key = value"
            )
            continue
        cls = _estimator_class(paths[name])
        if cls is None:
            continue
        own = _init_kwargs_problems(cls, opts, table, where)
        if not own:
            try:
                cls(**opts)
            except (TypeError, ValueError, ArithmeticError) as exc:
                own = [f"{where}{table}: {exc}; fix that key in {table}"]
        problems += own
    return problems


def _init_kwargs_problems(cls: type, opts: dict[str, Any], table: str, where: str) -> list[str]:
    """Keys and value types of ``opts`` against ``cls.__init__``'s keyword parameters."""
    params = estimator_params(cls)
    takes_any = any(
        p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()
    )
    hints = estimator_hints(cls)
    problems: list[str] = []
    for key, value in opts.items():
        p = params.get(key)
        if p is None:
            if not takes_any:
                problems.append(_unknown_option(where, table, key, list(params)))
            continue
        try:
            _check_type(f"{table} {key}", value, hints.get(key), where, p.default)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def _parse(data: Any, source: str = "") -> tuple[SessionConfig | None, list[str]]:
    """``(config or None, every problem)`` of parsed TOML (or any nested dict)."""
    where = f"{source}: " if source else ""
    if not isinstance(data, dict):
        return None, [f"{where}expected a table of [section] tables"]
    problems: list[str] = []
    for key in data:
        if key not in _SECTIONS:
            close = difflib.get_close_matches(key, list(_SECTIONS), n=1)
            hint = f"did you mean [{close[0]}]?" if close else f"sections: {', '.join(_SECTIONS)}"
            problems.append(f"{where}[{key}]: unknown section; {hint}")
    parts: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        parts[name], found = _section_problems(cls, data.get(name, {}), where)
        problems += found
    if problems:
        return None, problems
    return SessionConfig(**parts), []


def config_problems(data: Any, source: str = "") -> list[str]:
    """Every problem of a config given as parsed TOML, one line each (empty: valid)."""
    return _parse(data, source)[1]


def config_from_dict(data: dict[str, Any], source: str = "") -> SessionConfig:
    """A :class:`SessionConfig` from parsed TOML (or any nested dict).

    Raises
    ------
    ConfigError
        Naming the section and field, the bad value and the fix; ``problems`` holds
        every problem found, not only the first.
    """
    cfg, problems = _parse(data, source)
    if problems:
        raise ConfigError.of(problems)
    assert cfg is not None
    return cfg


def parse_config_text(text: str, source: str) -> dict[str, Any]:
    """TOML text as a dict; :class:`ConfigError` naming ``source`` and the line if not TOML."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(
            f"{source}: not valid TOML (nested too deeply); fix the syntax there"
        ) from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise ConfigError(f"{source}: not valid TOML ({exc}); fix the syntax there") from None


def decode_config_bytes(raw: bytes, source: str) -> str:
    """The UTF-8 text of a config file, or a :class:`ConfigError` naming the byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{source}: not UTF-8 text (byte {exc.start}, line {line}); save the file as UTF-8"
        ) from None


def read_config_file(path: Path | str) -> dict[str, Any]:
    """A TOML config file as a dict (no value checked yet).

    Raises
    ------
    ConfigError
        When the file is missing, is not UTF-8 or not TOML (with its line).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file; fix: pass an existing .toml file")
    return parse_config_text(decode_config_bytes(path.read_bytes(), str(path)), str(path))


def load_config(path: Path | str | None) -> SessionConfig:
    """Read a TOML config file (``None`` = all defaults).

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML (with its line), or holds a bad value.
    """
    if path is None:
        return SessionConfig()
    return config_from_dict(read_config_file(path), str(path))


# -- environment variables and flags ------------------------------------------------------
#: Environment variables that set config keys: ``MM_<SECTION>_<KEY>``, e.g.
#: ``MM_RISK_MAX_DRAWDOWN=0.03``, ``MM_LIVE_NETWORK=testnet``, ``MM_FILLS_QUEUE=prob`` or
#: ``MM_ESTIMATORS_KAPPA_WINDOW_S=600``.  A value is read as the key's type: numbers as
#: written, booleans as true/false/1/0/yes/no/on/off, strings as they are (an address
#: stays a string), an empty value of an optional key means unset, lists as ``[1, 2]``
#: or ``1,2``.
ENV_PREFIX = "MM_"
#: ``MM_*`` variables that are not config keys but the process's own, read where they
#: act: the kernel build to run (``MM_KERNEL=python``: the interpreted source,
#: :mod:`framework.kernel`) and a build without compiling it (``MM_NO_COMPILE``,
#: ``setup.py``).  Config loading leaves them alone.
PROCESS_ENV = frozenset({"MM_KERNEL", "MM_NO_COMPILE"})


@attrs.frozen
class Setting:
    """One value given outside the config file: an environment variable or a flag.

    ``origin`` names where it came from in messages (``environment variable
    MM_RISK_MAX_DRAWDOWN=0.5``, ``--max-drawdown 0.5``); ``path`` is ``(section, key)``
    or ``("estimators", name, key)``.
    """

    path: tuple[str, ...]
    value: Any
    origin: str

    def as_data(self) -> dict[str, Any]:
        """The setting as a nested dict in the file's shape."""
        out: Any = self.value
        for part in reversed(self.path):
            out = {part: out}
        return out


def _key_types(section: str, estimator: str | None = None) -> dict[str, Any]:
    """``{key: type}`` of a section (``[fills]``: FillSimConfig's; an estimator: its
    ``__init__``'s)."""
    if section == "fills":
        from framework.fills.config import FillSimConfig

        return dict(typing.get_type_hints(FillSimConfig))
    if section == "estimators":
        cls = _estimator_class(dict(ESTIMATOR_PATHS)[estimator or ""])
        return estimator_hints(cls) if cls is not None else {}
    cls = _SECTIONS[section]
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in attrs.fields(cls)}


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def parse_env_value(text: str, typ: Any) -> Any:
    """An environment variable's text as a value of ``typ``.

    Raises
    ------
    ValueError
        Saying what was expected (the caller names the variable).
    """
    inner, optional = _unoptional(typ)
    stripped = text.strip()
    if optional and stripped.lower() in ("", "none", "null"):
        return None
    if inner is str:
        if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
            return tomllib.loads(f"v = {stripped}")["v"]  # a TOML string, quotes removed
        return text
    if not stripped:
        raise ValueError("is empty; give a value or unset the variable")
    if inner is bool:
        low = stripped.lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ValueError("expected true or false (also 1/0, yes/no, on/off)")
    if inner is int:
        try:
            return int(stripped, 10)
        except ValueError:
            raise ValueError("expected a whole number, e.g. 3") from None
    if inner is float:
        try:
            return float(stripped)
        except ValueError:
            raise ValueError("expected a number, e.g. 0.05") from None
    origin = typing.get_origin(inner)
    if origin in (tuple, list) or inner in (tuple, list):
        body = stripped if stripped.startswith("[") else f"[{stripped}]"
        try:
            return tomllib.loads(f"v = {body}")["v"]
        except ValueError:
            raise ValueError("expected a list, e.g. 90,110 or [90, 110]") from None
    try:  # anything else: a TOML value, else the text
        return tomllib.loads(f"v = {stripped}")["v"]
    except ValueError:
        return text


def _env_path(rest: str) -> tuple[str, ...] | None:
    """``("risk", "max_drawdown")`` for ``risk_max_drawdown`` (lowercased name without
    the prefix), ``("estimators", "kappa", "window_s")`` for an estimator, or None."""
    for section in sorted(_SECTIONS, key=len, reverse=True):
        if not rest.startswith(section + "_"):
            continue
        tail = rest[len(section) + 1 :]
        if section != "estimators":
            return (section, tail) if tail else None
        for name, _ in sorted(ESTIMATOR_PATHS, key=lambda p: len(p[0]), reverse=True):
            if tail.startswith(name + "_") and len(tail) > len(name) + 1:
                return ("estimators", name, tail[len(name) + 1 :])
        return None
    return None


def env_settings(environ: Mapping[str, str]) -> tuple[list[Setting], list[str]]:
    """The ``MM_*`` variables of ``environ`` as settings, and one problem per variable
    that names no config key or holds a value its key cannot take.

    A problem names the variable; the value is shown only once it is known to belong
    to a config key (a secret put in a wrongly named variable is never echoed).
    """
    settings: list[Setting] = []
    problems: list[str] = []
    sections = ", ".join(_SECTIONS)
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in PROCESS_ENV:
            continue
        text = environ[name]
        path = _env_path(name[len(ENV_PREFIX) :].lower())
        if path is None:
            problems.append(
                f"environment variable {name}: names no config key; use "
                f"{ENV_PREFIX}<SECTION>_<KEY> with a section of {sections} "
                f"(e.g. {ENV_PREFIX}RISK_MAX_DRAWDOWN), or unset it"
            )
            continue
        types = _key_types(path[0], path[1] if len(path) == 3 else None)
        key = path[-1]
        if key not in types:
            close = difflib.get_close_matches(key, list(types), n=1)
            table = ".".join(path[:-1])
            hint = (
                f"did you mean {ENV_PREFIX}{'_'.join([*path[:-1], close[0]]).upper()}?"
                if close
                else f"keys of [{table}]: {', '.join(types)}"
            )
            if any(w in key for w in ("private", "secret", "password", "mnemonic")):
                hint = (
                    "secrets are never config: the private key goes in HL_PRIVATE_KEY, or in "
                    "an encrypted keystore file (live.keystore) with its password in "
                    "HL_KEYSTORE_PASSWORD"
                )
            problems.append(f"environment variable {name}: [{table}] has no key {key!r}; {hint}")
            continue
        try:
            value = parse_env_value(text, types[key])
        except ValueError as exc:
            problems.append(f"environment variable {name}={text!r}: {exc}")
            continue
        settings.append(Setting(path, value, f"environment variable {name}={text}"))
    return settings, problems


#: How the command line spells the flags that set config keys, for messages (a key not
#: listed is shown as ``--key-with-dashes``).  ``flag_names`` of :func:`resolve_config`
#: adds to it.
FLAG_NAMES: dict[str, str] = {
    "strategy.spread_profile": "--spread-profile",
    "fills.queue": "--queue-model",
    "risk.max_position": "--max-position",
    "risk.max_position_usd": "--max-position-usd",
    "risk.max_drawdown": "--max-drawdown",
    "risk.max_daily_loss_usd": "--max-daily-loss",
    "risk.leverage": "--leverage",
    "live.network": "--network",
    "live.base_url": "--base-url",
    "live.account_address": "--address",
    "live.calibration_duration_s": "--calibration-duration",
    "live.flatten_on_kill": "--flatten-on-kill",
}


def flag_settings(
    flags: Mapping[str, Mapping[str, Any]] | None, flag_names: Mapping[str, str] | None = None
) -> list[Setting]:
    """Settings from ``{section: {key: value}}`` of the flags given (None = not given).

    ``flag_names`` maps ``"section.key"`` to the flag's spelling (``"risk.max_daily_loss_usd"
    -> "--max-daily-loss"``), over :data:`FLAG_NAMES`; else ``--key-with-dashes``.
    """
    names = FLAG_NAMES | dict(flag_names or {})
    out: list[Setting] = []
    for section, values in (flags or {}).items():
        for key, value in values.items():
            if value is None:
                continue
            flag = names.get(f"{section}.{key}", "--" + key.replace("_", "-"))
            out.append(Setting((section, key), value, f"{flag} {value}"))
    return out


def _merge(data: dict[str, Any], setting: Setting) -> None:
    node = data
    for part in setting.path[:-1]:
        node = node.setdefault(part, {})
    node[setting.path[-1]] = setting.value


def check_config(
    path: Path | str | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    flag_names: Mapping[str, str] | None = None,
    data: dict[str, Any] | None = None,
    source: str | None = None,
) -> tuple[SessionConfig | None, list[str]]:
    """The session config by precedence (flags > environment > config file > defaults)
    and every problem found on the way: the file's (``path``, or parsed ``data`` named
    ``source``), each ``MM_*`` variable's (naming it), each flag's (naming it), then the
    merged config's.  The config is None when there is any problem.
    """
    import os

    problems: list[str] = []
    base: dict[str, Any] = {}
    file_ok = True
    if data is None and path is not None:
        try:
            data = read_config_file(path)
        except ConfigError as exc:
            problems.append(str(exc))
            file_ok = False
    if data is not None:
        found = config_problems(data, source or str(path or ""))
        problems += found
        file_ok = file_ok and not found
        if file_ok:
            base = data
    env, env_problems = env_settings(os.environ if environ is None else environ)
    problems += env_problems
    settings = [*env, *flag_settings(flags, flag_names)]
    for s in settings:
        if s.path[0] not in _SECTIONS:
            problems.append(f"{s.origin}: no config section {s.path[0]!r}")
            continue
        problems += config_problems(s.as_data(), s.origin)
    if problems:
        return None, problems
    merged = json.loads(json.dumps(unstructure(config_from_dict(base))))  # a deep copy
    for s in settings:  # environment first, flags last: the later wins
        _merge(merged, s)
    cfg, found = _parse(merged, "the config resolved from file, environment and flags")
    return cfg, found


def resolve_config(
    path: Path | str | None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    flag_names: Mapping[str, str] | None = None,
) -> SessionConfig:
    """The session config by precedence: flags > environment > config file > defaults.

    ``flags`` is ``{section: {key: value}}`` of the command line's options (None values
    = not given); ``environ`` defaults to ``os.environ`` (its ``MM_<SECTION>_<KEY>``
    variables, see :data:`ENV_PREFIX`); ``flag_names`` spells the flags in messages.

    Raises
    ------
    ConfigError
        Naming the field, the value and where it came from (file, variable, flag);
        ``problems`` lists every problem, not only the first.
    """
    cfg, problems = check_config(path, flags, environ, flag_names=flag_names)
    if problems:
        raise ConfigError.of(problems)
    assert cfg is not None
    return cfg
