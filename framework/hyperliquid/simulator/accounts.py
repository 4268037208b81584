"""Accounts: one clearinghouse per dex (balance, positions, leverage), orders, fills."""

from __future__ import annotations

from typing import Any

from framework.hyperliquid.simulator.limits import AddressBudget
from framework.hyperliquid.simulator.matching import UserOrder


class Position:
    __slots__ = ("entry_px", "funding_all", "funding_change", "funding_open", "szi")

    def __init__(self) -> None:
        self.szi = 0.0
        self.entry_px = 0.0
        self.funding_all = 0.0
        self.funding_open = 0.0
        self.funding_change = 0.0


class Clearing:
    """One account's clearinghouse on one dex."""

    def __init__(self, balance: float) -> None:
        self.balance = balance
        self.positions: dict[str, Position] = {}
        self.leverage: dict[str, tuple[str, int]] = {}

    def pos(self, coin: str) -> Position:
        p = self.positions.get(coin)
        if p is None:
            p = self.positions[coin] = Position()
        return p


class Account:
    def __init__(self, address: str, balance: float, dexes: list[str], budget: int) -> None:
        self.address = address
        self.clearing = {d: Clearing(balance) for d in dexes}
        self.funded = balance > 0  # ever held USDC: else actions get MUST_DEPOSIT
        self.cum_vlm = 0.0
        self.budget = AddressBudget(budget)
        self.fills: list[dict[str, Any]] = []
        self.orders: dict[int, UserOrder] = {}  # every order ever given an oid
        self.open: dict[int, UserOrder] = {}
        self.by_cloid: dict[str, int] = {}
        self.funding: list[dict[str, Any]] = []
        self.schedule_ms: int | None = None
        self.schedule_day: str = ""
        self.schedule_count = 0
