"""Matching two sessions' fills one to one.

The rule (:class:`MatchRule`), for fills as ``fills.sql`` makes them (one row per order
and engine time):

* a pair is a fill of A and a fill of B on the **same side**, whose engine times
  (``recv_ts``) are at most ``time_tolerance_s`` apart and whose prices are at most
  ``price_tolerance_bps`` of A's price apart (``candidates.sql``);
* pairs are taken **greedily, closest in time first** (then closest in price, then
  A's seq, then B's seq): a pair is kept when neither fill is in a kept pair yet.
  So each fill is in at most one pair, and the result does not depend on which
  session is scanned first;
* size is not part of the rule: a matched pair with different sizes is a difference
  to report (a partial fill in one session), not a reason to look elsewhere.

A fill in no pair is *unmatched*: the venue (or simulator) of one session filled an
order the other's did not, at about that time and price.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["MatchRule", "greedy_pairs"]


def _positive(inst: object, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, int | float) and value >= 0 and value == value):
        raise ValueError(f"{attribute.name} must be a number >= 0, not {value!r}")


@attrs.frozen
class MatchRule:
    """When a fill of A and a fill of B are the same fill (see the module docstring)."""

    time_tolerance_s: float = attrs.field(default=1.0, validator=_positive)
    price_tolerance_bps: float = attrs.field(default=2.0, validator=_positive)

    def describe(self) -> str:
        return (
            f"same side, engine times within {self.time_tolerance_s:g} s, prices within "
            f"{self.price_tolerance_bps:g} bps of A's; one to one, closest in time first"
        )


def greedy_pairs(candidates: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep each ``(a_seq, b_seq)`` whose two fills are both still free, in the given
    order (``candidates.sql`` sorts them: closest in time first)."""
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for a, b in candidates:
        if a in used_a or b in used_b:
            continue
        used_a.add(a)
        used_b.add(b)
        pairs.append((a, b))
    return pairs
