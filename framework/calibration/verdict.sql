-- PriorReadiness, part 2: the verdict (the seed's "Calibration verdicts").
--
--   Ready        = session >= $min_session_s AND all 5 converged AND kelly fills >= $min_kelly_fills
--   Marginal     = session >= $min_session_s AND >= $marginal_min_converged of 5 converged
--   Insufficient = otherwise
--
-- Beyond the seed: the mean gross edge (markout at $horizon_ns, bps) with a 95 %
-- confidence interval, and one rule on it: with $downgrade_negative_edge, a Ready
-- session whose whole interval is below zero (edge significantly negative) is
-- Marginal.  The interval is cluster-robust: fills are grouped into blocks of one
-- horizon (fills within h share their mid path, mm_math §4), and the t quantile has
-- blocks - 1 degrees of freedom.
--
-- Reads the temporary tables `readiness_estimators` (estimators.sql) and
-- `readiness_edge` (edge.sql).  Session duration is event time: the first to the
-- last input received up to $max_seq.  Kelly fills: the Kelly estimator's latest
-- count (fills with a measured markout at its horizon).
--
-- Parameters: $max_seq, $min_session_s, $min_kelly_fills, $marginal_min_converged,
-- $horizon_ns, $downgrade_negative_edge.
WITH session AS (
    SELECT coalesce((max(recv_ts) - min(recv_ts)) / 1e9, 0.0) AS duration_s,
           (SELECT max(seq) FROM timeline WHERE seq <= $max_seq) AS last_seq
    FROM timeline
    WHERE seq <= $max_seq AND tbl IN ('book', 'trades', 'bbo', 'asset_ctx', 'clock',
                                      'order_responses', 'order_updates', 'fills',
                                      'account', 'rate_limit', 'connection')
),
kelly AS (
    SELECT coalesce(arg_max(n_obs, seq), 0) AS fills
    FROM estimates
    WHERE seq <= $max_seq AND estimator = 'kelly' AND param = 'fraction'
),
conv AS (
    SELECT count(*) FILTER (WHERE converged) AS converged, count(*) AS gated
    FROM readiness_estimators
),
fills AS (
    SELECT markout_bps, recv_ts // $horizon_ns AS block FROM readiness_edge
),
overall AS (
    SELECT count(*) AS n, avg(markout_bps) AS mean FROM fills
),
blocks AS (
    SELECT f.block, sum(f.markout_bps - o.mean) AS dev
    FROM fills f, overall o
    GROUP BY f.block
),
cluster AS (
    SELECT count(*) AS nb, sum(dev * dev) AS ss FROM blocks
),
t975(df, t) AS (
    VALUES (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447),
           (7, 2.365), (8, 2.306), (9, 2.262), (10, 2.228), (11, 2.201), (12, 2.179),
           (13, 2.160), (14, 2.145), (15, 2.131), (16, 2.120), (17, 2.110), (18, 2.101),
           (19, 2.093), (20, 2.086), (21, 2.080), (22, 2.074), (23, 2.069), (24, 2.064),
           (25, 2.060), (26, 2.056), (27, 2.052), (28, 2.048), (29, 2.045), (30, 2.042)
),
edge AS (
    SELECT o.n AS edge_fills,
           c.nb AS edge_blocks,
           o.mean AS edge_bps,
           CASE WHEN c.nb >= 2
                THEN coalesce((SELECT t FROM t975 WHERE df = c.nb - 1), 1.959964)
                     * sqrt(c.ss * c.nb / (c.nb - 1)) / o.n
           END AS edge_half_width
    FROM overall o, cluster c
),
verdicts AS (
    SELECT s.duration_s, s.last_seq, k.fills AS kelly_fills, c.converged, c.gated,
           e.edge_fills, e.edge_blocks, e.edge_bps,
           e.edge_bps - e.edge_half_width AS edge_lo,
           e.edge_bps + e.edge_half_width AS edge_hi,
           CASE
               WHEN s.duration_s >= $min_session_s AND c.converged = c.gated
                    AND k.fills >= $min_kelly_fills THEN 'Ready'
               WHEN s.duration_s >= $min_session_s
                    AND c.converged >= $marginal_min_converged THEN 'Marginal'
               ELSE 'Insufficient'
           END AS seed_verdict
    FROM session s, kelly k, conv c, edge e
)
SELECT *,
       CASE WHEN seed_verdict = 'Ready' AND $downgrade_negative_edge AND edge_hi < 0
            THEN 'Marginal' ELSE seed_verdict END AS verdict
FROM verdicts
