-- The session's span on the engine clock (recv_ts, ns) and its rows per table.
SELECT min(recv_ts) AS t0, max(recv_ts) AS t1, count(*) AS rows,
       count(*) FILTER (WHERE tbl IN ('book', 'trades', 'bbo', 'asset_ctx', 'clock',
                                      'order_responses', 'order_updates', 'fills',
                                      'account', 'rate_limit', 'connection')) AS inputs
FROM timeline
