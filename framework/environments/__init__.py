"""Environments: the only difference between modes.

They feed input events and execute commands: backtest = recorded market data + the
fill simulator; paper = live market data + the fill simulator; live = live data +
the Hyperliquid executor; replay = every input from a journal.
"""
