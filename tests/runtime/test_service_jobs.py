"""The running daemon's post-close summary and heartbeat jobs (in process, simulated
market): each fires by itself, when it should, and sends what it should.

Oracles: the journal read back (the day's cycle rows and orders, the summary event), the
scheduler's next run time mapped back to market time (the summary's slot is the close plus
``summary_after_close_min``, from the exchange calendar: 16:00 ET on 24 Nov 2026), what a
recording notifier sink received, and the captured log lines. No timing is asserted:
every step waits for the state it needs, bounded by a deadline."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from daemon.config import AppConfig
from daemon.core.calendar import NY
from daemon.runtime.app import App, build_app
from daemon.runtime.notify import Fanout, LogNotifier, NotifyEvent
from daemon.runtime.service import Service
from tests.runtime.alert_factories import Recorder
from tests.runtime.test_ops_service import DEADLINE_S, _config, _until
from tests.runtime.test_service import _query

CLOSE = datetime(2026, 11, 24, 16, 0, tzinfo=NY)


def _with(config: AppConfig, **sections: dict[str, Any]) -> AppConfig:
    """``config`` with some keys of some sections changed."""
    update = {
        name: getattr(config, name).model_copy(update=values) for name, values in sections.items()
    }
    return config.model_copy(update=update)


def _recorded(config: AppConfig) -> tuple[App, Service, Recorder]:
    """The daemon with its notifications going to the log and to a recorder."""
    app = build_app(config)
    recorder = Recorder()
    app.alerts.notifier = Fanout([LogNotifier(), recorder])
    service = Service(app, env={})
    service.supervision.http = None  # not needed here
    return app, service, recorder


def test_the_summary_fires_after_the_close_with_the_days_counts(tmp_path: Path) -> None:
    """Started minutes before the close: the summary job's slot is 16:05 ET, it fires once
    by itself, journals ``session_summary`` with the day's cycles by status, its orders and
    its last scalar, and notifies the same figures in one line."""
    config = _config(tmp_path, start="2026-11-24T15:58:00-05:00")
    config = _with(config, sim={"closed_speed_x": 600.0}, schedule={"summary_after_close_min": 5})

    async def body() -> tuple[datetime, Recorder, App]:
        app, service, recorder = _recorded(config)
        # An order of the day from an earlier run (in submit mode): the summary counts it.
        app.journal.record_order_intent(
            "earlier-run-order",
            cycle_id="earlier-cycle",
            trading_day=CLOSE.date(),
            now=CLOSE - timedelta(hours=3),
            quantity=1,
            limit_usd=0.5,
            debit_usd=50.0,
            leg_keys=(),
            order={"legs": []},
        )
        task = asyncio.create_task(service.run())
        await _until("running", lambda: service.status.phase == "running")
        assert service.scheduler is not None
        slot = service.scheduler.get_job("summary").next_run_time
        await _until("the summary", lambda: bool(app.journal.events("session_summary")))
        service.request_stop("test")
        assert await asyncio.wait_for(task, DEADLINE_S) == 0
        return app.clock.to_market(slot), recorder, app

    slot, recorder, app = asyncio.run(asyncio.wait_for(body(), 2 * DEADLINE_S))
    assert abs(slot - (CLOSE + timedelta(minutes=5))) < timedelta(seconds=1)

    journal = app.journal.path
    cycles = _query(journal, "SELECT * FROM cycles WHERE trading_day = '2026-11-24'")
    cycles.sort(key=lambda c: c["started_at"])
    assert cycles, "cycles ran before the close"
    counts = dict(Counter(c["status"] for c in cycles))
    scalars = [c["scalar"] for c in cycles if c["scalar"] is not None]
    orders = len(_query(journal, "SELECT 1 FROM orders WHERE trading_day = '2026-11-24'"))
    assert orders == 1
    (event,) = _query(journal, "SELECT * FROM events WHERE kind = 'session_summary'")
    assert json.loads(event["detail_json"]) == {
        "trading_day": "2026-11-24",
        "cycles": counts,
        "orders": orders,
        "last_scalar": scalars[-1],
    }
    assert datetime.fromisoformat(event["at"]) >= CLOSE + timedelta(minutes=5)
    (note,) = [n for n in recorder.got if n.event is NotifyEvent.SESSION_SUMMARY]
    assert note.line == (
        f"day 2026-11-24: {len(cycles)} cycles {counts}, {orders} orders, scalar {scalars[-1]}"
    )
    assert note.level == "info" and note.fields["cycles"] == counts


def test_the_heartbeat_logs_proof_of_life_and_alerts_a_long_disconnect(tmp_path: Path) -> None:
    """Every ``heartbeat_interval_s``: a ``heartbeat`` line with the connection and the
    cycles run. Held down past ``broker_disconnected_after_min``, the heartbeat alerts
    ``broker_disconnected`` once; let back in, ``broker_connection_restored``."""
    config = _with(
        _config(tmp_path),
        schedule={"heartbeat_interval_s": 1.0},
        alerts={"broker_disconnected_after_min": 1},
    )

    def sent(recorder: Recorder, event: NotifyEvent) -> list[Any]:
        return [n for n in recorder.got if n.event is event]

    async def body() -> tuple[list[Any], Recorder]:
        app, service, recorder = _recorded(config)
        with capture_logs() as logs:
            task = asyncio.create_task(service.run())

            def beats() -> list[Any]:
                return [e for e in logs if e["event"] == "heartbeat"]

            await _until("a heartbeat", lambda: len(beats()) >= 1)
            app.broker.set_faults(drop_connection=True, refuse_connect=True)  # type: ignore[attr-defined]
            await _until(
                "the disconnect alert",
                lambda: bool(sent(recorder, NotifyEvent.BROKER_DISCONNECTED)),
            )
            app.broker.set_faults(refuse_connect=False)  # type: ignore[attr-defined]
            await _until(
                "the restored alert", lambda: bool(sent(recorder, NotifyEvent.BROKER_RESTORED))
            )
            service.request_stop("test")
            assert await asyncio.wait_for(task, DEADLINE_S) == 0
        return beats(), recorder

    beats, recorder = asyncio.run(asyncio.wait_for(body(), 3 * DEADLINE_S))
    assert beats[0]["connection"] == "connected"
    assert {"connected", "disconnected"} <= {b["connection"] for b in beats}
    assert all(isinstance(b["cycles_run"], int) and b["market_now"] for b in beats)
    runs = [b["cycles_run"] for b in beats]
    assert runs == sorted(runs)
    (down,) = sent(recorder, NotifyEvent.BROKER_DISCONNECTED)
    assert down.level == "error" and down.line.startswith("BROKER DISCONNECTED since ")
    (back,) = sent(recorder, NotifyEvent.BROKER_RESTORED)
    assert back.line.startswith("broker reconnected after ") and back.line.endswith(" min")
    assert back.at - down.at >= timedelta(0)
