"""Fuzz the local exchange simulator's ``POST /info`` and ``POST /exchange`` bodies.

Real request bodies (every /info type the simulator answers; every action type, signed
by a funded account with our signer so a mutated action still reaches the venue logic)
are mutated as JSON and as bytes.  Each answer is the venue's: HTTP 200 with JSON, or
HTTP 422 with the "Failed to deserialize" text; never a 500, and the venue stays sound
(the account's state still reads as finite numbers afterwards).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import eth_account
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.hyperliquid.keys import Signer
from framework.hyperliquid.signing import sign_l1_action, sign_user_signed_action
from framework.hyperliquid.simulator import SimConfig, SimulatorThread
from framework.hyperliquid.simulator.errors import DESERIALIZE
from tests.fuzz.mutate import index, mutate_bytes, mutate_doc
from tests.hyperliquid.simulator.conftest import scripted_rows, write_journal

pytestmark = pytest.mark.simulator

HYPE = 2  # asset id of HYPE on the default main dex (BTC 0, ETH 1, HYPE 2)
CLOID = "0x" + "ab" * 16
SPLICES = [b"9" * 5000, b"[" * 5000, b"\xff", b"NaN", b"1e999", b'"\\ud800"', b"-0"]
PREFIX_422 = DESERIALIZE.partition("{")[0]


class Venue:
    """A running simulator, a funded account with a resting order, and a signer."""

    def __init__(self, root: Path) -> None:
        self.thread = SimulatorThread(
            SimConfig(
                port=0,
                recording=write_journal(root, scripted_rows()),
                speed=0,
                loop=False,
                ip_weight_per_min=10**9,  # the fuzzer is one very busy client
                initial_budget=10**9,
            )
        )
        handle = self.thread.__enter__()
        self.http = httpx.Client(base_url=handle.base_url, timeout=30)
        self.http.post("/admin/step", json={"n": 2})  # the book and the asset context
        wallet = eth_account.Account.create()
        self.signer = Signer.from_private_key(wallet.key.hex())
        self.user = self.signer.address
        self.other = eth_account.Account.create().address.lower()
        self.info({"type": "clearinghouseState", "user": self.user})  # funds it
        self._nonce = 0

    def close(self) -> None:
        self.http.close()
        self.thread.__exit__(None, None, None)

    def nonce(self) -> int:
        self._nonce = max(time.time_ns() // 1_000_000, self._nonce + 1)
        return self._nonce

    def info(self, body: Any) -> Any:
        r = self.http.post("/info", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    # -- real bodies --------------------------------------------------------------------------
    def info_bodies(self) -> list[dict[str, Any]]:
        u = self.user
        return [
            {"type": "meta"},
            {"type": "meta", "dex": "hyena"},
            {"type": "metaAndAssetCtxs"},
            {"type": "perpDexs"},
            {"type": "spotMeta"},
            {"type": "allMids"},
            {"type": "l2Book", "coin": "HYPE"},
            {"type": "exchangeStatus"},
            {"type": "clearinghouseState", "user": u},
            {"type": "clearinghouseState", "user": u, "dex": "hyena"},
            {"type": "spotClearinghouseState", "user": u},
            {"type": "openOrders", "user": u},
            {"type": "frontendOpenOrders", "user": u},
            {"type": "userFills", "user": u},
            {"type": "userFillsByTime", "user": u, "startTime": 0, "endTime": 2**62},
            {"type": "userFunding", "user": u},
            {"type": "userRateLimit", "user": u},
            {"type": "orderStatus", "user": u, "oid": 1_000_001},
            {"type": "orderStatus", "user": u, "oid": CLOID},
            {"type": "historicalOrders", "user": u},
            {"type": "activeAssetData", "user": u, "coin": "HYPE"},
        ]

    def actions(self, nonce: int) -> list[dict[str, Any]]:
        order = {
            "a": HYPE,
            "b": True,
            "p": "24.5",
            "s": "1.0",
            "r": False,
            "t": {"limit": {"tif": "Gtc"}},
            "c": CLOID,
        }
        return [
            {"type": "order", "orders": [order], "grouping": "na"},
            {
                "type": "order",
                "orders": [{**order, "b": False, "p": "25.01", "t": {"limit": {"tif": "Ioc"}}}],
                "grouping": "na",
            },
            {"type": "cancel", "cancels": [{"a": HYPE, "o": 1_000_001}]},
            {"type": "cancelByCloid", "cancels": [{"asset": HYPE, "cloid": CLOID}]},
            {"type": "modify", "oid": CLOID, "order": {**order, "p": "24.4"}},
            {"type": "batchModify", "modifies": [{"oid": 1_000_001, "order": order}]},
            {"type": "updateLeverage", "asset": HYPE, "isCross": True, "leverage": 5},
            {"type": "updateIsolatedMargin", "asset": HYPE, "isBuy": True, "ntli": 1_000_000},
            {"type": "scheduleCancel", "time": nonce + 60_000},
            {"type": "noop"},
            {"type": "usdSend", "destination": self.other, "amount": "1.5", "time": nonce},
            {"type": "withdraw3", "destination": self.other, "amount": "1.0", "time": nonce},
            {
                "type": "approveAgent",
                "agentAddress": self.other,
                "agentName": "bot",
                "nonce": nonce,
            },
        ]

    def envelope(self, action: Any, nonce: int) -> dict[str, Any]:
        """``action`` signed by the account (as posted), or with a dummy signature when
        the mutated action cannot be signed."""
        sig: dict[str, Any] = {"r": "0x" + "11" * 32, "s": "0x" + "22" * 32, "v": 27}
        try:
            if isinstance(action, dict) and action.get("type") in (
                "usdSend",
                "withdraw3",
                "approveAgent",
            ):
                action, sig = sign_user_signed_action(self.signer, action, is_mainnet=False)
            else:
                sig = sign_l1_action(self.signer, action, nonce, is_mainnet=False)
        except Exception:  # the venue must answer whatever we post, signed or not
            pass
        return {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None}


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    v = Venue(tmp_path_factory.mktemp("venue") / "market")
    yield v
    v.close()


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()  # NaN / Infinity tokens too, as Python's json writes


def _mutated_bytes(data: st.DataObject, raw: bytes) -> bytes:
    if data.draw(st.booleans()):
        return mutate_bytes(data, raw)
    i = index(data, len(raw))
    return raw[:i] + data.draw(st.sampled_from(SPLICES)) + raw[i:]


def check_answer(r: httpx.Response) -> None:
    assert r.status_code in (200, 422), (r.status_code, r.text[:500])
    if r.status_code == 422:
        assert r.text.startswith(PREFIX_422), r.text[:500]
    else:
        r.json()


def check_venue_sound(venue: Venue) -> None:
    state = venue.info({"type": "clearinghouseState", "user": venue.user})
    for key in ("accountValue", "totalMarginUsed", "totalNtlPos", "totalRawUsd"):
        assert math.isfinite(float(state["marginSummary"][key])), state
    venue.info({"type": "l2Book", "coin": "HYPE"})
    venue.info({"type": "openOrders", "user": venue.user})


def check_info(data: st.DataObject, venue: Venue) -> None:
    body = data.draw(st.sampled_from(venue.info_bodies()), label="body")
    if data.draw(st.booleans(), label="as json"):
        raw = _json(mutate_doc(data, body, focus=[(k,) for k in body]))
    else:
        raw = _mutated_bytes(data, _json(body))
    r = venue.http.post("/info", content=raw, headers={"content-type": "application/json"})
    check_answer(r)


def check_exchange(data: st.DataObject, venue: Venue) -> None:
    nonce = venue.nonce()
    action = data.draw(st.sampled_from(venue.actions(nonce)), label="action")
    how = data.draw(st.sampled_from(["action", "action", "envelope", "bytes"]), label="how")
    if how == "action":  # mutate, then sign: the venue logic sees the mutated action
        focus = [(k,) for k in action] + [("orders", 0, k) for k in "abprstc"]
        body = venue.envelope(mutate_doc(data, action, focus=focus), nonce)
        raw = _json(body)
    elif how == "envelope":
        env = venue.envelope(action, nonce)
        raw = _json(mutate_doc(data, env, focus=[(k,) for k in env]))
    else:
        raw = _mutated_bytes(data, _json(venue.envelope(action, nonce)))
    r = venue.http.post("/exchange", content=raw, headers={"content-type": "application/json"})
    check_answer(r)
    if r.status_code == 200:
        assert r.json().get("status") in ("ok", "err"), r.text[:500]
    check_venue_sound(venue)


FAST = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG = settings(
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(data=st.data())
def test_info_bodies(data: st.DataObject, venue: Venue) -> None:
    check_info(data, venue)


@FAST
@given(data=st.data())
def test_exchange_bodies(data: st.DataObject, venue: Venue) -> None:
    check_exchange(data, venue)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@LONG
@given(data=st.data())
def test_info_bodies_long(data: st.DataObject, venue: Venue) -> None:
    check_info(data, venue)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@LONG
@given(data=st.data())
def test_exchange_bodies_long(data: st.DataObject, venue: Venue) -> None:
    check_exchange(data, venue)


# -- what the fuzzer found: each was an HTTP 500 before its fix ------------------------------
@pytest.mark.parametrize(
    ("endpoint", "raw"),
    [
        ("/info", b"[" * 5000),  # RecursionError in json.loads
        ("/exchange", b"[" * 5000),
        ("/info", b'{"type": "\\ud800"}'),  # a lone surrogate echoed into the 422 text
        ("/info", b'{"type": "l2Book", "coin": []}'),  # unhashable coin: TypeError
        ("/info", b'{"type": "activeAssetData", "user": "0x' + b"0" * 40 + b'", "coin": {}}'),
        # an action integer msgpack cannot pack: OverflowError while recovering the signer
        (
            "/exchange",
            b'{"action": {"type": "noop", "x": 18446744073709551616}, "nonce": 1,'
            b' "signature": {"r": "0x1", "s": "0x1", "v": 27}}',
        ),
    ],
)
def test_simulator_findings_are_422(venue: Venue, endpoint: str, raw: bytes) -> None:
    r = venue.http.post(endpoint, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert r.text.startswith(PREFIX_422)


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"1e999"])
def test_non_json_numbers_are_refused_as_the_venue_does(venue: Venue, token: bytes) -> None:
    r = venue.http.post("/info", content=b'{"type": "l2Book", "coin": "HYPE", "x": ' + token + b"}")
    assert r.status_code == 422 and "invalid JSON" in r.text
