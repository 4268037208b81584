-- How much one session did: its length, quotes, orders and how many of them filled.
--
--   duration_s     first to last input received (event time; verdict.sql's measure)
--   quotes         rows of `quotes` (the strategy's accepted targets)
--   orders         orders sent: `order_commands` place + modify (a modify is a new order)
--   filled_orders  distinct cloids with at least one fill (fills.sql's `own_fills`)
--   fill_ratio     filled_orders / orders
--   fills_per_hour fills / duration
WITH span AS (
    SELECT coalesce((max(recv_ts) - min(recv_ts)) / 1e9, 0.0) AS duration_s FROM timeline
    WHERE tbl IN ('book', 'trades', 'bbo', 'asset_ctx', 'clock', 'order_responses',
                  'order_updates', 'fills', 'account', 'rate_limit', 'connection')
),
orders AS (
    SELECT count(*) FILTER (WHERE action IN ('place', 'modify')) AS orders FROM order_commands
),
filled AS (
    SELECT count(DISTINCT cloid) AS filled_orders, count(*) AS fills FROM own_fills
)
SELECT span.duration_s,
       (SELECT count(*) FROM quotes) AS quotes,
       orders.orders,
       filled.filled_orders,
       CASE WHEN orders.orders > 0 THEN filled.filled_orders / orders.orders END AS fill_ratio,
       CASE WHEN span.duration_s > 0 THEN filled.fills * 3600.0 / span.duration_s END
           AS fills_per_hour
FROM span, orders, filled
