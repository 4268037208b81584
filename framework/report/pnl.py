"""The PnL decomposition: spread capture, adverse selection, fees and funding.

For our fills i (side ``s_i`` = +1 bought / -1 sold, price ``p_i``, size ``q_i``, fee
``f_i``), ``m_i`` the mid just before fill i (the last valid book / bbo mid with a lower
seq) and ``M`` the price the position is marked to at the end (the engine's mark: the
last top's mid, else the mark price, else the last trade; ``final_mark.sql``):

=====================  ============================================================
spread capture         ``SC = Σ s_i·(m_i − p_i)·q_i``: what each fill earned against
                       the mid at the moment it happened
adverse selection      ``AS = Σ s_i·q_i·(M − m_i)``: the mark-to-market change of the
                       inventory the fills built, from each fill's mid to the final
                       mark (negative when the price moved against what we bought or
                       sold, which is what adverse selection is; it also holds the
                       drift of inventory held long after a fill)
fees                   ``−Σ f_i`` (a rebate is a negative fee, so it adds)
funding                ``−Σ`` funding payments (positive payment = we paid)
=====================  ============================================================

They add up exactly to the session's net PnL, because
``SC + AS = Σ s_i·q_i·M − Σ s_i·p_i·q_i = position·M + cash`` and the engine's net PnL
(:class:`framework.orders.OrderTracker`) is ``cash + position·M − fees − funding``.
:attr:`PnlDecomposition.residual_usd` checks that against the summary the session wrote
into its manifest.  The sessions this covers start flat (paper, backtest); a live
session that starts holding a position would need one more part for that inventory.
Live journals carry no funding rows yet, so funding is 0 there (the report says so).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs

__all__ = ["PnlDecomposition", "decompose"]


@attrs.frozen
class PnlDecomposition:
    """The four parts (USD, signed as contributions to PnL) and the checks."""

    PARTS: ClassVar[tuple[str, ...]] = ("spread_usd", "inventory_usd", "fees_usd", "funding_usd")
    LABELS: ClassVar[dict[str, str]] = {
        "spread_usd": "spread capture",
        "inventory_usd": "adverse selection (inventory mark-to-market)",
        "fees_usd": "fees",
        "funding_usd": "funding",
    }

    spread_usd: float
    inventory_usd: float
    fees_usd: float
    funding_usd: float
    fills: int
    mark_px: float | None
    #: ``cash + position·M − fees − funding`` computed straight from the fills
    direct_net_usd: float
    #: the session's own net PnL (manifest ``stats.summary.net_pnl_usd``), if it has one
    summary_net_usd: float | None
    funding_journaled: bool = True

    @property
    def net_usd(self) -> float:
        return math.fsum(getattr(self, k) for k in self.PARTS)

    @property
    def residual_usd(self) -> float | None:
        """Net PnL of the parts minus the session's summary (None without a summary)."""
        return None if self.summary_net_usd is None else self.net_usd - self.summary_net_usd

    def adds_up(self, tol_usd: float = 1e-6) -> bool:
        """The parts sum to the direct computation and to the summary (when there is one)."""
        if abs(self.net_usd - self.direct_net_usd) > tol_usd:
            return False
        return self.residual_usd is None or abs(self.residual_usd) <= tol_usd


def decompose(
    fills: Any,
    funding_paid: float,
    mark_px: float | None,
    summary: dict[str, Any] | None,
    *,
    live: bool = False,
) -> PnlDecomposition:
    """The decomposition of ``fills`` (:class:`framework.report.data.Fills`)."""
    n = len(fills)
    fees = math.fsum(float(f) for f in fills.fee)
    mark = mark_px if mark_px is not None else (float(fills.px[-1]) if n else 0.0)
    cash = -math.fsum(
        float(s * p * q) for s, p, q in zip(fills.side, fills.px, fills.sz, strict=True)
    )
    pos = math.fsum(float(s * q) for s, q in zip(fills.side, fills.sz, strict=True))
    direct = cash + pos * mark - fees - funding_paid
    net = None
    if summary and summary.get("net_pnl_usd") is not None:
        net = float(summary["net_pnl_usd"])
    return PnlDecomposition(
        spread_usd=math.fsum(float(x) for x in fills.spread_usd),
        inventory_usd=math.fsum(float(x) for x in fills.inventory_usd),
        fees_usd=-fees,
        funding_usd=-float(funding_paid),
        fills=n,
        mark_px=mark_px,
        direct_net_usd=direct,
        summary_net_usd=net,
        funding_journaled=not live,
    )
