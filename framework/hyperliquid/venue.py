"""Which venue a command talks to: ``--network mainnet|testnet`` and ``--base-url``.

One helper for every command that connects (run, status, paper, record, list-dexs), so
they all choose the venue the same way, by the config's precedence: flags > environment
(``MM_LIVE_NETWORK``, ``MM_LIVE_BASE_URL``) > ``[live]`` of the config file > defaults
(mainnet, its public API).

The signing network comes from ``network`` alone, never from the URL (reference §1: the
SDK's URL sniffing would sign for testnet through a mainnet proxy).  A local
``sim-exchange`` verifies testnet signatures unless started with ``--mainnet``, so
trading against it takes ``--network testnet --base-url http://127.0.0.1:3001``;
:meth:`Venue.signing_note` says so when a loopback URL is used with mainnet signing.

Usage::

    venue = resolve_venue(network, base_url, config)     # flags, then env/config/defaults
    venue = Venue.from_live(cfg.live)                     # from an already resolved config
    venue.base_url, venue.ws_url, venue.is_mainnet, venue.network
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL
from framework.hyperliquid.ws import ws_url

if TYPE_CHECKING:
    from framework.config import LiveConfig

NETWORK_URLS: dict[str, str] = {"mainnet": MAINNET_API_URL, "testnet": TESTNET_API_URL}

#: The command-line flags that set ``[live] network`` and ``[live] base_url``.
VENUE_FLAGS: dict[str, str] = {"live.network": "--network", "live.base_url": "--base-url"}


@attrs.frozen
class Venue:
    """A resolved venue.

    Attributes
    ----------
    network : str
        ``mainnet`` or ``testnet``: the signing network (``is_mainnet``).
    base_url : str
        REST base URL without a trailing slash (``/info``, ``/exchange`` below it).
    """

    network: str
    base_url: str

    @property
    def is_mainnet(self) -> bool:
        return self.network == "mainnet"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL (``http`` -> ``ws``, ``https`` -> ``wss``, + ``/ws``)."""
        return ws_url(self.base_url)

    @classmethod
    def from_live(cls, live: LiveConfig) -> Venue:
        """The venue of a resolved ``[live]`` section (its ``base_url`` "" = the network's)."""
        base = live.base_url.rstrip("/") if live.base_url else NETWORK_URLS[live.network]
        return cls(network=live.network, base_url=base)

    def describe(self) -> str:
        """One line for a checklist or a log: ``testnet via http://127.0.0.1:3001``."""
        return f"{self.network} via {self.base_url}"

    def signing_note(self) -> str | None:
        """A warning when the choice is probably a mistake, else None.

        Mainnet signing towards a loopback address: a ``sim-exchange`` verifies testnet
        signatures unless started with ``--mainnet``, and would not recognise the signer.
        """
        host = urlsplit(self.base_url).hostname or ""
        if self.is_mainnet and (host in ("localhost", "::1") or host.startswith("127.")):
            return (
                f"--base-url {self.base_url} is a local address but the network is mainnet: "
                "actions are signed for mainnet, which a sim-exchange only accepts when "
                "started with --mainnet; add --network testnet to sign for testnet"
            )
        return None


def resolve_venue(
    network: str | None = None,
    base_url: str | None = None,
    config: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Venue:
    """The venue by precedence: ``network``/``base_url`` flags > ``MM_LIVE_*`` variables >
    ``[live]`` of ``config`` > defaults (mainnet).

    Raises
    ------
    framework.exits.UsageError
        A bad flag value.
    framework.config.ConfigError
        A bad value in the environment or the config file, naming its variable or key.
    """
    from framework.config import resolve_config

    flags = venue_flags(network, base_url)
    live = resolve_config(config, flags, environ, flag_names=VENUE_FLAGS).live
    return Venue.from_live(live)


def venue_flags(network: str | None, base_url: str | None) -> dict[str, dict[str, str | None]]:
    """The ``--network`` / ``--base-url`` flags checked (a :class:`UsageError` naming the
    flag), as the ``flags`` argument of :func:`framework.config.resolve_config` (pass
    ``flag_names=VENUE_FLAGS`` with it)."""
    from framework import flags as check
    from framework.exits import UsageError

    if base_url is not None:
        check.base_url(base_url)
    if network is not None and network not in NETWORK_URLS:
        raise UsageError(f"--network {network!r}: use mainnet or testnet")
    return {"live": {"network": network, "base_url": base_url}}
