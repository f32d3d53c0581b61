"""When the daemon acts: session-gated fire times, as pure functions of time.

The rules take market time and return market time, so they are tested with plain
datetimes (holidays, 13:00 early closes, DST weeks) and no scheduler. ``MarketTimeTrigger``
adapts a rule to APScheduler 3.x, which thinks in wall-clock time: the market clock maps
between the two. For Interactive Brokers that map is the identity; for the simulated
market it is accelerated, so a whole session passes in minutes while the rules stay the
same.

Cycles fire on a grid anchored at each session's open: open + k x interval for k >= 1,
up to and including the close (a cycle at the bell sees the closing quotes; the execution
guards keep orders out of the last minutes anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Protocol

from apscheduler.triggers.base import BaseTrigger

from daemon.core.calendar import NY, is_session, next_session, session_bounds

# How many sessions ahead a rule may look before giving up (a month of holidays is < 10).
_MAX_SESSIONS_AHEAD = 30

_SLACK = timedelta(milliseconds=1)

Rule = Callable[[datetime], datetime | None]


class MarketClock(Protocol):
    """Market time as a function of wall time, and back."""

    def now(self) -> datetime: ...

    def to_market(self, wall: datetime) -> datetime: ...

    def to_wall(self, market: datetime) -> datetime: ...


def _first_session_on_or_after(moment: datetime) -> date:
    day = moment.astimezone(NY).date()
    return day if is_session(day) else next_session(day)


def next_cycle_time(after: datetime, interval_min: float) -> datetime | None:
    """The first cycle time strictly after ``after`` (aware), in market time."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    step = timedelta(minutes=interval_min)
    day = _first_session_on_or_after(after)
    for _ in range(_MAX_SESSIONS_AHEAD):
        open_, close = session_bounds(day)
        if after < close:
            # The first grid point strictly after max(after, open).
            k = max(1, int((after - open_) / step) + 1) if after >= open_ else 1
            candidate = open_ + k * step
            if candidate <= close:
                return candidate
        day = next_session(day)
    return None


def next_offset_time(after: datetime, anchor: str, offset_min: float) -> datetime | None:
    """The first (session open or close) + offset strictly after ``after``.

    ``anchor`` is "open" or "close"; the pre-open warm-up uses ("open", -15), the
    post-close summary ("close", +5)."""
    if anchor not in ("open", "close"):
        raise ValueError(f"anchor must be 'open' or 'close', not {anchor!r}")
    offset = timedelta(minutes=offset_min)
    # Start a session early: a warm-up before tomorrow's open may fall before midnight.
    day = _first_session_on_or_after(after - timedelta(days=1) - abs(offset))
    for _ in range(_MAX_SESSIONS_AHEAD):
        open_, close = session_bounds(day)
        candidate = (open_ if anchor == "open" else close) + offset
        if candidate > after:
            return candidate
        day = next_session(day)
    return None


class MarketTimeTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """An APScheduler trigger whose rule is written in market time."""

    __slots__ = ("_clock", "_rule")

    def __init__(self, rule: Rule, clock: MarketClock) -> None:
        self._rule = rule
        self._clock = clock

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        reference = now if previous_fire_time is None else max(previous_fire_time, now)
        # A millisecond of slack: the wall<->market round trip of an accelerated clock may
        # land a hair before the time just fired, which would fire it twice.
        market_next = self._rule(self._clock.to_market(reference) + _SLACK)
        return None if market_next is None else self._clock.to_wall(market_next)

    def __str__(self) -> str:
        return f"market-time[{getattr(self._rule, '__name__', 'rule')}]"
