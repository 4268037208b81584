"""A protocol-faithful local Hyperliquid exchange on loopback (issue 4).

``POST /info``, ``POST /exchange`` and WS ``/ws`` on one port; verifies signatures
(testnet by default), nonces, limits; matches orders against a market driven by a journal;
pushes the documented WS messages; injects faults.  Start it with ``market-maker
sim-exchange`` or in-process with :func:`run_simulator` / :class:`SimulatorThread`.
"""

from framework.hyperliquid.simulator.config import SimConfig
from framework.hyperliquid.simulator.server import Handle, SimulatorThread, run_simulator, serve

__all__ = ["Handle", "SimConfig", "SimulatorThread", "run_simulator", "serve"]
