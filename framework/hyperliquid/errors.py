"""Exceptions raised by the Hyperliquid client.

Every exception derives from :class:`HyperliquidError`, so a caller can catch the whole
family at once.  No exception message ever contains a private key.

Tree::

    HyperliquidError
    ├── WireError (also ValueError)        bad price / size / cloid / action field
    │   └── MinNotionalError               px * sz below the $10 perp minimum
    ├── SigningError                       action cannot be hashed / signed / recovered
    │   └── KeyLoadError                   private key missing or unreadable (env / keystore)
    ├── NonceError                         nonce store unusable (corrupt file, clock far behind)
    ├── AssetNotFoundError (also KeyError) coin or dex not in meta / perpDexs
    │   └── UnknownDexError                a dex not in perpDexs
    ├── TransportError                     HTTP or WS transport failed (after retries)
    │   ├── RateLimitedError               HTTP 429 / WS post "error" for rate limits
    │   ├── ServerError                    HTTP 5xx
    │   ├── ClientError                    HTTP 4xx other than 429 (422 = undeserialisable)
    │   ├── RequestTimeoutError            no answer within the timeout
    │   └── NotConnectedError              WS post while the socket is down
    ├── ProtocolError                      the venue answered in a shape we do not understand
    └── ExchangeRejectedError              /exchange answered {"status":"err","response":"..."}
"""

from __future__ import annotations


class HyperliquidError(Exception):
    """Base class of every Hyperliquid client error."""


class WireError(HyperliquidError, ValueError):
    """A value cannot be put on the wire (price off grid, bad cloid, float in an action...)."""


class MinNotionalError(WireError):
    """An order's notional ``px * sz`` is below the venue minimum ($10 for perps)."""


class SigningError(HyperliquidError):
    """An action cannot be hashed, signed or its signer recovered."""


class KeyLoadError(SigningError):
    """The private key could not be loaded.  The message names the source, never the key."""


class NonceError(HyperliquidError):
    """The nonce store is unusable."""


class AssetNotFoundError(HyperliquidError, KeyError):
    """A coin or dex name is not in the venue's meta / perpDexs."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownDexError(AssetNotFoundError):
    """A dex name is not in the venue's ``perpDexs`` (its message names ``--dex``)."""


class TransportError(HyperliquidError):
    """The HTTP or WS transport failed (after any retries).

    Attributes
    ----------
    status : int or None
        HTTP status when there was one.
    body : str or None
        Response body text (truncated) when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = body


class RateLimitedError(TransportError):
    """HTTP 429: the IP weight budget is exhausted."""


class ServerError(TransportError):
    """HTTP 5xx."""


class ClientError(TransportError):
    """HTTP 4xx (other than 429); 422 means the action JSON could not be deserialised."""


class RequestTimeoutError(TransportError):
    """No answer within the request timeout."""


class NotConnectedError(TransportError):
    """A WS post was attempted while the socket is not connected."""


class ProtocolError(HyperliquidError):
    """The venue answered in a shape the client does not understand."""


class ExchangeRejectedError(HyperliquidError):
    """``/exchange`` rejected the whole request: ``{"status": "err", "response": <text>}``.

    Attributes
    ----------
    text : str
        The venue's error text, verbatim.
    """

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text
