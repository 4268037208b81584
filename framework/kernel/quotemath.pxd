# The C signatures of quotemath.py's functions, for the kernel modules that cimport them
# (quoter): a C call, no Python frame.  Errors propagate as in Python.

cpdef double round_size_down(double x, int sz_decimals) except? -1.0
cpdef double clamp_half_spread(double half_spread_bps, object band, double tick_bps) except? -1.0
cpdef double microprice(double bid, double ask, double bid_sz, double ask_sz) except? -1.0
cpdef tuple quote_prices(
    double fair,
    double half_spread_bps,
    double skew_bps,
    double best_bid,
    double best_ask,
    int sz_decimals,
)
cpdef double order_size(
    double px,
    double equity,
    double kelly_fraction,
    double base_notional,
    double min_notional,
    double max_notional,
    double size_mult,
    int sz_decimals,
    double cap_notional,
) except? -1.0
