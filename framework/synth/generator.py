"""The synthetic Hyperliquid market: regime path -> true mid -> books, trades, bbo, ctx.

One ``numpy.random.Generator(PCG64(seed))`` drives everything in a fixed order, so
the same parameters always give the same tables.  The true mid is a log-Brownian
motion whose volatility and drift follow the hidden regime; the published book is
built around it on the exchange grid; aggressor events sweep that book.  Exchange
times (``ts``) are whole milliseconds, as the venue stamps them; ``recv_ts`` adds a
slowly varying feed latency (tens of ms) and increases message by message, as over one
WebSocket (the rows of one message share it), so it keeps the order of ``ts``.  ``seq``
follows ``recv_ts`` across all tables, ties (equal ``ts``) broken by table order
(book, trades, bbo, asset_ctx) and then row; the n-th input (from 1) gets
``n * SEQ_STRIDE``, so a backtest can keep the tables as they are.

The manifest's ``generator`` dict holds ``params`` (every input) and ``truth`` (what
an estimator should recover); see :func:`truth`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from framework.events.derived import complete, row_schema
from framework.events.schema import SEQ_STRIDE, Kind
from framework.grid import round_price, round_size
from framework.synth.book import build_books
from framework.synth.params import SynthParamError, SynthParams
from framework.synth.regimes import RegimePath, expm, rate_matrix, simulate_path, stationary
from framework.synth.shocks import Shock, apply_jumps, draw_shocks, shock_prints, shock_rng
from framework.synth.trades import Prints, draw_events, sweep_prints, with_shocks

MS = 1_000_000
#: Tables in tie-break order (equal recv_ts -> this order).
TABLE_ORDER = (Kind.BOOK, Kind.TRADES, Kind.BBO, Kind.ASSET_CTX)
TRANSITION_STEP_S = 1.0

DEPTH_RULE = (
    "mid = (best_bid + best_ask)/2 of the last book snapshot with ts <= the trade's ts "
    "(also the last book before the trade in seq order); target = mid*(1 + side*delta/1e4); "
    "a buy prints at every ask level with px <= target (a sell: bid levels with "
    "px >= target), best first, at least the touch, at most the 20 displayed levels; the "
    "worst print is the deepest such level, so the observed depth undershoots delta by "
    "less than one level gap (levels near the touch are 1-2 ticks apart)"
)


@attrs.frozen
class SynthResult:
    """The generated tables (Arrow, journal schema, seq assigned) and the manifest dict."""

    tables: dict[Kind, pa.Table]
    generator: dict[str, Any]


def generate(p: SynthParams) -> SynthResult:
    """Generate a whole recording in memory (tables with seq, and the manifest dict)."""
    p.check()
    rng = np.random.Generator(np.random.PCG64(p.seed))
    key = rng.integers(0, np.iinfo(np.uint64).max, dtype=np.uint64)
    duration_s = p.hours * 3600.0
    path = simulate_path(p.regimes, duration_s, rng)
    start_ms = p.start_ns // MS
    book_ms = _book_times_ms(p, duration_s, rng)
    book_t = book_ms / 1000.0
    srng = shock_rng(p.seed)
    shocks = draw_shocks(p, duration_s, book_ms, srng)
    mid = apply_jumps(_true_mid(p, path, book_t, rng), book_ms, shocks)
    regime = path.regime[path.at(book_t)]
    extra = np.array([r.spread_extra_ticks_mean for r in p.regimes])[regime]
    books = build_books(p, key, mid, book_t, extra, rng)
    events = draw_events(p, path, duration_s, rng)
    ev_ms = np.floor(events.t_s * 1000.0).astype(np.int64)
    prints, kept = sweep_prints(p, events, ev_ms, book_ms, books, rng)
    swept = shock_prints(p, key, shocks, book_ms, books, srng)
    prints = with_shocks(prints, swept)
    ordinary_delta = events.delta_bps[kept][np.unique(prints.event[prints.event >= 0])]
    ctx = _asset_ctx(p, duration_s, book_ms, books, rng)
    columns = {
        Kind.BOOK: _book_columns(p, books, book_ms),
        Kind.TRADES: _trade_columns(p, prints),
        Kind.BBO: _bbo_columns(p, books, book_ms),
        Kind.ASSET_CTX: ctx,
    }
    for cols in columns.values():
        cols["ts"] = cols["ts"] + start_ms  # ms from start -> epoch ms (ns below)
    _assign_seq_and_recv(p, columns, rng)
    tables = {k: _to_table(k, c) for k, c in columns.items()}
    shock_truth = _shock_truth(p, shocks, swept.sweeps, ordinary_delta)
    return SynthResult(tables, {"params": p.to_dict(), "truth": truth(p, path, shock_truth)})


# -- time and price ----------------------------------------------------------------------
def _book_times_ms(p: SynthParams, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Snapshot times, ms from start: lognormal intervals around the median cadence."""
    n = int(duration_s / p.book_cadence_s * 1.3) + 16
    gaps = p.book_cadence_s * np.exp(p.book_cadence_sigma * rng.standard_normal(n))
    t = np.concatenate([[0.0], np.cumsum(gaps)])
    ms = np.floor(t[t < duration_s] * 1000.0).astype(np.int64)
    if len(ms) > 1 and np.any(np.diff(ms) <= 0):
        raise SynthParamError("book_cadence_s too small: snapshots must be >= 1 ms apart")
    return ms


