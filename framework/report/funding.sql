-- Funding paid over the session, USDC (positive = we paid).  Paper and backtest journals
-- settle it hourly in `sim_funding`; live journals carry no funding rows yet.
SELECT coalesce(sum(payment), 0) AS paid FROM sim_funding
