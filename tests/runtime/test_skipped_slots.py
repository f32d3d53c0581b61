"""Every cycle slot leaves a journal row: the ones the scheduler skips (missed past the
grace, or the last cycle still running) become ``skipped`` cycle rows with their reason.

The events are APScheduler's own classes, dispatched through the daemon's real scheduler
(its listeners as ``Service`` registers them); the oracle is the journal read back, and
``alvh journal``'s rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)

from daemon.commands import _rows
from daemon.runtime.app import build_app, start_run
from daemon.runtime.service import Service
from tests.runtime.engine_rig import cycle_rows
from tests.runtime.test_ops_service import _config

SLOT = datetime(2026, 11, 24, 15, 31, tzinfo=UTC)


def test_missed_and_overrun_cycle_slots_are_journalled_as_skipped(tmp_path: Path) -> None:
    """One missed cycle slot and one skipped for max_instances: two skipped rows naming
    the slot and the cause; a missed summary is an event; a missed heartbeat is nothing."""
    config = _config(tmp_path)
    app = build_app(config)
    try:
        start_run(app)
        service = Service(app, env={})
        scheduler = service._scheduler()
        scheduler._dispatch_event(JobExecutionEvent(EVENT_JOB_MISSED, "cycle", None, SLOT))
        scheduler._dispatch_event(
            JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "cycle", None, [SLOT])
        )
        scheduler._dispatch_event(JobExecutionEvent(EVENT_JOB_MISSED, "summary", None, SLOT))
        scheduler._dispatch_event(JobExecutionEvent(EVENT_JOB_MISSED, "heartbeat", None, SLOT))
        rows = cycle_rows(app.journal)
        listed = _rows(app.journal, "cycles", 20)
        events = app.journal.events(kind="job_skipped")
    finally:
        app.journal.close()
    assert [r["status"] for r in rows] == ["skipped", "skipped"]
    grace = f"{config.schedule.misfire_grace_s:g}"
    assert rows[0]["reason"] == (
        f"scheduler: slot 2026-11-24T15:31:00Z missed (more than misfire_grace_s={grace} s late)"
    )
    assert rows[1]["reason"] == (
        "scheduler: slot 2026-11-24T15:31:00Z skipped, the previous cycle still running"
    )
    assert {r["cycle_id"] for r in listed} == {r["cycle_id"] for r in rows}
    assert [e["detail_json"].count('"summary"') for e in events] == [1]
