"""Hyperliquid client: wire format, signing, nonces, info/ws clients, executor, recorder.

Modules (each documents its API in its docstring):

* ``errors``   the exception tree (everything derives from ``HyperliquidError``);
* ``wire``     decimal strings, the price/size grid (via ``framework.grid``), action
  builders in the protocol's key order, the ``/exchange`` envelope, IP weight;
* ``signing``  L1 (phantom agent) and user-signed EIP-712 signing and signer recovery,
  explicit ``is_mainnet``;
* ``keys``     ``Signer`` from ``HL_PRIVATE_KEY`` or a keystore file, never shown;
* ``nonce``    per-signer nonces persisted with fsync (never repeat, never go back);
* ``rest``     HTTP transport: retries with backoff + seeded jitter, IP weight budget;
* ``types``    attrs classes of info results, structured with cattrs;
* ``info``     async ``InfoClient``;
* ``dexes``    ``AssetDirectory``: coin <-> asset id for the main and HIP-3 dexes;
* ``ws``       async reconnecting ``WsClient`` (subscriptions, ping, posts, events);
* ``executor`` ``Executor``: orders / cancels / modifies over WS post with HTTP fallback,
  engine ``order_commands`` rows -> ``order_responses`` payloads;
* ``rows``     journal rows of user streams (order updates, fills), account, rate limit;
* ``recorder`` market-data recording into a journal (``JournalSink``, ``record``);
* ``commands`` the ``list-dexs`` and ``record`` CLI commands;
* ``simulator/`` the local exchange simulator (separate owner).
"""
