-- The PnL decomposition and markouts of one session, from `own_fills` (fills.sql).
--
-- In USD, summed over our fills i (side s = +1 bought / -1 sold, size q, price p,
-- mids m, m(5s) and M_T as fills.sql defines them) [ours, one convention; mm_math §4
-- gives the same terms per fill in bps]:
--
--   spread_capture    SC  = sum s q (m - p)          earned against the mid at the fill
--   adverse_selection AS  = sum s q (m - m(5s))      lost to the mid's move in the next
--                                                    5 s (> 0: it moved against us)
--   inventory         INV = sum s q (M_T - m(5s))    the position's gain or loss after
--                                                    those 5 s, to the session's end
--   fees              F   = sum fee                  > 0 paid (< 0 a rebate)
--   funding           FU  = sum sim_funding.payment  > 0 paid (paper; a live journal
--                                                    has no funding table yet: 0)
--   net               = SC - AS + INV - F - FU
--                     = sum s q (M_T - p) - F - FU   (the terms telescope)
--
-- so net is the session's PnL marked to its last mid: the order tracker's net PnL
-- (`summary.net_pnl_usd`) whenever its final mark is that mid.
--
-- Markouts (bps, the mean over fills matured at h, unweighted, edge.sql's formula):
--   markout(h) = s (m(h) - p) / p * 1e4,  h = 1, 5, 30 s.
SELECT count(*) AS fills,
       coalesce(sum(sz), 0) AS size,
       coalesce(sum(px * sz), 0) AS volume_usd,
       coalesce(sum(side * sz * (mid - px)), 0) AS spread_capture,
       coalesce(sum(side * sz * (mid - mid_5s)), 0) AS adverse_selection,
       coalesce(sum(side * sz * (mid_end - mid_5s)), 0) AS inventory,
       coalesce(sum(fee), 0) AS fees,
       (SELECT coalesce(sum(payment), 0) FROM sim_funding) AS funding,
       coalesce(sum(side * sz * (mid_end - px)), 0) - coalesce(sum(fee), 0)
           - (SELECT coalesce(sum(payment), 0) FROM sim_funding) AS net,
       avg(side * (mid_1s - px) / px * 1e4) FILTER (WHERE matured_1s) AS markout_1s,
       avg(side * (mid_5s - px) / px * 1e4) FILTER (WHERE matured_5s) AS markout_5s,
       avg(side * (mid_30s - px) / px * 1e4) FILTER (WHERE matured_30s) AS markout_30s,
       count(*) FILTER (WHERE matured_1s) AS matured_1s,
       count(*) FILTER (WHERE matured_5s) AS matured_5s,
       count(*) FILTER (WHERE matured_30s) AS matured_30s
FROM own_fills
