-- The report's common views over a journal opened by framework.journal.duck.connect.
-- Every other report query reads these, so paper/backtest journals (sim_fills,
-- sim_orders) and live journals (fills, order_updates) are handled in one place.
--
-- own_fills   our fills, either venue: side +1 bought / -1 sold, fee in USDC
--             (negative = rebate), position after the fill.
-- own_orders  our orders' lifecycle: status resting | filled | canceled | rejected
--             (live statuses mapped: open -> resting, *Canceled / scheduledCancel ->
--             canceled, *Rejected -> rejected).
-- mids        every valid (two-sided, uncrossed) top of book from book and bbo rows.
-- tops        every book / bbo top, valid or not (the engine marks to the LAST one).
CREATE OR REPLACE VIEW own_fills AS
SELECT seq, ts, recv_ts, cloid, side, px, sz, fee, liquidity, rule,
       position AS position_after
FROM sim_fills
UNION ALL
SELECT seq, ts, recv_ts, cloid, side, px, sz, fee,
       CASE WHEN crossed THEN 'taker' ELSE 'maker' END AS liquidity,
       NULL AS rule,
       start_position + side * sz AS position_after
FROM fills;

CREATE OR REPLACE VIEW own_orders AS
SELECT seq, recv_ts, cloid, side, px, status FROM sim_orders
WHERE status IN ('resting', 'filled', 'canceled', 'rejected')
UNION ALL
SELECT seq, recv_ts, cloid, side, limit_px AS px,
       CASE WHEN status = 'open' THEN 'resting'
            WHEN status = 'filled' THEN 'filled'
            WHEN status ILIKE '%rejected' THEN 'rejected'
            WHEN status ILIKE '%canceled' OR status = 'scheduledCancel' THEN 'canceled'
       END AS status
FROM order_updates
WHERE cloid IS NOT NULL
  AND (status IN ('open', 'filled', 'scheduledCancel')
       OR status ILIKE '%rejected' OR status ILIKE '%canceled');

CREATE OR REPLACE VIEW tops AS
SELECT seq, recv_ts, best_bid_px AS bid, best_ask_px AS ask FROM book
UNION ALL
SELECT seq, recv_ts, bid_px AS bid, ask_px AS ask FROM bbo;

CREATE OR REPLACE VIEW mids AS
SELECT seq, recv_ts, (bid + ask) / 2 AS mid FROM tops WHERE bid < ask;
