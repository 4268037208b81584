-- Each estimator's journaled value over time (the `estimates` rows of its headline
-- parameter), with its observation count and converged flag.  Parameters: $params
-- (list of 'estimator/param' strings).
SELECT estimator, param, seq, recv_ts, value, std_err, n_obs, converged
FROM estimates
WHERE list_contains($params, estimator || '/' || param)
ORDER BY estimator, seq
