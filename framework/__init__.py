"""Event-sourced market-making framework for Hyperliquid perpetual futures."""

from framework.arrow_pool import prefer_jemalloc

__version__ = "0.1.0"

prefer_jemalloc()  # before anything imports pyarrow: see framework.arrow_pool
