"""Order latency models (mm_math.md §8.1, hftbacktest ``models/latency.rs``).

A model answers three questions in ns: how long a place (or modify) takes to reach
the venue (entry latency ``L_e``), how long a cancel takes, and how long the venue's
answer (ack, reject, cancel, fill) takes to come back (response latency ``L_r``).
Draws use the generator passed in (the engine's), so a seeded run is reproducible;
:class:`ConstantLatency` never draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from framework.kernel.draws import below

MS = 1_000_000

#: The default latencies in ms, the one place they are set:
#:
#: ========  =====  ===============================================================
#: place     100    place or modify sent -> order active at the venue (``L_e``)
#: cancel     50    cancel sent -> cancel takes effect (the order can fill meanwhile)
#: response   50    venue outcome (ack, reject, cancel, fill) -> the engine sees it
#: ========  =====  ===============================================================
#:
#: These are chosen values, not measured facts about Hyperliquid: round numbers of the
#: order of a WAN round trip, erring on the slow side so paper results are not
#: flattered.  Measure your own (timed acks of unfillable post-only orders, mm_math
#: §8.1) and pass them as ``*_ms`` or ``*_samples_ms``.
DEFAULT_LATENCY_MS: MappingProxyType[str, float] = MappingProxyType(
    {"place": 100.0, "cancel": 50.0, "response": 50.0}
)


class LatencyModel(Protocol):
    """What the simulator asks of a latency model."""

    #: The smallest response latency the model can draw, ns.
    response_min_ns: int
    #: ``(place, cancel, response)`` ns when every latency is one value and drawing it
    #: takes nothing from the generator (the venue then reads them once), else None.
    fixed_ns: tuple[int, int, int] | None

    def place_ns(self, rng: np.random.Generator) -> int: ...

    def cancel_ns(self, rng: np.random.Generator) -> int: ...

    def response_ns(self, rng: np.random.Generator) -> int: ...


#: The longest latency accepted (one day): event times are int64 ns, and a latency that
#: overflows them would schedule an arrival that never comes.
MAX_LATENCY_MS = 86_400_000.0


def _ms_to_ns(name: str, ms: float) -> int:
    if not math.isfinite(ms) or ms < 0 or ms > MAX_LATENCY_MS:
        raise ValueError(
            f"{name}={ms!r}: a latency must be a finite number of ms in 0..{MAX_LATENCY_MS:.0f}"
        )
    return round(ms * MS)


class ConstantLatency:
    """Fixed latencies.

    Parameters
    ----------
    place_ms : float, default 100
        Command sent -> order active at the venue (also used for modify).
    cancel_ms : float, default 50
        Cancel sent -> cancel takes effect; the order can fill meanwhile.
    response_ms : float, default 50
        Venue outcome -> the engine sees it.

    Defaults: :data:`DEFAULT_LATENCY_MS`.
    """

    def __init__(
        self,
        place_ms: float = DEFAULT_LATENCY_MS["place"],
        cancel_ms: float = DEFAULT_LATENCY_MS["cancel"],
        response_ms: float = DEFAULT_LATENCY_MS["response"],
    ) -> None:
        self._place = _ms_to_ns("place_ms", place_ms)
        self._cancel = _ms_to_ns("cancel_ms", cancel_ms)
        self._response = _ms_to_ns("response_ms", response_ms)
        self.response_min_ns = self._response
        self.fixed_ns: tuple[int, int, int] | None = (self._place, self._cancel, self._response)

    def place_ns(self, rng: np.random.Generator) -> int:
        return self._place

    def cancel_ns(self, rng: np.random.Generator) -> int:
        return self._cancel

    def response_ns(self, rng: np.random.Generator) -> int:
        return self._response

    def __repr__(self) -> str:
        return f"ConstantLatency({self._place / MS}, {self._cancel / MS}, {self._response / MS})"


class EmpiricalLatency:
    """Latencies drawn uniformly from measured samples (e.g. live ack round trips).

    Parameters
    ----------
    place_ms : sequence of float
        Samples for place/modify latency, ms.  Must not be empty.
    cancel_ms : sequence of float, optional
        Samples for cancel latency; the place samples when omitted.
    response_ms : sequence of float, optional
        Samples for response latency; the default response latency
        (:data:`DEFAULT_LATENCY_MS`) when omitted.  Pass ``[0]`` for none.
    """

    def __init__(
        self,
        place_ms: Sequence[float],
        cancel_ms: Sequence[float] | None = None,
        response_ms: Sequence[float] | None = None,
    ) -> None:
        if not place_ms:
            raise ValueError(
                "place_samples_ms is empty: the empirical latency model needs at "
                "least one measured place latency (ms)"
            )
        self._place = [_ms_to_ns("place_samples_ms", v) for v in place_ms]
        cancel = cancel_ms if cancel_ms else place_ms
        self._cancel = [_ms_to_ns("cancel_samples_ms", v) for v in cancel]
        resp = response_ms if response_ms else (DEFAULT_LATENCY_MS["response"],)
        self._response = [_ms_to_ns("response_samples_ms", v) for v in resp]
        self.response_min_ns = min(self._response)
        self.fixed_ns: tuple[int, int, int] | None = None  # drawn per request

    @staticmethod
    def _draw(samples: list[int], rng: np.random.Generator) -> int:
        if len(samples) == 1:
            return samples[0]
        return samples[below(rng, len(samples))]

    def place_ns(self, rng: np.random.Generator) -> int:
        return self._draw(self._place, rng)

    def cancel_ns(self, rng: np.random.Generator) -> int:
        return self._draw(self._cancel, rng)

    def response_ns(self, rng: np.random.Generator) -> int:
        return self._draw(self._response, rng)


def make_latency(name: str, **params: Any) -> LatencyModel:
    """Build a latency model by name: ``constant`` or ``empirical``."""
    if name == "constant":
        return ConstantLatency(params["place_ms"], params["cancel_ms"], params["response_ms"])
    if name == "empirical":
        return EmpiricalLatency(
            params["place_samples_ms"], params["cancel_samples_ms"], params["response_samples_ms"]
        )
    raise ValueError(f"latency={name!r}: unknown latency model; use 'constant' or 'empirical'")
