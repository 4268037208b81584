"""The one definition of every journal table.

Each event kind is a table with a fixed Arrow schema.  Every table starts with the
common columns ``seq`` (one counter across all tables), ``ts`` (exchange time, ns)
and ``recv_ts`` (when the engine saw it, ns).  Inputs come from outside the engine
(market data, venue responses, clock ticks); outputs are what the engine decided.

Conventions:

* prices and sizes are ``float64``: Hyperliquid prices have at most 5 significant
  figures and sizes at most 5 decimals, so a float64 round-trips them exactly
  (``repr`` gives back the wire string's value); decimals are rebuilt at the wire;
* ``side`` is ``+1`` buy / bid and ``-1`` sell / ask (for trades: the aggressor);
* ``cause_seq`` is the seq of the event that made the engine emit the row, so a fill
  can be walked back through its command to the market event that caused it;
* ``cloid`` is the client order id as ``0x`` + 32 hex digits.
"""

from __future__ import annotations

import enum
import functools
import hashlib

import attrs
import pyarrow as pa

F64 = pa.float64()
I64 = pa.int64()
I32 = pa.int32()
I8 = pa.int8()
STR = pa.string()
BOOL = pa.bool_()
LIST_F64 = pa.list_(pa.float64())
LIST_I32 = pa.list_(pa.int32())

#: Every input of every journal we write gets a seq that is a multiple of
#: ``SEQ_STRIDE``; the outputs an input causes take the seqs after it (at most
#: ``SEQ_STRIDE - 1`` of them).  So a recording can be backtested with its input
#: tables kept byte for byte (hard-linked), the backtest's outputs filling the gaps.
#: Journals whose inputs follow this say ``seq_stride`` in their manifest; older
#: journals (inputs numbered 1, 2, 3, ...) say 0 and are re-sequenced instead.
SEQ_STRIDE = 1_000_000


