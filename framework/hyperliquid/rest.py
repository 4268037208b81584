"""HTTP transport shared by the info client and the executor: retries and IP weight.

:class:`RestClient` posts JSON to ``{base_url}/info`` or ``/exchange`` over an
``httpx.AsyncClient`` (pass ``transport=`` to inject ``httpx.MockTransport`` or an ASGI
transport in tests).  Before each request it takes the request's IP weight from a
:class:`WeightBudget` (1200 per rolling minute, reference §6.1), waiting if the budget is
spent.  Retryable failures (HTTP 429, 5xx, timeouts, connection errors) are retried with
capped exponential backoff and jitter; the jitter comes from an injected ``random.Random``
and the waiting from an injected ``sleep``, so tests are deterministic and instant.

``/exchange`` requests are retried only when the venue certainly did not act on them
(429 and connection failures before sending); a timeout or 5xx on an action is raised,
because the action may have been applied (the caller reconciles via orderStatus).

Weight table (reference §6.1): see :data:`INFO_WEIGHTS`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import httpx

from framework.hyperliquid.errors import (
    ClientError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)

MAINNET_API_URL = "https://api.hyperliquid.xyz"
TESTNET_API_URL = "https://api.hyperliquid-testnet.xyz"

IP_WEIGHT_PER_MINUTE = 1200
#: /info request weights (reference §6.1); any type not listed weighs DEFAULT_INFO_WEIGHT.
INFO_WEIGHTS: dict[str, int] = {
    "l2Book": 2,
    "allMids": 2,
    "clearinghouseState": 2,
    "orderStatus": 2,
    "spotClearinghouseState": 2,
    "exchangeStatus": 2,
    "userRole": 60,
}
DEFAULT_INFO_WEIGHT = 20
#: Extra weight per returned item: one unit per this many items [UNCERTAIN increments].
INFO_ITEM_WEIGHT_DIVISOR: dict[str, int] = {
    "userFills": 20,
    "userFillsByTime": 20,
    "historicalOrders": 20,
    "fundingHistory": 20,
    "userFunding": 20,
    "recentTrades": 20,
    "candleSnapshot": 60,
}

Sleep = Callable[[float], Awaitable[None]]


def info_weight(request_type: str) -> int:
    """IP weight of one ``/info`` request of this type (before per-item additions)."""
    return INFO_WEIGHTS.get(request_type, DEFAULT_INFO_WEIGHT)


def info_item_weight(request_type: str, n_items: int) -> int:
    """Extra IP weight charged for ``n_items`` returned items."""
    div = INFO_ITEM_WEIGHT_DIVISOR.get(request_type)
    return n_items // div if div else 0


@attrs.frozen
class RetryPolicy:
    """Capped exponential backoff with jitter.

    Attempt ``k`` (0-based) waits ``min(cap_s, base_s * 2**k) * (1 - jitter * u)`` with
    ``u`` uniform in [0, 1) from the injected RNG.
    """

    max_attempts: int = 5
    base_s: float = 0.25
    cap_s: float = 8.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        return min(self.cap_s, self.base_s * 2**attempt) * (1.0 - self.jitter * rng.random())


class WeightBudget:
    """Rolling one-minute IP weight budget (shared by every REST client of one IP).

    Parameters
    ----------
    limit : int
        Weight allowed per ``window_s`` (1200 per minute).
    clock : callable
        Monotonic seconds; injectable.
    sleep : callable
        Async sleep; injectable.
    """

    def __init__(
        self,
        limit: int = IP_WEIGHT_PER_MINUTE,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._spent: collections.deque[tuple[float, int]] = collections.deque()
        self._total = 0

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - self.window_s:
            self._total -= self._spent.popleft()[1]

    def used(self) -> int:
        """Weight spent in the current window."""
        self._expire(self._clock())
        return self._total

    def charge(self, weight: int) -> None:
        """Record weight already spent (e.g. per-item additions), without waiting."""
        if weight > 0:
            self._spent.append((self._clock(), weight))
            self._total += weight

    async def acquire(self, weight: int) -> float:
        """Wait until ``weight`` fits in the window, then charge it; returns seconds waited."""
        waited = 0.0
        weight = min(weight, self.limit)
        while True:
            now = self._clock()
            self._expire(now)
            if self._total + weight <= self.limit:
                self.charge(weight)
                return waited
            # wait until the oldest charge leaves the window
            pause = max(self._spent[0][0] + self.window_s - now, 0.001)
            await self._sleep(pause)
            waited += pause


def _truncate(text: str, n: int = 300) -> str:
    return text if len(text) <= n else text[:n] + "..."


class RestClient:
    """JSON POST to the venue with weight accounting and retries.

    Parameters
    ----------
    base_url : str
        ``https://api.hyperliquid.xyz``, the testnet URL, or a simulator's ``http://host:port``.
    transport : httpx.AsyncBaseTransport, optional
        Injected transport (``httpx.MockTransport``, ``httpx.ASGITransport``).
    timeout_s : float
        Per-request timeout.
    retry : RetryPolicy
    rng : random.Random, optional
        Jitter source (seed it in tests).
    sleep : callable, optional
        Async sleep (tests pass a recorder that does not wait).
    budget : WeightBudget, optional
        Shared IP weight budget; a private one is made when omitted.
    on_connection : callable, optional
        ``(link, state, detail)`` with link ``"http"``: ``disconnected`` when a request
        fails for good (after retries; 4xx excluded), ``connected`` on the first success
        and after a failure.
    """

    def __init__(
        self,
        base_url: str = MAINNET_API_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        budget: WeightBudget | None = None,
        on_connection: Callable[[str, str, str | None], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._on_connection = on_connection
        self._up: bool | None = None  # last reported state of the "http" link
        self._client = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, timeout=timeout_s
        )
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.budget = budget or WeightBudget(sleep=sleep)
        self.retries = 0  # count of retried attempts (for reports and tests)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def post(self, path: str, body: dict[str, Any], *, weight: int, idempotent: bool) -> Any:
        """POST ``body`` to ``path`` and return the decoded JSON.

        Parameters
        ----------
        weight : int
            IP weight of the request.
        idempotent : bool
            True for /info: retry on 429, 5xx, timeouts and connection errors.  False for
            /exchange: retry only on 429 and connection errors (the action surely did
            not reach the venue).
        """
        attempt = 0
        while True:
            await self.budget.acquire(weight)
            try:
                out = await self._post_once(path, body)
            except TransportError as exc:
                if not self._retryable(exc, idempotent) or attempt + 1 >= self.retry.max_attempts:
                    if not isinstance(exc, ClientError):
                        self._report(False, str(exc))
                    raise
                await self._sleep(self.retry.delay(attempt, self._rng))
                attempt += 1
                self.retries += 1
            else:
                self._report(True, self.base_url)
                return out

    def _report(self, up: bool, detail: str) -> None:
        """Report a change of the HTTP link's state as ``("http", state, detail)``."""
        if up is self._up:
            return
        self._up = up
        if self._on_connection is not None:
            self._on_connection("http", "connected" if up else "disconnected", detail)

    @staticmethod
    def _retryable(exc: Exception, idempotent: bool) -> bool:
        if isinstance(exc, ClientError):
            return False
        if isinstance(exc, RateLimitedError):
            return True
        if getattr(exc, "connect_failed", False):
            return True
        return idempotent and isinstance(exc, ServerError | RequestTimeoutError | TransportError)

    async def _post_once(self, path: str, body: dict[str, Any]) -> Any:
        try:
            resp = await self._client.post(path, json=body)
        except httpx.TimeoutException:
            raise RequestTimeoutError(f"POST {self.base_url}{path}: timed out") from None
        except httpx.ConnectError as exc:
            err = TransportError(f"POST {self.base_url}{path}: cannot connect ({exc})")
            err.connect_failed = True  # type: ignore[attr-defined]
            raise err from None
        except httpx.TransportError as exc:
            raise TransportError(
                f"POST {self.base_url}{path}: {type(exc).__name__} ({exc})"
            ) from None
        text = resp.text
        if resp.status_code == 429:
            raise RateLimitedError(
                f"POST {self.base_url}{path}: HTTP 429 rate limited",
                status=429,
                body=_truncate(text),
            )
        if resp.status_code >= 500:
            raise ServerError(
                f"POST {self.base_url}{path}: HTTP {resp.status_code}",
                status=resp.status_code,
                body=_truncate(text),
            )
        if resp.status_code >= 400:
            raise ClientError(
                f"POST {self.base_url}{path}: HTTP {resp.status_code}: {_truncate(text)}",
                status=resp.status_code,
                body=_truncate(text),
            )
        try:
            return json.loads(text)
        except ValueError:
            raise ProtocolError(
                f"POST {self.base_url}{path}: HTTP {resp.status_code} body is not JSON: "
                f"{_truncate(text)}"
            ) from None
