"""The search space of a sweep: config keys and the values each trial may give them.

A space file is TOML laid out like a config file, with a value list, a range or a
choice table where the config has one value::

    [strategy]
    gamma_per_bps = { low = 0.05, high = 1.0, log = true }     # a range
    spread_profile = ["hip3", "aggressive"]                    # values
    requote_ticks = { low = 1, high = 4, int = true }          # an integer range

    [fills]
    queue = { choices = ["conservative", "prob"] }             # choices (= values)

    [estimators.kelly]
    c = { low = 0.05, high = 0.3, step = 0.05 }                # a range on a grid

    [risk]
    max_drawdown = 0.03                                        # fixed in every trial

Dotted keys work too (``"strategy.gamma_per_bps" = [0.1, 0.2]``).  Every key is checked
against the config the way a config file is (:func:`framework.config.config_from_dict`:
unknown keys get the closest known name), every value list and range bound is checked
as a config value, and ranges are checked for shape (low < high, log needs low > 0,
step > 0 and at most high - low, int bounds are integers).  Each problem is a
:class:`SpaceError` naming the file, the key and the fix, in one line.

Grid search enumerates values, choices, stepped ranges and integer ranges; random and
Optuna search draw from ranges.  Continuous draws keep 6 significant digits (readable
configs, and the same value whatever the last bit of the CPU's ``exp``/``log``).
"""

from __future__ import annotations

import difflib
import itertools
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from framework.config import (
    ESTIMATOR_PATHS,
    ConfigError,
    SessionConfig,
    config_from_dict,
    unstructure,
)

__all__ = [
    "RECORDING_KEYS",
    "Choice",
    "Range",
    "Space",
    "SpaceError",
    "load_space",
    "parse_space",
]

#: Keys every recording sets for its own coin: a space may not set them.
RECORDING_KEYS = ("strategy.coin", "orders.coin", "strategy.sz_decimals")

#: The keys of a range table and of a choice table.
RANGE_KEYS = ("low", "high", "log", "step", "int")
CHOICE_KEYS = ("choices", "values")

#: The most values one stepped range may have.
MAX_GRID = 1_000_000

#: Significant digits a continuous draw keeps.
DRAW_DIGITS = 6


class SpaceError(ConfigError):
    """A space file or one of its entries cannot be used; the message names the key and
    the fix (a usage error: exit 2)."""


@attrs.frozen
class Choice:
    """A key that takes one of ``values`` (a value list or a ``choices`` table)."""

    key: str
    values: tuple[Any, ...]

    def grid(self) -> Sequence[Any]:
        return self.values

    def draw(self, u: float) -> Any:
        """The value a uniform ``u`` in [0, 1) picks."""
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]


@attrs.frozen
class Range:
    """A key that takes a number in ``[low, high]``: continuous, on a ``step`` grid,
    integer (``integer``), on a log scale (``log``)."""

    key: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    integer: bool = False

    @property
    def discrete(self) -> bool:
        return self.integer or self.step is not None

    def grid(self) -> Sequence[Any]:
        """Every value of a discrete range, low first (raises for a continuous one)."""
        if self.integer:
            return range(int(self.low), int(self.high) + 1, int(self.step or 1))
        if self.step is None:
            raise SpaceError(
                f"{self.key}: a continuous range has no grid; fix: add step = ... or "
                "int = true to it, or use --search random or --search optuna"
            )
        n = math.floor((self.high - self.low) / self.step + 1e-9)
        if n >= MAX_GRID:
            raise SpaceError(
                f"{self.key}: step = {self.step!r} gives {n + 1:,} values (at most "
                f"{MAX_GRID:,}); fix: choose a larger step"
            )
        return tuple(_tidy(self.low + i * self.step, 12) for i in range(n + 1))

    def draw(self, u: float) -> Any:
        """The value a uniform ``u`` in [0, 1) picks (log-uniform when ``log``)."""
        if self.discrete and not self.log:
            points = self.grid()
            return points[min(int(u * len(points)), len(points) - 1)]
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return self.clip(x)

    def clip(self, x: float) -> Any:
        """``x`` as this range's values are: an int, or 6 significant digits, in range."""
        if self.integer:
            return min(max(round(x), int(self.low)), int(self.high))
        return min(max(_tidy(x, DRAW_DIGITS), self.low), self.high)


