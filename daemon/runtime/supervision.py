"""The supervision ring around the service: status, health, metrics, HTTP and sd_notify.

Built once per ``Service`` from the app; the service writes the status and calls
``start``/``stop``; everything else reads. ``http`` is None when ``http.port`` is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import structlog
from aiohttp import web

import daemon
from daemon.runtime.app import App
from daemon.runtime.health import HealthCheck
from daemon.runtime.http import HttpServer, ops_routes
from daemon.runtime.metrics import Metrics
from daemon.runtime.sdnotify import SdNotifier, Watchdog
from daemon.runtime.status import DaemonStatus

log = structlog.get_logger("alvh.supervision")


@dataclass
class Supervision:
    status: DaemonStatus
    health: HealthCheck
    metrics: Metrics
    http: HttpServer | None
    notifier: SdNotifier
    watchdog: Watchdog
    _watchdog_task: asyncio.Task[None] | None = field(default=None, init=False)

    @classmethod
    def build(cls, app: App, env: Mapping[str, str] | None = None) -> Supervision:
        config = app.config
        journal = app.journal
        status = DaemonStatus(
            run_id=app.run_id,
            mode=app.mode,
            broker_kind=config.broker.kind,
            version=daemon.__version__,
            connection=lambda: app.broker.connection_state,
            market_now=app.clock.now,
            journal_write_failures=lambda: journal.write_failures,
        )
        health = HealthCheck(status, config.health, config.schedule)
        metrics = Metrics(status, journal.order_status_counts, health.report)
        http = None
        if config.http.port:
            allow = config.http.allow_non_loopback
            http = HttpServer(config.http.host, config.http.port, allow_non_loopback=allow)
            http.add_routes(ops_routes(health.report, metrics.render))
        notifier = SdNotifier(os.environ if env is None else env)

        def alive() -> bool:
            return health.scheduler(status.monotonic()).ok

        return cls(status, health, metrics, http, notifier, Watchdog(notifier, alive))

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Mount more routes on the daemon's server; nothing when ``http.port`` is 0."""
        if self.http is not None:
            self.http.add_routes(routes)

    async def start_http(self) -> None:
        """Serve; a port already taken is logged, not fatal: the hedge matters more than
        its dashboard, and the failed health check shows the supervisor something is off."""
        if self.http is None:
            return
        try:
            await self.http.start()
        except OSError as exc:
            log.error("http_failed", host=self.http.host, port=self.http.port, reason=str(exc))

    def start_watchdog(self) -> None:
        interval = self.notifier.watchdog_interval_s
        if interval is not None:
            self._watchdog_task = asyncio.create_task(self.watchdog.run(interval))
            log.info("watchdog_enabled", ping_every_s=interval)

    async def stop(self) -> None:
        task, self._watchdog_task = self._watchdog_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.http is not None:
            await self.http.stop()
