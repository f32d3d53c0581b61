"""The long-running daemon: APScheduler 3.x jobs on one asyncio loop, and a clean stop.

Jobs (triggers in market time, see ``daemon.runtime.triggers``):
- ``cycle``: every ``cycle_interval_min`` inside each XNYS session (holidays, 13:00 early
  closes and DST come from the exchange calendar);
- ``warmup``: ``warmup_before_open_min`` before each open: connect and (once) start the
  executor, which reconciles the journal's open orders with the broker's, so a dead
  gateway shows before the session. It loads no market data: the first cycle's snapshot
  fetches the daily history and keeps it for the day (``SnapshotTaker``);
- ``summary``: ``summary_after_close_min`` after each close: the day in one journal event;
- ``heartbeat``: every ``heartbeat_interval_s`` of wall time: proof of life;
- ``beat``: every ``health.beat_interval_s``: the scheduler's liveness, read by the health
  check and the systemd watchdog (``daemon.runtime.supervision``);
- ``reconnect``: every ``broker.reconnect_interval_s``, while the broker is down and no
  cycle runs: reconnect, so a gateway's nightly restart is ridden out between sessions.

Every job is ``coalesce=True, max_instances=1`` with a bounded ``misfire_grace_time``: after
a suspend or an outage, missed runs collapse into one, never a burst. A run the scheduler
skips (missed past the grace, or the previous one still running) is journalled: a cycle
slot as a ``skipped`` cycle row with its reason, a warm-up or summary as a ``job_skipped``
event; an overrun is also alerted (``cycle_overrun``).

SIGTERM / SIGINT: no new job starts (the scheduler is paused), the running cycle (if any)
finishes (bounded by the cycle timeout plus ``STOP_GRACE_S``) before the scheduler shuts
down (its shutdown would cancel it), order followers stop with their orders left working
(logged), the broker is closed and the journal run is ended. Every journal write is one
transaction, so there is no half-written record whatever the moment.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from daemon.core.broker import ConnectionState
from daemon.core.calendar import NY
from daemon.errors import BrokerError, JournalError
from daemon.runtime.alerts import overrun_listener
from daemon.runtime.app import App, start_run
from daemon.runtime.engine import SKIPPED
from daemon.runtime.notify import Notification, NotifyEvent
from daemon.runtime.supervision import Supervision
from daemon.runtime.triggers import MarketTimeTrigger, next_cycle_time, next_offset_time

log = structlog.get_logger("alvh.service")

# Seconds a stop waits past ``schedule.cycle_timeout_s`` for the running cycle: the engine
# bounds the cycle's steps by that timeout, and then writes its journal row.
STOP_GRACE_S = 10.0


class Service:
    def __init__(self, app: App, env: Mapping[str, str] | None = None) -> None:
        """``env``: where NOTIFY_SOCKET / WATCHDOG_USEC are read (default os.environ)."""
        self._app = app
        # Status, health, metrics, HTTP and sd_notify. Another module mounts its pages
        # with ``service.supervision.add_routes(...)`` before ``run()``.
        self.supervision = Supervision.build(app, env)
        self.status = self.supervision.status
        self._stop = asyncio.Event()
        self._busy = asyncio.Lock()
        self._started_executor = False
        self.cycles_run = 0
        self.scheduler: AsyncIOScheduler | None = None  # set by run()
        self.exit_reason = "stopped"

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self.exit_reason = reason
            log.info("shutdown_requested", reason=reason)
            self._stop.set()

    async def run(self) -> int:
        app = self._app
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        start_run(app)
        ops = self.supervision
        scheduler = self._scheduler()
        self.scheduler = scheduler
        scheduler.start()
        self.status.beat()
        app.alerts.publish(
            NotifyEvent.DAEMON_STARTED,
            f"daemon started: {app.mode} mode on {app.config.broker.kind}",
            app.clock.now(),
            run_id=app.run_id,
            mode=app.mode,
            broker=app.config.broker.kind,
            market_now=app.clock.now().isoformat(),
            next_cycle=_next(scheduler, "cycle"),
            notify=list(app.alerts.notifier.sink_names),
        )
        await ops.start_http()
        # The watchdog is fed from the start (systemd may count it during start-up too):
        # the scheduler beats while the warm-up waits for the broker.
        ops.start_watchdog()
        await self._warmup()
        self.status.phase = "running"
        ops.notifier.ready(self.status.status_line())
        await self._stop.wait()
        self.status.phase = "stopping"
        ops.notifier.stopping(f"stopping: {self.exit_reason}")
        scheduler.pause()  # no new job starts
        await self._let_cycle_finish()
        # Only now: APScheduler's asyncio executor cancels the jobs still running when it
        # shuts down, and a cancelled cycle leaves no journal row (or, in submit mode, an
        # intent with no order). Nothing runs any more unless the bound above ran out.
        scheduler.shutdown(wait=False)
        await self._shutdown()
        await ops.stop()
        return 0

    def _scheduler(self) -> AsyncIOScheduler:
        sched = self._app.config.schedule
        clock = self._app.clock
        defaults = {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(sched.misfire_grace_s),
        }
        scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=defaults)
        scheduler.add_listener(
            overrun_listener(self._app.alerts, clock.now), EVENT_JOB_MAX_INSTANCES
        )
        scheduler.add_listener(self._job_skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        rules: dict[str, Any] = {
            "cycle": partial(next_cycle_time, interval_min=sched.cycle_interval_min),
            "warmup": partial(
                next_offset_time, anchor="open", offset_min=-sched.warmup_before_open_min
            ),
            "summary": partial(
                next_offset_time, anchor="close", offset_min=sched.summary_after_close_min
            ),
        }
        jobs = {"cycle": self._cycle, "warmup": self._warmup, "summary": self._summary}
        for name, rule in rules.items():
            scheduler.add_job(jobs[name], MarketTimeTrigger(rule, clock), id=name, name=name)
        scheduler.add_job(
            self._heartbeat, IntervalTrigger(seconds=sched.heartbeat_interval_s), id="heartbeat"
        )
        health, broker = self._app.config.health, self._app.config.broker
        scheduler.add_job(
            self.status.beat, IntervalTrigger(seconds=health.beat_interval_s), id="beat"
        )
        scheduler.add_job(
            self._reconnect, IntervalTrigger(seconds=broker.reconnect_interval_s), id="reconnect"
        )
        return scheduler

    def _job_skipped(self, event: JobEvent) -> None:
        """A run the scheduler skipped leaves a journal record: a ``cycle`` slot is a
        ``skipped`` cycle row with its reason (``alvh journal`` lists it), the warm-up and
        the summary a ``job_skipped`` event. Wall-clock heartbeats are not journalled."""
        if event.job_id not in RECORDED_JOBS:
            return
        reason = skip_reason(event, self._app.config.schedule.misfire_grace_s)
        app = self._app
        try:
            if event.job_id == "cycle":
                app.engine.record_skipped_slot(app.clock.now(), reason)
            else:
                log.warning("job_skipped", job=event.job_id, reason=reason)
                app.journal.record_event(
                    "job_skipped",
                    now=app.clock.now(),
                    run_id=app.run_id,
                    detail={"job": event.job_id, "reason": reason},
                )
        except JournalError as exc:  # said loudly by the journal's own failure path
            log.error("job_skipped_not_journalled", job=event.job_id, reason=str(exc))

    async def _cycle(self) -> None:
        if self._stop.is_set():
            return
        async with self._busy:
            if self._stop.is_set():  # a stop came while this cycle waited for the last one
                return
            if not self._started_executor:
                await self._connect_and_recover()
            self.status.cycle_started()
            try:
                outcome = await self._app.engine.run_cycle(self._app.clock.now())
            except BaseException:  # e.g. the journal refused the cycle's record
                self.status.cycle_abandoned()
                raise
            self.status.cycle_done(outcome)
            self.supervision.notifier.status(self.status.status_line())
            self.cycles_run += 1
            journal = self._app.journal
            # A journal that refuses writes fails the cycle for the trader whatever the
            # cycle's own outcome: nothing is sent or kept, proposals are in the log only.
            reason = (
                outcome.reason
                if journal.writable
                else f"journal unwritable ({journal.last_write_error}): nothing is sent "
                "or journalled, proposals go to the log only"
            )
            self._app.alerts.cycle(
                skipped=outcome.status == SKIPPED or not journal.writable,
                reason=reason,
                now=outcome.started_at,
                cycle_id=outcome.cycle_id,
            )

    async def _warmup(self) -> None:
        """Connect and recover orders before the session; a failure is retried next cycle."""
        async with self._busy:
            failure = await self._connect_and_recover()
        self.status.warmup = "ok" if failure is None else f"failed: {failure}"

    async def _reconnect(self) -> None:
        """Between cycles, bring a lost broker connection back (no-op while connected)."""
        app = self._app
        if self._stop.is_set() or self._busy.locked():
            return
        if app.broker.connection_state is ConnectionState.CONNECTED:
            return
        self.status.observe_connection()  # the drop is on record before the reconnect
        async with self._busy:
            await self._connect_and_recover(reconnect=True)

    async def _connect_and_recover(self, *, reconnect: bool = False) -> str | None:
        """Connect and start the executor; the failure's reason, or None."""
        app = self._app
        try:
            await app.broker.connect()
            if not self._started_executor:
                await app.executor.start()
                self._started_executor = True
            event = "reconnect_done" if reconnect else "warmup_done"
            log.info(event, market_now=app.clock.now().isoformat())
            return None
        except BrokerError as exc:
            log.warning("reconnect_failed" if reconnect else "warmup_failed", reason=str(exc))
            return str(exc)
        finally:
            self.status.observe_connection()

    async def _summary(self) -> None:
        app = self._app
        day = app.clock.now().astimezone(NY).date()
        cycles = app.journal.cycles_on(day)
        detail = {
            "trading_day": day.isoformat(),
            "cycles": dict(Counter(c["status"] for c in cycles)),
            "orders": len(app.journal.orders_on(day)),
            "last_scalar": next(
                (c["scalar"] for c in reversed(cycles) if c["scalar"] is not None), None
            ),
        }
        try:
            app.journal.record_event(
                "session_summary", now=app.clock.now(), run_id=app.run_id, detail=detail
            )
        except JournalError as exc:  # the notification below still carries it
            log.error("summary_not_journalled", reason=str(exc))
        line = (
            f"day {detail['trading_day']}: {len(cycles)} cycles {detail['cycles']}, "
            f"{detail['orders']} orders, scalar {detail['last_scalar']}"
        )
        note = Notification(NotifyEvent.SESSION_SUMMARY, line, app.clock.now(), "info", detail)
        app.alerts.notifier.publish(note)

    async def _heartbeat(self) -> None:
        app = self._app
        app.alerts.connection(app.broker.connection_state, app.clock.now())
        log.info(
            "heartbeat",
            market_now=app.clock.now().isoformat(),
            connection=app.broker.connection_state.value,
            cycles_run=self.cycles_run,
        )

    async def _let_cycle_finish(self) -> None:
        """Wait for the job holding the daemon (a cycle, a warm-up, a reconnect) to end,
        bounded by the cycle's own timeout plus ``STOP_GRACE_S`` for its journal write."""
        bound = self._app.config.schedule.cycle_timeout_s + STOP_GRACE_S
        if not self._busy.locked():
            return
        log.info("shutdown_waits_for_cycle", bound_s=bound)
        try:
            async with asyncio.timeout(bound):
                async with self._busy:
                    pass
        except TimeoutError:
            log.error("shutdown_cycle_not_finished", waited_s=bound)

    async def _shutdown(self) -> None:
        app = self._app
        async with self._busy:  # the running cycle, if any, finishes first
            await app.executor.shutdown()
            for state in await _open_orders(app):
                log.info("open_order_left", order_ref=state.order_ref, order_id=state.order_id)
            await app.broker.close()
            try:
                app.journal.end_run(app.run_id, now=app.clock.now(), reason=self.exit_reason)
            except JournalError as exc:  # a clean stop all the same: the run stays open
                log.error("run_end_not_journalled", reason=str(exc))
            app.journal.close()
        app.alerts.publish(
            NotifyEvent.DAEMON_STOPPED,
            f"daemon stopped ({self.exit_reason}) after {self.cycles_run} cycles",
            app.clock.now(),
            reason=self.exit_reason,
            cycles_run=self.cycles_run,
        )
        await app.alerts.notifier.close()  # the last words go out, within one timeout


RECORDED_JOBS = ("cycle", "warmup", "summary")


def skip_reason(event: JobEvent, grace_s: float) -> str:
    """Why the scheduler skipped a run, with its scheduled wall-clock time(s) in UTC."""
    if isinstance(event, JobSubmissionEvent):  # EVENT_JOB_MAX_INSTANCES
        times = ", ".join(_utc(t) for t in event.scheduled_run_times)
        return f"scheduler: slot {times} skipped, the previous {event.job_id} still running"
    when = getattr(event, "scheduled_run_time", None)
    slot = _utc(when) if isinstance(when, datetime) else "?"
    return f"scheduler: slot {slot} missed (more than misfire_grace_s={grace_s:g} s late)"


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _open_orders(app: App) -> list[Any]:
    try:
        return list(await app.broker.open_orders())
    except BrokerError:
        return []


def _next(scheduler: AsyncIOScheduler, job_id: str) -> str | None:
    job = scheduler.get_job(job_id)
    when: datetime | None = getattr(job, "next_run_time", None)
    return None if when is None else when.isoformat()
