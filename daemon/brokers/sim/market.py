"""The simulated market's stochastic model: SPX, VIX, its slow level and the VIX curve.

State (``MarketState``): SPX in points, x = ln VIX (vol points), y = the slow level of
ln VIX. Time in the dynamics is *trading time*: a year is 252 sessions of 390 minutes, so
the market moves only while a session is open, plus one gap step at each open whose
variance is ``overnight_variance_sessions`` sessions' worth.

One step of length dt (trading years), with independent standard normals z_v, z_s, z_l,
a uniform u and a unit exponential e:

    J     = jump_log_vix_mean * e   if u < 1 - exp(-jump_rate * dt)   else 0
    Jc    = J - jump_rate * jump_log_vix_mean * dt                (the compensated jump)
    x'    = x + k (y - x) dt + xi sqrt(dt) z_v + Jc                         (OU toward y)
    y'    = y + k_y (ln theta - y) dt + xi_y sqrt(dt) z_l + jump_level_share * Jc
    sigma = spx_vol_ratio * VIX / 100                                       (per year)
    ln S' = ln S + (mu + c - sigma^2 / 2) dt + sigma sqrt(dt) (rho z_v + sqrt(1-rho^2) z_s)
            - jump_spx_per_log_vix * J

so SPX falls when VIX jumps (and, through rho < 0, when it diffuses up); c compensates the
jumps' expected loss so mu stays the expected return (c = lambda (1 - 1/(1 + b m)) for an
exponential jump of mean m scaled by b). Compensating the VIX jumps keeps the expected
path a plain OU, so theta is the long-run geometric mean of VIX, jumps included; between
jumps VIX drifts a little below its level, which is why calm markets sit in contango.

The VIX curve is the expectation of this two-factor OU (a = x - ln theta, b = y - ln theta,
tau in trading years), plus a term premium:

    E[x_tau] = ln theta + a e^{-k tau} + b k/(k - k_y) (e^{-k_y tau} - e^{-k tau})
    F(tau)   = exp(E[x_tau] + term_premium_log (1 - e^{-tau / term_premium_tenor}))

F(0) = VIX, so futures converge to spot at expiry; with VIX below its level the curve
slopes up (contango), after a jump it slopes down (backwardation). VIX3M is the RMS of
F over the next 93 days (a variance average, as the index is one). Calendar tenors
(ACT/365) are turned into trading time by 252/365.

Draws come from one numpy PCG64 stream seeded with (seed, 1), a fixed block per session
drawn when the session is entered, so the path depends only on the seed and the start,
never on how often or when the market is asked (``evolution.py``). The daily history
before the start uses the same step on a separate stream (seed, 0) (``history.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from daemon.brokers.sim.params import MarketParams

TRADING_DAYS_PER_YEAR = 252
SESSION_MIN = 390
TRADING_MIN_PER_YEAR = TRADING_DAYS_PER_YEAR * SESSION_MIN
CALENDAR_TO_TRADING = TRADING_DAYS_PER_YEAR / 365.0
VIX3M_DAYS = 93
_LOG_VIX_BOUNDS = (math.log(5.0), math.log(200.0))
DRAWS_PER_STEP = 5  # z_v, z_s, z_l, u, e


@dataclass(frozen=True)
class MarketState:
    time: datetime
    spx_pts: float
    log_vix: float
    log_level: float
    jump_log_vix: float = 0.0  # the jump applied by the step that produced this state

    @property
    def vix_pts(self) -> float:
        return math.exp(self.log_vix)


def step(
    state: MarketState,
    to: datetime,
    dt_years: float,
    draws: npt.NDArray[np.float64],
    p: MarketParams,
) -> MarketState:
    """One step of the model (see the module docstring); ``draws`` = (z_v, z_s, z_l, u, e)."""
    z_v, z_s, z_l, u, e = (float(d) for d in draws)
    jump = 0.0
    if u < -math.expm1(-p.jump_rate_per_year * dt_years):
        jump = p.jump_log_vix_mean * e
    jump_c = jump - p.jump_rate_per_year * p.jump_log_vix_mean * dt_years
    x, y = state.log_vix, state.log_level
    sqrt_dt = math.sqrt(dt_years)
    x_new = x + p.vix_reversion_per_year * (y - x) * dt_years
    x_new += p.vix_vol_per_sqrt_year * sqrt_dt * z_v + jump_c
    y_new = y + p.level_reversion_per_year * (math.log(p.vix_long_run_pts) - y) * dt_years
    y_new += p.level_vol_per_sqrt_year * sqrt_dt * z_l + p.jump_level_share * jump_c
    sigma = p.spx_vol_ratio * math.exp(x) / 100.0
    rho = p.spx_vix_correlation
    z_spx = rho * z_v + math.sqrt(max(0.0, 1.0 - rho * rho)) * z_s
    scale = p.jump_spx_per_log_vix * p.jump_log_vix_mean
    compensation = p.jump_rate_per_year * (1.0 - 1.0 / (1.0 + scale))
    log_ret = (p.spx_drift_frac_per_year + compensation - 0.5 * sigma * sigma) * dt_years
    log_ret += sigma * sqrt_dt * z_spx - p.jump_spx_per_log_vix * jump
    lo, hi = _LOG_VIX_BOUNDS
    return MarketState(
        time=to,
        spx_pts=state.spx_pts * math.exp(log_ret),
        log_vix=min(hi, max(lo, x_new)),
        log_level=min(hi, max(lo, y_new)),
        jump_log_vix=jump,
    )


# ---- the VIX curve ---------------------------------------------------------------------------
def vix_curve_pts(
    state: MarketState, tau_years: npt.ArrayLike, p: MarketParams
) -> npt.NDArray[np.float64]:
    """VIX futures' fair values (vol points) at calendar tenors ``tau_years`` (ACT/365)."""
    tau = np.maximum(np.asarray(tau_years, dtype=np.float64), 0.0) * CALENDAR_TO_TRADING
    ln_theta = math.log(p.vix_long_run_pts)
    a, b = state.log_vix - ln_theta, state.log_level - ln_theta
    k, k_y = p.vix_reversion_per_year, p.level_reversion_per_year
    fast, slow = np.exp(-k * tau), np.exp(-k_y * tau)
    # The second form is the limit k_y -> k of the first.
    close_rates = abs(k - k_y) <= 1e-9
    level_part = b * k * tau * fast if close_rates else b * k / (k - k_y) * (slow - fast)
    premium_tenor = p.term_premium_tenor_years * CALENDAR_TO_TRADING
    premium = p.term_premium_log * (1.0 - np.exp(-tau / premium_tenor))
    return np.asarray(np.exp(ln_theta + a * fast + level_part + premium), dtype=np.float64)


def vix_curve_rms_pts(state: MarketState, tenor_years: float, p: MarketParams) -> float:
    """Root mean square of the VIX curve over [0, tenor] (midpoint rule, 16 points)."""
    n = 16
    taus = (np.arange(n) + 0.5) * (max(tenor_years, 0.0) / n)
    curve = vix_curve_pts(state, taus, p)
    return float(np.sqrt(np.mean(curve * curve)))


def vix3m_pts(state: MarketState, p: MarketParams) -> float:
    return vix_curve_rms_pts(state, VIX3M_DAYS / 365.0, p)
