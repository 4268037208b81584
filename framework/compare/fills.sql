-- Our fills, one row each, with the mids the PnL decomposition and the markouts need.
--
-- Runs on one session's journal (framework.journal.duck.connect: a view per table).
-- Fills are the paper venue's (`sim_fills`) and the live venue's (`fills`).  One fill
-- is one order filled at one engine time: the rows of one order (`cloid`) at one
-- `recv_ts` (a sweep printed in several trades, or split between two fill rules) are
-- summed, at their size-weighted price, so two sessions that split the same fill
-- differently still compare one to one.
--
-- Mids follow the adverse-selection estimator and edge.sql (mm_math §4): a mid is
-- (best bid + best ask) / 2 of a `book` or `bbo` row with both sides and bid < ask,
-- timed by `recv_ts` (the engine clock; simulated fills have no other); rows sharing a
-- `recv_ts` count as the last of them by seq.  For a fill at t:
--   mid      = the last mid received strictly before t         (m_i)
--   mid_1s, mid_5s, mid_30s = the last mid strictly before t + h (m_i(h))
--   mid_end  = the session's last mid                          (M_T, the final mark)
--   matured_<h> = the journal holds an input at or after t + h
-- A horizon past the session's end takes the last mid (mid_h = mid_end), so the
-- decomposition in pnl.sql adds up exactly; markouts use matured fills only.
-- A fill with no mid before it (the very first events) takes its own price as mid.
WITH mids_raw AS (
    SELECT seq, recv_ts, (best_bid_px + best_ask_px) / 2 AS mid
    FROM book
    WHERE best_bid_px < best_ask_px
    UNION ALL
    SELECT seq, recv_ts, (bid_px + ask_px) / 2 AS mid
    FROM bbo
    WHERE bid_px < ask_px
),
mids AS (
    SELECT recv_ts, arg_max(mid, seq) AS mid FROM mids_raw GROUP BY recv_ts
),
raw AS (
    SELECT seq, recv_ts, cloid, side, px, sz, fee, rule AS how FROM sim_fills
    UNION ALL
    SELECT seq, recv_ts, cloid, side, px, sz, fee,
           CASE WHEN crossed THEN 'taker' ELSE 'maker' END AS how
    FROM fills
),
own AS (
    SELECT min(seq) AS seq, recv_ts, cloid, side,
           sum(px * sz) / sum(sz) AS px, sum(sz) AS sz, sum(fee) AS fee,
           string_agg(DISTINCT how, '+' ORDER BY how) AS how,
           count(*) AS rows,
           recv_ts + 1000000000 AS t_1s,
           recv_ts + 5000000000 AS t_5s,
           recv_ts + 30000000000 AS t_30s
    FROM raw
    GROUP BY recv_ts, cloid, side
),
last_input AS (
    SELECT max(recv_ts) AS t FROM timeline
    WHERE tbl IN ('book', 'trades', 'bbo', 'asset_ctx', 'clock', 'order_responses',
                  'order_updates', 'fills', 'account', 'rate_limit', 'connection')
),
final AS (
    SELECT arg_max(mid, recv_ts) AS mid_end FROM mids
),
f0 AS (SELECT o.*, m.mid FROM own o ASOF LEFT JOIN mids m ON o.recv_ts > m.recv_ts),
f1 AS (SELECT f.*, m.mid AS mid_1s FROM f0 f ASOF LEFT JOIN mids m ON f.t_1s > m.recv_ts),
f5 AS (SELECT f.*, m.mid AS mid_5s FROM f1 f ASOF LEFT JOIN mids m ON f.t_5s > m.recv_ts),
f30 AS (SELECT f.*, m.mid AS mid_30s FROM f5 f ASOF LEFT JOIN mids m ON f.t_30s > m.recv_ts)
SELECT f.seq, f.recv_ts, f.cloid, f.side, f.px, f.sz, f.fee, f.how, f.rows,
       coalesce(f.mid, f.px) AS mid,
       coalesce(f.mid_1s, f.mid, f.px) AS mid_1s,
       coalesce(f.mid_5s, f.mid, f.px) AS mid_5s,
       coalesce(f.mid_30s, f.mid, f.px) AS mid_30s,
       coalesce(final.mid_end, f.px) AS mid_end,
       f.t_1s <= last_input.t AS matured_1s,
       f.t_5s <= last_input.t AS matured_5s,
       f.t_30s <= last_input.t AS matured_30s
FROM f30 f, final, last_input
ORDER BY f.recv_ts, f.seq
