"""A paper order at the simulated venue (a plain slotted object: it is on the hot path)."""

from __future__ import annotations

from typing import Any


class SimOrder:
    """One order: its terms, remaining size and queue state.

    ``q`` is the public size ahead of us at our price; ``depth`` the displayed size
    at our price last seen; ``cum_trade`` the size traded at our price since then
    (the probabilistic queue model nets it out of depth decreases).  ``t_arrive`` is
    the exchange time (ns) the order reached the venue: market events stamped
    earlier happened before it existed there and never touch it.
    """

    __slots__ = (
        "cloid",
        "cmd_seq",
        "coin",
        "cum_trade",
        "depth",
        "orig_sz",
        "px",
        "q",
        "reduce_only",
        "side",
        "sz",
        "t_arrive",
        "tif",
    )

    def __init__(
        self,
        cloid: str,
        coin: str,
        side: int,
        px: float,
        sz: float,
        tif: str,
        reduce_only: bool,
        cmd_seq: int,
    ) -> None:
        self.cloid = cloid
        self.coin = coin
        self.side = side
        self.px = px
        self.sz = sz
        self.orig_sz = sz
        self.tif = tif
        self.reduce_only = reduce_only
        self.cmd_seq = cmd_seq
        self.q = 0.0
        self.depth = 0.0
        self.cum_trade = 0.0
        self.t_arrive = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "cloid": self.cloid,
            "side": self.side,
            "px": self.px,
            "sz": self.sz,
            "orig_sz": self.orig_sz,
            "tif": self.tif,
            "queue_ahead": self.q,
        }
