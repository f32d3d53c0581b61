"""A journal that cannot be written (a full disk): nothing is sent whose intent is not
durable, followers stop cleanly instead of re-pricing, the daemon says so, and everything
resumes when space returns.

The full disk is ``FullDiskJournal``, the real journal whose transactions fail at COMMIT
with SQLite's own ``database or disk is full`` while ``full`` is set (what SQLite raises
when the WAL cannot grow). Oracles: the simulated broker's positions and open orders (what
was really sent), the journal read back, and the log lines.
"""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.errors import JournalError
from daemon.runtime import app as app_module
from daemon.runtime.journal import JournalWriteFailed, SqliteJournal
from daemon.runtime.service import Service
from daemon.runtime.submit import SubmitExecutor
from tests.runtime.engine_rig import START, cycle_rows
from tests.runtime.submit_rig import (
    FILLS_AT_MID,
    FILLS_AT_NATURAL,
    broker_book,
    journal_orders,
    log_events,
    submit_rig,
)
from tests.runtime.test_ops_service import DEADLINE_S, _config, _until


class FullDiskJournal(SqliteJournal):
    """The journal on a disk that fills up on demand (``full``)."""

    full = False

    @contextmanager
    def _tx(self, *, one_statement: bool = False) -> Iterator[sqlite3.Connection]:
        with super()._tx(one_statement=one_statement) as tx:
            yield tx
            if self.full:
                raise sqlite3.OperationalError("database or disk is full")


def test_a_refused_write_is_a_journal_error_and_the_probe_finds_the_space_back(
    tmp_path: Path,
) -> None:
    """While full: JournalWriteFailed (a JournalError, not sqlite3's), nothing written,
    counted, unwritable, the probe fails. Space back: the probe commits and says so."""
    journal = FullDiskJournal.open(tmp_path / "j.sqlite")
    journal.full = True
    with pytest.raises(JournalWriteFailed, match="database or disk is full") as caught:
        journal.record_event("x", now=START, detail={})
    assert isinstance(caught.value, JournalError)
    assert journal.events() == [] and journal.write_failures == 1 and not journal.writable
    assert journal.check_writable(START) is False
    journal.full = False
    assert journal.check_writable(START) is True
    assert [e["kind"] for e in journal.events()] == ["journal_writable_again"]
    journal.close()


def test_a_full_disk_stops_submission_and_space_back_resumes_it(tmp_path: Path) -> None:
    """Full: the first intent fails, so no order reaches the broker; the cycle is logged
    but not journalled; the next cycle sends nothing and logs each adjustment. Space
    back: the same decisions go out, journalled, cycle rows resume."""

    async def body() -> None:
        async with submit_rig(tmp_path, sim=FILLS_AT_MID, journal_class=FullDiskJournal) as rig:
            journal = rig.journal
            assert isinstance(journal, FullDiskJournal)
            before = await broker_book(rig.broker)
            journal.full = True
            with capture_logs() as logs:
                first = await rig.cycle()
                second = await rig.cycle(advance_min=1)
            assert first.result is not None and first.result.adjustments
            assert [e.outcome for e in first.executions] == ["refused"]
            assert [e.outcome for e in second.executions] == ["refused"] * len(
                second.result.adjustments if second.result else ()
            )
            assert all("journal_unwritable" in e.detail for e in second.executions)
            assert await broker_book(rig.broker) == before  # nothing was sent
            assert log_events(logs, "order_submitted") == []
            assert len(log_events(logs, "cycle_not_journalled")) == 2
            assert len(log_events(logs, "journal_write_failed")) == 1  # once, loudly
            assert len(log_events(logs, "adjustment_not_sent")) == len(second.executions)
            assert journal_orders(journal) == {} and cycle_rows(journal) == []
            journal.full = False
            third = await rig.cycle(advance_min=1)
            assert isinstance(rig.executor, SubmitExecutor)
            await asyncio.wait_for(rig.executor.wait(), 60)
            assert third.executions and all(e.outcome == "submitted" for e in third.executions)
            assert set(journal_orders(journal)) == {e.adjustment_id for e in third.executions}
            assert [r["cycle_id"] for r in cycle_rows(journal)] == [third.cycle_id]
            assert [e["kind"] for e in journal.events(kind="journal_writable_again")] == [
                "journal_writable_again"
            ]

    asyncio.run(body())


