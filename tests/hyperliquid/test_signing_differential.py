"""Our wire builders + signer against the official SDK (hyperliquid-python-sdk 0.24.0).

Seeded generation of >= 500 actions covering every action and option we build; for each,
the action dict must equal the SDK's (where the SDK builds it), and the signature must
equal the SDK's ``sign_l1_action`` / ``sign_user_signed_action`` (r, s as integers, v).
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk
from hyperliquid.utils.types import Cloid

from framework.hyperliquid import signing, wire
from framework.hyperliquid.errors import SigningError
from framework.hyperliquid.keys import Signer

N_ACTIONS = 520
KINDS = (
    "order",
    "cancel",
    "cancelByCloid",
    "modify",
    "batchModify",
    "updateLeverage",
    "scheduleCancel",
    "noop",
    "approveAgent",
    "usdSend",
    "withdraw3",
)


def _rand_price(rng: random.Random, sz_dec: int) -> Decimal:
    raw = Decimal(str(round(10 ** rng.uniform(max(-3, sz_dec - 5), 5.2), 9)))
    return wire.round_price(raw, sz_dec, rng.random() < 0.5)


def _rand_size(rng: random.Random, sz_dec: int) -> Decimal:
    units = rng.randint(1, 10**6)
    return Decimal(units).scaleb(-sz_dec).normalize()


def _rand_order(rng: random.Random, cloid_counter: list[int]):
    """(our wire dict, SDK OrderRequest, asset)."""
    sz_dec = rng.randint(0, 5)
    asset = rng.choice([0, 1, 7, 159, 110000, 110003, 120042])
    px = _rand_price(rng, sz_dec)
    sz = _rand_size(rng, sz_dec)
    is_buy = rng.random() < 0.5
    reduce_only = rng.random() < 0.3
    if rng.random() < 0.7:
        tif = rng.choice(wire.TIFS)
        ours_t = wire.limit(tif)
        sdk_t = {"limit": {"tif": tif}}
    else:
        tpx = _rand_price(rng, sz_dec)
        is_market = rng.random() < 0.5
        tpsl = rng.choice(wire.TPSL)
        ours_t = wire.trigger(tpx, is_market, tpsl)
        sdk_t = {"trigger": {"triggerPx": float(tpx), "isMarket": is_market, "tpsl": tpsl}}
    cloid = None
    if rng.random() < 0.6:
        cloid_counter[0] += rng.randint(1, 1 << 40)
        cloid = wire.cloid_from_int(cloid_counter[0])
    ours = wire.order_wire(asset, is_buy, px, sz, reduce_only, ours_t, cloid)
    req = {
        "coin": "X",
        "is_buy": is_buy,
        "sz": float(sz),
        "limit_px": float(px),
        "order_type": sdk_t,
        "reduce_only": reduce_only,
        "cloid": Cloid.from_str(cloid) if cloid else None,
    }
    return ours, sdk.order_request_to_order_wire(req, asset)


def _addr(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def _gen(rng: random.Random, kind: str, counter: list[int]):
    """(our action, SDK-built action or None when the SDK has no builder for it)."""
    if kind == "order":
        pairs = [_rand_order(rng, counter) for _ in range(rng.choice([1, 1, 2, 3, 5]))]
        grouping = rng.choice(wire.GROUPINGS)
        builder = {"b": _addr(rng), "f": rng.randint(0, 100)} if rng.random() < 0.3 else None
        ours = wire.order_action([p[0] for p in pairs], grouping, builder)
        theirs = sdk.order_wires_to_order_action([p[1] for p in pairs], builder, grouping)
        return ours, theirs
    if kind == "cancel":
        cs = [(rng.randint(0, 200), rng.randint(1, 1 << 50)) for _ in range(rng.randint(1, 4))]
        theirs = {"type": "cancel", "cancels": [{"a": a, "o": o} for a, o in cs]}
        return wire.cancel_action(cs), theirs
    if kind == "cancelByCloid":
        cs = [(rng.randint(0, 200), wire.cloid_from_int(rng.getrandbits(128))) for _ in range(3)]
        theirs = {
            "type": "cancelByCloid",
            "cancels": [{"asset": a, "cloid": Cloid.from_str(c).to_raw()} for a, c in cs],
        }
        return wire.cancel_by_cloid_action(cs), theirs
    if kind in ("modify", "batchModify"):
        n = 1 if kind == "modify" else rng.randint(1, 4)
        mods, sdk_mods = [], []
        for _ in range(n):
            ours_o, sdk_o = _rand_order(rng, counter)
            oid = (
                rng.randint(1, 1 << 50)
                if rng.random() < 0.5
                else wire.cloid_from_int(rng.getrandbits(128))
            )
            mods.append((oid, ours_o))
            sdk_mods.append({"oid": oid, "order": sdk_o})
        if kind == "modify":
            return wire.modify_action(*mods[0]), {"type": "modify", **sdk_mods[0]}
        return wire.batch_modify_action(mods), {"type": "batchModify", "modifies": sdk_mods}
    if kind == "updateLeverage":
        a, c, lev = rng.randint(0, 120042), rng.random() < 0.5, rng.randint(1, 50)
        theirs = {"type": "updateLeverage", "asset": a, "isCross": c, "leverage": lev}
        return wire.update_leverage_action(a, c, lev), theirs
    if kind == "scheduleCancel":
        t = rng.randint(1_700_000_000_000, 1_800_000_000_000) if rng.random() < 0.5 else None
        theirs = {"type": "scheduleCancel"}
        if t is not None:
            theirs["time"] = t
        return wire.schedule_cancel_action(t), theirs
    if kind == "noop":
        return wire.noop_action(), {"type": "noop"}
    nonce = rng.randint(1_700_000_000_000, 1_800_000_000_000)
    if kind == "approveAgent":
        name = rng.choice([None, "", "mm-bot", "agent 7"])
        agent = _addr(rng)
        theirs = {
            "type": "approveAgent",
            "agentAddress": agent,
            "agentName": name or "",
            "nonce": nonce,
        }
        return wire.approve_agent_action(agent, nonce, name), theirs
    dest, amount = _addr(rng), Decimal(rng.randint(1, 10**8)).scaleb(-rng.randint(0, 6)).normalize()
    theirs = {"destination": dest, "amount": str(float(amount)), "time": nonce, "type": kind}
    ours = (wire.usd_send_action if kind == "usdSend" else wire.withdraw_action)(
        dest, amount, nonce
    )
    return ours, theirs


def _cases():
    rng = random.Random(20261124)
    counter = [0]
    for i in range(N_ACTIONS):
        kind = KINDS[i % len(KINDS)]
        ours, theirs = _gen(rng, kind, counter)
        yield (
            i,
            kind,
            ours,
            theirs,
            rng.randint(1_700_000_000_000, 1_800_000_000_000),
            _addr(rng) if rng.random() < 0.3 else None,
            rng.randint(1_700_000_000_000, 1_800_000_000_000) if rng.random() < 0.3 else None,
            rng.random() < 0.5,
        )


KEY = "0x" + "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"[:64]


@pytest.fixture(scope="module")
def keys():
    return Signer.from_private_key(KEY), Account.from_key(KEY)


def _same_sig(a: dict, b: dict) -> bool:
    return (
        int(a["r"], 16) == int(b["r"], 16)
        and int(a["s"], 16) == int(b["s"], 16)
        and a["v"] == b["v"]
    )


def test_differential_against_sdk(keys):
    ours_signer, sdk_wallet = keys
    seen: dict[str, int] = {}
    options: set[tuple] = set()
    for i, kind, ours, theirs, nonce, vault, expires, mainnet in _cases():
        seen[kind] = seen.get(kind, 0) + 1
        if kind in signing.USER_SIGNED_TYPES:
            posted, sig = signing.sign_user_signed_action(ours_signer, ours, is_mainnet=mainnet)
            primary, fields = signing.USER_SIGNED_TYPES[kind]
            if kind in ("usdSend", "withdraw3"):
                # the SDK formats amount with str(float) ("1.0"); sign ours with the SDK too
                theirs = {**theirs, "amount": ours["amount"]}
            sdk_sig = sdk.sign_user_signed_action(
                sdk_wallet, dict(theirs), fields, primary, mainnet
            )
            assert _same_sig(sig, sdk_sig), (i, kind, ours, theirs)
            assert signing.recover_user_signed_signer(posted, sig, mainnet) == ours_signer.address
            options.add((kind, mainnet))
            continue
        assert ours == theirs, (i, kind)
        assert list(ours) == list(theirs), (i, kind, "key order")
        sig = signing.sign_l1_action(ours_signer, ours, nonce, vault, expires, is_mainnet=mainnet)
        sdk_sig = sdk.sign_l1_action(sdk_wallet, theirs, vault, nonce, expires, mainnet)
        assert _same_sig(sig, sdk_sig), (i, kind)
        assert sig == sdk_sig  # same unpadded hex strings too
        if i % 5 == 0:
            got = signing.recover_l1_signer(ours, nonce, vault, expires, sig, mainnet)
            assert got == ours_signer.address
            wrong_net = signing.recover_l1_signer(ours, nonce, vault, expires, sig, not mainnet)
            assert wrong_net != ours_signer.address
        options.add((kind, vault is not None, expires is not None, mainnet))
    assert sum(seen.values()) >= 500
    assert set(seen) == set(KINDS)
    # each L1 kind seen with vault, expiresAfter and both networks
    for kind in KINDS[:8]:
        assert any(o[0] == kind and o[1] for o in options), kind
        assert any(o[0] == kind and o[2] for o in options), kind
        assert {o[3] for o in options if o[0] == kind} == {True, False}, kind


def test_generated_orders_cover_every_option():
    tifs, tpsl, groupings, flags = set(), set(), set(), set()
    for _i, kind, ours, *_ in _cases():
        if kind != "order":
            continue
        groupings.add(ours["grouping"])
        flags.add(("builder", "builder" in ours))
        for o in ours["orders"]:
            flags.add(("cloid", "c" in o))
            if "limit" in o["t"]:
                tifs.add(o["t"]["limit"]["tif"])
            else:
                tpsl.add((o["t"]["trigger"]["tpsl"], o["t"]["trigger"]["isMarket"]))
    assert tifs == {"Alo", "Gtc", "Ioc"}
    assert {t for t, _ in tpsl} == {"tp", "sl"}
    assert groupings == set(wire.GROUPINGS)
    assert flags == {("builder", True), ("builder", False), ("cloid", True), ("cloid", False)}


def test_l1_digest_equals_encode_typed_data(keys):
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    action = wire.order_action(
        [wire.order_wire(3, False, "0.0147", "100", True, wire.limit("Gtc"))]
    )
    for mainnet in (True, False):
        cid = signing.action_hash(action, 1, None, None)
        msg = encode_typed_data(full_message=signing.l1_typed_data(cid, mainnet))
        assert _hash_eip191_message(msg) == signing.l1_digest(action, 1, None, None, mainnet)


def test_tampered_action_recovers_other_address(keys):
    signer, _ = keys
    action = wire.order_action(
        [wire.order_wire(0, True, "1900.5", "0.1", False, wire.limit("Alo"))]
    )
    sig = signing.sign_l1_action(signer, action, 7, is_mainnet=False)
    assert signing.recover_l1_signer(action, 7, None, None, sig, False) == signer.address
    tampered = {**action, "grouping": "normalTpsl"}
    assert signing.recover_l1_signer(tampered, 7, None, None, sig, False) != signer.address
    reordered = {"orders": action["orders"], "type": "order", "grouping": "na"}
    assert signing.recover_l1_signer(reordered, 7, None, None, sig, False) != signer.address
    assert signing.recover_l1_signer(action, 8, None, None, sig, False) != signer.address


def test_action_with_float_or_none_is_refused(keys):
    signer, _ = keys
    with pytest.raises(SigningError, match=r"action.orders\[0\].p is a float"):
        signing.sign_l1_action(
            signer, {"type": "order", "orders": [{"a": 0, "p": 1.5}]}, 1, is_mainnet=False
        )
    with pytest.raises(SigningError, match=r"action\.time is None"):
        signing.sign_l1_action(
            signer, {"type": "scheduleCancel", "time": None}, 1, is_mainnet=False
        )
    with pytest.raises(SigningError, match="is_mainnet"):
        signing.l1_digest({"type": "noop"}, 1, None, None, "mainnet")  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [2**64, -(2**63) - 1, 10**30])
def test_an_int_msgpack_cannot_hold_is_a_signing_error_naming_the_field(keys, n):
    signer, _ = keys
    with pytest.raises(SigningError, match=r"action\.time = .* 64-bit"):
        signing.sign_l1_action(signer, {"type": "scheduleCancel", "time": n}, 1, is_mainnet=False)
    # The bounds themselves still sign.
    for ok in (2**64 - 1, -(2**63)):
        signing.sign_l1_action(signer, {"type": "scheduleCancel", "time": ok}, 1, is_mainnet=False)


def test_bad_signature_is_a_signing_error():
    with pytest.raises(SigningError, match="signature"):
        signing.recover_l1_signer({"type": "noop"}, 1, None, None, {"r": "zz"}, False)
    with pytest.raises(SigningError, match="Unable to recover signer"):
        signing.recover_l1_signer(
            {"type": "noop"}, 1, None, None, {"r": "0x0", "s": "0x0", "v": 27}, False
        )


def test_unnamed_agent_is_signed_with_empty_name_and_posted_without(keys):
    signer, wallet = keys
    action = wire.approve_agent_action("0x" + "ab" * 20, 1_700_000_000_000)
    posted, sig = signing.sign_user_signed_action(signer, action, is_mainnet=True)
    assert "agentName" not in posted
    assert posted["hyperliquidChain"] == "Mainnet" and posted["signatureChainId"] == "0x66eee"
    sdk_action = {
        "type": "approveAgent",
        "agentAddress": "0x" + "ab" * 20,
        "agentName": "",
        "nonce": 1_700_000_000_000,
    }
    assert _same_sig(sig, sdk.sign_agent(wallet, sdk_action, True))
    assert signing.recover_user_signed_signer(posted, sig, True) == signer.address
    assert signing.recover_user_signed_signer(posted, sig, False) != signer.address
