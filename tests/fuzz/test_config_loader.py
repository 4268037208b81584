"""Fuzz the TOML config loader (framework/config.py load_config / config_from_dict).

A file gives a SessionConfig or a ConfigError naming what is wrong, nothing else.  A
config that loads: round-trips through the manifest's dict shape, keeps the reference
value of every key the mutation did not touch, and builds the session's engine
components (a file that validates must not fail later, at the start of a backtest).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.config import ConfigError, config_from_dict, load_config, unstructure
from framework.engine.drive import build_components
from framework.environments.backtest import component_list
from framework.journal import Manifest
from tests.fuzz.mutate import changed_paths, index, mutate_bytes, mutate_doc, touches

#: A real config (the shape of the README's and the tests' examples), and the full
#: defaults as written by the manifest.
BASES: list[dict[str, Any]] = [
    {
        "strategy": {"spread_profile": "hip3", "gamma_per_bps": 0.02, "sz_decimals": 2},
        "risk": {"max_drawdown": 0.03, "max_position": 50},
        "orders": {"initial_equity_usd": 10_000.0},
        "fills": {"queue": "prob", "latency": "empirical", "place_samples_ms": [80.0, 120.0]},
        "estimators": {"kappa": {"window_s": 600}},
    },
    unstructure(config_from_dict({})),
]
SPLICES = [b"9" * 5000, b"\xff", b"[", b"]]", b"=", b'"', b"\n[strategy]\n", b"inf", b"\\ud800"]


# -- a small TOML writer (values a config can hold; None means "key left out") -------------
def _key(k: str) -> str:
    return json.dumps(k)  # a TOML basic string: always a valid (quoted) key


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if abs(v) < 10**4000 else "0"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return (
            "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + "}"
        )
    raise TypeError(v)


def to_toml(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> str:
    plain = {k: v for k, v in doc.items() if v is not None and not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    out = []
    if prefix and (plain or not tables):
        out.append("[" + ".".join(map(_key, prefix)) + "]")
    out += [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for k, v in tables.items():
        out.append(to_toml(v, (*prefix, k)))
    return "\n".join(out) + "\n"


def _drop_none(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _drop_none(v) for k, v in doc.items() if v is not None}
    if isinstance(doc, list):
        return [_drop_none(v) for v in doc if v is not None]
    return doc


# -- the property ----------------------------------------------------------------------------
def _leaves(cfg_dict: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """(section, key) -> value for the attrs sections; whole tables for the pass-throughs."""
    out: dict[tuple[str, ...], Any] = {}
    for section, values in cfg_dict.items():
        if section in ("fills", "estimators"):
            out[(section,)] = values
        else:
            out.update({(section, k): v for k, v in values.items()})
    return out


def check(data: st.DataObject, tmp: Path) -> None:
    base = data.draw(st.sampled_from(BASES), label="base")
    path = tmp / "mm.toml"
    how = data.draw(st.sampled_from(["doc", "doc", "bytes", "splice"]), label="how")
    doc = None
    if how == "doc":
        doc = _drop_none(mutate_doc(data, base, focus=[p for p in _leaves(base) if len(p) == 2]))
        if not isinstance(doc, dict):
            doc = {"x": doc}
        path.write_text(to_toml(doc))
    else:
        text = to_toml(base).encode()
        if how == "bytes":
            text = mutate_bytes(data, text)
        else:
            i = index(data, len(text))
            text = text[:i] + data.draw(st.sampled_from(SPLICES)) + text[i:]
        path.write_bytes(text)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(f"{path}"), exc  # names the file
        return
    as_dict = unstructure(cfg)
    assert config_from_dict(as_dict) == cfg  # what a manifest records rebuilds it
    build_components(Manifest(mode="backtest", asset="", components=component_list(cfg)))
    if doc is not None:
        ref = _leaves(unstructure(config_from_dict(base)))
        got = _leaves(as_dict)
        changed = changed_paths(base, doc)
        for key, value in ref.items():
            if not touches(changed, [key]):
                assert got[key] == value, key


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=st.data())
def test_config_loader(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    check(data, tmp_path_factory.mktemp("c"))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(max_examples=5_000, deadline=None)
@given(data=st.data())
def test_config_loader_long(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    check(data, tmp_path_factory.mktemp("c"))


# -- what the fuzzer found: each raised something other than ConfigError before its fix ----
@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"\xff[strategy]\n", "not UTF-8 text (byte 0, line 1)"),  # UnicodeDecodeError
        (b"[risk]\nmax_position = " + b"9" * 5000 + b"\n", "not valid TOML"),  # ValueError
        (b"[risk]\nmax_position = " + b"[" * 5000, "not valid TOML"),  # RecursionError
        # OverflowError: float() of a 401-digit integer, in a field and in a list
        (b"[strategy]\ngamma_per_bps = 1" + b"0" * 400, "expected a number (float)"),
        (b"[strategy]\nsz_decimals = 1" + b"0" * 400, "strategy.sz_decimals"),
        (b"[fills]\nplace_samples_ms = [1" + b"0" * 400 + b"]", "expected a list of numbers"),
        # OverflowError in the fill simulator: 1e308 ms is infinite as ns
        (b'[fills]\nlatency = "empirical"\nplace_samples_ms = [1e308]', "[fills]: "),
        # read, not fuzzed: loaded, then failed at the first quote (the grid allows 0..6)
        (b"[strategy]\nsz_decimals = 9", "an integer in 0..6"),
    ],
)
def test_config_loader_findings(tmp_path: Path, text: bytes, error: str) -> None:
    path = tmp_path / "mm.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=re.escape(error)):
        load_config(path)
