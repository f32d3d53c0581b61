"""The simulated market through time: lazy evolution in fixed steps over XNYS sessions.

``SimMarket`` holds the state of ``market.py``'s model and moves it forward only when it
is asked about a later time, one grid step at a time (``step_min`` minutes from each open,
the last step at the close, a gap step at the open). The draws of a session are one fixed
block taken from the (seed, 1) stream when the session is entered, so the state at any
time depends on the seed and the start alone. Each completed session appends its SPX
close and NYSE breadth to the daily history.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from daemon.brokers.sim.history import breadth_day, synthetic_history
from daemon.brokers.sim.market import (
    DRAWS_PER_STEP,
    TRADING_DAYS_PER_YEAR,
    TRADING_MIN_PER_YEAR,
    MarketState,
    step,
)
from daemon.brokers.sim.params import MarketParams
from daemon.core.calendar import NY, is_session, next_session, session_bounds
from daemon.core.models import BreadthDay, DailyBar


@dataclass
class _Session:
    day: date
    times: list[datetime]  # grid times; times[0] is the open (the gap step)
    draws: npt.NDArray[np.float64]  # (len(times), DRAWS_PER_STEP)
    breadth_noise: float
    next_index: int


StepListener = Callable[[MarketState], None]


class SimMarket:
    """The market, evolved lazily in fixed steps up to whatever time it is asked about."""

    def __init__(self, params: MarketParams, seed: int, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.params = params
        self._rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 1])))
        start = start.astimezone(NY)
        level = params.vix_level_start_pts or params.vix_long_run_pts
        self.state = MarketState(
            start, params.spx_start_pts, math.log(params.vix_start_pts), math.log(level)
        )
        bars, breadth = synthetic_history(params, seed, start)
        self._bars: list[DailyBar] = bars
        self._breadth: list[BreadthDay] = breadth
        self._session: _Session | None = None
        self._listeners: list[StepListener] = []

    def add_listener(self, listener: StepListener) -> None:
        """Call ``listener(state)`` after every step (the order book matches on them)."""
        self._listeners.append(listener)

    @property
    def bars(self) -> list[DailyBar]:
        """Completed sessions' SPX closes so far, oldest first (history included)."""
        return self._bars

    @property
    def breadth(self) -> list[BreadthDay]:
        return self._breadth

    def is_open(self, moment: datetime) -> bool:
        day = moment.astimezone(NY).date()
        if not is_session(day):
            return False
        open_, close = session_bounds(day)
        return open_ <= moment < close

    def advance_to(self, moment: datetime) -> MarketState:
        """Apply every step whose grid time is <= ``moment``; returns the state then."""
        while True:
            session = self._current_session()
            when = session.times[session.next_index]
            if when > moment:
                return self.state
            self._apply(session)

    def _current_session(self) -> _Session:
        session = self._session
        if session is not None and session.next_index < len(session.times):
            return session
        now = self.state.time
        day = now.date()
        if not (is_session(day) and now < session_bounds(day)[1]):
            day = next_session(day)
        session = self._enter(day)
        self._session = session
        return session

    def _enter(self, day: date) -> _Session:
        open_, close = session_bounds(day)
        step_td = timedelta(minutes=self.params.step_min)
        times = [open_]
        while times[-1] + step_td < close:
            times.append(times[-1] + step_td)
        times.append(close)
        # A fixed block per session: the same draws whatever the start within the day.
        normals = self._rng.standard_normal((len(times), 3))
        uniforms = self._rng.random(len(times))
        exps = self._rng.standard_exponential(len(times))
        draws = np.column_stack([normals, uniforms, exps])
        assert draws.shape[1] == DRAWS_PER_STEP
        noise = float(self._rng.standard_normal())
        first = next(i for i, t in enumerate(times) if t > self.state.time)
        return _Session(day, times, draws, noise, first)

    def _apply(self, session: _Session) -> None:
        i = session.next_index
        to = session.times[i]
        if i == 0:
            dt_years = self.params.overnight_variance_sessions / TRADING_DAYS_PER_YEAR
        else:
            minutes = (to - session.times[i - 1]).total_seconds() / 60.0
            dt_years = minutes / TRADING_MIN_PER_YEAR
        self.state = step(self.state, to, dt_years, session.draws[i], self.params)
        session.next_index = i + 1
        if session.next_index == len(session.times):
            self._close_session(session)
        for listener in self._listeners:
            listener(self.state)

    def _close_session(self, session: _Session) -> None:
        prev_close = self._bars[-1].close
        close = self.state.spx_pts
        self._bars.append(DailyBar(session.day, close))
        sigma_day = (
            self.params.spx_vol_ratio
            * self.state.vix_pts
            / 100.0
            / math.sqrt(TRADING_DAYS_PER_YEAR)
        )
        log_ret = math.log(close / prev_close)
        self._breadth.append(
            breadth_day(session.day, log_ret, sigma_day, session.breadth_noise, self.params)
        )
