"""Is the daemon healthy? Three checks, each with the reason it failed.

- ``scheduler``: a liveness beat came within ``health.scheduler_stale_s`` real seconds, and
  no cycle has run past ``schedule.cycle_timeout_s`` by that much (a cycle the timeout
  could not end). The systemd watchdog is fed on this check alone: restarting cures a hung
  process, not a gateway that is down.
- ``broker``: connected, or disconnected for at most ``health.max_disconnected_s`` real
  seconds (the daemon reconnects every ``broker.reconnect_interval_s``).
- ``cycle``: outside a session, nothing to check. During one, the last cycle started at
  most (``max_missed_cycles`` + 1) cycle intervals of market time ago, counted from the
  latest of the last cycle, the session's open and the daemon's start (a daemon started
  mid-session is not stale before its first cycle is due).

While the daemon starts (before its warm-up) or stops, it is unhealthy with that reason:
a supervisor should neither send it traffic nor count it as running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from daemon.config import HealthParams, ScheduleParams
from daemon.core.broker import ConnectionState
from daemon.core.calendar import NY, is_session, session_bounds
from daemon.runtime.status import DaemonStatus


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, Check]

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "failed": self.failed,
            "checks": {name: check.to_json() for name, check in self.checks.items()},
        }


class HealthCheck:
    def __init__(
        self, status: DaemonStatus, health: HealthParams, schedule: ScheduleParams
    ) -> None:
        self._status = status
        self._health = health
        self._schedule = schedule

    def report(self) -> HealthReport:
        status = self._status
        now = status.monotonic()
        checks = {
            "phase": self._phase(),
            "scheduler": self.scheduler(now),
            "broker": self._broker(now),
            "cycle": self._cycle(status.market_now()),
        }
        return HealthReport(checks)

    def _phase(self) -> Check:
        phase = self._status.phase
        if phase == "running":
            return Check(True, f"running; warm-up {self._status.warmup}")
        return Check(False, f"{phase}")

    def scheduler(self, now: float) -> Check:
        """The systemd watchdog's condition too (see the module)."""
        status, stale = self._status, self._health.scheduler_stale_s
        if status.last_beat_mono is None:
            return Check(False, "the scheduler has not beaten yet")
        silent = now - status.last_beat_mono
        if silent > stale:
            return Check(False, f"no scheduler beat for {silent:.0f} s (limit {stale:g} s)")
        started = status.cycle_started_mono
        limit = self._schedule.cycle_timeout_s + stale
        if started is not None and now - started > limit:
            return Check(False, f"a cycle has run {now - started:.0f} s (limit {limit:g} s)")
        return Check(True, f"last beat {silent:.1f} s ago")

    def _broker(self, now: float) -> Check:
        status = self._status
        state = status.connection_state
        if state is ConnectionState.CONNECTED:
            return Check(True, "connected")
        since = status.disconnected_since_mono
        down = 0.0 if since is None else now - since
        allowance = self._health.max_disconnected_s
        if down > allowance:
            return Check(False, f"{state.value} for {down:.1f} s (allowance {allowance:g} s)")
        return Check(True, f"{state.value} for {down:.1f} s, within {allowance:g} s: reconnecting")

    def _cycle(self, market_now: datetime) -> Check:
        day = market_now.astimezone(NY).date()
        if not is_session(day):
            return Check(True, "outside session (no session today)")
        open_, close = session_bounds(day)
        if not open_ <= market_now <= close:
            return Check(True, "outside session")
        status = self._status
        last = status.last_cycle
        since = max(open_, status.started_market)
        if last is not None:
            since = max(since, last.started_at)
        interval = timedelta(minutes=self._schedule.cycle_interval_min)
        limit = (self._health.max_missed_cycles + 1) * interval
        age = market_now - since
        if age > limit:
            what = "no cycle" if last is None or last.started_at < since else "last cycle"
            minutes = age.total_seconds() / 60
            return Check(
                False,
                f"in session and {what} for {minutes:.1f} market min "
                f"(limit {limit.total_seconds() / 60:g} min)",
            )
        shown = "none yet" if last is None else last.started_at.isoformat()
        return Check(True, f"in session; last cycle {shown}")
