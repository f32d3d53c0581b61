"""The health rules on hand-set clocks: each state a supervisor must tell apart.

Oracle: the thresholds worked out by hand from the parameters (allowances in real seconds,
cycle staleness in market minutes from the 2026-11-24 NYSE session, 09:30-16:00 New York).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from daemon.core.broker import ConnectionState
from daemon.core.calendar import NY
from tests.runtime.ops_rig import SESSION_DAY_OPEN, Clocks, make_health, make_status, skipped


def test_connected_in_session_with_recent_cycle_is_healthy() -> None:
    """Connected, beating, a cycle a minute ago during the session: 200 with every check ok."""
    clocks = Clocks(market=SESSION_DAY_OPEN + timedelta(minutes=60))
    status = make_status(clocks)
    status.phase = "running"
    status.beat()
    health = make_health(status)
    status.cycle_started()
    status.cycle_done(skipped(clocks.market, "BrokerTimeout: slow"))
    clocks.advance(60)
    status.beat()
    report = health.report()
    assert report.healthy, report.to_json()
    assert report.failed == []


def test_reconnecting_within_allowance_then_past_it() -> None:
    """Disconnected 299 s of a 300 s allowance is healthy (reconnecting); 301 s is not, and
    the body names the broker check."""
    clocks = Clocks(market=datetime(2026, 11, 28, 12, 0, tzinfo=NY))  # a Saturday
    status = make_status(clocks)
    status.phase = "running"
    status.beat()  # first observation: connected
    health = make_health(status, max_disconnected_s=300.0)
    clocks.connection = ConnectionState.DISCONNECTED
    status.beat()  # the drop is seen now (t = 1000)
    clocks.advance(299)
    status.beat()
    assert health.report().healthy
    assert "reconnecting" in health.report().checks["broker"].detail
    clocks.advance(2)
    status.beat()
    report = health.report()
    assert not report.healthy
    assert report.failed == ["broker"]
    assert "disconnected for 301.0 s (allowance 300 s)" in report.checks["broker"].detail


def test_reconnect_resets_the_allowance_and_is_counted() -> None:
    """Back to connected: healthy again, one reconnect counted; a new drop starts a new
    allowance from the moment it is seen."""
    clocks = Clocks(market=datetime(2026, 11, 28, 12, 0, tzinfo=NY))
    status = make_status(clocks)
    status.phase = "running"
    status.beat()
    health = make_health(status, max_disconnected_s=10.0)
    clocks.connection = ConnectionState.DISCONNECTED
    status.beat()
    clocks.advance(20)
    clocks.connection = ConnectionState.CONNECTED
    status.beat()
    assert health.report().healthy
    assert status.reconnects == 1
    clocks.connection = ConnectionState.DISCONNECTED
    status.beat()
    clocks.advance(5)
    status.beat()
    assert health.report().healthy  # 5 s of a fresh 10 s allowance


def test_never_connected_counts_from_the_start() -> None:
    """A gateway down since start: the allowance runs from the daemon's start."""
    clocks = Clocks(connection=ConnectionState.DISCONNECTED)
    status = make_status(clocks)
    status.phase = "running"
    health = make_health(status, max_disconnected_s=60.0)
    clocks.advance(59)
    status.beat()
    assert health.report().checks["broker"].ok
    clocks.advance(2)
    status.beat()
    assert not health.report().checks["broker"].ok
    assert status.reconnects == 0


def test_stale_cycle_in_session() -> None:
    """5-min cycles, 2 missed allowed: the last cycle may be 15 market minutes old, not more."""
    clocks = Clocks(market=SESSION_DAY_OPEN + timedelta(hours=2))
    status = make_status(clocks)
    status.phase = "running"
    health = make_health(status, cycle_interval_min=5, max_missed_cycles=2)
    status.cycle_started()
    status.cycle_done(skipped(clocks.market, "timeout: cycle took over 120 s"))
    clocks.advance(1, market=timedelta(minutes=15))
    status.beat()
    assert health.report().checks["cycle"].ok
    clocks.advance(1, market=timedelta(seconds=60))
    status.beat()
    report = health.report()
    assert report.failed == ["cycle"]
    assert "16.0 market min" in report.checks["cycle"].detail