@attrs.frozen
class Field:
    """One column: name, Arrow type, nullability and what it means."""

    name: str
    type: pa.DataType
    doc: str
    nullable: bool = False

    def arrow(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


class Kind(enum.IntEnum):
    """Engine-wide id of each table; the order is part of the journal format."""

    BOOK = 0
    TRADES = 1
    BBO = 2
    ASSET_CTX = 3
    ORDER_RESPONSES = 4
    ORDER_UPDATES = 5
    FILLS = 6
    ACCOUNT = 7
    RATE_LIMIT = 8
    CONNECTION = 9
    CLOCK = 10
    ORDER_COMMANDS = 11
    QUOTES = 12
    ESTIMATES = 13
    RISK = 14
    SIM_FILLS = 15
    SIM_ORDERS = 16
    SIM_FUNDING = 17
    CONTROL = 18


@attrs.frozen
class TableSpec:
    """A journal table: its kind id, whether the engine reads or writes it, its columns."""

    kind: Kind
    name: str
    direction: str  # "input" (fed to the engine) or "output" (emitted by the engine)
    doc: str
    fields: tuple[Field, ...]
    #: Columns computed from the others when a part is written (and, for parts written
    #: before they existed, when one is read): after ``fields`` in the Arrow schema, not
    #: in row tuples.  See :mod:`framework.events.derived`.
    derived: tuple[Field, ...] = ()

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """The row tuple's column names, common columns first (computed once: read per
        output row); the derived columns are not among them."""
        return tuple(f.name for f in COMMON_FIELDS + self.fields)

    @functools.cached_property
    def payload_columns(self) -> tuple[str, ...]:
        """Column names after the common ones: the layout of a row tuple."""
        return tuple(f.name for f in self.fields)

    @property
    def schema(self) -> pa.Schema:
        return arrow_schema(self.kind)


COMMON_FIELDS: tuple[Field, ...] = (
    Field("seq", I64, "position in the journal; one counter across all tables"),
    Field("ts", I64, "exchange time in ns (engine time for outputs)"),
    Field("recv_ts", I64, "time the engine saw the event, ns; the engine's clock"),
)


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> Field:
    return Field(name, type_, doc, nullable)


_SPECS: tuple[TableSpec, ...] = (
    # ---- market data (inputs) ------------------------------------------------------
    TableSpec(
        Kind.BOOK,
        "book",
        "input",
        "Full L2 snapshot (up to 20 levels a side, best first), as WS l2Book pushes it.",
        (
            _f("coin", STR, "coin name as the venue spells it (HIP-3: dex:COIN)"),
            _f("bid_px", LIST_F64, "bid prices, best (highest) first"),
            _f("bid_sz", LIST_F64, "bid sizes in coins"),
            _f("bid_n", LIST_I32, "orders at each bid level"),
            _f("ask_px", LIST_F64, "ask prices, best (lowest) first"),
            _f("ask_sz", LIST_F64, "ask sizes in coins"),
            _f("ask_n", LIST_I32, "orders at each ask level"),
        ),
        (
            _f("best_bid_px", F64, "bid_px's first level (null: no bids)", True),
            _f("best_bid_sz", F64, "bid_sz's first level (null: no bids)", True),
            _f("best_ask_px", F64, "ask_px's first level (null: no asks)", True),
            _f("best_ask_sz", F64, "ask_sz's first level (null: no asks)", True),
        ),
    ),
    TableSpec(
        Kind.TRADES,
        "trades",
        "input",
        "One public trade print; a sweep is several rows sharing ts and hash.",
        (
            _f("coin", STR, "coin name"),
            _f("side", I8, "aggressor side: +1 buy (lifted the ask), -1 sell"),
            _f("px", F64, "trade price"),
            _f("sz", F64, "trade size in coins"),
            _f("tid", I64, "venue trade id"),
            _f("hash", STR, "transaction hash; equal for prints of one taker order", True),
        ),
    ),
    TableSpec(
        Kind.BBO,
        "bbo",
        "input",
        "Best bid and offer, pushed when either changes.",
        (
            _f("coin", STR, "coin name"),
            _f("bid_px", F64, "best bid price", True),
            _f("bid_sz", F64, "best bid size", True),
            _f("ask_px", F64, "best ask price", True),
            _f("ask_sz", F64, "best ask size", True),
        ),
    ),
    TableSpec(
        Kind.ASSET_CTX,
        "asset_ctx",
        "input",
        "Asset context: mark, oracle, hourly funding rate, open interest.",
        (
            _f("coin", STR, "coin name"),
            _f("mark_px", F64, "mark price (margin, liquidation, unrealised PnL)"),
            _f("oracle_px", F64, "oracle price (funding)"),
            _f("mid_px", F64, "venue mid price", True),
            _f("funding", F64, "hourly funding rate as a fraction"),
            _f("premium", F64, "premium as a fraction", True),
            _f("open_interest", F64, "open interest in coins", True),
            _f("day_ntl_vlm", F64, "24 h notional volume, USD", True),
        ),
    ),
    # ---- venue (inputs) ------------------------------------------------------------
    TableSpec(
        Kind.ORDER_RESPONSES,
        "order_responses",
        "input",
        "The venue's answer to one order command (ack, fill, reject, cancel result).",
        (
            _f("cloid", STR, "client order id of the command answered", True),
            _f("oid", I64, "venue order id", True),
            _f("action", STR, "place | cancel | modify | other"),
            _f("status", STR, "resting | filled | success | error | canceled"),
            _f("error", STR, "the venue's error text, verbatim", True),
            _f("filled_sz", F64, "size filled immediately", True),
            _f("avg_px", F64, "average fill price of the immediate fill", True),
            _f("cause_seq", I64, "seq of the order command answered", True),
        ),
    ),
    TableSpec(
        Kind.ORDER_UPDATES,
        "order_updates",
        "input",
        "An orderUpdates push: the order's state changed on the venue.",
        (
            _f("coin", STR, "coin name"),
            _f("oid", I64, "venue order id"),
            _f("cloid", STR, "client order id", True),
            _f("side", I8, "+1 bid, -1 ask"),
            _f("limit_px", F64, "limit price"),
            _f("sz", F64, "remaining size"),
            _f("orig_sz", F64, "original size"),
            _f("status", STR, "open | filled | canceled | *Canceled | *Rejected"),
        ),
    ),
    TableSpec(
        Kind.FILLS,
        "fills",
        "input",
        "A fill of one of our orders, as the venue reported it (live mode).",
        (
            _f("coin", STR, "coin name"),
            _f("oid", I64, "venue order id"),
            _f("cloid", STR, "client order id", True),
            _f("side", I8, "our side: +1 bought, -1 sold"),
            _f("px", F64, "fill price"),
            _f("sz", F64, "fill size"),
            _f("fee", F64, "fee paid in USDC (negative = rebate)"),
            _f("crossed", BOOL, "true when we were the taker"),
            _f("tid", I64, "venue trade id"),
            _f("closed_pnl", F64, "realised PnL the venue attributes to the fill"),
            _f("start_position", F64, "position before the fill"),
        ),
    ),
    TableSpec(
        Kind.ACCOUNT,
        "account",
        "input",
        "Account snapshot (clearinghouseState) for the traded asset.",
        (
            _f("coin", STR, "coin name"),
            _f("account_value", F64, "equity in USDC"),
            _f("margin_used", F64, "total margin used"),
            _f("position", F64, "signed position in coins"),
            _f("entry_px", F64, "average entry price", True),
            _f("unrealized_pnl", F64, "unrealised PnL"),
            _f("withdrawable", F64, "withdrawable USDC"),
        ),
    ),
    TableSpec(
        Kind.RATE_LIMIT,
        "rate_limit",
        "input",
        "Address request budget (userRateLimit).",
        (
            _f("cum_vlm", F64, "cumulative traded volume, USDC"),
            _f("n_requests_used", I64, "address actions consumed"),
            _f("n_requests_cap", I64, "10000 + cumulative volume"),
        ),
    ),
    TableSpec(
        Kind.CONNECTION,
        "connection",
        "input",
        "A change of a connection: connected, disconnected, resubscribed, stale.",
        (
            _f("link", STR, "which link: ws | http | feed:<channel>"),
            _f("state", STR, "connected | disconnected | resubscribed | stale | fresh"),
            _f("detail", STR, "why, in words", True),
        ),
    ),
    TableSpec(
        Kind.CLOCK,
        "clock",
        "input",
        "A clock tick injected by a live environment so timers fire when the market is quiet.",
        (_f("source", STR, "what injected the tick"),),
    ),
    # ---- engine outputs -------------------------------------------------------------
    TableSpec(
        Kind.ORDER_COMMANDS,
        "order_commands",
        "output",
        "An order command the engine decided; journaled (and flushed) before it is sent.",
        (
            _f("cloid", STR, "client order id, from the engine's counter"),
            _f("action", STR, "place | cancel | modify"),
            _f("coin", STR, "coin name"),
            _f("side", I8, "+1 buy, -1 sell"),
            _f("px", F64, "limit price on the venue grid", True),
            _f("sz", F64, "size in coins", True),
            _f("tif", STR, "Alo | Gtc | Ioc", True),
            _f("reduce_only", BOOL, "reduce-only flag"),
            _f("target_cloid", STR, "for cancel/modify: the order acted on", True),
            _f("cause_seq", I64, "seq of the event that caused the command"),
            _f("reason", STR, "why, in a word or two", True),
        ),
    ),
    TableSpec(
        Kind.QUOTES,
        "quotes",
        "output",
        "The quote the strategy wants (before reconciliation into commands).",
        (
            _f("coin", STR, "coin name"),
            _f("bid_px", F64, "bid price (null = no bid)", True),
            _f("bid_sz", F64, "bid size", True),
            _f("ask_px", F64, "ask price (null = no ask)", True),
            _f("ask_sz", F64, "ask size", True),
            _f("fair_px", F64, "fair price the quote is built around"),
            _f("half_spread_bps", F64, "half spread in bps"),
            _f("skew_bps", F64, "inventory skew in bps"),
            _f("inventory", F64, "position in coins when quoted"),
            _f("cause_seq", I64, "seq of the event that caused the quote"),
        ),
    ),
    TableSpec(
        Kind.ESTIMATES,
        "estimates",
        "output",
        "An estimator update: value, observation count, standard error, converged flag.",
        (
            _f(
                "estimator",
                STR,
                "volatility | kappa | adverse_selection | regime | fill_rate | kelly",
            ),
            _f("param", STR, "which parameter of the estimator (sigma, k, A, ...)"),
            _f("value", F64, "estimate", True),
            _f("n_obs", I64, "observations so far"),
            _f("std_err", F64, "standard error or interval half-width", True),
            _f("converged", BOOL, "the reference's convergence criteria and minimum count hold"),
        ),
    ),
    TableSpec(
        Kind.RISK,
        "risk",
        "output",
        "A risk or quote-gate state change, with its reason.",
        (
            _f(
                "rule",
                STR,
                "position | drawdown | daily_loss | quote_gate | rate_limit | readiness | kill "
                "| shutdown",
            ),
            _f("state", STR, "ok | tripped | paused | resumed | widened | forcing"),
            _f("value", F64, "the measured value", True),
            _f("limit", F64, "the limit it was compared with", True),
            _f("reason", STR, "why, in words"),
        ),
    ),
    TableSpec(
        Kind.SIM_FILLS,
        "sim_fills",
        "output",
        "A fill the paper fill simulator decided.",
        (
            _f("cloid", STR, "client order id filled"),
            _f("coin", STR, "coin name"),
            _f("side", I8, "our side: +1 bought, -1 sold"),
            _f("px", F64, "fill price"),
            _f("sz", F64, "fill size"),
            _f("fee", F64, "fee in USDC (negative = rebate)"),
            _f("liquidity", STR, "maker | taker"),
            _f("rule", STR, "trade_at | trade_through | cross | taker"),
            _f("position", F64, "position after the fill"),
            _f("cause_seq", I64, "seq of the market event that filled it"),
        ),
    ),
    TableSpec(
        Kind.SIM_ORDERS,
        "sim_orders",
        "output",
        "Order lifecycle in the paper venue: resting, rejected, canceled, filled.",
        (
            _f("cloid", STR, "client order id"),
            _f("coin", STR, "coin name"),
            _f("side", I8, "+1 bid, -1 ask"),
            _f("px", F64, "limit price", True),
            _f("sz", F64, "remaining size", True),
            _f("status", STR, "resting | rejected | canceled | filled | cancel_rejected"),
            _f("reason", STR, "why (the venue's text for rejects)", True),
            _f("queue_ahead", F64, "size ahead of us in the queue when it rested", True),
            _f("cause_seq", I64, "seq of the order command or event that caused it"),
        ),
    ),
    TableSpec(
        Kind.SIM_FUNDING,
        "sim_funding",
        "output",
        "An hourly funding payment on the paper position.",
        (
            _f("coin", STR, "coin name"),
            _f("position", F64, "signed position at settlement"),
            _f("oracle_px", F64, "oracle price used"),
            _f("rate", F64, "hourly funding rate"),
            _f("payment", F64, "USDC paid (positive = we paid)"),
        ),
    ),
    # ---- environment decisions (input; appended after the outputs: Kind order is format)
    TableSpec(
        Kind.CONTROL,
        "control",
        "input",
        "A decision of the live environment the engine must see or the journal must keep: "
        "the run pipeline's steps, the kill switch, shutdown, leverage, the dead-man "
        "switch, and what reconciliation with the venue found.",
        (
            _f(
                "topic",
                STR,
                "run | kill | shutdown | leverage | dead_man | reconcile | venue",
            ),
            _f("action", STR, "what was decided or found, in a word or two"),
            _f("value", F64, "a number the decision is about (verdict age, leverage, ...)", True),
            _f("detail", STR, "why, in words", True),
        ),
    ),
)

TABLES: dict[Kind, TableSpec] = {s.kind: s for s in _SPECS}
KIND_BY_NAME: dict[str, Kind] = {s.name: s.kind for s in _SPECS}
INPUT_KINDS: tuple[Kind, ...] = tuple(s.kind for s in _SPECS if s.direction == "input")
OUTPUT_KINDS: tuple[Kind, ...] = tuple(s.kind for s in _SPECS if s.direction == "output")

assert [s.kind for s in _SPECS] == list(Kind), "table order must follow Kind"

_SCHEMAS: dict[Kind, pa.Schema] = {
    s.kind: pa.schema(
        [f.arrow() for f in COMMON_FIELDS + s.fields + s.derived],
        metadata={b"table": s.name.encode(), b"direction": s.direction.encode()},
    )
    for s in _SPECS
}


def spec(kind: Kind | str) -> TableSpec:
    """The table spec for a kind id or a table name.

    Raises
    ------
    KeyError
        With the list of known tables when the name is unknown.
    """
    if isinstance(kind, str):
        if kind not in KIND_BY_NAME:
            raise KeyError(f"unknown table {kind!r}; known tables: {', '.join(KIND_BY_NAME)}")
        kind = KIND_BY_NAME[kind]
    return TABLES[Kind(kind)]


def arrow_schema(kind: Kind | str) -> pa.Schema:
    """The Arrow schema of a table (common columns first)."""
    return _SCHEMAS[spec(kind).kind]


def schema_fingerprint(kind: Kind | str) -> str:
    """A short hash of a table's column names and types, recorded in the manifest."""
    sch = arrow_schema(kind)
    text = ";".join(f"{f.name}:{f.type}:{f.nullable}" for f in sch)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
