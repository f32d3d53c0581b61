"""A DaemonStatus on hand-set clocks and a hand-set broker connection, and cycle outcomes
built by hand, for the health, metrics and sd_notify tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from daemon.config import HealthParams, ScheduleParams
from daemon.core.broker import ConnectionState
from daemon.core.calendar import NY
from daemon.runtime.engine import CycleOutcome
from daemon.runtime.health import HealthCheck
from daemon.runtime.status import DaemonStatus

# Tuesday 2026-11-24, a full NYSE session 09:30-16:00 New York.
SESSION_DAY_OPEN = datetime(2026, 11, 24, 9, 30, tzinfo=NY)


@dataclass
class Clocks:
    market: datetime = SESSION_DAY_OPEN
    mono: float = 1000.0
    connection: ConnectionState = ConnectionState.CONNECTED
    journal_failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def advance(self, seconds: float, market: timedelta | None = None) -> None:
        """Real seconds pass; market time passes by ``market`` (default: as much)."""
        self.mono += seconds
        self.market += timedelta(seconds=seconds) if market is None else market


def make_status(clocks: Clocks) -> DaemonStatus:
    return DaemonStatus(
        run_id="run-test",
        mode="propose",
        broker_kind="sim",
        version="0.0.0",
        connection=lambda: clocks.connection,
        market_now=lambda: clocks.market,
        journal_write_failures=lambda: clocks.journal_failures,
        monotonic=lambda: clocks.mono,
    )


def make_health(
    status: DaemonStatus,
    *,
    max_disconnected_s: float = 300.0,
    max_missed_cycles: int = 2,
    scheduler_stale_s: float = 30.0,
    cycle_interval_min: int = 5,
    cycle_timeout_s: float = 120.0,
) -> HealthCheck:
    health = HealthParams(
        max_disconnected_s=max_disconnected_s,
        max_missed_cycles=max_missed_cycles,
        beat_interval_s=5.0,
        scheduler_stale_s=scheduler_stale_s,
    )
    schedule = ScheduleParams(
        cycle_interval_min=cycle_interval_min, cycle_timeout_s=cycle_timeout_s
    )
    return HealthCheck(status, health, schedule)


def skipped(started: datetime, reason: str) -> CycleOutcome:
    return CycleOutcome(f"c-{started:%H%M%S}", started, "skipped", reason)
