-- PriorReadiness, part 1: the five gating estimators as the journal last saw them.
--
-- One row per estimator: its latest observation count, its minimum and whether it has
-- converged, from the `estimates` table up to seq $max_seq.  An estimator counts as
-- converged when its own latest flag says so (the mm_math criteria on top of its
-- minimum count) AND its count reaches the minimum given here ([calibration]
-- <name>_min_obs), so a stricter threshold here is honoured; a looser one cannot
-- make an estimator converged that did not say so itself.
--
-- Parameters: $max_seq, $min_volatility, $min_kappa, $min_adverse_selection,
-- $min_regime, $min_fill_rate.
WITH gates(estimator, param, min_obs, ord) AS (
    VALUES ('volatility', 'sigma', $min_volatility, 1),
           ('kappa', 'k', $min_kappa, 2),
           ('adverse_selection', 'as_5s', $min_adverse_selection, 3),
           ('regime', 'state', $min_regime, 4),
           ('fill_rate', 'k_f', $min_fill_rate, 5)
),
latest AS (
    SELECT e.estimator,
           arg_max(e.n_obs, e.seq) AS n_obs,
           arg_max(e.converged, e.seq) AS flag,
           arg_max(e.value, e.seq) AS value,
           max(e.seq) AS seq
    FROM estimates e
    JOIN gates g ON e.estimator = g.estimator AND e.param = g.param
    WHERE e.seq <= $max_seq
    GROUP BY e.estimator
)
SELECT g.estimator,
       coalesce(l.n_obs, 0) AS n_obs,
       g.min_obs,
       coalesce(l.flag, false) AND coalesce(l.n_obs, 0) >= g.min_obs AS converged,
       l.value,
       l.seq AS last_seq
FROM gates g
LEFT JOIN latest l ON l.estimator = g.estimator
ORDER BY g.ord
