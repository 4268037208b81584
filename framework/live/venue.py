"""The connection to the venue a live session trades through.

:class:`Venue` bundles what ``run`` needs: the signer (the key never leaves it), the
account traded, one HTTP transport shared by ``/info`` and ``/exchange`` (one IP weight
budget), the asset directory with the traded asset (a HIP-3 dex's included), the
executor (signed actions over WS post with HTTP fallback, nonces persisted so they
never go backwards across restarts) and the WS client (market and user streams).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from framework.config import LiveConfig
from framework.hyperliquid.dexes import AssetDirectory, AssetInfo, split_coin
from framework.hyperliquid.executor import Executor
from framework.hyperliquid.info import InfoClient
from framework.hyperliquid.keys import Signer, account_address
from framework.hyperliquid.nonce import NonceStore
from framework.hyperliquid.rest import MAINNET_API_URL, TESTNET_API_URL, RestClient
from framework.hyperliquid.ws import WsClient, WsConfig, ws_url

__all__ = ["Venue", "api_url", "load_signer", "user_subscriptions"]


def api_url(live: LiveConfig) -> str:
    """``[live] base_url`` when set, else the network's API URL."""
    if live.base_url:
        return live.base_url.rstrip("/")
    return MAINNET_API_URL if live.network == "mainnet" else TESTNET_API_URL


def load_signer(live: LiveConfig) -> Signer:
    """The signing key: the ``[live] keystore`` file (password in
    ``HL_KEYSTORE_PASSWORD``) when set, else ``HL_PRIVATE_KEY``
    (:func:`framework.hyperliquid.keys.load_signer`).

    Raises
    ------
    KeyLoadError
        Naming the variable or file, never the key.
    """
    from framework.hyperliquid.keys import load_signer as load

    return load(live.keystore)


def user_subscriptions(account: str) -> list[dict[str, Any]]:
    """The user streams of a live session: order updates and fills of ``account``."""
    return [
        {"type": "orderUpdates", "user": account},
        {"type": "userFills", "user": account},
    ]


class Venue:
    """Everything that talks to the exchange (see the module docstring).

    Build with :meth:`open`; close with :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        live: LiveConfig,
        signer: Signer,
        account: str,
        rest: RestClient,
        info: InfoClient,
        directory: AssetDirectory,
        asset: AssetInfo,
        executor: Executor,
        ws: WsClient,
    ) -> None:
        self.live = live
        self.base_url = rest.base_url
        self.is_mainnet = live.network == "mainnet"
        self.signer = signer
        self.account = account
        self.rest = rest
        self.info = info
        self.directory = directory
        self.asset = asset
        self.executor = executor
        self.ws = ws

    @classmethod
    async def open(
        cls,
        live: LiveConfig,
        asset: str,
        dex: str,
        *,
        signer: Signer,
        nonce_path: Path | None,
        on_message: Callable[[dict[str, Any], int], None] | None = None,
        on_connection: Callable[[str, str, str | None], None] | None = None,
        ws_config: WsConfig | None = None,
    ) -> Venue:
        """Resolve the asset and build the clients (the WS is not started yet).

        Raises
        ------
        AssetNotFoundError, HyperliquidError
            The asset is not listed, or the venue cannot be reached.
        """
        url = api_url(live)
        rest = RestClient(url, on_connection=on_connection)
        info = InfoClient(rest=rest)
        try:
            d, _ = split_coin(asset)
            directory = await AssetDirectory.load(info, [dex or d] if (dex or d) else [])
            a = directory.resolve(asset, dex or None)
        except BaseException:
            await rest.aclose()
            raise
        ws = WsClient(
            ws_url(url), on_message=on_message, on_connection=on_connection, config=ws_config
        )
        executor = Executor(
            signer=signer,
            nonces=NonceStore(nonce_path),
            directory=directory,
            is_mainnet=live.network == "mainnet",
            rest=rest,
            ws=ws,
            ws_timeout_s=5.0,
        )
        account = account_address(live.account_address, signer)
        return cls(
            live=live,
            signer=signer,
            account=account,
            rest=rest,
            info=info,
            directory=directory,
            asset=a,
            executor=executor,
            ws=ws,
        )

    @property
    def margin_mode(self) -> str:
        """``isolated`` where the dex requires it (most HIP-3 assets), else ``cross``."""
        return "isolated" if self.asset.only_isolated else "cross"

    async def aclose(self) -> None:
        try:
            await self.ws.close()
        finally:
            await self.rest.aclose()