def _true_mid(
    p: SynthParams, path: RegimePath, t_s: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The true mid at each time: regime-switching log-Brownian motion with drift."""
    seg = path.at(t_s)
    reg = path.regime[seg]
    sigma = np.array([r.sigma_bps_per_sqrt_s for r in p.regimes])[reg]
    drift = np.array([r.drift_bps_per_s for r in p.regimes])[reg] * path.drift_sign[seg]
    dt = np.diff(t_s, prepend=t_s[0])
    step_bps = drift * dt + sigma * np.sqrt(dt) * rng.standard_normal(len(t_s))
    return p.start_px * np.exp(np.cumsum(step_bps) / 1e4)


# -- table columns (ts in ms from start until _assign_seq_and_recv) ------------------------
def _book_columns(p: SynthParams, books: dict[str, np.ndarray], ts: np.ndarray) -> dict:
    cols: dict[str, Any] = {"ts": ts.copy(), "coin": p.coin}
    for name in ("bid_px", "bid_sz", "bid_n", "ask_px", "ask_sz", "ask_n"):
        cols[name] = books[name]
    return cols


def _trade_columns(p: SynthParams, prints: Prints) -> dict:
    return {
        "ts": prints.ts_ms,
        "coin": p.coin,
        "side": prints.side,
        "px": prints.px,
        "sz": prints.sz,
        "tid": prints.tid,
        "hash": prints.hash,
        "group": prints.ts_ms,  # prints at one ms arrive in one WS message
    }


def _bbo_columns(p: SynthParams, books: dict[str, np.ndarray], ts: np.ndarray) -> dict:
    top = np.stack(
        [books["bid_px"][:, 0], books["bid_sz"][:, 0], books["ask_px"][:, 0], books["ask_sz"][:, 0]]
    )
    changed = np.ones(len(ts), dtype=bool)
    changed[1:] = np.any(top[:, 1:] != top[:, :-1], axis=0)
    return {
        "ts": ts[changed],
        "coin": p.coin,
        "bid_px": top[0, changed],
        "bid_sz": top[1, changed],
        "ask_px": top[2, changed],
        "ask_sz": top[3, changed],
    }


def _asset_ctx(
    p: SynthParams,
    duration_s: float,
    book_ms: np.ndarray,
    books: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict:
    """Context every ``ctx_interval_s`` from the start: mark, oracle, funding (hourly), OI."""
    step_ms = max(1, round(p.ctx_interval_s * 1000.0))
    ts = np.arange(0, math.ceil(duration_s * 1000.0 / step_ms)) * step_ms + 1
    ts = ts[ts < duration_s * 1000.0]
    snap = np.searchsorted(book_ms, ts, side="right") - 1
    mid = (books["bid_px"][snap, 0] + books["ask_px"][snap, 0]) / 2.0
    n = len(ts)
    hourly = p.funding_rate + p.funding_noise * rng.standard_normal(math.ceil(p.hours) + 1)
    funding = hourly[ts // 3_600_000]
    basis = p.basis_bps_mean + p.basis_bps_std * rng.standard_normal(n)
    premium = p.premium_mean + p.premium_std * rng.standard_normal(n)
    oi = p.open_interest_usd / p.start_px * np.exp(np.cumsum(0.002 * rng.standard_normal(n)))
    vlm = p.day_ntl_vlm_usd * np.exp(np.cumsum(0.005 * rng.standard_normal(n)))
    mark = [round_price(m * (1 + b / 1e4), p.sz_decimals) for m, b in zip(mid, basis, strict=True)]
    oracle = [round_price(m / (1 + q), p.sz_decimals) for m, q in zip(mark, premium, strict=True)]
    return {
        "ts": ts,
        "coin": p.coin,
        "mark_px": np.array(mark),
        "oracle_px": np.array(oracle),
        "mid_px": mid,
        "funding": np.round(funding, 10),
        "premium": np.round(premium, 10),
        "open_interest": np.array([round_size(x, p.sz_decimals) for x in oi]),
        "day_ntl_vlm": np.round(vlm, 2),
    }


# -- seq and recv_ts ---------------------------------------------------------------------------
def _assign_seq_and_recv(p: SynthParams, columns: dict, rng: np.random.Generator) -> None:
    """Add ``seq`` and ``recv_ts`` (and turn ``ts`` into ns) in place."""
    ts = np.concatenate([columns[k]["ts"] for k in TABLE_ORDER])
    table = np.concatenate([np.full(len(columns[k]["ts"]), i) for i, k in enumerate(TABLE_ORDER)])
    row = np.concatenate([np.arange(len(columns[k]["ts"])) for k in TABLE_ORDER])
    group = np.concatenate(
        [columns[k].get("group", np.arange(len(columns[k]["ts"]))) for k in TABLE_ORDER]
    )
    order = np.lexsort((row, table, ts))
    ts_o, table_o, group_o = ts[order], table[order], group[order]
    new_msg = np.ones(len(order), dtype=bool)
    new_msg[1:] = (table_o[1:] != table_o[:-1]) | (group_o[1:] != group_o[:-1])
    msg = np.cumsum(new_msg) - 1
    raw = ts_o[new_msg] * MS + _latency_ns(p, ts_o[new_msg], rng)
    # One WebSocket: a message arrives after the one before it, at least 1 ns later,
    # so recv_ts (hence seq) keeps the exchange-time order and a book never overtakes
    # a trade stamped before it.  recv[i] = max(raw[i], recv[i-1] + 1), vectorised.
    step = np.arange(len(raw), dtype=np.int64)
    recv_o = (np.maximum.accumulate(raw - step) + step)[msg]
    recv = np.empty_like(recv_o)
    recv[order] = recv_o
    seq_order = np.lexsort((row, table, recv))
    seq = np.empty(len(seq_order), dtype=np.int64)
    seq[seq_order] = np.arange(1, len(seq_order) + 1, dtype=np.int64) * SEQ_STRIDE
    offset = 0
    for k in TABLE_ORDER:
        cols = columns[k]
        n = len(cols["ts"])
        cols["seq"], cols["recv_ts"] = seq[offset : offset + n], recv[offset : offset + n]
        cols["ts"] = cols["ts"] * MS
        cols.pop("group", None)
        offset += n


def _latency_ns(p: SynthParams, msg_ms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Feed latency per message: a slow AR(1) in log (one state per second) + jitter."""
    rel_s = (msg_ms - msg_ms.min()) // 1000 if len(msg_ms) else msg_ms
    seconds = int(rel_s.max()) + 1 if len(msg_ms) else 1
    phi = 0.98
    shocks = rng.standard_normal(seconds) * p.latency_sigma * math.sqrt(1 - phi * phi)
    slow = np.empty(seconds)
    slow[0] = p.latency_sigma * rng.standard_normal()
    for i in range(1, seconds):  # one step per second: cheap even for days
        slow[i] = phi * slow[i - 1] + shocks[i]
    base_ms = p.latency_ms_median * np.exp(slow[rel_s])
    jitter_ms = rng.exponential(p.latency_jitter_ms, len(msg_ms))
    return np.round((base_ms + jitter_ms) * MS).astype(np.int64)


def _to_table(kind: Kind, cols: dict) -> pa.Table:
    schema = row_schema(kind)  # a book's top-of-book columns follow from its lists
    n = len(cols["seq"])
    arrays = []
    for f in schema:
        v = cols[f.name]
        if isinstance(v, str):
            arrays.append(pa.array([v] * n, type=f.type))
        elif pa.types.is_list(f.type):
            flat = np.ascontiguousarray(v).reshape(-1)
            offsets = np.arange(0, flat.size + 1, v.shape[1], dtype=np.int32)
            values = pa.array(flat, type=f.type.value_type)
            arrays.append(pa.ListArray.from_arrays(pa.array(offsets), values, type=f.type))
        else:
            arrays.append(pa.array(v, type=f.type))
    return complete(kind, pa.Table.from_arrays(arrays, schema=schema))


# -- truth -------------------------------------------------------------------------------------
def _shock_truth(
    p: SynthParams,
    shocks: list[Shock],
    sweeps: list[dict[str, Any]],
    ordinary_delta: np.ndarray,
) -> dict[str, Any]:
    """The shocks' part of :func:`truth` (see its ``shocks`` keys)."""

    def ns(ms: int) -> int:
        return p.start_ns + int(ms) * MS

    by_shock: list[list[str]] = [[] for _ in shocks]
    for w in sweeps:
        by_shock[w["index"]].append(w["hash"])
    reach = np.array([w["reach_bps"] for w in sweeps])
    n = len(ordinary_delta) + len(reach)
    excess = math.fsum(ordinary_delta - p.delta0_bps) + math.fsum(reach - p.delta0_bps)
    return {
        "shocks": [
            {
                "kind": s.kind,
                "ts_ns": ns(s.ms),
                "bps": round(s.bps, 6),
                "side": s.side,
                "sweeps": hashes,
            }
            for s, hashes in zip(shocks, by_shock, strict=True)
        ],
        "shock_sweeps": [
            {
                "hash": w["hash"],
                "ts_ns": ns(w["ms"]),
                "side": w["side"],
                "reach_bps": round(w["reach_bps"], 6),
                "worst_bps": round(w["worst_bps"], 6),
                "prints": w["prints"],
                "shock": w["index"],
            }
            for w in sweeps
        ],
        "kappa_mixture_per_bps": n / excess if excess > 0 else None,
        "kappa_mixture_events": {"ordinary": len(ordinary_delta), "shock": len(reach)},
    }


def truth(p: SynthParams, path: RegimePath, shocks: dict[str, Any]) -> dict[str, Any]:
    """What an estimator should recover, in the contract the estimators rely on.

    Keys
    ----
    regimes : list of str
        ``["calm", "volatile", "trending"]``; indices below refer to this list.
    regime_path : list of [start_ns, regime_index]
        Segments in time order; the first starts at the session start.
    segment_drift_bps_per_s : list of float
        Signed drift of each segment (aligned with ``regime_path``).
    transition_matrix, transition_step_s
        ``expm(Q * step)`` for a step of 1 s; ``rate_matrix_per_s`` is ``Q`` itself.
    sigma_bps_per_sqrt_s, drift_bps_per_s : dict regime -> float
        Std of log-returns of the true mid's diffusion (jumps excluded: see
        ``shocks``), bps per sqrt(second); drift magnitude in bps per second (its sign
        is per segment).
    kappa_per_bps, delta0_bps, depth_rule
        Each ordinary aggressor event reaches ``delta = delta0 + Exp(kappa)`` bps from
        the mid; ``depth_rule`` says exactly how the worst print price follows from it.
        This is the κ of mm_math §2.3: it describes the events that are not shock
        sweeps (score it without the hashes in ``shock_sweeps``).
    shocks : list of dict
        Every shock in time order (:mod:`framework.synth.shocks`): ``kind`` ("jump"
        or "deep"), ``ts_ns`` (a jump moves the true mid of every snapshot after it),
        ``bps`` (jump: signed move of the true mid, 1e4 x log; deep: depth reached),
        ``side`` (+1: buy sweeps) and ``sweeps`` (hashes of its trade events).
    shock_sweeps : list of dict
        Every aggressor event that belongs to a shock: ``hash``, ``ts_ns``, ``side``,
        ``reach_bps`` (its latent depth: how far from the mid of the book before the
        shock it reaches), ``worst_bps`` (depth of its worst print on that mid: the
        deepest level within the reach), ``prints`` and ``shock`` (index in ``shocks``).
    kappa_mixture_per_bps, kappa_mixture_events
        The exponential MLE ``n / sum(delta - delta0)`` over the latent depths of all
        aggressor events of the session, ordinary and shock (their counts): what a
        fit beyond ``delta0`` over the whole session converges to when it does not set
        the shocks aside.  Shocks make it a mixture, not an exponential: a fit over a
        shorter window or beyond a higher floor gives a different value.
    trade_event_rate_per_s : dict regime -> float
        Ordinary aggressor events (distinct hashes) per second.
    book_cadence_s, spread_ticks, funding_rate, sz_decimals, tick
        Median snapshot interval; mean spread in ticks per regime; hourly funding
        baseline; the lot and the tick at the start price.
    """
    q = rate_matrix(p.regimes)
    names = [r.name for r in p.regimes]

    def per_regime(attr: str) -> dict[str, float]:
        return {r.name: float(getattr(r, attr)) for r in p.regimes}

    starts_ns = p.start_ns + np.round(path.start_s * 1e9).astype(np.int64)
    return {
        "regimes": names,
        "regime_path": [[int(s), int(r)] for s, r in zip(starts_ns, path.regime, strict=True)],
        "segment_drift_bps_per_s": [
            float(p.regimes[r].drift_bps_per_s * s)
            for r, s in zip(path.regime, path.drift_sign, strict=True)
        ],
        "transition_matrix": expm(q * TRANSITION_STEP_S).tolist(),
        "transition_step_s": TRANSITION_STEP_S,
        "rate_matrix_per_s": q.tolist(),
        "stationary": stationary(q).tolist(),
        "mean_duration_s": per_regime("mean_duration_s"),
        "sigma_bps_per_sqrt_s": per_regime("sigma_bps_per_sqrt_s"),
        "drift_bps_per_s": per_regime("drift_bps_per_s"),
        "drift_note": "magnitude; each segment's signed drift is segment_drift_bps_per_s",
        "kappa_per_bps": p.kappa_per_bps,
        "delta0_bps": p.delta0_bps,
        "depth_rule": DEPTH_RULE,
        **shocks,
        "trade_event_rate_per_s": per_regime("trade_event_rate_per_s"),
        "book_cadence_s": p.book_cadence_s,
        "book_levels": p.book_levels,
        "spread_ticks": {r.name: 1.0 + 2.0 * r.spread_extra_ticks_mean for r in p.regimes},
        "spread_note": "mean spread in ticks per regime: 1 + 2 * spread_extra_ticks_mean",
        "funding_rate": p.funding_rate,
        "funding_noise": p.funding_noise,
        "funding_note": "one rate per hour: funding_rate + funding_noise * N(0, 1)",
        "ctx_interval_s": p.ctx_interval_s,
        "basis_bps_mean": p.basis_bps_mean,
        "latency_ms_median": p.latency_ms_median,
        "sz_decimals": p.sz_decimals,
        "tick": p.tick,
        "start_px": p.start_px,
    }


# -- writing -----------------------------------------------------------------------------------
def write_synthetic(out: Path | str, p: SynthParams) -> dict[str, int]:
    """Generate and write a journal to ``out``; returns rows per table.

    Raises
    ------
    SynthParamError
        ``out`` already holds a journal (synth never appends to one).
    """
    from framework.journal import JournalWriter, Manifest
    from framework.journal.outdir import occupied

    root = Path(out)
    why = occupied(root)
    if why is not None:
        raise SynthParamError(f"--out {root}: {why}")
    result = generate(p)
    manifest = Manifest(
        mode="synthetic",
        asset=p.asset,
        dex=p.dex,
        seed=p.seed,
        synthetic=True,
        config={"asset": p.asset, "dex": p.dex, "hours": p.hours},
        generator=result.generator,
        source={"generator": "framework.synth", "calibration": "shared/data/hyperliquid"},
        seq_stride=SEQ_STRIDE,
    )
    writer = JournalWriter(root, manifest, flush_rows=1 << 20)
    rows = {}
    for kind, table in result.tables.items():
        writer.append_batch(kind, table)
        rows[kind.name.lower()] = table.num_rows
    writer.close()
    return rows
