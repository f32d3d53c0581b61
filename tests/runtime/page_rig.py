"""A journal two sessions deep for the status page tests: propose cycles on the simulated
market on Tuesday and Wednesday, and the page's sources over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.runtime.status_page import PageSources
from tests.runtime.engine_rig import open_rig

STATUS: dict[str, Any] = {
    "run_id": "run-page",
    "version": "test",
    "mode": "propose",
    "broker": "sim",
    "phase": "running",
    "market_now": "2026-11-25T10:10:00-05:00",
    "connection": "connected",
    "cycles": {"ok": 4},
}
NOTIFY = {"log": {"sent": 9}, "apprise-1:json": {"sent": 3, "failed": 1}}


async def two_sessions(journal_path: Path) -> None:
    """Two cycles on 24 Nov, two on 25 Nov; the journal is left closed."""
    rig = await open_rig(journal_path)
    try:
        await rig.cycle()
        await rig.cycle(advance_min=5)
        await rig.cycle(advance_min=24 * 60 - 5)
        await rig.cycle(advance_min=5)
    finally:
        await rig.close()


def sources(journal: Any, sessions: int = 5) -> PageSources:
    return PageSources(
        status=lambda: STATUS,
        journal=journal,
        notify_stats=lambda: NOTIFY,
        history_sessions=sessions,
    )
