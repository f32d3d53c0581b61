"""Market time for the simulated broker: stepped by hand in tests, accelerated in a run.

A *manual* clock stands still until ``advance`` moves it, so a test decides exactly which
market times the simulation sees. An *accelerated* clock runs off a monotonic real clock:
``speed_x`` market seconds per real second while an XNYS session is open and
``closed_speed_x`` while it is closed, so ``make run`` plays a 6.5 h session in minutes
and skips the night in seconds. The map between real and market time is piecewise linear
(one piece per open or closed stretch) and monotone, so ``to_market``/``to_wall`` invert
each other; the scheduler uses them to turn market fire times into wall times.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from daemon.core.calendar import NY, is_session, next_session, session_bounds


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")


def _stretch_end(moment: datetime) -> tuple[datetime, bool]:
    """The end (UTC) of the open or closed stretch containing ``moment``; is it open?"""
    day = moment.astimezone(NY).date()
    if is_session(day):
        open_, close = session_bounds(day)
        if moment < open_:
            return open_.astimezone(UTC), False
        if moment < close:
            return close.astimezone(UTC), True
    return session_bounds(next_session(day))[0].astimezone(UTC), False


def next_open(after: datetime) -> datetime:
    """The first session open at or after ``after`` (the default start of a run)."""
    _require_aware(after)
    day = after.astimezone(NY).date()
    if is_session(day) and after <= session_bounds(day)[0]:
        return session_bounds(day)[0]
    return session_bounds(next_session(day))[0]


class SimClock:
    """``now()`` in market time (aware, America/New_York); see the module docstring."""

    def __init__(
        self,
        start: datetime,
        *,
        speed_x: float | None = None,
        closed_speed_x: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        _require_aware(start)
        if speed_x is not None and speed_x <= 0:
            raise ValueError(f"speed_x must be > 0, got {speed_x}")
        if closed_speed_x is not None and closed_speed_x <= 0:
            raise ValueError(f"closed_speed_x must be > 0, got {closed_speed_x}")
        self._speed_x = speed_x
        self._closed_speed_x = closed_speed_x if closed_speed_x is not None else speed_x
        self._monotonic = monotonic
        self._wall = wall
        self._mono0 = monotonic()
        self._wall0 = wall()
        self._rebase(0.0, start)

    @classmethod
    def manual(cls, start: datetime) -> SimClock:
        """A clock that moves only when ``advance`` is called."""
        return cls(start)

    @classmethod
    def accelerated(
        cls, start: datetime, speed_x: float, closed_speed_x: float | None = None
    ) -> SimClock:
        """A clock running ``speed_x`` (open) / ``closed_speed_x`` (closed) times real time."""
        return cls(start, speed_x=speed_x, closed_speed_x=closed_speed_x)

    @property
    def is_manual(self) -> bool:
        return self._speed_x is None

    def _rebase(self, elapsed_s: float, market: datetime) -> None:
        # Known points of the piecewise-linear map, (real seconds since creation, market
        # time in UTC), both increasing; later points are stretch boundaries found while
        # walking. UTC, so that time differences are physical across a DST change.
        self._knots: list[tuple[float, datetime]] = [(elapsed_s, market.astimezone(UTC))]

    def _elapsed_s(self) -> float:
        return self._monotonic() - self._mono0

    # ---- the map ---------------------------------------------------------------------------
    def _speed(self, is_open: bool) -> float:
        assert self._speed_x is not None and self._closed_speed_x is not None
        return self._speed_x if is_open else self._closed_speed_x

    def _market_at(self, elapsed_s: float) -> datetime:
        knots = self._knots
        i = max(0, bisect.bisect_right([k[0] for k in knots], elapsed_s) - 1)
        real_s, market = knots[i]
        if elapsed_s < real_s:  # before the first knot: extrapolate at the open speed
            return market - timedelta(seconds=(real_s - elapsed_s) * self._speed(True))
        while True:
            end, is_open = _stretch_end(market)
            stretch_real_s = (end - market).total_seconds() / self._speed(is_open)
            if real_s + stretch_real_s > elapsed_s:
                return market + timedelta(seconds=(elapsed_s - real_s) * self._speed(is_open))
            real_s, market = real_s + stretch_real_s, end
            if i == len(knots) - 1:
                knots.append((real_s, market))
            i += 1

    def _elapsed_at(self, market_time: datetime) -> float:
        knots = self._knots
        i = max(0, bisect.bisect_right([k[1] for k in knots], market_time) - 1)
        real_s, market = knots[i]
        if market_time < market:
            return real_s - (market - market_time).total_seconds() / self._speed(True)
        while True:
            end, is_open = _stretch_end(market)
            if end > market_time:
                return real_s + (market_time - market).total_seconds() / self._speed(is_open)
            real_s += (end - market).total_seconds() / self._speed(is_open)
            market = end
            if i == len(knots) - 1:
                knots.append((real_s, market))
            i += 1

    # ---- the MarketClock interface (see daemon.runtime.triggers) ----------------------------
    def now(self) -> datetime:
        """The current market time (aware, America/New_York)."""
        if self._speed_x is None:
            return self._knots[0][1].astimezone(NY)
        return self._market_at(self._elapsed_s()).astimezone(NY)

    def to_market(self, wall: datetime) -> datetime:
        """The market time shown at wall time ``wall`` (a manual clock runs at 1x from now)."""
        _require_aware(wall)
        if self._speed_x is None:
            return (self._knots[0][1] + (wall - self._wall())).astimezone(NY)
        return self._market_at((wall - self._wall0).total_seconds()).astimezone(NY)

    def to_wall(self, market: datetime) -> datetime:
        """The wall time (UTC) at which the market shows ``market``."""
        _require_aware(market)
        if self._speed_x is None:
            return self._wall() + (market - self._knots[0][1])
        return self._wall0 + timedelta(seconds=self._elapsed_at(market.astimezone(UTC)))

    def advance(self, delta: timedelta) -> datetime:
        """Move market time forward by ``delta`` of elapsed time (either mode); returns the
        new now. Elapsed, not wall-clock: a day across a DST change is 24 real hours."""
        if delta < timedelta(0):
            raise ValueError(f"the market clock does not go back, got {delta}")
        target = self.now().astimezone(UTC) + delta
        self._rebase(self._elapsed_s() if self._speed_x is not None else 0.0, target)
        return target.astimezone(NY)

    def advance_to(self, moment: datetime) -> datetime:
        """Move market time forward to ``moment`` (not before now)."""
        _require_aware(moment)
        return self.advance(moment.astimezone(UTC) - self.now().astimezone(UTC))
