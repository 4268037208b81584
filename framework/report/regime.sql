-- The regime estimator's state per bucket: value is the index into
-- ("calm", "volatile", "trending") (framework.estimators.regime.LABELS), null before
-- its first fit.  std_err is 1 - the state's filtered probability.
SELECT seq, recv_ts, value AS state, std_err, n_obs
FROM estimates
WHERE estimator = 'regime' AND param = 'state'
ORDER BY seq
