"""The volatility estimator's per-return work, typed: EWMA sums and the gate.

:class:`VolSums` is what :meth:`framework.estimators.volatility.VolatilityEstimator.
on_return` runs for each clock return (86 400 a day at 1 s): the bias-corrected EWMA
sums of ``r²``, of the clipped ``r_c²`` and ``r_c⁴``, the bipower and lag-1 terms, the
valid-tick share, then the convergence gate and the publication decision.  The maths
and its reasons are in :mod:`framework.estimators.volatility` (mm_math.md §3); the
estimator keeps the derived figures (σ family, kurtosis, relSE), read from the sums
here.

The clock calls :meth:`VolSums.on_return` directly (a C method when compiled: no
Python frame per tick).  The estimator's ``n_obs``, ``min_obs`` and ``converged`` live
here as C fields (the estimator's attributes of those names read and write them), so
the per-return count and gate touch no Python object; it calls the estimator's
``_emit`` when a row is due.

Bits **[ours]**: every expression is the interpreted one, operand for operand and in
the same order, on C doubles (the build forbids fused multiply-adds); ``sqrt`` is
IEEE's correctly rounded square root on both paths; integers (``n``, ``k``, times in
ns) stay far below 2⁵³, where their conversions to double are exact.
"""

from __future__ import annotations

import cython
from cython.cimports.libc.math import sqrt

if cython.compiled:  # the mid clock calls on_return in C
    from cython.cimports.framework.kernel.handler import Handler
else:
    from framework.kernel.handler import Handler

NAN = float("nan")
INF = float("inf")


@cython.cfunc
def _sqrt(x: cython.double) -> cython.double:
    """``math.sqrt``: ValueError for a negative ``x`` on both paths (C's gives NaN)."""
    if x < 0.0:
        raise ValueError("math domain error")
    return sqrt(x)


