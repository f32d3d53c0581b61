"""Scheduler gating: cycle, warm-up and summary times across holidays, early closes, DST.

Expected times are written by hand from the NYSE 2026 calendar (Thanksgiving Thursday
2026-11-26 closed, Friday 2026-11-27 closes at 13:00) and the US DST dates (2026-03-08
spring forward, 2026-11-01 fall back); UTC offsets checked by hand (EST = UTC-5,
EDT = UTC-4).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.calendar import NY, session_bounds
from daemon.runtime.triggers import MarketTimeTrigger, next_cycle_time, next_offset_time


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("after", "interval_min", "expected"),
    [
        # Before the open: the first grid point after the open.
        (ny(2026, 11, 24, 8, 0), 5, ny(2026, 11, 24, 9, 35)),
        # On a grid point: strictly after it.
        (ny(2026, 11, 24, 9, 35), 5, ny(2026, 11, 24, 9, 40)),
        # Between grid points.
        (ny(2026, 11, 24, 9, 37, 30), 5, ny(2026, 11, 24, 9, 40)),
        # The last cycle is at the bell, then the next session.
        (ny(2026, 11, 24, 15, 55), 5, ny(2026, 11, 24, 16, 0)),
        (ny(2026, 11, 24, 16, 0), 5, ny(2026, 11, 25, 9, 35)),
        # Thanksgiving is skipped; the early close ends cycles at 13:00.
        (ny(2026, 11, 25, 16, 0), 15, ny(2026, 11, 27, 9, 45)),
        (ny(2026, 11, 27, 12, 50), 15, ny(2026, 11, 27, 13, 0)),
        (ny(2026, 11, 27, 13, 0), 15, ny(2026, 11, 30, 9, 45)),
        # A weekend.
        (ny(2026, 11, 21, 12, 0), 30, ny(2026, 11, 23, 10, 0)),
    ],
)
def test_cycle_times_table(after: datetime, interval_min: float, expected: datetime) -> None:
    """Cycles fire on the open-anchored grid, only inside sessions."""
    assert next_cycle_time(after, interval_min) == expected


def test_cycle_times_keep_local_open_across_dst() -> None:
    """Across both DST changes the first cycle stays at 09:35 New York (13:35 / 14:35 UTC)."""
    spring = next_cycle_time(ny(2026, 3, 6, 16, 0), 5)  # Friday before spring forward
    fall = next_cycle_time(ny(2026, 10, 30, 16, 0), 5)  # Friday before fall back
    assert spring == ny(2026, 3, 9, 9, 35)
    assert spring is not None and spring.astimezone(UTC).hour == 13
    assert fall == ny(2026, 11, 2, 9, 35)
    assert fall is not None and fall.astimezone(UTC).hour == 14


@pytest.mark.parametrize(
    ("after", "anchor", "offset", "expected"),
    [
        (ny(2026, 11, 24, 12, 0), "open", -15, ny(2026, 11, 25, 9, 15)),
        (ny(2026, 11, 24, 9, 0), "open", -15, ny(2026, 11, 24, 9, 15)),
        (ny(2026, 11, 25, 12, 0), "open", -15, ny(2026, 11, 27, 9, 15)),  # past Thanksgiving
        (ny(2026, 11, 27, 12, 0), "close", 5, ny(2026, 11, 27, 13, 5)),  # early close
        (ny(2026, 11, 24, 16, 5), "close", 5, ny(2026, 11, 25, 16, 5)),
        (ny(2026, 3, 6, 17, 0), "open", -15, ny(2026, 3, 9, 9, 15)),  # DST weekend
    ],
)
def test_warmup_and_summary_table(
    after: datetime, anchor: str, offset: float, expected: datetime
) -> None:
    """Warm-up fires before each open, the summary after each close (early ones included)."""
    assert next_offset_time(after, anchor, offset) == expected


def test_bad_anchor_is_refused() -> None:
    """An anchor other than open/close is an error, not a silent default."""
    with pytest.raises(ValueError, match="anchor"):
        next_offset_time(ny(2026, 11, 24, 9, 0), "noon", 0)


def test_naive_time_is_refused() -> None:
    """A naive datetime is refused: the rules never guess a time zone."""
    with pytest.raises(ValueError, match="timezone-aware"):
        next_cycle_time(datetime(2026, 11, 24, 9, 0), 5)


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.integers(0, 60 * 24 * 400),
    interval=st.sampled_from([1, 5, 15, 30]),
)
def test_cycle_time_is_always_inside_a_session(minutes: int, interval: int) -> None:
    """Whatever the start, the next cycle is later, inside a session, and on its grid."""
    after = ny(2026, 1, 1, 0, 0) + timedelta(minutes=minutes)
    got = next_cycle_time(after, interval)
    assert got is not None and got > after
    open_, close = session_bounds(got.astimezone(NY).date())
    assert open_ < got <= close
    assert (got - open_) % timedelta(minutes=interval) == timedelta(0)


class _FastClock:
    """Market time runs 60x faster than wall time from a fixed origin."""

    def __init__(self, wall0: datetime, market0: datetime, speed: float) -> None:
        self.wall0, self.market0, self.speed = wall0, market0, speed

    def now(self) -> datetime:
        return self.market0

    def to_market(self, wall: datetime) -> datetime:
        return self.market0 + (wall - self.wall0) * self.speed

    def to_wall(self, market: datetime) -> datetime:
        return self.wall0 + (market - self.market0) / self.speed


def test_trigger_maps_market_rule_to_wall_time_and_never_fires_twice() -> None:
    """At 60x, 5-minute cycles are 5 wall seconds apart, and each fires exactly once."""
    wall0 = datetime(2030, 1, 1, tzinfo=UTC)
    clock = _FastClock(wall0, ny(2026, 11, 24, 9, 30), 60.0)
    trigger = MarketTimeTrigger(partial(next_cycle_time, interval_min=5), clock)
    first = trigger.get_next_fire_time(None, wall0)
    assert first == wall0 + timedelta(seconds=5)
    second = trigger.get_next_fire_time(first, first)
    assert second is not None and first is not None
    assert second - first == timedelta(seconds=5)
