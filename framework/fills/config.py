"""``FillSimConfig``: every setting of the paper fill simulator, JSON-serialisable.

A manifest stores it as the component's config, and replay rebuilds the simulator
with ``FillSimulator(**config)``.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from framework.fills.fees import FeeSchedule
from framework.fills.latency import DEFAULT_LATENCY_MS, LatencyModel, make_latency
from framework.fills.queue import QueueModel, make_queue


def _floats(v: Any) -> tuple[float, ...]:
    return tuple(float(x) for x in (v or ()))


@attrs.frozen(slots=True)
class FillSimConfig:
    """Settings of :class:`~framework.fills.simulator.FillSimulator`.

    Parameters
    ----------
    latency : str, default "constant"
        ``constant`` (``place_ms``, ``cancel_ms``, ``response_ms``) or ``empirical``
        (uniform draws from ``*_samples_ms`` with the engine's generator).
    place_ms, cancel_ms, response_ms : float, default 100, 50, 50
        Constant latencies in ms (:data:`~framework.fills.latency.DEFAULT_LATENCY_MS`:
        chosen values, not measured ones).  An order sent at engine time ``t`` is
        active at the venue at exchange time ``t + place_ms``; an outcome the venue
        decides at exchange time ``τ`` reaches the engine at ``τ + response_ms`` (or
        when the engine learns of the market event that caused it, if later).
    place_samples_ms, cancel_samples_ms, response_samples_ms : list of float
        Measured latencies for the empirical model (cancel defaults to place,
        response to the default ``response_ms``).
    fifo : bool, default True
        Requests reach the venue in the order they were sent (one connection): an
        arrival is never earlier than the previous request's arrival.
    queue : str, default "conservative"
        ``conservative``, ``risk_averse`` or ``prob`` (see :mod:`framework.fills.queue`).
    queue_prob_variant : str, default "power3"
        ``power``, ``power2``, ``power3``, ``log`` or ``log2`` for ``queue="prob"``.
    queue_prob_n : float, default 3.0
        Exponent of the power variants.
    maker_bps, taker_bps : float, default 1.5, 4.5
        Fees in bps of notional (negative = rebate).
    budget_used : int, default 0
        Address requests already used at the start.
    budget_cum_vlm : float, default 0.0
        Cumulative traded volume (USDC) at the start; the cap is 10000 + this + paper volume.
    min_notional : float, default 10.0
        Orders below this notional are rejected as on the venue (0 disables;
        reduce-only orders are exempt).
    cross_fills : bool, default False
        Also fill resting orders when a ``book``/``bbo`` update crosses them (the
        ``cross`` rule), each crossing level's displayed size spent once per cross.
        Optimistic: no trade stands behind such a fill, so with it on our fills may
        exceed traded volume.  Off, only trades fill resting orders, under every
        queue model.
    """

    latency: str = "constant"
    place_ms: float = DEFAULT_LATENCY_MS["place"]
    cancel_ms: float = DEFAULT_LATENCY_MS["cancel"]
    response_ms: float = DEFAULT_LATENCY_MS["response"]
    place_samples_ms: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    cancel_samples_ms: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    response_samples_ms: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    fifo: bool = True
    queue: str = "conservative"
    queue_prob_variant: str = "power3"
    queue_prob_n: float = 3.0
    maker_bps: float = 1.5
    taker_bps: float = 4.5
    budget_used: int = 0
    budget_cum_vlm: float = 0.0
    min_notional: float = 10.0
    cross_fills: bool = False

    def __attrs_post_init__(self) -> None:
        # Build each part once so a bad setting fails at construction, naming the field.
        self.latency_model()
        self.queue_model()
        self.fee_schedule()
        if self.budget_used < 0 or self.budget_cum_vlm < 0:
            raise ValueError(
                f"budget_used={self.budget_used!r}, budget_cum_vlm={self.budget_cum_vlm!r}: "
                "must be >= 0"
            )
        if not (math.isfinite(self.min_notional) and self.min_notional >= 0):
            raise ValueError(f"min_notional={self.min_notional!r}: must be a USDC amount >= 0")
        if not isinstance(self.cross_fills, bool):
            raise ValueError(f"cross_fills={self.cross_fills!r}: must be true or false")

    def latency_model(self) -> LatencyModel:
        return make_latency(
            self.latency,
            place_ms=self.place_ms,
            cancel_ms=self.cancel_ms,
            response_ms=self.response_ms,
            place_samples_ms=self.place_samples_ms,
            cancel_samples_ms=self.cancel_samples_ms,
            response_samples_ms=self.response_samples_ms,
        )

    def queue_model(self) -> QueueModel:
        return make_queue(self.queue, self.queue_prob_variant, self.queue_prob_n)

    def fee_schedule(self) -> FeeSchedule:
        return FeeSchedule(self.maker_bps, self.taker_bps)

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON values (tuples become lists)."""
        return attrs.asdict(
            self, value_serializer=lambda _i, _a, v: list(v) if isinstance(v, tuple) else v
        )
