# The C declarations of market.py's classes that other kernel modules read in C (the
# quoter reads the market, the orders and risk; the venue the market): their fields and
# C methods.  The classes' code, and what each field means, are in market.py.

from framework.kernel.handler cimport Clock, Handler

cdef class _Top:
    cdef tuple names
    cdef object src
    cdef bint typed
    cdef const double[:] v_bid
    cdef const double[:] v_bsz
    cdef const double[:] v_ask
    cdef const double[:] v_asz
    cdef object o_bid  # a list (batch) or a one-value tuple (a built row)
    cdef object o_bsz
    cdef object o_ask
    cdef object o_asz
    cdef double bid
    cdef double bsz
    cdef double ask
    cdef double asz
    cdef void read(self, object cols, Py_ssize_t i)
    cdef void _take(self, object cols)

cdef class MarketState(Handler):
    cdef public double best_bid
    cdef public double best_ask
    cdef public double bid_sz
    cdef public double ask_sz
    cdef public double last_trade_px
    cdef public double mark_px
    cdef public double oracle_px
    cdef public double funding
    cdef public long long last_book_ts
    cdef public long long last_trade_ts
    cdef public long long last_market_ts  # book/bbo/trade
    cdef public long long books
    cdef public long long trades
    cdef public object engine
    cdef readonly Clock clock  # the engine's (now, in C)
    # The current book row (Columns, row): what depth_at / *_levels answer from.
    cdef public object _book
    cdef public Py_ssize_t _row
    # The top of book and bbo rows, read from their batches' top-of-book columns.
    cdef _Top _book_top
    cdef _Top _bbo_top
    # The trade price of the batch the last trade came from (see _Top).
    cdef object _trade_src
    cdef object _tr_px
    cdef bint _tr_typed
    cdef const double[:] _vt_px
    # The level columns of book batch _t_src as typed views for depth_at (compiled,
    # float64 values): values and row offsets of bid_px, bid_sz, ask_px, ask_sz;
    # _t_typed when taken.
    cdef object _t_src
    cdef bint _t_typed
    cdef const double[:] _t_bpx
    cdef const double[:] _t_bsz
    cdef const double[:] _t_apx
    cdef const double[:] _t_asz
    cdef const long long[:] _t_bpx_o
    cdef const long long[:] _t_bsz_o
    cdef const long long[:] _t_apx_o
    cdef const long long[:] _t_asz_o
    cpdef void handle(self, int route, object cols, Py_ssize_t i)
    cpdef void on_book(self, object cols, Py_ssize_t i)
    cpdef void on_bbo(self, object cols, Py_ssize_t i)
    cdef void _set_top(self, _Top top, object cols, Py_ssize_t i)
    cdef void _typed_views(self, object cols)
    cpdef void on_trade(self, object cols, Py_ssize_t i)

cdef class TrackerCore(Handler):
    cdef public MarketState market
    cdef public double position
    cdef public double cash  # -sum(side * px * sz)
    cdef public double fees
    cdef public double funding
    cdef public double avg_entry
    cdef public double initial_equity
    cdef public double equity
    cdef public double peak_equity
    cdef public double max_drawdown  # fraction of peak
    cdef public double max_drawdown_usd
    cdef public long long n_fills
    # The open orders (cloid -> [side, px, sz, status, filled]), the closed ones (cloid
    # -> final status, oldest first: an OrderedDict), modifies in flight (new cloid ->
    # the cloid it replaces), and the counts: see framework.orders.
    cdef public dict open
    cdef public object closed
    cdef public dict replaces
    cdef public long long n_commands
    cdef public long long n_rejects
    cpdef void handle(self, int route, object cols, Py_ssize_t i)
    cpdef void rested(self, object cloid, object sz)
    cpdef void gone(self, object cloid, bint rejected, object final)
    cdef double _px(self)
    cpdef double mark(self, object t=*)
    cpdef void on_tick(self, int route, long long t)
    cdef double _mark(self)

cdef class RiskCore(Handler):
    cdef public MarketState market
    cdef public TrackerCore orders
    cdef public object engine
    cdef public object budget  # the paper venue's, or None
    cdef public dict states  # rule -> state
    cdef public bint paused
    cdef public bint killed
    cdef public bint daily_tripped
    cdef public bint forcing
    cdef public bint cap_long  # at the long cap: no bids
    cdef public bint cap_short
    cdef public bint quoting_allowed
    cdef public object sides_allowed  # (bid, ask)
    cdef public double headroom
    cdef public bint _live_headroom
    cdef public long long _t0
    cdef public long long _stale_ns
    cdef public long long _fills_seen
    cdef public long long _day
    cdef public double _day_start_equity
    cdef public double _max_position
    cdef public double _max_position_usd
    cdef public double _max_drawdown
    cdef public double _max_daily_loss
    # what the strategy scales by (RiskManager sets them)
    cdef public double spread_mult
    cdef public double size_mult
    cpdef void on_tick(self, int route, long long t)
    cpdef void check(self, long long t)
    cdef double _usd(self, double pos)
    cdef bint _over(self, double pos)
    cdef void _losses(self)
    cdef void _pub(self)

cdef class VenueGate(Handler):
    cdef public MarketState market
    cdef public long long due
    cdef public double bid_max
    cdef public double ask_min
    cdef public bint cross
    cdef public bint depth
    cdef public list pending
    cdef public dict bid_used
    cdef public dict ask_used
    cdef public object on_trade
    cdef public object on_book
    cdef public object on_bbo
    cdef object _src  # the trades batch the row columns below come from
    cdef object _ts
    cdef object _side
    cpdef void handle(self, int route, object cols, Py_ssize_t i)
    cpdef void trade(self, object cols, Py_ssize_t i)
    cdef bint _top(self)
    cpdef void book(self, object cols, Py_ssize_t i)
    cpdef void bbo(self, object cols, Py_ssize_t i)
