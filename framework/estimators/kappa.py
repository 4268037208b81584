"""κ / A from public trades: exponential MLE on aggressor depth exceedances (mm_math.md §2.3).

Observation = one aggressor event: prints with the same exchange ``ts``, ``hash``
(``None`` groups by ts alone) and side, depth = worst print vs the last valid mid
strictly before the event's ts.  Depths live on the price grid, so the fit is the
geometric MLE on the tick grid.

Depth floor per event **[ours]**: an event's possible depths are ``hs + j·tick``
(``hs`` = half-spread of the book it hit).  A print at the touch (``j = 0``) only says
the sweep reached the touch (its true depth is anywhere below ``hs + tick``: it is
censored, the trade-through convention of §2.1), so each event's floor is the first
grid point beyond the touch at or above ``delta0_bps``; events below it are dropped.
Above a grid-aligned floor the exceedance in ticks is exactly geometric with ratio
``exp(-k·tick)``, whatever the floor.

Cost: nothing per book / bbo event.  The pre-trade mid is looked up at the first print
of each sweep on the shared :class:`~framework.estimators.base.BookTape` (the newest
book or bbo whose exchange ts is below the trade's: a book stamped with the trade's
own ts is the post-trade book, and the feeds can deliver it before the trade).  Refits
use running window sums, so each is O(1) plus the events that leave the window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from framework.engine.core import Engine
from framework.estimators.base import (
    NAN,
    EstimatorBase,
    book_tape,
    on_checkpoint,
    require_positive,
)
from framework.events.columns import Columns
from framework.events.schema import Kind
from framework.grid import tick_size
from framework.kernel.handler import Route
from framework.kernel.market import (  # noqa: F401 (geometric_k: re-exported)
    KappaCore,
    SweepDepths,
    geometric_k,
)


class KappaEstimator(KappaCore, EstimatorBase):
    """Arrival decay ``k`` (per bps) and intensity ``A`` (per s) of aggressor sweeps.

    Parameters
    ----------
    delta0_bps : float
        Depth floor δ0 (the tightest depth we would quote).
    window_s : float
        Rolling fit window.
    refit_s : float
        Refit period.  §2.3 says 5-10 s; 30 s by default **[ours]**: κ drifts slowly
        (a refit moves the 900 s window by 3 %), the strategy reads it every 5 s
        either way, and the gate's "3 refits within 10 %" then spans 60 s, stricter
        than 10-20 s.  Each refit is O(1) (running sums), so 5-10 s only costs timer
        calls and rows.
    publish_s : float
        Journal the rows at a refit once this much event time has passed since the last
        rows (and always when the flag flips, and at ``n_obs`` = ``min_obs - 1`` and
        ``min_obs``); 0 journals every refit.  See :mod:`framework.estimators.base`.
    sz_decimals : int
        The asset's szDecimals for the tick; 0 uses the 5-significant-figure rule alone
        (equal to the true tick for every price above $0.01 or so).
    stale_s : float
        A book older than this at the event, on the exchange clock (trade ``ts`` minus
        the book's ``ts``), is not a valid mid.
    max_rel_se, max_refit_change : float
        Gates: ``SE(k)/k <= 0.15`` and ``|k_t/k_{t-1} - 1| <= 0.10`` over the last 3 refits.
    min_bins : int
        Distinct exceedance grid steps populated (3).

    Attributes
    ----------
    k_per_bps, A_per_s : float
        Last fit (NaN before the first); kept when a refit has no data.
    """

    name = "kappa"

    def __init__(
        self,
        delta0_bps: float = 0.3,
        window_s: float = 900.0,
        refit_s: float = 30.0,
        publish_s: float = 30.0,
        sz_decimals: int = 0,
        stale_s: float = 5.0,
        max_rel_se: float = 0.15,
        max_refit_change: float = 0.10,
        min_bins: int = 3,
    ) -> None:
        super().__init__()
        require_positive(window_s=window_s, refit_s=refit_s, stale_s=stale_s)
        self.delta0_bps = float(delta0_bps)
        self.window_ns = round(window_s * 1e9)
        self.refit_ns = round(refit_s * 1e9)
        if not publish_s >= 0:
            raise ValueError(f"publish_s={publish_s!r}: must be >= 0 s (e.g. 30.0)")
        self.publish_ns = round(publish_s * 1e9)
        self._next_pub = 0
        self.sz_decimals = int(sz_decimals)
        self.stale_ns = round(stale_s * 1e9)
        self.max_rel_se = max_rel_se
        self.max_refit_change = max_refit_change
        self.min_bins = min_bins
        # The per-trade work (sweeps, their pre-trade book, depths) and the window of
        # kept sweeps with its running sums run in the kernel.
        self._sweeps = SweepDepths(self._tick_at, self.delta0_bps, self.stale_ns)
        self.k_per_bps = NAN
        self.A_per_s = NAN
        self.k_se = NAN
        self.lnA_se = NAN
        self.bins = 0
        self._history: deque[float] = deque(maxlen=3)

    def bind(self, engine: Engine) -> None:
        self.engine = engine
        self._sweeps.tape = book_tape(engine)
        self._sweeps.clock = engine.clock
        engine.subscribe(
            Kind.TRADES, Route(self._sweeps, Kind.TRADES), columns=("side", "px", "hash")
        )
        on_checkpoint(engine, self.publish)
        engine.call_every(self.refit_ns, self.refit)

    # -- market -------------------------------------------------------------------------
    def on_trade(self, cols: Columns, i: int) -> None:
        """One print (what the engine runs, in the kernel, is the estimator's
        :class:`~framework.kernel.market.SweepDepths`)."""
        self._sweeps.on_event(cols, i)

    @property
    def events_seen(self) -> int:
        """Aggressor sweeps closed so far (kept or not)."""
        return self._sweeps.events_seen

    @property
    def events_kept(self) -> int:
        """Sweeps that counted so far (ever, not only in the window)."""
        return self._sweeps.kept

    def _tick_at(self, px: float) -> float:
        """The price grid's step at ``px`` (SweepDepths caches it per magnitude)."""
        return tick_size(px, self.sz_decimals)

    # -- fit ----------------------------------------------------------------------------
    # refit(t), the timer, is KappaCore's (framework.kernel.market): the window's
    # eviction, the geometric k and A, their errors and the gate, in C.

    def publish(self) -> None:
        if self.n_obs:
            assert self.engine is not None
            self._emit(self.engine.now)

    def _emit(self, t: int) -> None:
        self._next_pub = t + self.publish_ns
        self.emit("k", self.k_per_bps, self.k_se)
        self.emit("A", self.A_per_s, self.A_per_s * self.lnA_se)

    def snapshot(self) -> dict[str, Any]:
        return {
            **super().snapshot(),
            "k_per_bps": self.k_per_bps,
            "A_per_s": self.A_per_s,
            "k_se": self.k_se,
            "bins": self.bins,
            "events_seen": self.events_seen,
            "events_kept": self.events_kept,
        }