def test_followers_stop_without_repricing_when_the_journal_fails(tmp_path: Path) -> None:
    """Resting orders, then the disk fills: at their TTL no follower re-prices (the
    orders stay working at their first limit), none dies with an unretrieved exception;
    with space back, the next cycle's reconciliation follows them again."""
    leaked: list[dict[str, Any]] = []

    async def body() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: leaked.append(ctx))
        async with submit_rig(
            tmp_path,
            sim=FILLS_AT_NATURAL,
            journal_class=FullDiskJournal,
            order_ttl_s=0.5,
            max_reprices=3,
        ) as rig:
            journal = rig.journal
            assert isinstance(journal, FullDiskJournal) and isinstance(rig.executor, SubmitExecutor)
            with capture_logs() as logs:
                outcome = await rig.cycle()
                journal.full = True
                with pytest.raises(JournalWriteFailed):  # the disk fills: a write fails
                    journal.record_event("x", now=rig.clock.now(), detail={})
                rig.clock.advance(timedelta(seconds=5))
                await asyncio.wait_for(rig.executor.wait(), 60)
            sent = {e.adjustment_id for e in outcome.executions if e.outcome == "submitted"}
            assert sent
            assert log_events(logs, "order_repriced") == []
            assert {e["order_ref"] for e in log_events(logs, "order_reprice_paused")} == sent
            working = {s.order_ref: s for s in await rig.broker.open_orders()}
            assert set(working) == sent
            journal.full = False
            with capture_logs() as later:
                await rig.cycle(advance_min=1)
            assert {e["order_ref"] for e in log_events(later, "order_recovered")} == sent

    asyncio.run(body())
    gc.collect()
    assert [c.get("message") for c in leaked] == []


def test_the_daemon_alerts_a_full_disk_recovers_and_stops_cleanly_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process on the simulated market: the disk fills, the next cycle is alerted as
    failing with the journal named; space back, recovery is alerted and cycle rows resume;
    full again at the stop: exit 0 (the run's end is logged, not journalled)."""
    monkeypatch.setattr(app_module, "SqliteJournal", FullDiskJournal)
    config = _config(tmp_path)

    async def body() -> tuple[int, list[Any], int, int]:
        app = app_module.build_app(config)
        journal = app.journal
        assert isinstance(journal, FullDiskJournal)
        service = Service(app, env={})
        assert service.supervision.http is not None
        service.supervision.http.port = 0
        with capture_logs() as logs:
            task = asyncio.create_task(service.run())
            await _until("a cycle", lambda: service.cycles_run >= 1)
            journal.full = True
            await _until("the failure alert", lambda: bool(log_events(logs, "cycles_failing")))
            rows_while_full = len(cycle_rows(journal))
            journal.full = False
            await _until("recovery", lambda: bool(log_events(logs, "cycles_recovered")))
            await _until("a row again", lambda: len(cycle_rows(journal)) > rows_while_full)
            journal.full = True
            service.request_stop("SIGTERM")
            code = await asyncio.wait_for(task, DEADLINE_S)
        ended = log_events(logs, "run_end_not_journalled")
        return code, log_events(logs, "cycles_failing"), len(ended), rows_while_full

    code, failing, ended, rows_while_full = asyncio.run(body())
    assert code == 0 and ended == 1
    assert "journal unwritable" in failing[0]["line"]
    assert "database or disk is full" in failing[0]["line"]
    assert rows_while_full >= 1
