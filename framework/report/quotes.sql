-- The quotes the strategy wanted (before they became orders): bid and ask price
-- (null = no quote on that side), fair price, half spread and skew.
SELECT seq, recv_ts, bid_px, ask_px, fair_px, half_spread_bps, skew_bps, inventory
FROM quotes
ORDER BY seq
