-- The last non-null value an estimator journaled for one parameter (the fill-rate
-- estimator's last fit A_f, k_f).  Parameters: $estimator, $param.
SELECT value
FROM estimates
WHERE estimator = $estimator AND param = $param AND value IS NOT NULL
ORDER BY seq DESC
LIMIT 1
