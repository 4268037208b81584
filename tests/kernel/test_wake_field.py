"""A WakeField reads and sets its component's wake condition, compiled and interpreted:
the strategy's and the fill-rate estimator's attributes live where the kernel reads
them per event."""

from __future__ import annotations

from types import ModuleType

import pytest

from framework.kernel import market
from tests.kernel.source import interpreted

_INTERPRETED = interpreted("market")


@pytest.mark.parametrize("module", [market, _INTERPRETED], ids=["loaded", "interpreted"])
def test_a_wake_field_is_the_wake_condition_s_attribute(module: ModuleType) -> None:
    class Component:
        center = module.WakeField("center")
        band = module.WakeField("band")

        def __init__(self) -> None:
            self._wake = module.QuoteWake(None, lambda: None)

    c = Component()
    assert c.band == 0.0 and c.center != c.center  # the wake's initial band, NaN centre
    c.center, c.band = 38.0, 0.05
    assert (c._wake.center, c._wake.band) == (38.0, 0.05)
    c._wake.band = 0.1
    assert c.band == 0.1
    assert isinstance(Component.band, module.WakeField)  # on the class: the descriptor
    assert Component.band.field == "band"
