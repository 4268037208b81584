-- Gross edge of our fills: the markout at horizon h, in bps (mm_math §4:
-- MO = s (m(t+h) - p) / p * 1e4, before fees), one row per fill that has matured.
--
-- Fills are the paper venue's (`sim_fills`) and the live venue's (`fills`); the mid
-- m(t+h) is the last valid book or bbo mid received strictly before t + h on the engine
-- clock (`recv_ts`), the adverse-selection estimator's convention.  A fill matures
-- once the journal holds an input at or after t + h (up to seq $max_seq).
--
-- Parameters: $max_seq, $horizon_ns.
WITH mids AS (
    SELECT recv_ts, (best_bid_px + best_ask_px) / 2 AS mid
    FROM book
    WHERE seq <= $max_seq AND best_bid_px < best_ask_px
    UNION ALL
    SELECT recv_ts, (bid_px + ask_px) / 2 AS mid
    FROM bbo
    WHERE seq <= $max_seq AND bid_px < ask_px
),
own AS (
    SELECT seq, recv_ts, side, px, sz, fee FROM sim_fills WHERE seq <= $max_seq
    UNION ALL
    SELECT seq, recv_ts, side, px, sz, fee FROM fills WHERE seq <= $max_seq
),
last_input AS (
    SELECT max(recv_ts) AS t FROM timeline
    WHERE seq <= $max_seq AND tbl IN ('book', 'trades', 'bbo', 'asset_ctx', 'clock',
                                      'order_responses', 'order_updates', 'fills',
                                      'account', 'rate_limit', 'connection')
),
due AS (
    SELECT own.*, own.recv_ts + $horizon_ns AS due_ts
    FROM own, last_input
    WHERE own.recv_ts + $horizon_ns <= last_input.t
)
SELECT d.seq, d.recv_ts, d.side, d.px, d.sz, d.fee, m.mid AS mid_h,
       d.side * (m.mid - d.px) / d.px * 1e4 AS markout_bps
FROM due d
ASOF JOIN mids m ON d.due_ts > m.recv_ts
ORDER BY d.seq
