-- Our fills with the mid just before each (the last valid book / bbo mid with a lower
-- seq, mm_math §4's m_i) and the fill's share of the PnL decomposition, in USD:
--
--   spread_usd    = side * (mid - px) * sz           what the fill earned against the mid
--   inventory_usd = side * sz * ($mark_px - mid)     what the coins it added or removed
--                                                    earned from that mid to the final mark
--
-- Summed over fills, spread_usd + inventory_usd = cash + position * mark, the session's
-- gross PnL; subtracting fees and funding gives the net PnL the summary reports
-- (see framework/report/pnl.py).  A fill with no valid mid before it uses its own price
-- (spread 0).  Parameters: $mark_px (final_mark.sql).
SELECT f.seq, f.ts, f.recv_ts, f.cloid, f.side, f.px, f.sz, f.fee, f.liquidity, f.rule,
       f.position_after,
       coalesce(m.mid, f.px) AS mid,
       f.side * (coalesce(m.mid, f.px) - f.px) * f.sz AS spread_usd,
       f.side * f.sz * (coalesce($mark_px, f.px) - coalesce(m.mid, f.px)) AS inventory_usd
FROM own_fills f
ASOF LEFT JOIN mids m ON f.seq > m.seq
ORDER BY f.seq
