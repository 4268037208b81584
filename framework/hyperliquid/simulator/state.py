"""The simulated venue's state: accounts, clearinghouses, orders, fills, funding, nonces.

:class:`Exchange` is synchronous and single-threaded (the app calls it from one asyncio
loop).  It answers ``/info`` bodies and verified ``/exchange`` envelopes in the shapes of
the protocol reference (§2, §4) and tells a :class:`Sink` what to push on the WebSocket.

Accounts: an address becomes an account (with ``default_balance`` USDC in every dex's
clearinghouse) when a request *names* it (an info user query, a WS user subscription,
``--deposit``, ``/admin/deposit``) or when it signs ``approveAgent``.  A signed L1 action
whose recovered signer is not an account or an approved agent is refused with the
venue's ``User or API Wallet ... does not exist`` -- auto-creating accounts from recovered
signers would hide every signing bug (a bad signature recovers a random address).
``SimConfig.auto_accounts`` (``--auto-accounts``) turns that convenience on anyway.
An account that never held USDC (deposited 0, nothing received) gets ``Must deposit``.

Margin (simplified cross margin per dex): account value = balance + unrealised PnL at
mark; margin used = |szi| * mark / leverage; resting orders reserve
max(buy notional, sell notional) / leverage per coin.  No liquidations.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from framework.hyperliquid import signing, wire
from framework.hyperliquid.errors import SigningError, WireError
from framework.hyperliquid.simulator import errors as E
from framework.hyperliquid.simulator.accounts import Account
from framework.hyperliquid.simulator.config import Listing, SimConfig, build_listings
from framework.hyperliquid.simulator.errors import Reject
from framework.hyperliquid.simulator.limits import batch_length
from framework.hyperliquid.simulator.matching import EPS, CoinBook, UserOrder
from framework.hyperliquid.simulator.numbers import now_ms, px_s, s
from framework.hyperliquid.simulator.validation import (
    USER_SIGNED_TYPES,
    Envelope,
    OrderSpec,
    oid_or_cloid,
    parse_order,
)
from framework.hyperliquid.simulator.views import InfoViews

NONCE_KEEP = 100
NONCE_PAST_MS = 2 * 86_400_000
NONCE_FUTURE_MS = 86_400_000
HOUR_NS = 3_600_000_000_000
MARKET_USER = "0x0000000000000000000000000000000000000000"
SCHEDULE_MIN_MS = 5_000
SCHEDULE_MAX_PER_DAY = 10
MAX_FILLS_KEPT = 10_000


class Sink:
    """What the state tells the WebSocket layer; the default does nothing."""

    def order_updates(self, user: str, updates: list[dict[str, Any]]) -> None: ...
    def user_fills(self, user: str, fills: list[dict[str, Any]]) -> None: ...
    def user_funding(self, user: str, funding: dict[str, Any]) -> None: ...
    def book_changed(self, coin: str) -> None: ...
    def trades(self, coin: str, trades: list[dict[str, Any]]) -> None: ...
    def ctx_changed(self, coin: str) -> None: ...


class Exchange(InfoViews):
    """The venue.  See the module docstring for the account and margin model."""

    def __init__(
        self, config: SimConfig, sink: Sink | None = None, clock_ms: Callable[[], int] = now_ms
    ) -> None:
        self.config = config
        self.sink = sink or Sink()
        self.clock_ms = clock_ms
        self.dex_names = [d.name for d in config.dexes]
        self.listings = build_listings(config.dexes)
        self.by_asset = {x.asset: x for x in self.listings}
        self.by_name = {x.name: x for x in self.listings}
        self.books = {x.name: CoinBook(x.name) for x in self.listings}
        self.ctx: dict[str, dict[str, float | None]] = {}
        self.last_trade: dict[str, float] = {}
        self.accounts: dict[str, Account] = {}
        self.agents: dict[str, str] = {}  # agent address -> account address
        self.agent_names: dict[tuple[str, str], str] = {}  # (account, name) -> agent
        self.nonces: dict[str, list[int]] = {}
        self._oid = 1_000_000
        self._tid = 10_000_000
        self.market_ns: int | None = None
        for addr, usdc in config.deposits.items():
            self.account(addr, balance=usdc)

    # ---- accounts -----------------------------------------------------------------------
    def account(self, address: str, *, balance: float | None = None) -> Account:
        """The account at ``address``, created with the default (or given) balance."""
        a = address.lower()
        acct = self.accounts.get(a)
        if acct is None:
            bal = self.config.default_balance if balance is None else balance
            acct = self.accounts[a] = Account(a, bal, self.dex_names, self.config.initial_budget)
        elif balance is not None:
            for c in acct.clearing.values():
                c.balance = balance
            acct.funded = acct.funded or balance > 0
        return acct

    def leverage(self, acct: Account, x: Listing) -> tuple[str, int]:
        lev = acct.clearing[x.dex].leverage.get(x.name)
        if lev is None:
            lev = (
                "isolated" if x.only_isolated else "cross",
                min(self.config.default_leverage, x.max_leverage),
            )
        return lev

    # ---- market data --------------------------------------------------------------------
    def mid(self, coin: str) -> float | None:
        b = self.books[coin]
        bid, ask = b.best(+1), b.best(-1)
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return self.last_trade.get(coin)

    def mark(self, coin: str) -> float | None:
        c = self.ctx.get(coin)
        if c and c.get("mark_px"):
            return c["mark_px"]
        return self.mid(coin)

    def on_market_time(self, ts_ns: int) -> None:
        """Advance market time; settles funding on every hour boundary crossed."""
        prev = self.market_ns
        self.market_ns = ts_ns
        if prev is not None and ts_ns // HOUR_NS > prev // HOUR_NS:
            self.settle_funding()

    def on_book(
        self,
        coin: str,
        bid_px: list[float],
        bid_sz: list[float],
        bid_n: list[int],
        ask_px: list[float],
        ask_sz: list[float],
        ask_n: list[int],
    ) -> None:
        fills = self.books[coin].set_snapshot(bid_px, bid_sz, bid_n, ask_px, ask_sz, ask_n)
        self._maker_fills(coin, fills)
        self.sink.book_changed(coin)

    def on_trade(
        self, coin: str, side: int, px: float, sz: float, tid: int, hash_: str | None
    ) -> None:
        self.last_trade[coin] = px
        t = self.clock_ms()
        trade = _trade(coin, side, px, sz, t, hash_ or "0x" + "0" * 64, tid, MARKET_USER)
        self.sink.trades(coin, [trade])
        fills = self.books[coin].on_trade(side, px, sz)
        if fills:
            self._maker_fills(coin, fills)
            self.sink.book_changed(coin)

    def on_ctx(
        self,
        coin: str,
        mark: float,
        oracle: float,
        mid: float | None,
        funding: float,
        premium: float | None,
        oi: float | None,
        day_ntl: float | None,
    ) -> None:
        self.ctx[coin] = {
            "mark_px": mark,
            "oracle_px": oracle,
            "mid_px": mid,
            "funding": funding,
            "premium": premium,
            "open_interest": oi,
            "day_ntl_vlm": day_ntl,
        }
        self.sink.ctx_changed(coin)

    def _maker_fills(self, coin: str, fills: list) -> None:
        x = self.by_name[coin]
        for o, px, sz, _rule in fills:
            if o is not None:
                self._maker_fill(x, o, px, sz)

    def _maker_fill(self, x: Listing, o: UserOrder, px: float, sz: float) -> None:
        """Book a fill of resting order ``o`` (its size already reduced by the book)."""
        acct = self.accounts[o.user]
        self._fill(acct, x, o, o.side, px, sz, crossed=False)
        if o.sz <= EPS:
            self.books[x.name].remove(o.oid)
            self._finish(acct, o, "filled")
        else:
            self._push_order(acct, o)

    # ---- funding ------------------------------------------------------------------------
    def settle_funding(self) -> None:
        """Hourly funding: longs pay ``szi * oracle * rate`` when the rate is positive."""
        t = self.clock_ms()
        for acct in self.accounts.values():
            for clearing in acct.clearing.values():
                for coin, p in clearing.positions.items():
                    ctx = self.ctx.get(coin)
                    if abs(p.szi) <= EPS or not ctx:
                        continue
                    oracle = ctx.get("oracle_px") or self.mark(coin) or 0.0
                    rate = ctx.get("funding") or 0.0
                    paid = p.szi * oracle * rate
                    clearing.balance -= paid
                    p.funding_all += paid
                    p.funding_open += paid
                    p.funding_change += paid
                    ev = {
                        "time": t,
                        "coin": coin,
                        "usdc": s(-paid, 6),
                        "szi": s(p.szi),
                        "fundingRate": s(rate, 10),
                    }
                    acct.funding.append(ev)
                    self.sink.user_funding(acct.address, ev)

    # ---- signed requests ----------------------------------------------------------------
    def exchange(self, env: Envelope) -> dict[str, Any]:
        """Verify and execute one /exchange envelope; returns the JSON response body.

        Raises
        ------
        Undeserializable
            For an action whose elements do not parse (HTTP 422).
        """
        try:
            return self._exchange(env)
        except Reject as r:
            return {"status": "err", "response": r.text}

    def _exchange(self, env: Envelope) -> dict[str, Any]:
        a = env.action
        kind = a["type"]
        mainnet = self.config.mainnet
        try:
            if kind in USER_SIGNED_TYPES:
                signer = signing.recover_user_signed_signer(a, env.signature, mainnet)
            else:
                signer = signing.recover_l1_signer(
                    a, env.nonce, env.vault_address, env.expires_after, env.signature, mainnet
                )
        except SigningError:
            raise Reject(E.UNRECOVERABLE) from None
        now = self.clock_ms()
        if kind == "approveAgent":
            return self._approve_agent(signer, env, now)
        if kind in USER_SIGNED_TYPES:
            return self._transfer(signer, env, now)
        user = self.agents.get(signer, signer)
        acct = self.accounts.get(user)
        if acct is None and self.config.auto_accounts:
            acct = self.account(user)
        if acct is None:
            raise Reject(E.UNKNOWN_SIGNER.format(address=signer))
        if not acct.funded:
            raise Reject(E.MUST_DEPOSIT.format(address=acct.address))
        if env.vault_address is not None:
            raise Reject(E.VAULT_UNSUPPORTED)
        self._check_nonce(signer, env.nonce, now)
        if env.expires_after is not None and env.expires_after < now:
            # stale actions consume 5x address budget (reference §6.2)
            acct.budget.charge(5, acct.cum_vlm, time.monotonic(), cancel=True)
            raise Reject(E.EXPIRED.format(expires_after=env.expires_after, now=now))
        self._charge_budget(acct, batch_length(a), cancel=kind in ("cancel", "cancelByCloid"))
        handler = getattr(self, f"_act_{kind}", None)
        if handler is None:
            raise Reject(E.UNSUPPORTED_ACTION.format(type=kind))
        return handler(acct, a, now)

    @staticmethod
    def _charge_budget(acct: Account, n: int, *, cancel: bool) -> None:
        """Charge ``n`` requests to the address budget; reject when it is exhausted."""
        if not acct.budget.charge(n, acct.cum_vlm, time.monotonic(), cancel=cancel):
            raise Reject(
                E.ADDRESS_BUDGET.format(
                    used=acct.budget.used, cap=acct.budget.cap(acct.cum_vlm), vlm=s(acct.cum_vlm, 2)
                )
            )

    def _check_nonce(self, signer: str, nonce: int, now: int) -> None:
        if not now - NONCE_PAST_MS < nonce < now + NONCE_FUTURE_MS:
            raise Reject(
                E.NONCE_WINDOW.format(nonce=nonce, lo=now - NONCE_PAST_MS, hi=now + NONCE_FUTURE_MS)
            )
        used = self.nonces.setdefault(signer, [])
        i = bisect.bisect_left(used, nonce)
        if i < len(used) and used[i] == nonce:
            raise Reject(E.NONCE_REUSED.format(nonce=nonce, signer=signer))
        if len(used) >= NONCE_KEEP and nonce <= used[0]:
            raise Reject(E.NONCE_TOO_LOW.format(nonce=nonce, signer=signer, smallest=used[0]))
        used.insert(i, nonce)
        if len(used) > NONCE_KEEP:
            del used[0]

    def _approve_agent(self, signer: str, env: Envelope, now: int) -> dict[str, Any]:
        a = env.action
        if signer in self.agents:
            raise Reject(E.AGENT_SIGNED_USER_ACTION.format(type="approveAgent"))
        if env.nonce != a["nonce"]:
            raise Reject(E.USER_NONCE_MISMATCH.format(nonce=env.nonce, action_nonce=a["nonce"]))
        acct = self.account(signer)  # the owner signed it: a real account
        self._check_nonce(signer, env.nonce, now)
        agent = a["agentAddress"].lower()
        name = a.get("agentName", "")
        old = self.agent_names.get((acct.address, name))
        if old is not None:
            self.agents.pop(old, None)
        self.agent_names[(acct.address, name)] = agent
        self.agents[agent] = acct.address
        return {"status": "ok", "response": {"type": "default"}}

    def _transfer(self, signer: str, env: Envelope, now: int) -> dict[str, Any]:
        """``usdSend`` (to another account's main-dex balance) and ``withdraw3`` (out)."""
        a = env.action
        if signer in self.agents:
            raise Reject(E.AGENT_SIGNED_USER_ACTION.format(type=a["type"]))
        acct = self.accounts.get(signer)
        if acct is None:
            raise Reject(E.UNKNOWN_SIGNER.format(address=signer))
        if env.nonce != a["time"]:
            raise Reject(E.USER_NONCE_MISMATCH.format(nonce=env.nonce, action_nonce=a["time"]))
        self._check_nonce(signer, env.nonce, now)
        self._charge_budget(acct, 1, cancel=False)
        amount = float(a["amount"])
        if not amount > 0:
            raise Reject(E.TRANSFER_AMOUNT.format(amount=a["amount"]))
        free = self.available(acct, "")
        if amount > free + 1e-9:
            raise Reject(E.TRANSFER_INSUFFICIENT.format(amount=a["amount"], free=s(free, 6)))
        acct.clearing[""].balance -= amount
        if a["type"] == "usdSend":
            dest = self.account(a["destination"])
            dest.clearing[""].balance += amount
            dest.funded = True
        return {"status": "ok", "response": {"type": "default"}}

    # ---- actions ------------------------------------------------------------------------
    def _act_noop(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        return {"status": "ok", "response": {"type": "default"}}

    def _act_order(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        statuses = [
            self.place(acct, parse_order(o, f"action.orders[{i}]"), now)
            for i, o in enumerate(a["orders"])
        ]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}

    def _act_cancel(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        statuses = [self.cancel(acct, c["a"], c["o"], now) for c in a["cancels"]]
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}

    def _act_cancelByCloid(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        statuses = [self.cancel(acct, c["asset"], c["cloid"].lower(), now) for c in a["cancels"]]
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}

    def _act_modify(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        st = self.modify(
            acct, oid_or_cloid(a["oid"], "action.oid"), parse_order(a["order"], "action.order"), now
        )
        if isinstance(st, dict) and "error" in st:
            raise Reject(st["error"])
        return {"status": "ok", "response": {"type": "default"}}

    def _act_batchModify(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        statuses = [
            self.modify(
                acct,
                oid_or_cloid(m["oid"], f"action.modifies[{i}].oid"),
                parse_order(m["order"], f"action.modifies[{i}].order"),
                now,
            )
            for i, m in enumerate(a["modifies"])
        ]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}

    def _act_updateLeverage(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        x = self.by_asset.get(a["asset"])
        if x is None:
            raise Reject(E.LEVERAGE_UNKNOWN_ASSET.format(asset=a["asset"]))
        lev = a["leverage"]
        if not 1 <= lev <= x.max_leverage:
            raise Reject(E.LEVERAGE_INVALID.format(leverage=lev, asset=x.name, max=x.max_leverage))
        if a["isCross"] and x.only_isolated:
            raise Reject(E.CROSS_NOT_ALLOWED)
        acct.clearing[x.dex].leverage[x.name] = ("cross" if a["isCross"] else "isolated", lev)
        return {"status": "ok", "response": {"type": "default"}}

    def _act_updateIsolatedMargin(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        if a["asset"] not in self.by_asset:
            raise Reject(E.LEVERAGE_UNKNOWN_ASSET.format(asset=a["asset"]))
        return {"status": "ok", "response": {"type": "default"}}

    def _act_scheduleCancel(self, acct: Account, a: dict, now: int) -> dict[str, Any]:
        t = a.get("time")
        if t is None:
            acct.schedule_ms = None
        else:
            if t < now + SCHEDULE_MIN_MS:
                raise Reject(E.SCHEDULE_TOO_EARLY)
            if acct.schedule_day == _utc_day(now) and acct.schedule_count >= SCHEDULE_MAX_PER_DAY:
                raise Reject(E.SCHEDULE_TOO_MANY)
            acct.schedule_ms = t
        return {"status": "ok", "response": {"type": "default"}}

    def run_scheduled_cancels(self) -> None:
        """Cancel every open order of accounts whose scheduleCancel time has come."""
        now = self.clock_ms()
        for acct in self.accounts.values():
            if acct.schedule_ms is not None and now >= acct.schedule_ms:
                acct.schedule_ms = None
                day = _utc_day(now)
                if acct.schedule_day != day:
                    acct.schedule_day, acct.schedule_count = day, 0
                acct.schedule_count += 1
                for o in list(acct.open.values()):
                    self.books[o.coin].remove(o.oid)
                    self._finish(acct, o, "scheduledCancel")
                    self.sink.book_changed(o.coin)

    # ---- orders -------------------------------------------------------------------------
    def _new_oid(self) -> int:
        self._oid += 1
        return self._oid

    def place(self, acct: Account, spec: OrderSpec, now: int) -> Any:
        """Validate and execute one order (reference §7.3 order); returns its status."""
        x = self.by_asset.get(spec.asset)
        if x is None:
            return {"error": E.UNKNOWN_ASSET.format(asset=spec.asset)}
        if len(acct.open) >= self.config.open_order_cap:
            return {
                "error": E.OPEN_ORDER_CAP.format(n=len(acct.open), cap=self.config.open_order_cap)
            }
        if spec.trigger is not None:
            if not _valid_trigger_px(spec.trigger.get("triggerPx"), x.sz_decimals):
                return {"error": E.BAD_TRIGGER_PX}
            return {"error": E.TRIGGER_UNSUPPORTED}
        if spec.cloid and spec.cloid in acct.by_cloid:
            # a cloid names one order for good: a resent place never makes a second one
            return {"error": E.DUPLICATE_CLOID.format(cloid=spec.cloid)}
        side = 1 if spec.is_buy else -1
        px, sz = float(spec.px), float(spec.sz)
        o = UserOrder(
            self._new_oid(),
            acct.address,
            x.name,
            x.dex,
            side,
            px,
            px_s(px) if px > 0 else spec.px,
            sz,
            spec.reduce_only,
            spec.tif or "Gtc",
            spec.cloid,
            now,
        )
        acct.orders[o.oid] = o
        if spec.cloid:
            acct.by_cloid[spec.cloid] = o.oid
        err = self._validate(acct, x, o, spec)
        if err is not None:
            return self._reject(acct, o, err)
        book = self.books[x.name]
        fills, self_canceled = ([], [])
        if o.tif != "Alo":
            fills, self_canceled = book.take(side, px, o.sz, acct.address)
        for c in self_canceled:
            book.remove(c.oid)
            self._finish(self.accounts[c.user], c, "selfTradeCanceled")
        filled = 0.0
        notional = 0.0
        for maker, fpx, fsz, _rule in fills:
            self._fill(acct, x, o, side, fpx, fsz, crossed=True)
            filled += fsz
            notional += fpx * fsz
            if maker is not None:
                self._maker_fill(x, maker, fpx, fsz)
        o.sz = max(0.0, o.sz - filled)
        if fills or self_canceled:
            self.sink.book_changed(x.name)
        if o.sz > EPS and o.tif in ("Gtc", "Alo"):
            book.rest(o)
            acct.open[o.oid] = o
            self._push_order(acct, o)
            self.sink.book_changed(x.name)
            out: dict[str, Any] = {"oid": o.oid}
            if o.cloid:
                out["cloid"] = o.cloid
            return {"resting": out}
        if filled <= EPS:
            err = E.MARKET_NO_LIQUIDITY if o.tif == "FrontendMarket" else E.IOC_CANCEL
            return self._reject(acct, o, err)
        self._finish(acct, o, "filled" if o.sz <= EPS else "canceled")
        out = {"totalSz": s(filled), "avgPx": px_s(notional / filled), "oid": o.oid}
        if o.cloid:
            out["cloid"] = o.cloid
        return {"filled": out}

    def _validate(self, acct: Account, x: Listing, o: UserOrder, spec: OrderSpec) -> str | None:
        if acct.address and self._take_fault():
            return E.FAULT_REJECT
        if not wire.is_valid_price(spec.px, x.sz_decimals):
            return E.TICK
        if not wire.is_valid_size(spec.sz, x.sz_decimals):
            return E.INVALID_SIZE
        oracle = (self.ctx.get(x.name) or {}).get("oracle_px")
        if oracle and abs(o.px / oracle - 1.0) > self.config.oracle_band:
            return E.ORACLE
        pos = acct.clearing[x.dex].pos(x.name).szi
        if not o.reduce_only and o.px * o.sz < 10.0 - 1e-9:
            return E.MIN_TRADE_NTL
        if o.reduce_only:
            if abs(pos) <= EPS or (pos > 0) == (o.side > 0):
                return E.REDUCE_ONLY
            o.sz = min(o.sz, abs(pos))
        book = self.books[x.name]
        if o.tif == "Alo":
            opp = book.best(-o.side)
            if opp is not None and (o.px >= opp if o.side > 0 else o.px <= opp):
                return E.bad_alo_px(book.best(+1), book.best(-1))
        if not self._margin_ok(acct, x, o, pos):
            return E.PERP_MARGIN
        return None

    #: set by the app: returns True when a fault says "reject the next order"
    _take_fault: Callable[[], bool] = staticmethod(lambda: False)

    def _margin_ok(self, acct: Account, x: Listing, o: UserOrder, pos: float) -> bool:
        reducible = abs(pos) if (pos > 0) != (o.side > 0) else 0.0
        increase = max(0.0, o.sz - reducible)
        if increase <= EPS:
            return True
        lev = self.leverage(acct, x)[1]
        available = self.available(acct, x.dex)
        # resting orders reserve max(buy notional, sell notional) per coin: the new order
        # needs only the growth of that reservation
        b, a = _resting_notional(acct, x.dex).get(x.name, (0.0, 0.0))
        before = max(b, a)
        after = max(b + o.px * increase, a) if o.side > 0 else max(b, a + o.px * increase)
        return (after - before) / lev <= available + 1e-9

    def _reject(self, acct: Account, o: UserOrder, text: str) -> dict[str, str]:
        self._finish(acct, o, E.reject_status(text))
        return {"error": text}

    def _finish(self, acct: Account, o: UserOrder, status: str) -> None:
        o.status = status
        o.status_ts = self.clock_ms()
        acct.open.pop(o.oid, None)
        self._push_order(acct, o)

    def _push_order(self, acct: Account, o: UserOrder) -> None:
        self.sink.order_updates(acct.address, [self.order_update(o)])

    def _resolve(self, acct: Account, ref: int | str) -> UserOrder | None:
        oid = acct.by_cloid.get(ref) if isinstance(ref, str) else ref
        return acct.open.get(oid) if oid is not None else None

    def cancel(self, acct: Account, asset: int, ref: int | str, now: int) -> Any:
        o = self._resolve(acct, ref)
        x = self.by_asset.get(asset)
        if o is None or x is None or o.coin != x.name:
            return {"error": E.CANCEL_MISSING}
        self.books[o.coin].remove(o.oid)
        self._finish(acct, o, "canceled")
        self.sink.book_changed(o.coin)
        return "success"

    def modify(self, acct: Account, ref: int | str, spec: OrderSpec, now: int) -> Any:
        """Cancel-and-replace: the new order gets a new oid; the old one stays if the new
        order fails validation (our choice; the reference does not say)."""
        old = self._resolve(acct, ref)
        if old is None:
            return {"error": E.MODIFY_MISSING}
        x = self.by_asset.get(spec.asset)
        if x is None or spec.trigger is not None:
            # refused whatever the book (unknown asset, trigger orders): the old order stays
            return self.place(acct, spec, now)
        probe = UserOrder(
            0,
            acct.address,
            x.name,
            x.dex,
            1 if spec.is_buy else -1,
            float(spec.px),
            spec.px,
            float(spec.sz),
            spec.reduce_only,
            spec.tif or "Gtc",
            spec.cloid,
            now,
        )
        # the old order's reservation must not count against its own replacement
        self.books[old.coin].remove(old.oid)
        acct.open.pop(old.oid, None)
        err = self._validate(acct, x, probe, spec)
        self.books[old.coin].orders[old.oid] = old
        acct.open[old.oid] = old
        if err is not None:
            return {"error": err}
        self.books[old.coin].remove(old.oid)
        self._finish(acct, old, "canceled")
        if spec.cloid and acct.by_cloid.get(spec.cloid) == old.oid:
            del acct.by_cloid[spec.cloid]
        return self.place(acct, spec, now)

    # ---- fills --------------------------------------------------------------------------
    def _fill(
        self,
        acct: Account,
        x: Listing,
        o: UserOrder,
        side: int,
        px: float,
        sz: float,
        *,
        crossed: bool,
    ) -> None:
        clearing = acct.clearing[x.dex]
        p = clearing.pos(x.name)
        start = p.szi
        closed = 0.0
        if abs(start) > EPS and (start > 0) != (side > 0):
            closing = min(sz, abs(start))
            closed = closing * (px - p.entry_px) * (1 if start > 0 else -1)
        new = start + side * sz
        if abs(new) <= EPS:
            new, p.entry_px = 0.0, 0.0
            p.funding_open = p.funding_change = 0.0
        elif abs(start) <= EPS or (start > 0) != (new > 0):
            p.entry_px = px
            p.funding_open = p.funding_change = 0.0
        elif (start > 0) == (side > 0):
            p.entry_px = (abs(start) * p.entry_px + sz * px) / (abs(start) + sz)
            p.funding_change = 0.0
        p.szi = new
        fee = px * sz * (self.config.taker_fee if crossed else self.config.maker_fee)
        clearing.balance += closed - fee
        acct.cum_vlm += px * sz
        self._tid += 1
        fill = {
            "coin": x.name,
            "px": px_s(px),
            "sz": s(sz),
            "side": "B" if side > 0 else "A",
            "time": self.clock_ms(),
            "startPosition": s(start),
            "dir": _direction(start, new),
            "closedPnl": s(closed, 6),
            "hash": f"0x{self._tid:064x}",
            "oid": o.oid,
            "crossed": crossed,
            "fee": s(fee, 6),
            "tid": self._tid,
            "feeToken": "USDC",
        }
        if o.cloid:
            fill["cloid"] = o.cloid
        acct.fills.append(fill)
        if len(acct.fills) > MAX_FILLS_KEPT:
            del acct.fills[: len(acct.fills) - MAX_FILLS_KEPT]
        self.sink.user_fills(acct.address, [fill])
        if crossed:  # a taker fill is a public trade; maker fills from market trades were
            # already published as that trade
            trade = _trade(
                x.name, side, px, sz, fill["time"], fill["hash"], self._tid, acct.address
            )
            self.sink.trades(x.name, [trade])

    # ---- summaries ----------------------------------------------------------------------
    def available(self, acct: Account, dex: str) -> float:
        """USDC free for new margin on ``dex``: value - position margin - order margin."""
        summ = self.summary(acct, dex)
        return summ["account_value"] - summ["margin_used"] - summ["order_margin"]

    def summary(self, acct: Account, dex: str) -> dict[str, float]:
        c = acct.clearing[dex]
        upnl = margin = ntl = 0.0
        for coin, p in c.positions.items():
            if abs(p.szi) <= EPS:
                continue
            m = self.mark(coin) or p.entry_px
            upnl += p.szi * (m - p.entry_px)
            ntl += abs(p.szi) * m
            margin += abs(p.szi) * m / self.leverage(acct, self.by_name[coin])[1]
        order_margin = 0.0
        for coin, (b, a) in _resting_notional(acct, dex).items():
            order_margin += max(b, a) / self.leverage(acct, self.by_name[coin])[1]
        return {
            "account_value": c.balance + upnl,
            "margin_used": margin,
            "ntl": ntl,
            "upnl": upnl,
            "order_margin": order_margin,
            "balance": c.balance,
        }


def _resting_notional(acct: Account, dex: str) -> dict[str, list[float]]:
    """Per coin of ``dex``: [buy, sell] notional of the account's resting non-reduce-only
    orders (what the margin reservation is computed from)."""
    per_coin: dict[str, list[float]] = {}
    for o in acct.open.values():
        if o.dex == dex and not o.reduce_only:
            per_coin.setdefault(o.coin, [0.0, 0.0])[0 if o.side > 0 else 1] += o.px * o.sz
    return per_coin


def _valid_trigger_px(tpx: Any, sz_decimals: int) -> bool:
    if not isinstance(tpx, str):
        return False
    try:
        return wire.is_valid_price(tpx, sz_decimals)
    except (WireError, ArithmeticError, ValueError):
        return False


def _trade(
    coin: str, side: int, px: float, sz: float, t: int, hash_: str, tid: int, taker: str
) -> dict[str, Any]:
    """A WS ``trades`` element; ``users`` is [buyer, seller] (the market is the zero user)."""
    return {
        "coin": coin,
        "side": "B" if side > 0 else "A",
        "px": px_s(px),
        "sz": s(sz),
        "time": t,
        "hash": hash_,
        "tid": tid,
        "users": [taker, MARKET_USER] if side > 0 else [MARKET_USER, taker],
    }


def _utc_day(ms: int) -> str:
    """The UTC date of a ms timestamp (the scheduled-cancel counter resets at 00:00 UTC)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _direction(start: float, new: float) -> str:
    if abs(start) <= EPS:
        return "Open Long" if new > 0 else "Open Short"
    if start > 0:
        if new > EPS:
            return "Open Long" if new > start else "Close Long"
        return "Close Long" if abs(new) <= EPS else "Long > Short"
    if new < -EPS:
        return "Open Short" if new < start else "Close Short"
    return "Close Short" if abs(new) <= EPS else "Short > Long"
