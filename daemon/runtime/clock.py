"""The real market clock (Interactive Brokers): market time is wall time, in New York.

The simulated broker brings its own accelerated clock (``daemon.brokers.sim.clock``);
both satisfy ``daemon.runtime.triggers.MarketClock``, so the scheduler and the order
follower never ask which one they were given.
"""

from __future__ import annotations

from datetime import UTC, datetime

from daemon.core.calendar import NY
from daemon.runtime.triggers import MarketClock


class RealClock:
    def now(self) -> datetime:
        return datetime.now(NY)

    def to_market(self, wall: datetime) -> datetime:
        return wall.astimezone(NY)

    def to_wall(self, market: datetime) -> datetime:
        return market.astimezone(UTC)


def real_seconds_until(clock: MarketClock, market_time: datetime) -> float:
    """Real seconds from now until ``clock`` shows ``market_time`` (0 if it already has)."""
    return max(0.0, (clock.to_wall(market_time) - datetime.now(UTC)).total_seconds())