def _tidy(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant digits (``0.15000000000000002`` -> 0.15)."""
    return float(f"{x:.{digits}g}")


Param = Choice | Range


@attrs.frozen
class Space:
    """The parameters a sweep varies (in file order) and the values it fixes."""

    params: tuple[Param, ...]
    fixed: dict[str, Any]
    source: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.params)

    def config(self, values: dict[str, Any]) -> SessionConfig:
        """The session config of a trial: defaults, the fixed values, then ``values``.

        Raises
        ------
        ConfigError
            A combination the config refuses (each value alone was checked already).
        """
        data = unstructure(SessionConfig())
        for key, value in {**self.fixed, **values}.items():
            _assign(data, key, value)
        return config_from_dict(data, "sweep trial")

    def grid(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Every combination (the first ``limit``), the last key varying fastest.

        Raises
        ------
        SpaceError
            A continuous range (it has no grid).
        """
        axes = [p.grid() for p in self.params]
        combos = itertools.islice(itertools.product(*axes), limit)
        return [dict(zip(self.keys, combo, strict=True)) for combo in combos]


def _assign(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (``section.key`` or ``estimators.<name>.key``) in a config dict."""
    parts = key.split(".")
    table = data.setdefault(parts[0], {})
    for part in parts[1:-1]:
        table = table.setdefault(part, {})
    table[parts[-1]] = value


# -- reading a space file --------------------------------------------------------------------
def load_space(path: Path | str) -> Space:
    """Read and check a space file.

    Raises
    ------
    SpaceError
        The file is missing or not TOML, or an entry is unknown or unusable.
    """
    path = Path(path)
    where = f"--space {path}"
    if not path.is_file():
        raise SpaceError(f"{where}: no such file; fix: pass a TOML space file (see README)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpaceError(f"{where}: not UTF-8 text; fix: save the file as UTF-8") from None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        raise SpaceError(f"{where}: not valid TOML ({exc}); fix the syntax there") from None
    return parse_space(data, where)


def parse_space(data: dict[str, Any], where: str = "space") -> Space:
    """A :class:`Space` from parsed TOML; ``where`` prefixes every error."""
    params: list[Param] = []
    fixed: dict[str, Any] = {}
    seen: set[str] = set()
    for key, entry in _leaves(data, where):
        if key in seen:
            raise SpaceError(f"{where}: {key}: given twice; fix: keep one entry for it")
        seen.add(key)
        if key in RECORDING_KEYS:
            raise SpaceError(
                f"{where}: {key}: each recording sets it for its own coin; fix: remove it"
            )
        param = _param(key, entry, where)
        if param is None:
            _check_value(key, entry, where, "the fixed value", fixed)
            fixed[key] = entry
        else:
            params.append(param)
    if not params:
        raise SpaceError(
            f"{where}: no parameter to vary; fix: give a key a value list, a range or "
            'choices, e.g. [strategy] spread_profile = ["hip3", "aggressive"]'
        )
    for param in params:
        _check_param(param, where, fixed)
    return Space(params=tuple(params), fixed=fixed, source=where)


def _depth(section: str) -> int:
    """How many dotted parts a key of ``section`` has (``estimators.<name>.<key>``: 3)."""
    return 3 if section == "estimators" else 2


def _leaves(data: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    """``(dotted key, entry)`` for every key of the space, in file order."""
    stack: list[tuple[list[str], Any]] = [([], data)]
    out: list[tuple[str, Any]] = []
    while stack:
        parts, node = stack.pop()
        depth = _depth(parts[0]) if parts else 0
        if parts and len(parts) >= depth:
            out.append((".".join(parts), node))
            continue
        if not isinstance(node, dict):
            raise SpaceError(_shallow(parts, where))
        items = [(k.split("."), v) for k, v in node.items()]
        for sub, value in reversed(items):
            stack.append(([*parts, *sub], value))
    return out


def _shallow(parts: list[str], where: str) -> str:
    """The error for an entry that stops above a config key (``strategy = [1, 2]``)."""
    key = ".".join(parts)
    try:
        config_from_dict({parts[0]: {}} if parts else {})
    except ConfigError as exc:  # an unknown section: the config's closest match
        raise SpaceError(f"{where}: {exc}") from None
    if parts and parts[0] == "estimators":
        names = ", ".join(n for n, _ in ESTIMATOR_PATHS)
        return (
            f"{where}: {key}: name an estimator and one of its settings, e.g. "
            f"estimators.kelly.c (estimators: {names})"
        )
    return f"{where}: {key}: name a config key under it, e.g. strategy.gamma_per_bps"


def _param(key: str, entry: Any, where: str) -> Param | None:
    """The parameter an entry describes, or None for a fixed value."""
    if isinstance(entry, list):
        return _choice(key, entry, where)
    if not isinstance(entry, dict):
        return None
    unknown = [k for k in entry if k not in (*RANGE_KEYS, *CHOICE_KEYS)]
    if unknown:
        close = difflib.get_close_matches(unknown[0], [*RANGE_KEYS, *CHOICE_KEYS], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SpaceError(
            f"{where}: {key}: unknown entry {unknown[0]!r}; {hint}fix: a range takes low, "
            "high and optionally log, step, int; a choice table takes choices"
        )
    choice = [k for k in CHOICE_KEYS if k in entry]
    if choice:
        if len(entry) != 1:
            raise SpaceError(
                f"{where}: {key}: a choice table holds only {choice[0]} = [...]; fix: "
                "drop the range keys or the choices"
            )
        values = entry[choice[0]]
        if not isinstance(values, list):
            raise SpaceError(f"{where}: {key}: {choice[0]} must be a list, e.g. [1, 2]")
        return _choice(key, values, where)
    return _range(key, entry, where)


def _choice(key: str, values: list[Any], where: str) -> Choice:
    if not values:
        raise SpaceError(f"{where}: {key}: an empty list; fix: give at least one value")
    if len({_hashable(v) for v in values}) != len(values):
        raise SpaceError(f"{where}: {key}: a value appears twice; fix: list each value once")
    return Choice(key, tuple(values))


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else (type(v), v)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _range(key: str, entry: dict[str, Any], where: str) -> Range:
    """A range table checked for shape (the config checks the bounds afterwards)."""
    name = f"{where}: {key}"
    missing = [k for k in ("low", "high") if k not in entry]
    if missing:
        raise SpaceError(
            f"{name}: a range needs low and high (missing {' and '.join(missing)}); fix: "
            f"write e.g. {key.rsplit('.', 1)[-1]} = {{ low = 0.1, high = 1.0 }}"
        )
    low, high = entry["low"], entry["high"]
    for bound, v in (("low", low), ("high", high)):
        if not _number(v):
            raise SpaceError(f"{name}: {bound} = {v!r}: must be a finite number")
    log, integer, step = entry.get("log", False), entry.get("int", False), entry.get("step")
    for flag, v in (("log", log), ("int", integer)):
        if not isinstance(v, bool):
            raise SpaceError(f"{name}: {flag} = {v!r}: must be true or false")
    if not low < high:
        raise SpaceError(f"{name}: low = {low!r} is not below high = {high!r}; fix: swap them")
    if log and low <= 0:
        raise SpaceError(f"{name}: log = true needs low > 0 (low = {low!r}); fix: raise low")
    if integer and not (_integral(low) and _integral(high)):
        raise SpaceError(f"{name}: int = true needs whole low and high; fix: e.g. low = 1")
    if step is not None:
        if not _number(step) or step <= 0 or step > high - low:
            raise SpaceError(
                f"{name}: step = {step!r}: must be a number > 0 and <= high - low "
                f"({high - low:g}); fix: choose a smaller step"
            )
        if log:
            raise SpaceError(f"{name}: log and step do not combine; fix: drop one of them")
        if integer and not _integral(step):
            raise SpaceError(f"{name}: int = true needs a whole step; fix: e.g. step = 2")
    return Range(
        key,
        int(low) if integer else float(low),
        int(high) if integer else float(high),
        log=log,
        step=(int(step) if integer else float(step)) if step is not None else None,
        integer=integer,
    )


def _integral(v: Any) -> bool:
    return _number(v) and float(v) == int(v)


# -- checking entries against the config -----------------------------------------------------
def _check_param(param: Param, where: str, fixed: dict[str, Any]) -> None:
    """Every value of ``param`` a trial may get is one the config accepts.

    Config validators bound a value by an interval, so a range's ends (its largest
    grid point for a stepped one) stand for every value between them.
    """
    if isinstance(param, Choice):
        for value in param.values:
            _check_value(param.key, value, where, f"value {value!r}", fixed)
        return
    ends: tuple[Any, Any] = (param.low, param.high)
    if param.discrete:
        try:
            points = param.grid()
        except SpaceError as exc:
            raise SpaceError(f"{where}: {exc}") from None
        ends = (points[0], points[-1])
    for bound, value in zip(("low", "high"), ends, strict=True):
        _check_value(param.key, value, where, f"{bound} = {value!r}", fixed, param)


def _check_value(
    key: str,
    value: Any,
    where: str,
    what: str,
    fixed: dict[str, Any],
    param: Range | None = None,
) -> None:
    """Raise :class:`SpaceError` unless the config accepts ``key = value`` (with the
    space's fixed values), with the config's own message and fix."""
    space = Space(params=(), fixed=fixed)
    try:
        space.config({key: value})
    except ConfigError as exc:
        message = str(exc).removeprefix("sweep trial: ")
        if any(f"unknown {what}" in message for what in ("key", "section", "estimator")):
            raise SpaceError(f"{where}: {message}") from None  # the config's closest match
        if param is not None and not param.integer and _takes_int(space, key, value):
            raise SpaceError(
                f"{where}: {key}: an integer setting; fix: add int = true to its range"
            ) from None
        raise SpaceError(f"{where}: {key}: {what} is refused by the config: {message}") from None


def _takes_int(space: Space, key: str, value: Any) -> bool:
    """Whether the config accepts ``key`` as an int where it refused the float."""
    if not isinstance(value, float) or value != int(value):
        return False
    try:
        space.config({key: int(value)})
    except ConfigError:
        return False
    return True
