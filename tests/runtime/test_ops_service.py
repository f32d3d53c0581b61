"""The running daemon (in process, on the simulated market) as a supervisor sees it.

- sd_notify: READY, then STATUS lines and WATCHDOG pings, then STOPPING, received on a
  test datagram socket in that order; once the scheduler is wedged (paused), the pings
  stop; once it runs again, they resume.
- /healthz and /metrics over real HTTP: healthy while connected; the simulated broker held
  disconnected (fault knobs) past ``health.max_disconnected_s`` turns it 503 naming the
  broker; let back in, the daemon reconnects, health returns and the reconnect is counted.

No timing is asserted: every step waits for the state it needs (bounded by a deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from daemon.config import AppConfig, load_config
from daemon.errors import BrokerError
from daemon.runtime.app import build_app
from daemon.runtime.service import Service
from tests.runtime.test_sdnotify import drain, receiver

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0


def _config(tmp_path: Path, start: str = "2026-11-24T09:30:00-05:00") -> AppConfig:
    raw = yaml.safe_load((REPO / "config" / "sim.yaml").read_text())
    raw["journal"]["path"] = str(tmp_path / "journal.sqlite")
    raw["execution"]["kill_switch_path"] = str(tmp_path / "KILL")
    raw["events_path"] = str(REPO / "config" / "events.yaml")
    raw["logging"] = {"level": "warning", "format": "json"}
    raw["sim"]["start"] = start
    raw["health"] = {
        "max_disconnected_s": 1.0,
        "max_missed_cycles": 2,
        "beat_interval_s": 0.1,
        "scheduler_stale_s": 1.0,
    }
    raw["broker"]["reconnect_interval_s"] = 1.0
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config(path, env={})


async def _until(what: str, ready: Callable[[], Awaitable[bool] | bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while True:
        result = ready()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_sd_notify_order_and_no_watchdog_while_stuck(tmp_path: Path) -> None:
    """READY first, STATUS per cycle, WATCHDOG while alive, none while the scheduler is
    paused, pings again after, STOPPING last."""
    config = _config(tmp_path)

    async def body(sock: socket.socket, name: str) -> list[str]:
        app = build_app(config)
        service = Service(app, env={"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "200000"})
        assert service.supervision.http is not None
        service.supervision.http.port = 0  # an ephemeral port: tests run side by side
        messages: list[str] = []

        def received() -> list[str]:
            messages.extend(drain(sock))
            return messages

        task = asyncio.create_task(service.run())
        await _until(
            "two cycle STATUS lines",
            lambda: sum(m.startswith("STATUS=cycle") for m in received()) >= 2,
        )
        await _until("a WATCHDOG", lambda: "WATCHDOG=1" in received())
        scheduler = service.scheduler
        assert scheduler is not None
        scheduler.pause()  # wedged: no job runs, no beat
        dog = service.supervision.watchdog
        await _until("the watchdog to withhold", lambda: dog.withheld >= 2)
        stuck_from = len(received())
        await _until("more withheld rounds", lambda: dog.withheld >= 6)
        assert "WATCHDOG=1" not in received()[stuck_from:]
        scheduler.resume()
        await _until("pings to resume", lambda: "WATCHDOG=1" in received()[stuck_from:])
        service.request_stop("test")
        assert await asyncio.wait_for(task, DEADLINE_S) == 0
        return received()

    with receiver() as (name, sock):
        messages = asyncio.run(asyncio.wait_for(body(sock, name), 2 * DEADLINE_S))
    # Pings may precede READY (the scheduler beats during the warm-up); nothing else does.
    assert next(m for m in messages if m != "WATCHDOG=1").startswith("READY=1\nSTATUS=")
    assert messages[-1] == "STOPPING=1\nSTATUS=stopping: test"
    assert sum(m.startswith("READY=1") for m in messages) == 1
    assert all(not m.startswith("STOPPING") for m in messages[:-1])
    cycle_lines = [m for m in messages if m.startswith("STATUS=cycle 2026-11-24")]
    assert cycle_lines and all(", scalar " in m for m in cycle_lines), cycle_lines[:3]


def test_healthz_turns_unhealthy_when_the_broker_is_held_down(tmp_path: Path) -> None:
    """Connected: 200. Dropped and refused past the 1 s allowance: 503 naming the broker
    (and /metrics says disconnected). Let back in: 200 again, one reconnect counted."""
    config = _config(tmp_path)

    async def body() -> dict[str, Any]:
        app = build_app(config)
        service = Service(app, env={})
        assert service.supervision.http is not None
        service.supervision.http.port = 0
        task = asyncio.create_task(service.run())
        seen: dict[str, Any] = {}
        async with aiohttp.ClientSession() as client:

            async def get(path: str) -> tuple[int, str]:
                port = service.supervision.http.port  # type: ignore[union-attr]
                async with client.get(f"http://127.0.0.1:{port}{path}") as r:
                    return r.status, await r.text()

            async def healthz_is(code: int) -> bool:
                if not (service.supervision.http and service.supervision.http.started):
                    return False
                status, text = await get("/healthz")
                seen[f"healthz_{code}"] = json.loads(text)
                return status == code

            await _until("healthy", lambda: healthz_is(200))
            app.broker.set_faults(drop_connection=True, refuse_connect=True)  # type: ignore[attr-defined]
            await _until("unhealthy", lambda: healthz_is(503))
            seen["metrics_down"] = (await get("/metrics"))[1]
            app.broker.set_faults(refuse_connect=False)  # type: ignore[attr-defined]
            await _until("healthy again", lambda: healthz_is(200))

            async def reconnect_counted() -> bool:
                # /healthz reads the connection at once; the reconnect is counted when the
                # status next observes it (a scheduler beat or a cycle), a moment later on
                # a loaded machine.
                seen["metrics_up"] = (await get("/metrics"))[1]
                return "alvh_broker_reconnects_total 1.0" in seen["metrics_up"]

            await _until("the reconnect counted", reconnect_counted)
        service.request_stop("test")
        assert await asyncio.wait_for(task, DEADLINE_S) == 0
        return seen

    seen = asyncio.run(asyncio.wait_for(body(), 2 * DEADLINE_S))
    down = seen["healthz_503"]
    # The broker check is the one held down; on a loaded machine a cycle may also be late,
    # which is the cycle check's business, not this test's.
    assert "broker" in down["failed"] and down["checks"]["broker"]["ok"] is False, down
    assert down["checks"]["broker"]["detail"].startswith("disconnected for ")
    assert 'alvh_broker_connection_state{state="disconnected"} 1.0' in seen["metrics_down"]
    assert "alvh_broker_connected 0.0" in seen["metrics_down"]
    assert "alvh_broker_reconnects_total 1.0" in seen["metrics_up"]
    assert 'alvh_cycle_skips_total{reason="BrokerDisconnected"}' in seen["metrics_up"]


def test_a_drop_outside_the_session_is_reconnected_before_the_next_one(tmp_path: Path) -> None:
    """Saturday, no cycle to reconnect: the reconnect job brings the broker back by itself
    (a gateway's nightly restart is ridden out between sessions) and counts it."""
    config = _config(tmp_path, start="2026-11-28T00:05:00-05:00")  # a Saturday

    async def body() -> tuple[int, int, int]:
        app = build_app(config)
        service = Service(app, env={})
        service.supervision.http = None  # not needed here
        task = asyncio.create_task(service.run())
        status = service.status
        await _until("running", lambda: status.phase == "running")
        app.broker.set_faults(drop_connection=True)  # type: ignore[attr-defined]
        with contextlib.suppress(BrokerError):
            await app.broker.positions()  # the next call finds the connection dropped
        await _until("reconnected", lambda: status.reconnects == 1)
        service.request_stop("test")
        assert await asyncio.wait_for(task, DEADLINE_S) == 0
        return status.reconnects, service.cycles_run, status.cycles_by_status.total()

    reconnects, cycles, recorded = asyncio.run(asyncio.wait_for(body(), 2 * DEADLINE_S))
    assert reconnects == 1
    assert cycles == recorded == 0  # no cycle ran: the reconnect job did it
