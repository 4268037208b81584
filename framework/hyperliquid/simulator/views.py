"""Info views: the ``/info`` answers and WS payloads built from the venue state.

A mixin of :class:`~framework.hyperliquid.simulator.state.Exchange`: every method reads
``self.listings``, ``self.books``, ``self.ctx``, ``self.accounts`` ... and returns the JSON
shapes of the protocol reference (§2, §3.3).  ``info(body)`` dispatches on ``body["type"]``
to ``_info_<type>``.
"""

from __future__ import annotations

from typing import Any

from framework.hyperliquid.simulator.accounts import Account
from framework.hyperliquid.simulator.errors import Undeserializable
from framework.hyperliquid.simulator.matching import EPS, UserOrder
from framework.hyperliquid.simulator.numbers import px_s, s


class InfoViews:
    def info(self, body: Any) -> tuple[Any, int]:
        """Answer an /info body; returns (response, number of items for weight).

        Raises
        ------
        Undeserializable
            Unknown request type or missing fields (HTTP 422).
        """
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise Undeserializable("body: missing field `type`")
        kind = body["type"]
        fn = getattr(self, f"_info_{kind}", None)
        if fn is None:
            raise Undeserializable(f"type: unknown variant `{kind}`")
        out = fn(body)
        return out, len(out) if isinstance(out, list) else 0

    def _user(self, body: dict) -> Account:
        u = body.get("user")
        if not isinstance(u, str) or not u.startswith("0x") or len(u) != 42:
            raise Undeserializable(f"user: {u!r} is not an address")
        u = u.lower()
        if u in self.agents:  # agent addresses have no state of their own
            return Account(u, 0.0, self.dex_names, 0)
        return self.account(u)

    def _dex(self, body: dict) -> str:
        d = body.get("dex") or ""
        if d not in self.dex_names:
            raise Undeserializable(f"dex: unknown perp dex {d!r}; known: {self.dex_names}")
        return d

    def meta(self, dex: str) -> dict[str, Any]:
        uni = []
        for x in self.listings:
            if x.dex != dex:
                continue
            e: dict[str, Any] = {
                "name": x.name,
                "szDecimals": x.sz_decimals,
                "maxLeverage": x.max_leverage,
                "marginTableId": x.max_leverage,
            }
            if x.only_isolated:
                e["onlyIsolated"] = True
                e["marginMode"] = "noCross"
            uni.append(e)
        tables = sorted({x.max_leverage for x in self.listings if x.dex == dex})
        out: dict[str, Any] = {
            "universe": uni,
            "marginTables": [
                [t, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": t}]}]
                for t in tables
            ],
        }
        if dex:
            out["collateralToken"] = 0
        return out

    def _info_meta(self, body: dict) -> Any:
        return self.meta(self._dex(body))

    def asset_ctx(self, coin: str) -> dict[str, Any]:
        c = self.ctx.get(coin, {})
        book = self.books[coin]
        mid = self.mid(coin)
        mark = self.mark(coin)
        bid, ask = book.best(+1), book.best(-1)
        return {
            "dayNtlVlm": s(c.get("day_ntl_vlm") or 0.0, 2),
            "funding": s(c.get("funding") or 0.0, 10),
            "impactPxs": [px_s(bid), px_s(ask)] if bid is not None and ask is not None else None,
            "markPx": px_s(mark) if mark is not None else "0.0",
            "midPx": px_s(mid) if mid is not None else None,
            "openInterest": s(c.get("open_interest") or 0.0),
            "oraclePx": px_s(c.get("oracle_px") or mark) if (c.get("oracle_px") or mark) else "0.0",
            "premium": s(c.get("premium"), 10) if c.get("premium") is not None else None,
            "prevDayPx": px_s(mark) if mark is not None else "0.0",
            "dayBaseVlm": "0.0",
        }

    def _info_metaAndAssetCtxs(self, body: dict) -> Any:
        dex = self._dex(body)
        return [self.meta(dex), [self.asset_ctx(x.name) for x in self.listings if x.dex == dex]]

    def _info_perpDexs(self, body: dict) -> Any:
        out: list[Any] = [None]
        for d in self.config.dexes[1:]:
            coins = [f"{d.name}:{c[0]}" for c in d.coins]
            out.append(
                {
                    "name": d.name,
                    "fullName": d.full_name,
                    "deployer": "0x" + "11" * 20,
                    "oracleUpdater": None,
                    "feeRecipient": None,
                    "assetToStreamingOiCap": [[c, "1000000.0"] for c in coins],
                    "assetToFundingMultiplier": [[c, "1.0"] for c in coins],
                }
            )
        return out

    def _info_spotMeta(self, body: dict) -> Any:
        return {
            "universe": [],
            "tokens": [
                {
                    "name": "USDC",
                    "szDecimals": 8,
                    "weiDecimals": 8,
                    "index": 0,
                    "tokenId": "0x" + "00" * 16,
                    "isCanonical": True,
                }
            ],
        }

    def all_mids(self, dex: str) -> dict[str, str]:
        out = {}
        for x in self.listings:
            if x.dex == dex:
                m = self.mid(x.name)
                if m is not None:
                    out[x.name] = px_s(m)
        return out

    def _info_allMids(self, body: dict) -> Any:
        return self.all_mids(self._dex(body))

    def l2_book(self, coin: str) -> dict[str, Any]:
        book = self.books[coin]
        return {
            "coin": coin,
            "time": self.clock_ms(),
            "levels": [
                [{"px": px_s(p), "sz": s(z), "n": n} for p, z, n in book.levels(side)]
                for side in (+1, -1)
            ],
        }

    def bbo(self, coin: str) -> dict[str, Any]:
        book = self.books[coin]
        lv = [book.levels(side, 1) for side in (+1, -1)]
        return {
            "coin": coin,
            "time": self.clock_ms(),
            "bbo": [
                {"px": px_s(v[0][0]), "sz": s(v[0][1]), "n": v[0][2]} if v else None for v in lv
            ],
        }

    def _coin(self, body: dict) -> str:
        """The request's listed ``coin`` (a string: a list or object is no dict key)."""
        coin = body.get("coin")
        if not isinstance(coin, str) or coin not in self.books:
            raise Undeserializable(f"coin: unknown coin {coin!r}")
        return coin

    def _info_l2Book(self, body: dict) -> Any:
        return self.l2_book(self._coin(body))

    def clearinghouse_state(self, acct: Account, dex: str) -> dict[str, Any]:
        c = acct.clearing[dex]
        positions = []
        cross_margin = iso_margin = 0.0
        for coin, p in c.positions.items():
            if abs(p.szi) <= EPS:
                continue
            x = self.by_name[coin]
            typ, lev = self.leverage(acct, x)
            m = self.mark(coin) or p.entry_px
            value = abs(p.szi) * m
            used = value / lev
            upnl = p.szi * (m - p.entry_px)
            levd: dict[str, Any] = {"type": typ, "value": lev}
            if typ == "isolated":
                levd["rawUsd"] = s(-p.szi * p.entry_px + used, 6)
                iso_margin += used
            else:
                cross_margin += used
            positions.append(
                {
                    "position": {
                        "coin": coin,
                        "cumFunding": {
                            "allTime": s(p.funding_all, 6),
                            "sinceChange": s(p.funding_change, 6),
                            "sinceOpen": s(p.funding_open, 6),
                        },
                        "entryPx": px_s(p.entry_px),
                        "leverage": levd,
                        "liquidationPx": None,
                        "marginUsed": s(used, 6),
                        "maxLeverage": x.max_leverage,
                        "positionValue": s(value, 6),
                        "returnOnEquity": s(upnl / (abs(p.szi) * p.entry_px / lev), 6)
                        if p.entry_px
                        else "0.0",
                        "szi": s(p.szi),
                        "unrealizedPnl": s(upnl, 6),
                    },
                    "type": "oneWay",
                }
            )
        summ = self.summary(acct, dex)
        msum = {
            "accountValue": s(summ["account_value"], 6),
            "totalMarginUsed": s(summ["margin_used"], 6),
            "totalNtlPos": s(summ["ntl"], 6),
            "totalRawUsd": s(summ["balance"], 6),
        }
        withdrawable = max(0.0, self.available(acct, dex))
        return {
            "assetPositions": positions,
            "crossMaintenanceMarginUsed": s(cross_margin / 2, 6),
            "crossMarginSummary": msum,
            "marginSummary": dict(msum),
            "time": self.clock_ms(),
            "withdrawable": s(withdrawable, 6),
        }

    def _info_clearinghouseState(self, body: dict) -> Any:
        return self.clearinghouse_state(self._user(body), self._dex(body))

    def open_order(self, o: UserOrder) -> dict[str, Any]:
        return {
            "coin": o.coin,
            "limitPx": o.px_str,
            "oid": o.oid,
            "side": "B" if o.side > 0 else "A",
            "sz": s(o.sz),
            "timestamp": o.timestamp,
            "origSz": s(o.orig_sz),
            "cloid": o.cloid,
        }

    def frontend_order(self, o: UserOrder) -> dict[str, Any]:
        return {
            "coin": o.coin,
            "isPositionTpsl": False,
            "isTrigger": False,
            "limitPx": o.px_str,
            "oid": o.oid,
            "orderType": "Limit",
            "origSz": s(o.orig_sz),
            "reduceOnly": o.reduce_only,
            "side": "B" if o.side > 0 else "A",
            "sz": s(o.sz),
            "timestamp": o.timestamp,
            "triggerCondition": "N/A",
            "triggerPx": "0.0",
            "children": [],
            "tif": o.tif,
            "cloid": o.cloid,
        }

    def order_update(self, o: UserOrder) -> dict[str, Any]:
        order = {
            "coin": o.coin,
            "side": "B" if o.side > 0 else "A",
            "limitPx": o.px_str,
            "sz": s(o.sz),
            "oid": o.oid,
            "timestamp": o.timestamp,
            "origSz": s(o.orig_sz),
        }
        if o.cloid:
            order["cloid"] = o.cloid
        return {"order": order, "status": o.status, "statusTimestamp": o.status_ts}

    def _open_sorted(self, acct: Account, dex: str) -> list[UserOrder]:
        return sorted((o for o in acct.open.values() if o.dex == dex), key=lambda o: -o.oid)

    def _info_openOrders(self, body: dict) -> Any:
        acct = self._user(body)
        return [self.open_order(o) for o in self._open_sorted(acct, self._dex(body))]

    def _info_frontendOpenOrders(self, body: dict) -> Any:
        acct = self._user(body)
        return [self.frontend_order(o) for o in self._open_sorted(acct, self._dex(body))]

    def _info_userFills(self, body: dict) -> Any:
        return list(reversed(self._user(body).fills[-2000:]))

    def _info_userFillsByTime(self, body: dict) -> Any:
        acct = self._user(body)
        start = body.get("startTime")
        if not isinstance(start, int):
            raise Undeserializable("startTime: required integer (ms)")
        end = body.get("endTime") or 1 << 62
        return [f for f in reversed(acct.fills) if start <= f["time"] <= end][:2000]

    def _info_userFunding(self, body: dict) -> Any:
        acct = self._user(body)
        return [
            {"time": f["time"], "hash": "0x" + "0" * 64, "delta": {"type": "funding", **f}}
            for f in acct.funding
        ]

    def _info_userRateLimit(self, body: dict) -> Any:
        acct = self._user(body)
        return {
            "cumVlm": s(acct.cum_vlm, 6),
            "nRequestsUsed": acct.budget.used,
            "nRequestsCap": acct.budget.cap(acct.cum_vlm),
            "nRequestsSurplus": 0,
        }

    def _info_orderStatus(self, body: dict) -> Any:
        acct = self._user(body)
        ref = body.get("oid")
        oid = acct.by_cloid.get(ref.lower()) if isinstance(ref, str) else ref
        o = acct.orders.get(oid) if isinstance(oid, int) else None
        if o is None:
            return {"status": "unknownOid"}
        return {
            "status": "order",
            "order": {
                "order": self.frontend_order(o),
                "status": o.status,
                "statusTimestamp": o.status_ts,
            },
        }

    def _info_historicalOrders(self, body: dict) -> Any:
        acct = self._user(body)
        done = sorted((o for o in acct.orders.values()), key=lambda o: -o.oid)[:2000]
        return [
            {"order": self.frontend_order(o), "status": o.status, "statusTimestamp": o.status_ts}
            for o in done
        ]

    def _info_spotClearinghouseState(self, body: dict) -> Any:
        self._user(body)
        return {"balances": []}

    def _info_exchangeStatus(self, body: dict) -> Any:
        return {"specialStatuses": None, "time": self.clock_ms()}

    def _info_activeAssetData(self, body: dict) -> Any:
        acct = self._user(body)
        x = self.by_name[self._coin(body)]
        typ, lev = self.leverage(acct, x)
        mark = self.mark(x.name) or 0.0
        avail = max(0.0, self.available(acct, x.dex))
        max_sz = avail * lev / mark if mark else 0.0
        return {
            "user": acct.address,
            "coin": x.name,
            "leverage": {"type": typ, "value": lev},
            "maxTradeSzs": [s(max_sz, x.sz_decimals)] * 2,
            "availableToTrade": [s(avail * lev, 6)] * 2,
            "markPx": px_s(mark),
        }