@cython.cclass
class VolSums(Handler):
    """EWMA state of one volatility estimator; see the module doc."""

    # Constants of the estimator (fixed at its construction).
    lam = cython.declare(cython.double, visibility="readonly")
    om = cython.declare(cython.double, visibility="readonly")
    om_half_pi = cython.declare(cython.double, visibility="readonly")
    clip2 = cython.declare(cython.double, visibility="readonly")
    extra = cython.declare(cython.double, visibility="readonly")
    max_rel_se2 = cython.declare(cython.double, visibility="readonly")
    n_eff_cap = cython.declare(cython.double, visibility="readonly")
    min_valid_frac = cython.declare(cython.double, visibility="readonly")
    publish_ns = cython.declare(cython.longlong, visibility="readonly")
    # The sums (read by the estimator's properties).
    s2 = cython.declare(cython.double, visibility="public")  # EWMA of r² (per Δ, gap-scaled)
    s4 = cython.declare(cython.double, visibility="public")  # EWMA of r_c⁴ (r² clipped)
    s2c = cython.declare(cython.double, visibility="public")  # EWMA of r_c²
    bv = cython.declare(cython.double, visibility="public")  # EWMA of (π/2)|r_t||r_{t-1}|
    c1 = cython.declare(cython.double, visibility="public")  # EWMA of r_t r_{t-1}
    prev_r = cython.declare(cython.double, visibility="public")
    prev_abs = cython.declare(cython.double, visibility="public")
    lam_n = cython.declare(cython.double, visibility="public")  # λ^n, the bias correction
    lam_bv = cython.declare(cython.double, visibility="public")
    n_bv = cython.declare(cython.longlong, visibility="public")
    valid = cython.declare(cython.double, visibility="public")  # EWMA of valid ticks
    lam_ticks = cython.declare(cython.double, visibility="public")
    next_pub = cython.declare(cython.longlong, visibility="public")  # next row due (ns)
    # The estimator's count, its minimum (compared as a double: exact for counts below
    # 2**53, as Python's int/float comparison) and its convergence flag.
    n_obs = cython.declare(cython.longlong, visibility="public")
    min_obs = cython.declare(cython.double, visibility="public")
    converged = cython.declare(cython.bint, visibility="public")
    est = cython.declare(object, visibility="readonly")
    # How the σ family is read (the estimator sets both): noise-corrected or not, and
    # the factor from a variance per Δ to bps per √s.
    noise_correction = cython.declare(cython.bint, visibility="public")
    to_bps = cython.declare(cython.double, visibility="public")

    def __init__(
        self,
        est: object,
        lam: cython.double,
        om_half_pi: cython.double,
        clip2: cython.double,
        extra: cython.double,
        max_rel_se2: cython.double,
        n_eff_cap: cython.double,
        min_valid_frac: cython.double,
        publish_ns: cython.longlong,
    ) -> None:
        self.est = est
        self.lam = lam
        self.om = 1.0 - lam
        self.om_half_pi = om_half_pi
        self.clip2 = clip2
        self.extra = extra
        self.max_rel_se2 = max_rel_se2
        self.n_eff_cap = n_eff_cap
        self.min_valid_frac = min_valid_frac
        self.publish_ns = publish_ns
        self.s2 = 0.0
        self.s4 = 0.0
        self.s2c = 0.0
        self.bv = 0.0
        self.c1 = 0.0
        self.prev_r = NAN
        self.prev_abs = NAN
        self.lam_n = 1.0
        self.lam_bv = 1.0
        self.n_bv = 0
        self.valid = 0.0
        self.lam_ticks = 1.0
        self.next_pub = 0
        self.n_obs = 0
        self.min_obs = 0.0
        self.converged = False
        self.noise_correction = True
        self.to_bps = 1e4

    @cython.ccall
    def parts(self, noise_correction: cython.bint) -> tuple:
        """``(v, v_c, ratio)``: raw and noise-corrected variance per Δ and the bipower
        share (:meth:`framework.estimators.volatility.VolatilityEstimator._parts`, which
        calls this; ZeroDivisionError before the first return, as in Python)."""
        v: cython.double = self.s2 / (1.0 - self.lam_n)
        b: cython.double = v
        c1: cython.double = 0.0
        corr_bv: cython.double
        if self.n_bv:
            corr_bv = 1.0 - self.lam_bv
            b = self.bv / corr_bv
            c1 = self.c1 / corr_bv
        # Noise correction [ours]: i.i.d. mid noise (spread flicker, grid rounding) adds
        # 2ω² to E[r²] and -ω² to E[r_t r_{t-1}]; v + 2c1 removes it (one-lag kernel).
        vc: cython.double = v
        lo: cython.double
        if noise_correction:
            vc = v + 2.0 * c1
            lo = 0.25 * v
            vc = lo if lo > vc else vc  # max(v + 2 c1, v / 4), Python's tie rule
        ratio: cython.double = 1.0
        if v > 0:
            ratio = b / v
            ratio = ratio if ratio < 1.0 else 1.0  # min(1, b / v), Python's tie rule
        return (v, vc, ratio)

    # -- the σ family (VolatilityEstimator's properties read these) ------------------------
    @cython.ccall
    def sigma_bps(self) -> cython.double:
        """Quoting σ: ``sqrt(v_c · ratio)`` in bps per √s, NaN before the first return."""
        if not self.n_obs:
            return NAN
        vc: cython.double
        ratio: cython.double
        _, vc, ratio = self.parts(self.noise_correction)
        return _sqrt(vc * ratio) * self.to_bps

    @cython.ccall
    def sigma_rv_bps(self) -> cython.double:
        """The plain EWMA σ of §3."""
        if not self.n_obs:
            return NAN
        return _sqrt(self.s2 / (1.0 - self.lam_n)) * self.to_bps

    @cython.ccall
    def kurtosis(self) -> cython.double:
        """``EWMA(r_c⁴)/EWMA(r_c²)²`` (NaN until a non-zero return)."""
        if not self.s2c > 0:
            return NAN
        return self.s4 * (1.0 - self.lam_n) / (self.s2c * self.s2c)

    @cython.ccall
    def rel_se(self) -> cython.double:
        """Kurtosis-aware ``relSE(σ̂)`` of §3 (inf until a non-zero return)."""
        kurt: cython.double = self.kurtosis()
        if kurt != kurt:
            return INF if self.n_obs else NAN
        # §3: relSE(v̂) = sqrt((κ4 - 1)/n_eff); the lag-1 term adds ~4 [ours].
        x: cython.double = kurt - 1.0 + self.extra
        n: cython.double = self.n_obs
        n_eff: cython.double = self.n_eff_cap if self.n_eff_cap < n else n  # min(n, cap)
        return 0.5 * _sqrt((0.0 if x < 0.0 else x) / n_eff)  # max(x, 0.0)

    @cython.ccall
    def jump_share(self) -> cython.double:
        """``max(0, 1 - B̂/v̂)``."""
        if not self.n_obs:
            return NAN
        ratio: cython.double
        _, _, ratio = self.parts(self.noise_correction)
        return 1.0 - ratio

    def emit_rows(self) -> None:
        """The estimator's rows (σ, σ_rv, jump share) through its ``emit``."""
        sigma: cython.double = self.sigma_bps()
        rv: cython.double = self.sigma_rv_bps()
        rel: cython.double = self.rel_se()
        finite: cython.bint = rel == rel and rel != INF and rel != -INF
        est = self.est
        est.emit("sigma", sigma, rel * sigma if finite else None)
        est.emit("sigma_rv", rv, rel * rv if finite else None)
        est.emit("jump_share", self.jump_share(), None)

    @cython.ccall
    def on_return(self, t: cython.longlong, r: object, k: cython.longlong) -> cython.void:
        """One clock return ``r`` spanning ``k`` ticks at ``t`` (``r`` None: an invalid
        tick)."""
        lam: cython.double = self.lam
        om: cython.double = self.om
        x: cython.double
        r2: cython.double
        a: cython.double
        rs: cython.double
        r2c: cython.double
        cap: cython.double
        s2c: cython.double
        s4: cython.double
        lam_n: cython.double
        pa: cython.double
        corr: cython.double
        n_eff: cython.double
        n: cython.longlong
        new: cython.bint
        self.lam_ticks *= lam
        if r is None:
            self.valid *= lam
            self.prev_abs = NAN  # bipower needs adjacent returns
            self.prev_r = NAN
            return
        x = r
        self.valid = lam * self.valid + om
        # A return spanning k ticks is scaled to one tick (§3: r^2 / (elapsed/Δ)).
        if k == 1:
            r2 = x * x
            a = x if x >= 0.0 else -x
            rs = x
        else:
            r2 = x * x / k
            a = sqrt(r2)
            rs = x / sqrt(k)
        n = self.n_obs + 1
        self.n_obs = n
        self.s2 = lam * self.s2 + om * r2
        r2c = r2
        if self.n_bv:
            cap = self.clip2 * self.bv / (1.0 - self.lam_bv)
            if r2c > cap:
                r2c = cap
        s2c = lam * self.s2c + om * r2c
        self.s2c = s2c
        s4 = lam * self.s4 + om * r2c * r2c
        self.s4 = s4
        lam_n = self.lam_n * lam
        self.lam_n = lam_n
        pa = self.prev_abs
        if pa == pa:  # not NaN
            self.bv = lam * self.bv + self.om_half_pi * a * pa
            self.c1 = lam * self.c1 + om * rs * self.prev_r
            self.lam_bv *= lam
            self.n_bv += 1
        self.prev_abs = a
        self.prev_r = rs
        # The gate, every return (the flag must flip at the exact count): n first, then
        # relSE(σ̂)^2 = (κ4 - 1 + extra)/(4 n_eff) <= max_rel_se^2, then the valid share.
        min_obs: cython.double = self.min_obs
        if n >= min_obs and s2c > 0.0:
            corr = 1.0 - lam_n
            x = s4 * corr / (s2c * s2c) - 1.0 + self.extra
            n_eff = n if n < self.n_eff_cap else self.n_eff_cap
            new = 0.25 * (
                x if x > 0.0 else 0.0
            ) <= self.max_rel_se2 * n_eff and self.valid >= self.min_valid_frac * (
                1.0 - self.lam_ticks
            )
        else:
            new = False
        changed = new != self.converged
        self.converged = new
        if changed or t >= self.next_pub or n == min_obs or n == min_obs - 1:
            self.next_pub = t + self.publish_ns
            self.est._emit()
