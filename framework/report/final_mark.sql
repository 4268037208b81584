-- The price the position is marked to at the end, as the engine's order tracker does
-- (framework.orders.OrderTracker.mark_price): the mid of the LAST book / bbo top if
-- that top is valid (two-sided, uncrossed), else the last mark price, else the last trade.
SELECT coalesce(
    (SELECT CASE WHEN bid < ask THEN (bid + ask) / 2 END FROM tops ORDER BY seq DESC LIMIT 1),
    (SELECT mark_px FROM asset_ctx ORDER BY seq DESC LIMIT 1),
    (SELECT px FROM trades ORDER BY seq DESC LIMIT 1)
) AS mark_px
