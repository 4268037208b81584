-- Markout of each fill at each horizon h (mm_math §4, bps, before fees):
--   MO_i(h) = side * (m(t_i + h) - px_i) / px_i * 1e4
-- m(t + h) is the last valid mid received strictly before t + h on the engine clock
-- (recv_ts), as edge.sql and the adverse-selection estimator take it.  A fill counts
-- at h only once the journal holds an input at or after t + h (it has matured).
-- Reads report_fills (fills.sql).  Parameters: $horizons_ns (list of BIGINT).
WITH h AS (SELECT unnest($horizons_ns) AS h_ns),
last_input AS (
    SELECT max(recv_ts) AS t FROM timeline
    WHERE tbl IN ('book', 'trades', 'bbo', 'asset_ctx', 'clock', 'order_responses',
                  'order_updates', 'fills', 'account', 'rate_limit', 'connection')
),
due AS (
    SELECT f.seq, f.side, f.px, f.sz, h.h_ns, f.recv_ts + h.h_ns AS due_ts
    FROM report_fills f, h, last_input
    WHERE f.recv_ts + h.h_ns <= last_input.t
)
SELECT d.seq, d.h_ns, d.side, d.sz, d.side * (m.mid - d.px) / d.px * 1e4 AS markout_bps
FROM due d
ASOF JOIN mids m ON d.due_ts > m.recv_ts
ORDER BY d.h_ns, d.seq
