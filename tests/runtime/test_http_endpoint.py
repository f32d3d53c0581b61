"""The HTTP server: loopback-only binding, open routing, /healthz codes, /metrics format.

Oracles: the address classes of RFC 5735/4291 (127/8 and ::1 loopback), HTTP status codes
200/503, and Prometheus' text content type as the library names it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from daemon.config import HttpParams, is_loopback, load_config
from daemon.errors import ConfigError
from daemon.runtime.health import Check, HealthReport
from daemon.runtime.http import HttpServer, ops_routes


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("gateway.example", False),  # a name is never trusted to stay loopback
    ],
)
def test_loopback_classification(host: str, loopback: bool) -> None:
    """Loopback = 127.0.0.0/8, ::1 and the name localhost; anything else is not."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "gateway.example"])
def test_server_refuses_non_loopback_unless_allowed(host: str) -> None:
    """The server itself refuses a non-loopback bind; the explicit flag lets it through."""
    with pytest.raises(ValueError, match="allow_non_loopback"):
        HttpServer(host, 9321)
    assert HttpServer(host, 9321, allow_non_loopback=True).host == host


def test_config_refuses_non_loopback_unless_allowed(tmp_path: Path) -> None:
    """In the config: http.host 0.0.0.0 is an error naming the field and the way out; with
    allow_non_loopback it loads; with the server off (port 0) the host does not matter."""
    path = tmp_path / "c.yaml"
    path.write_text("http:\n  host: 0.0.0.0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (problem,) = info.value.problems
    assert problem.where == "http.host"
    assert "allow_non_loopback" in problem.message
    loaded = load_config(path, env={"ALVH_HTTP_ALLOW_NON_LOOPBACK": "true"})
    assert loaded.http.host == "0.0.0.0" and loaded.http.allow_non_loopback
    assert HttpParams(host="0.0.0.0", port=0).port == 0


def _report(ok: bool) -> HealthReport:
    return HealthReport({"broker": Check(ok, "connected" if ok else "disconnected for 400 s")})


def test_healthz_metrics_and_an_added_route() -> None:
    """/healthz is 200 when healthy and 503 with the failed check named when not; /metrics
    is Prometheus text; a route another module adds is served beside them."""
    state = {"ok": True}

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="status page")

    async def go() -> list[tuple[int, str, str]]:
        server = HttpServer("127.0.0.1", 0)
        server.add_routes(ops_routes(lambda: _report(state["ok"]), lambda: b"alvh_up 1.0\n"))
        server.add_routes([web.get("/", page)])
        await server.start()
        seen = []
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with aiohttp.ClientSession() as client:
                for path in ("/healthz", "/metrics", "/"):
                    async with client.get(base + path) as r:
                        seen.append((r.status, r.headers["Content-Type"], await r.text()))
                state["ok"] = False
                async with client.get(base + "/healthz") as r:
                    seen.append((r.status, r.headers["Content-Type"], await r.text()))
            with pytest.raises(RuntimeError, match="before the server starts"):
                server.add_routes([web.get("/late", page)])
        finally:
            await server.stop()
        return seen

    (ok, metrics, page_, bad) = asyncio.run(go())
    assert ok[0] == 200 and '"healthy": true' in ok[2]
    assert metrics[0] == 200 and metrics[1].startswith("text/plain; version=")
    assert metrics[2] == "alvh_up 1.0\n"
    assert page_ == (200, "text/plain; charset=utf-8", "status page")
    assert bad[0] == 503 and '"failed": [\n  "broker"\n ]' in bad[2]
    assert "disconnected for 400 s" in bad[2]
