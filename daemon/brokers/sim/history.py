"""Synthetic daily history before the simulation starts, so signals have data on day one.

The same model step as the live market (``market.step``), one step per session with
dt = (1 + overnight_variance_sessions) / 252 trading years, on its own stream (seed, 0),
starting at VIX = its long-run mean. The SPX path is scaled at the end so that the last
close equals ``spx_start_pts``: the history runs straight into the start.

NYSE breadth of a session (``breadth_day``): of ``breadth_issues`` issues, a share
``breadth_unchanged_frac`` is unchanged; the advancing share of the rest is
Phi(breadth_beta * r / sigma_day + breadth_noise_sigma * n), with r the session's SPX log
return, sigma_day the model's daily vol and n a standard normal: a probit, so a big up
day has most issues advancing and noise keeps the A/D line from being SPX itself.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np

from daemon.brokers.sim.market import DRAWS_PER_STEP, TRADING_DAYS_PER_YEAR, MarketState, step
from daemon.brokers.sim.params import MarketParams
from daemon.core.calendar import NY, is_session, previous_session, session_bounds
from daemon.core.models import BreadthDay, DailyBar


def breadth_day(
    day: date, log_ret: float, sigma_day: float, noise: float, p: MarketParams
) -> BreadthDay:
    """One session's advancing / declining / unchanged issues (see the module docstring)."""
    unchanged = round(p.breadth_issues * p.breadth_unchanged_frac)
    moving = p.breadth_issues - unchanged
    score = p.breadth_beta * log_ret / max(sigma_day, 1e-6) + p.breadth_noise_sigma * noise
    advancing_frac = 0.5 * math.erfc(-score / math.sqrt(2.0))  # the standard normal CDF
    advancing = round(moving * advancing_frac)
    return BreadthDay(day, advancing, moving - advancing, unchanged)


def last_closed_session(moment: datetime) -> date:
    """The last session whose close is at or before ``moment``."""
    day = moment.astimezone(NY).date()
    if is_session(day) and session_bounds(day)[1] <= moment:
        return day
    return previous_session(day)


def synthetic_history(
    p: MarketParams, seed: int, start: datetime
) -> tuple[list[DailyBar], list[BreadthDay]]:
    """``history_sessions`` sessions of SPX closes and breadth ending before ``start``."""
    days = [last_closed_session(start)]
    while len(days) < p.history_sessions:
        days.append(previous_session(days[-1]))
    days.reverse()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0])))
    n = len(days)
    draws = np.column_stack(
        [rng.standard_normal((n, 3)), rng.random(n), rng.standard_exponential(n)]
    )
    assert draws.shape[1] == DRAWS_PER_STEP
    noises = rng.standard_normal(len(days))
    dt_years = (1.0 + p.overnight_variance_sessions) / TRADING_DAYS_PER_YEAR
    ln_theta = math.log(p.vix_long_run_pts)
    state = MarketState(start, 1.0, ln_theta, ln_theta)
    closes: list[float] = []
    breadth: list[BreadthDay] = []
    for day, row, noise in zip(days, draws, noises, strict=True):
        prev_spx, vix_pts = state.spx_pts, state.vix_pts
        state = step(state, start, dt_years, row, p)
        sigma_day = p.spx_vol_ratio * vix_pts / 100.0 / math.sqrt(TRADING_DAYS_PER_YEAR)
        log_ret = math.log(state.spx_pts / prev_spx)
        breadth.append(breadth_day(day, log_ret, sigma_day, float(noise), p))
        closes.append(state.spx_pts)
    scale = p.spx_start_pts / closes[-1]
    bars = [DailyBar(day, close * scale) for day, close in zip(days, closes, strict=True)]
    return bars, breadth
