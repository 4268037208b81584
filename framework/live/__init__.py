"""Live trading (``market-maker run``): the run pipeline (the seed's auto-calibration
chart), the venue connection, reconciliation with the venue, the pre-send guard, the
dead-man switch and the kill switch's flattening orders.  The environment itself is
:mod:`framework.environments.live`."""
