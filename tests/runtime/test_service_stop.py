"""A stop while a cycle runs, in process on the simulated market: the cycle finishes and is
journalled before the daemon stops (APScheduler's shutdown would cancel it).

The cycle is held inside its snapshot step by a gate the test opens only after the stop
has begun (``status.phase == "stopping"``), so the order of events is fixed, not timed.
Oracle: the journal's cycles rows against the cycles the engine started.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.runtime.app import build_app
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.service import Service
from daemon.runtime.snapshot import SnapshotTaker
from tests.runtime.engine_rig import cycle_rows
from tests.runtime.test_ops_service import DEADLINE_S, _config, _until


class GatedSnapshots:
    """The real snapshot taker, except that its ``hold_at``-th call waits for ``release``."""

    def __init__(self, inner: SnapshotTaker, hold_at: int) -> None:
        self._inner = inner
        self._hold_at = hold_at
        self.calls = 0
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def take(self, now: datetime) -> Any:
        self.calls += 1
        if self.calls == self._hold_at:
            self.entered.set()
            await self.release.wait()
        return await self._inner.take(now)


def test_sigterm_lets_the_running_cycle_finish_and_journal_its_row(tmp_path: Path) -> None:
    """Stop requested mid-cycle: the held cycle completes after the stop began, its row is
    in the journal, and every cycle the engine started has exactly one row."""
    config = _config(tmp_path)

    async def body() -> tuple[int, int, int, str]:
        app = build_app(config)
        gate = GatedSnapshots(app.engine._snapshots, hold_at=2)
        app.engine._snapshots = gate  # type: ignore[assignment]
        service = Service(app, env={})
        assert service.supervision.http is not None
        service.supervision.http.port = 0
        task = asyncio.create_task(service.run())
        await asyncio.wait_for(gate.entered.wait(), DEADLINE_S)
        service.request_stop("SIGTERM")
        await _until("the stop to begin", lambda: service.status.phase == "stopping")
        for _ in range(20):  # the stop path runs as far as it goes without the cycle
            await asyncio.sleep(0)
        gate.release.set()
        code = await asyncio.wait_for(task, DEADLINE_S)
        rows = cycle_rows_of(config.journal.path)
        return code, gate.calls, len(rows), rows[-1]["status"] if rows else ""

    code, started, journalled, last_status = asyncio.run(body())
    assert code == 0
    assert started == 2
    assert journalled == started, "the cycle running at the stop left no journal row"
    assert last_status == "ok"


def cycle_rows_of(path: Path) -> list[dict[str, Any]]:
    journal = SqliteJournal.open(path)
    try:
        return cycle_rows(journal)
    finally:
        journal.close()