def test_first_cycle_of_the_day_is_not_stale_before_it_is_due() -> None:
    """Yesterday's last cycle does not make the morning stale: the clock starts at the open."""
    clocks = Clocks(market=SESSION_DAY_OPEN - timedelta(hours=17, minutes=30))  # 16:00 Mon
    status = make_status(clocks)
    status.phase = "running"
    health = make_health(status)
    status.cycle_started()
    status.cycle_done(skipped(clocks.market, "DataError: closed"))
    clocks.market = SESSION_DAY_OPEN + timedelta(minutes=14)
    status.beat()
    assert health.report().checks["cycle"].ok
    clocks.market = SESSION_DAY_OPEN + timedelta(minutes=16)
    status.beat()
    assert not health.report().checks["cycle"].ok


def test_outside_session_needs_no_cycle() -> None:
    """Saturday, Thanksgiving, and a weekday evening: no cycle is expected, hours after the
    last one, and the broker check still applies."""
    clocks = Clocks()
    status = make_status(clocks)
    status.phase = "running"
    health = make_health(status)
    status.cycle_started()
    status.cycle_done(skipped(SESSION_DAY_OPEN, "DataError: x"))
    for moment in (
        datetime(2026, 11, 28, 11, 0, tzinfo=NY),  # Saturday
        datetime(2026, 11, 26, 11, 0, tzinfo=NY),  # Thanksgiving, NYSE closed
        datetime(2026, 11, 27, 14, 0, tzinfo=NY),  # after the 13:00 early close
        datetime(2026, 11, 24, 20, 0, tzinfo=NY),  # evening
    ):
        clocks.market = moment
        status.beat()
        check = health.report().checks["cycle"]
        assert check.ok and "outside session" in check.detail, (moment, check)


def test_stuck_scheduler_and_overlong_cycle() -> None:
    """No beat for more than scheduler_stale_s, or a cycle past cycle_timeout_s + that
    margin, fails the scheduler check (the watchdog's condition)."""
    clocks = Clocks(market=datetime(2026, 11, 28, 12, 0, tzinfo=NY))
    status = make_status(clocks)
    status.phase = "running"
    health = make_health(status, scheduler_stale_s=30.0, cycle_timeout_s=120.0)
    assert not health.scheduler(clocks.mono).ok  # no beat yet
    status.beat()
    clocks.advance(30)
    assert health.scheduler(clocks.mono).ok
    clocks.advance(1)
    assert not health.scheduler(clocks.mono).ok
    status.beat()
    status.cycle_started()
    for _ in range(30):  # beats keep coming (the loop lives) while the cycle hangs
        clocks.advance(5)
        status.beat()
    assert health.scheduler(clocks.mono).ok  # 150 s = 120 + 30: at the limit
    clocks.advance(1)
    status.beat()
    check = health.scheduler(clocks.mono)
    assert not check.ok and "a cycle has run 151 s" in check.detail


def test_starting_and_stopping_are_unhealthy() -> None:
    """Before the warm-up and once stopping, /healthz says so (phase check)."""
    clocks = Clocks(market=datetime(2026, 11, 28, 12, 0, tzinfo=NY))
    status = make_status(clocks)
    status.beat()
    health = make_health(status)
    assert health.report().failed == ["phase"]
    status.phase = "running"
    assert health.report().healthy
    status.phase = "stopping"
    report = health.report()
    assert report.failed == ["phase"] and report.checks["phase"].detail == "stopping"


def test_a_reconnect_seen_by_two_threads_at_once_is_counted_once() -> None:
    """The scheduler runs the beat on a worker thread while the loop observes at cycles
    and reconnects: eight observers reading a slow connection state at the same moment
    count the one reconnect once, not once each."""
    clocks = Clocks(market=datetime(2026, 11, 28, 12, 0, tzinfo=NY))
    status = make_status(clocks)
    status.beat()  # connected once
    clocks.connection = ConnectionState.DISCONNECTED
    status.beat()
    clocks.connection = ConnectionState.CONNECTED
    start = threading.Barrier(8)

    def slow_connection() -> ConnectionState:
        time.sleep(0.01)  # every observer inside the read at once
        return clocks.connection

    status._connection = slow_connection  # type: ignore[method-assign]

    def observe() -> None:
        start.wait()
        status.observe_connection()

    threads = [threading.Thread(target=observe) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert status.reconnects == 1
