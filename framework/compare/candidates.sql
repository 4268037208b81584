-- Candidate pairs for matching the fills of session A (`fills_a`) with session B's
-- (`fills_b`), both fills.sql rows: the same side, engine times within $time_tol_ns,
-- prices within $price_tol_bps of A's price.  The pairing itself is greedy, in
-- Python (framework/compare/match.py), over these rows in this order: closest in time
-- first, then closest in price, then by seq.
SELECT a.seq AS a_seq, b.seq AS b_seq,
       abs(b.recv_ts - a.recv_ts) AS abs_dt_ns,
       abs(b.px - a.px) / a.px * 1e4 AS abs_dpx_bps
FROM fills_a a
JOIN fills_b b
  ON a.side = b.side
 AND b.recv_ts BETWEEN a.recv_ts - $time_tol_ns AND a.recv_ts + $time_tol_ns
WHERE abs(b.px - a.px) <= $price_tol_bps * a.px / 1e4
ORDER BY abs_dt_ns, abs_dpx_bps, a_seq, b_seq
