"""Event-sourced market-making framework for Hyperliquid perpetual futures."""

__version__ = "0.1.0"
