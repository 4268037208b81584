-- The first quote that differs: session A's and B's `quotes` rows (`quotes_a`,
-- `quotes_b`) paired by their rank in seq order; the first rank where the engine time,
-- a price or a size differs (or one session has no quote of that rank).
WITH qa AS (
    SELECT row_number() OVER (ORDER BY seq) AS n, seq, recv_ts, bid_px, bid_sz, ask_px, ask_sz
    FROM quotes_a
),
qb AS (
    SELECT row_number() OVER (ORDER BY seq) AS n, seq, recv_ts, bid_px, bid_sz, ask_px, ask_sz
    FROM quotes_b
)
SELECT coalesce(qa.n, qb.n) AS n,
       qa.seq AS a_seq, qa.recv_ts AS a_recv_ts, qa.bid_px AS a_bid_px, qa.bid_sz AS a_bid_sz,
       qa.ask_px AS a_ask_px, qa.ask_sz AS a_ask_sz,
       qb.seq AS b_seq, qb.recv_ts AS b_recv_ts, qb.bid_px AS b_bid_px, qb.bid_sz AS b_bid_sz,
       qb.ask_px AS b_ask_px, qb.ask_sz AS b_ask_sz
FROM qa FULL OUTER JOIN qb ON qa.n = qb.n
WHERE qa.recv_ts IS DISTINCT FROM qb.recv_ts
   OR qa.bid_px IS DISTINCT FROM qb.bid_px OR qa.bid_sz IS DISTINCT FROM qb.bid_sz
   OR qa.ask_px IS DISTINCT FROM qb.ask_px OR qa.ask_sz IS DISTINCT FROM qb.ask_sz
ORDER BY n
LIMIT 1
