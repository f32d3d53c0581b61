"""The daemon's HTTP server: aiohttp on the daemon's own asyncio loop.

Why on the same loop (not a thread): a stuck loop then stops answering ``/healthz``,
which is exactly what a supervisor must see; and every handler reads the daemon's state
without locks, since nothing else runs while it does.

Open routing: ``HttpServer.add_routes(routes)`` takes aiohttp route definitions from any
module before ``start()``; ``ops_routes`` are this module's (``/healthz``, ``/metrics``).
Handlers get what they read by closure (``DaemonStatus`` and friends), not through the
aiohttp app.

Binding: loopback only unless ``allow_non_loopback`` (checked here as well as in the
config, so no caller can skip it). The endpoint has no authentication; it is for the
machine's own supervisor and a local Prometheus.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from daemon.config import is_loopback
from daemon.runtime.health import HealthReport

log = structlog.get_logger("alvh.http")


class HttpServer:
    def __init__(self, host: str, port: int, *, allow_non_loopback: bool = False) -> None:
        """``port`` 0 binds an ephemeral port (tests); whether to serve at all is the
        caller's choice (``http.port: 0`` means no server, see ``daemon.runtime.service``)."""
        if not allow_non_loopback and not is_loopback(host):
            raise ValueError(
                f"refusing to bind {host!r}: not a loopback address "
                "(set http.allow_non_loopback: true to allow it)"
            )
        self.host = host
        self.port = port
        self._app = web.Application()
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Mount routes (``web.get("/", handler)`` ...). Only before ``start()``: aiohttp
        freezes its router once serving."""
        if self._runner is not None:
            raise RuntimeError("add_routes after start(): mount routes before the server starts")
        self._app.add_routes(list(routes))

    @property
    def started(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Listen; afterwards ``port`` is the bound port (useful with port 0)."""
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info("http_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, indent=1, sort_keys=True) + "\n",
        status=status,
        content_type="application/json",
    )


def ops_routes(
    health: Callable[[], HealthReport], metrics: Callable[[], bytes]
) -> list[web.RouteDef]:
    """``/healthz``: 200 when every check passes, else 503; the body says which failed.
    ``/metrics``: Prometheus text format."""

    async def healthz(_: web.Request) -> web.Response:
        report = health()
        return _json(report.to_json(), 200 if report.healthy else 503)

    async def metrics_page(_: web.Request) -> web.Response:
        response = web.Response(body=metrics())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return [web.get("/healthz", healthz), web.get("/metrics", metrics_page)]
