"""Synthetic Hyperliquid market data, calibrated and labelled as synthetic.

``market-maker synth`` writes a journal (book, trades, bbo, asset_ctx) whose manifest
records every input (``generator.params``) and the hidden truth (``generator.truth``:
regime path, volatilities, depth decay, trade rates) so estimators can be scored.
"""

from framework.synth.generator import SynthResult, generate, truth, write_synthetic
from framework.synth.params import (
    DEFAULT_START_NS,
    KNOWN_ASSETS,
    AssetSpec,
    RegimeSpec,
    SynthParamError,
    SynthParams,
    params_for,
    parse_start,
)

__all__ = [
    "DEFAULT_START_NS",
    "KNOWN_ASSETS",
    "AssetSpec",
    "RegimeSpec",
    "SynthParamError",
    "SynthParams",
    "SynthResult",
    "generate",
    "params_for",
    "parse_start",
    "truth",
    "write_synthetic",
]
