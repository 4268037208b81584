-- Fill rate of our resting orders by depth (mm_math §6), as the fill-rate estimator
-- counts it: an order's episode runs from its first `resting` row to its first fill
-- (an event) or its terminal row / the session's end (censored).  Its depth
--   depth_bps = side * (mid - px) / mid * 1e4
-- is recomputed at every valid mid, so an episode's exposure is split across the depth
-- buckets it sat in; a fill counts in the bucket the order was in just before it.
-- Buckets: [edge_i, edge_i+1) for the lower edges $edges (bps); depths below the first
-- edge count in the first bucket and the last bucket is open, as in the estimator.
-- Parameters: $edges (list of DOUBLE), $t_end (ns, the session's end).
WITH rest AS (
    SELECT cloid, min(recv_ts) AS t_rest, arg_min(side, seq) AS side, arg_min(px, seq) AS px
    FROM own_orders WHERE status = 'resting' GROUP BY cloid
),
term AS (
    SELECT o.cloid, min(o.recv_ts) AS t_term
    FROM own_orders o JOIN rest r USING (cloid)
    WHERE o.status IN ('filled', 'canceled', 'rejected') AND o.recv_ts >= r.t_rest
    GROUP BY o.cloid
),
first_fill AS (
    SELECT f.cloid, min(f.recv_ts) AS t_fill
    FROM own_fills f JOIN rest r USING (cloid)
    WHERE f.recv_ts >= r.t_rest
    GROUP BY f.cloid
),
episodes AS (
    SELECT r.cloid, r.side, r.px, r.t_rest AS t0,
           least(coalesce(t.t_term, $t_end), coalesce(ff.t_fill, $t_end)) AS t1,
           ff.t_fill IS NOT NULL AND ff.t_fill <= coalesce(t.t_term, $t_end) AS filled
    FROM rest r LEFT JOIN term t USING (cloid) LEFT JOIN first_fill ff USING (cloid)
),
seg AS (
    SELECT row_number() OVER (ORDER BY seq) AS k, recv_ts AS s0,
           coalesce(lead(recv_ts) OVER (ORDER BY seq), greatest($t_end, recv_ts)) AS s1,
           mid
    FROM mids
),
-- the segments an episode spans: from the one holding its start (or the first after
-- it, when no mid came before) to the last one starting before its end
span AS (
    SELECT e.*, coalesce(a.k, 1) AS k0, b.k AS k1
    FROM episodes e
    ASOF LEFT JOIN seg a ON e.t0 >= a.s0
    ASOF LEFT JOIN seg b ON e.t1 > b.s0
),
edges AS (
    SELECT i - 1 AS bucket, lo,
           coalesce(lead(lo) OVER (ORDER BY i), 'inf'::DOUBLE) AS hi,
           CASE WHEN i = 1 THEN '-inf'::DOUBLE ELSE lo END AS lo_open
    FROM (SELECT unnest($edges) AS lo, generate_subscripts($edges, 1) AS i)
),
exposure AS (
    SELECT e.cloid, e.filled, greatest(s.s0, e.t0) AS a, least(s.s1, e.t1) AS b,
           e.side * (s.mid - e.px) / s.mid * 1e4 AS depth_bps
    FROM (SELECT *, unnest(range(k0, k1 + 1)) AS k FROM span WHERE k1 >= k0) e
    JOIN seg s USING (k)
    WHERE s.s1 > e.t0 AND s.s0 < e.t1
),
bucketed AS (
    SELECT x.*, g.bucket
    FROM exposure x JOIN edges g ON x.depth_bps >= g.lo_open AND x.depth_bps < g.hi
),
per_bucket AS (
    SELECT bucket, sum(b - a) / 1e9 AS exposure_s, count(DISTINCT cloid) AS orders,
           sum((b - a) * depth_bps) / nullif(sum(b - a), 0) AS mean_depth_bps
    FROM bucketed GROUP BY bucket
),
fill_bucket AS (
    SELECT bucket, count(*) AS fills
    FROM (SELECT cloid, arg_max(bucket, a) AS bucket FROM bucketed WHERE filled GROUP BY cloid)
    GROUP BY bucket
)
SELECT g.bucket, g.lo AS lo_bps, g.hi AS hi_bps,
       coalesce(p.exposure_s, 0) AS exposure_s, coalesce(f.fills, 0) AS fills,
       coalesce(p.orders, 0) AS orders, p.mean_depth_bps
FROM edges g
LEFT JOIN per_bucket p USING (bucket)
LEFT JOIN fill_bucket f USING (bucket)
ORDER BY g.bucket
