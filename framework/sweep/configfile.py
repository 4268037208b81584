"""A session config written as the TOML file ``market-maker backtest --config`` reads.

Every key of every section is written (the full config, not only what the trial
changed), except those that are unset (``None``: the spread profile decides) and those
each recording sets for its own coin (``coin``, ``sz_decimals``), so one file reruns a
trial over any of its recordings.  The text is checked by reading it back.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import Any

from framework.config import SessionConfig, config_from_dict, unstructure

__all__ = ["config_toml"]

#: (section, key) the recording sets: left out of a trial's config file.
_FROM_RECORDING = {("strategy", "coin"), ("orders", "coin"), ("strategy", "sz_decimals")}

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)  # the shortest text that reads back as the same float
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def _table(name: str, values: dict[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in values.items() if v is not None]
    return lines


def config_toml(cfg: SessionConfig, header: str = "") -> str:
    """``cfg`` as TOML text that :func:`framework.config.load_config` reads back as
    ``cfg`` (up to the recording's coin and szDecimals).  ``header`` lines become
    comments at the top.

    Raises
    ------
    ValueError
        The text does not read back as ``cfg`` (a bug here, never silently a different
        config).
    """
    data = unstructure(cfg)
    lines = [f"# {line}" for line in header.splitlines()]
    for section, values in data.items():
        if section == "estimators":
            for name, opts in values.items():
                lines += ["", *_table(f"estimators.{_key(name)}", opts)]
            continue
        kept = {k: v for k, v in values.items() if (section, k) not in _FROM_RECORDING}
        lines += ["", *_table(section, kept)]
    text = "\n".join(lines).lstrip("\n") + "\n"
    back = unstructure(config_from_dict(tomllib.loads(text)))
    for section, key in _FROM_RECORDING:
        back[section][key] = data[section][key]
    if back != data:
        raise ValueError(f"config TOML does not read back as the config:\n{text}")
    return text
