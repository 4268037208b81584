-- Risk and quote-gate state changes (the `risk` table): when the engine paused,
-- widened, forced or resumed quoting, and why.
SELECT seq, recv_ts, rule, state, value, "limit", reason
FROM risk
ORDER BY seq
