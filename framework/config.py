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

Components receive their section as keyword arguments (``MarketMaker(**unstructure(cfg
.strategy))``), so the dict recorded in a journal manifest rebuilds the same config.
"""

from __future__ import annotations

import difflib
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import attrs
import cattrs

__all__ = [
    "PROFILES",
    "ConfigError",
    "EstimatorsConfig",
    "FillsConfig",
    "OrdersConfig",
    "RiskConfig",
    "SessionConfig",
    "StrategyConfig",
    "config_from_dict",
    "load_config",
    "section_from_kwargs",
    "unstructure",
]

#: Spread profiles: (min, max) total quoted spread in bps.  One place for these numbers.
PROFILES: dict[str, tuple[float, float]] = {
    "default": (40.0, 50.0),
    "hip3": (15.0, 25.0),
    "aggressive": (10.0, 20.0),
}


class ConfigError(ValueError):
    """A config value is missing, unknown or out of range; the message names the field."""


# -- validators ---------------------------------------------------------------------------
def _field_name(inst: Any, attribute: attrs.Attribute) -> str:
    return f"{type(inst).SECTION}.{attribute.name}"


def _positive(inst: Any, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(
            f"{_field_name(inst, attribute)} = {value!r}: must be a finite number > 0; "
            f"fix: set a positive value (default {attribute.default!r})"
        )


def _non_negative(inst: Any, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ConfigError(
            f"{_field_name(inst, attribute)} = {value!r}: must be a finite number >= 0; "
            f"fix: set a value >= 0 (default {attribute.default!r})"
        )


def _fraction(inst: Any, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise ConfigError(
            f"{_field_name(inst, attribute)} = {value!r}: must be a fraction in (0, 1), "
            f"e.g. 0.05 for 5 %; fix: set it between 0 and 1 (default {attribute.default!r})"
        )


def _at_least_one(inst: Any, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 1):
        raise ConfigError(
            f"{_field_name(inst, attribute)} = {value!r}: must be >= 1 (a multiplier that "
            f"widens); fix: set a value >= 1 (default {attribute.default!r})"
        )


def _one_of(*choices: Any) -> Any:
    def check(inst: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            raise ConfigError(
                f"{_field_name(inst, attribute)} = {value!r}: must be one of "
                f"{', '.join(repr(c) for c in choices)}; fix: pick one of them"
            )

    return check


# -- sections -----------------------------------------------------------------------------
@attrs.frozen
class StrategyConfig:
    """The reference GLFT market maker (units: bps of price, seconds, lots; see mm_math §0)."""

    SECTION: typing.ClassVar[str] = "strategy"

    coin: str = "HYPE"
    sz_decimals: int = attrs.field(default=2, validator=_non_negative)
    spread_profile: str = attrs.field(default="default", validator=_one_of(*PROFILES))
    model: str = attrs.field(default="B", validator=_one_of("A", "B"))
    gamma_per_bps: float = attrs.field(default=0.01, validator=_positive)
    skew_scale: float = attrs.field(default=1.0, validator=_non_negative)
    fair_price: str = attrs.field(default="mid", validator=_one_of("mid", "microprice"))
    funding_carry: bool = True
    # cold-start values used until the estimators converge
    sigma_bps_default: float = attrs.field(default=2.0, validator=_positive)
    k_per_bps_default: float = attrs.field(default=0.2, validator=_positive)
    A_per_s_default: float = attrs.field(default=1.0, validator=_positive)
    # sizing
    base_notional_usd: float = attrs.field(default=100.0, validator=_positive)
    min_notional_usd: float = attrs.field(default=10.0, validator=_positive)
    max_order_notional_usd: float = attrs.field(default=2000.0, validator=_positive)
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

    max_position: float = attrs.field(default=200.0, validator=_positive)
    max_position_usd: float = attrs.field(default=5000.0, validator=_positive)
    max_drawdown: float = attrs.field(default=0.05, validator=_fraction)
    max_daily_loss_usd: float = attrs.field(default=500.0, validator=_positive)
    stale_s: float = attrs.field(default=15.0, validator=_positive)
    check_interval_s: float = attrs.field(default=1.0, validator=_positive)
    widen_headroom: float = attrs.field(default=0.5, validator=_fraction)
    forcing_headroom: float = attrs.field(default=0.10, validator=_fraction)
    min_headroom: float = attrs.field(default=0.01, validator=_fraction)
    readiness: str = attrs.field(default="ready", validator=_one_of("ready", "marginal"))
    marginal_spread_mult: float = attrs.field(default=1.5, validator=_at_least_one)
    marginal_size_mult: float = attrs.field(default=0.5, validator=_fraction)


@attrs.frozen
class OrdersConfig:
    """The order tracker: account starting point and mark-to-market cadence."""

    SECTION: typing.ClassVar[str] = "orders"

    coin: str = "HYPE"
    initial_equity_usd: float = attrs.field(default=10_000.0, validator=_positive)
    mark_interval_s: float = attrs.field(default=5.0, validator=_positive)


@attrs.frozen
class FillsConfig:
    """Paper fill simulator settings, passed through to its component as keyword arguments.

    The keys are :class:`framework.fills.config.FillSimConfig`'s (``queue``,
    ``place_ms``, ``maker_bps``, ``budget_used``, ...); they are validated by building
    that class, and a bad one is reported as ``fills.<key>``.
    """

    SECTION: typing.ClassVar[str] = "fills"

    options: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class EstimatorsConfig:
    """Per-estimator keyword arguments, keyed by component name (``[estimators.kappa]``)."""

    SECTION: typing.ClassVar[str] = "estimators"

    options: dict[str, dict[str, Any]] = attrs.Factory(dict)


@attrs.frozen
class SessionConfig:
    """Every section of a session's config."""

    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    orders: OrdersConfig = OrdersConfig()
    fills: FillsConfig = FillsConfig()
    estimators: EstimatorsConfig = EstimatorsConfig()


