"""The replay's clock: market time stands still inside a session's cycle and jumps
between sessions; the waits of the order follower run ``wait_speed_x`` times faster.

The simulated broker reads market time from a manual ``SimClock``; the engine, the
executor and the order follower read it through ``ReplayClock``, which tells them that a
market time ``dt`` ahead is ``dt / wait_speed_x`` real seconds away. An order's time to
live of 120 s is then a fraction of a millisecond: it is cancelled and re-priced exactly
as in a live run, at the prices of the cycle's minute (the market does not move while it
waits), and the replay of twenty years does not wait twenty years.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.brokers.sim.clock import SimClock


class ReplayClock:
    """A ``daemon.runtime.triggers.MarketClock`` over a manual ``SimClock``."""

    def __init__(self, market: SimClock, wait_speed_x: float) -> None:
        if not market.is_manual:
            raise ValueError("the replay drives a manual SimClock")
        self.market = market
        self._speed_x = wait_speed_x

    def now(self) -> datetime:
        return self.market.now()

    def advance_to(self, moment: datetime) -> datetime:
        return self.market.advance_to(moment)

    def to_wall(self, market: datetime) -> datetime:
        ahead_s = (market.astimezone(UTC) - self.now().astimezone(UTC)).total_seconds()
        return datetime.now(UTC) + timedelta(seconds=ahead_s / self._speed_x)

    def to_market(self, wall: datetime) -> datetime:
        ahead_s = (wall.astimezone(UTC) - datetime.now(UTC)).total_seconds()
        return self.now() + timedelta(seconds=ahead_s * self._speed_x)
