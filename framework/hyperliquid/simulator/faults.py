"""Fault injection: what can go wrong with a venue, switchable while the simulator runs.

Kinds (``POST /admin/fault {"kind": ..., ...}`` or ``--fault KIND[:ARG]``):

``drop``       close every WebSocket connection now;
``stall``      stop pushing market data (l2Book, bbo, trades, allMids, activeAssetCtx) for
               ``seconds`` while sockets stay open and pongs still flow;
``429``        answer every HTTP request (and WS post) with HTTP 429 for ``seconds``;
``reject``     reject the next ``n`` orders with :data:`errors.FAULT_REJECT`;
``malformed``  send one malformed (non-JSON) frame on every WebSocket;
``delay``      delay every HTTP response and WS post response by ``ms`` for ``seconds``
               (default: until cleared);
``clear``      end every timed fault.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

KINDS = ("drop", "stall", "429", "reject", "malformed", "delay", "clear")
MALFORMED_FRAME = '{"channel":"l2Book","data":{"coin":'


class Faults:
    """Active faults; the app asks it on every request and push."""

    def __init__(self) -> None:
        self.stall_until = -math.inf
        self.http429_until = -math.inf
        self.delay_until = -math.inf
        self.delay_ms = 0.0
        self.reject_next = 0
        self.history: list[dict[str, Any]] = []

    # -- queries --------------------------------------------------------------------------
    def stalled(self) -> bool:
        return time.monotonic() < self.stall_until

    def rate_limited(self) -> bool:
        return time.monotonic() < self.http429_until

    def delay_s(self) -> float:
        return self.delay_ms / 1000.0 if time.monotonic() < self.delay_until else 0.0

    def take_reject(self) -> bool:
        """True (and one fewer pending) if the next order must be rejected."""
        if self.reject_next > 0:
            self.reject_next -= 1
            return True
        return False

    # -- control --------------------------------------------------------------------------
    def apply(self, spec: Mapping[str, Any]) -> str:
        """Arm a timed fault from ``spec``; returns the kind.  Instant kinds return too:
        the app performs ``drop`` / ``malformed`` itself.

        Raises
        ------
        ValueError
            Naming the field and the allowed values.
        """
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
        now = time.monotonic()
        if kind == "stall":
            self.stall_until = now + _num(spec, "seconds")
        elif kind == "429":
            self.http429_until = now + _num(spec, "seconds")
        elif kind == "reject":
            self.reject_next += _count(spec, "n", 1)
        elif kind == "delay":
            self.delay_ms = _num(spec, "ms")
            self.delay_until = now + _num(spec, "seconds", math.inf)
        elif kind == "clear":
            self.stall_until = self.http429_until = self.delay_until = -math.inf
            self.reject_next = 0
        self.history.append(dict(spec))
        return kind


def _num(spec: Mapping[str, Any], key: str, default: float | None = None) -> float:
    v = spec.get(key, default)
    if v is None or isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v) or v < 0:
        raise ValueError(f"{key}: {v!r} must be a non-negative number for fault {spec.get('kind')}")
    return float(v)


def _count(spec: Mapping[str, Any], key: str, default: int) -> int:
    v = _num(spec, key, default)
    if not v.is_integer():
        raise ValueError(
            f"{key}: {spec.get(key)!r} must be a whole number for fault {spec['kind']}"
        )
    return int(v)


#: The argument each kind takes on the command line: (spec key, what it counts, example).
FLAG_ARGS: dict[str, tuple[str, str, str]] = {
    "stall": ("seconds", "seconds", "stall:5"),
    "429": ("seconds", "seconds", "429:5"),
    "reject": ("n", "orders", "reject:3"),
    "delay": ("ms", "milliseconds", "delay:250"),
}
#: Kinds whose argument may be left out (``reject`` = the next order).
OPTIONAL_ARG = frozenset({"reject"})


def parse_fault_flag(text: str) -> dict[str, Any]:
    """``KIND[:ARG]`` from the command line -> an admin fault spec, checked.

    ``stall:5`` / ``429:5`` (seconds), ``reject:3`` (orders; ``reject`` = 1), ``delay:250``
    (ms), ``drop``, ``malformed``, ``clear``.

    Raises
    ------
    ValueError
        ``--fault '<text>': <what is wrong>; e.g. <a valid one>``.
    """
    kind, colon, arg = text.partition(":")
    if kind not in KINDS:
        raise ValueError(f"--fault {text!r}: kind must be one of {', '.join(KINDS)}")
    spec: dict[str, Any] = {"kind": kind}
    takes = FLAG_ARGS.get(kind)
    if takes is None:
        if colon:
            raise ValueError(f"--fault {text!r}: {kind} takes no argument; use --fault {kind}")
        return spec
    key, unit, example = takes
    if not arg:
        if kind in OPTIONAL_ARG and not colon:
            return spec
        raise ValueError(
            f"--fault {text!r}: {kind} needs a number of {unit}, e.g. --fault {example}"
        )
    try:
        spec[key] = float(arg)
    except ValueError:
        raise ValueError(
            f"--fault {text!r}: {arg!r} is not a number of {unit}; e.g. --fault {example}"
        ) from None
    if key == "n" and spec[key].is_integer():
        spec[key] = int(spec[key])
    try:
        Faults().apply(spec)  # the admin endpoint's own checks, on a scratch copy
    except ValueError:
        whole = " whole" if key == "n" else ""
        raise ValueError(
            f"--fault {text!r}: {unit} must be a{whole} number >= 0; e.g. --fault {example}"
        ) from None
    return spec