_SECTIONS: dict[str, type] = {
    "strategy": StrategyConfig,
    "risk": RiskConfig,
    "orders": OrdersConfig,
    "fills": FillsConfig,
    "estimators": EstimatorsConfig,
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
def _check_type(name: str, value: Any, typ: Any, where: str) -> Any:
    """Return ``value`` if it fits ``typ`` (ints widen to float), else raise."""
    origin = typing.get_origin(typ)
    if typ is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ is bool:
        ok = isinstance(value, bool)
    elif typ is str:
        ok = isinstance(value, str)
    elif origin is dict or typ is dict:
        ok = isinstance(value, dict)
    elif origin in (typing.Union, types.UnionType):
        ok = True
    else:
        ok = True
    if not ok:
        tname = getattr(typ, "__name__", str(typ))
        raise ConfigError(
            f"{where}{name} = {value!r}: expected {tname}, got {type(value).__name__}; "
            f"fix: write it as a {tname}"
        )
    return value


def _unknown_key(where: str, section: str, key: str, known: list[str]) -> ConfigError:
    """The error for a key ``section`` does not have: the closest known key, or all of them."""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
    return ConfigError(f"{where}{section}.{key}: unknown key; {hint}")


def section_from_kwargs(cls: type, values: dict[str, Any], where: str = "") -> Any:
    """Build section ``cls`` from a dict, naming the field of any bad or unknown key."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}[{cls.SECTION}] must be a table of key = value pairs")
    if cls is FillsConfig:
        _validate_fills(values, where)
        return cls(options=dict(values))
    if cls is EstimatorsConfig:
        for key, value in values.items():
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{where}estimators.{key} = {value!r}: expected a table "
                    f"[estimators.{key}] of that estimator's settings"
                )
        return cls(options={k: dict(v) for k, v in values.items()})
    fields = {f.name: f for f in attrs.fields(cls)}
    hints = typing.get_type_hints(cls)
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise _unknown_key(where, cls.SECTION, key, list(fields))
        checked[key] = _check_type(f"{cls.SECTION}.{key}", value, hints[key], where)
    try:
        return cls(**checked)
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None


def _validate_fills(values: dict[str, Any], where: str) -> None:
    try:
        from framework.fills.config import FillSimConfig
    except ImportError:  # the simulator is optional in a live-only install
        return
    known = sorted(f.name for f in attrs.fields(FillSimConfig))
    for key in values:
        if key not in known:
            raise _unknown_key(where, "fills", key, known)
    try:
        FillSimConfig(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}fills: {exc}; fix that key in [fills]") from None


def config_from_dict(data: dict[str, Any], source: str = "") -> SessionConfig:
    """A :class:`SessionConfig` from parsed TOML (or any nested dict).

    Raises
    ------
    ConfigError
        Naming the section and field, the bad value and the fix.
    """
    where = f"{source}: " if source else ""
    for key in data:
        if key not in _SECTIONS:
            close = difflib.get_close_matches(key, list(_SECTIONS), n=1)
            hint = f"did you mean [{close[0]}]?" if close else f"sections: {', '.join(_SECTIONS)}"
            raise ConfigError(f"{where}[{key}]: unknown section; {hint}")
    parts = {
        name: section_from_kwargs(cls, data.get(name, {}), where) for name, cls in _SECTIONS.items()
    }
    return SessionConfig(**parts)


def load_config(path: Path | str | None) -> SessionConfig:
    """Read a TOML config file (``None`` = all defaults).

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML (with its line), or holds a bad value.
    """
    if path is None:
        return SessionConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file; fix: pass an existing .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
    return config_from_dict(data, str(path))
