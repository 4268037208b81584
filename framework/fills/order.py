"""A paper order at the simulated venue: :class:`~framework.kernel.venue.SimOrder`, a
typed record of the kernel (the venue's order path reads its fields as C fields)."""

from __future__ import annotations

from framework.kernel.venue import SimOrder

__all__ = ["SimOrder"]
