-- The PnL parts accumulated up to each plotted mid point and each fill (USD):
--   spread_usd    = Σ side * (mid_i - px_i) * sz_i over fills so far
--   inventory_usd = position * mid(t) - Σ side * sz_i * mid_i   (mark-to-market of the
--                   inventory since each fill's mid)
--   fees_usd      = -Σ fee_i            funding_usd = -Σ funding payments so far
-- Reads report_fills (fills.sql) and mid_plot (the downsampled mids), both temp tables.
WITH f AS (
    SELECT seq, sum(spread_usd) OVER w AS spread, sum(fee) OVER w AS fees,
           sum(side * sz) OVER w AS pos, sum(side * sz * mid) OVER w AS basis
    FROM report_fills WINDOW w AS (ORDER BY seq)
),
fu AS (SELECT seq, sum(payment) OVER (ORDER BY seq) AS funding FROM sim_funding),
g AS (
    SELECT seq, recv_ts, mid FROM mid_plot
    UNION ALL
    SELECT seq, recv_ts, mid FROM report_fills
)
SELECT g.seq, g.recv_ts,
       coalesce(f.spread, 0) AS spread_usd,
       coalesce(f.pos, 0) * g.mid - coalesce(f.basis, 0) AS inventory_usd,
       -coalesce(f.fees, 0) AS fees_usd,
       -coalesce(fu.funding, 0) AS funding_usd
FROM g
ASOF LEFT JOIN f ON g.seq >= f.seq
ASOF LEFT JOIN fu ON g.seq >= fu.seq
ORDER BY g.seq
