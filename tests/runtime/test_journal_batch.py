"""The journal's ``all_or_nothing`` block (the replay's session): one transaction, read
back before it commits, rolled back whole on a failure, never nested; and an unbatched
(live) write that commits at once. Oracle: a second SQLite connection on the same file,
which sees committed rows only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.errors import JournalError
from daemon.runtime.journal import JournalWriteFailed, SqliteJournal
from tests.runtime.test_journal_full import FullDiskJournal as FailingJournal

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def _open(tmp_path: Path, cls: type[SqliteJournal] = SqliteJournal) -> SqliteJournal:
    journal = cls.open(tmp_path / "j.sqlite")
    journal.start_run("r", now=T0, version="0", host="h", mode="submit", broker="sim", config={})
    return journal


def _event(journal: SqliteJournal, kind: str) -> None:
    journal.record_event(kind, now=T0, detail={"k": kind}, run_id="r")


def _committed_kinds(tmp_path: Path) -> list[str]:
    """The events another connection (a reader, or the file after a crash) sees."""
    conn = sqlite3.connect(tmp_path / "j.sqlite")
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY event_id")]
    finally:
        conn.close()


def _intent(journal: SqliteJournal, ref: str) -> None:
    journal.record_order_intent(
        ref,
        cycle_id="c",
        trading_day=DAY,
        now=T0,
        quantity=1,
        limit_usd=1.0,
        debit_usd=100.0,
        leg_keys=["k"],
        order={"ref": ref},
    )


def test_an_unbatched_write_commits_at_once(tmp_path: Path) -> None:
    """The live daemon's write is on disk when the call returns: a second connection
    reads it with the writer still open."""
    journal = _open(tmp_path)
    _event(journal, "live")
    assert _committed_kinds(tmp_path) == ["live"]
    journal.close()


def test_a_batch_reads_its_own_writes_and_commits_at_its_end(tmp_path: Path) -> None:
    """Inside the block the journal's reads see its writes, a second connection does not;
    after the block both do."""
    journal = _open(tmp_path)
    with journal.all_or_nothing():
        _event(journal, "a")
        _intent(journal, "o1")
        assert [e["kind"] for e in journal.events()] == ["a"]
        assert journal.has_order("o1")
        assert _committed_kinds(tmp_path) == []
    assert _committed_kinds(tmp_path) == ["a"]
    assert journal.writable and journal.write_failures == 0
    journal.close()


def test_a_failed_write_rolls_the_batch_back_and_keeps_earlier_batches(
    tmp_path: Path,
) -> None:
    """A refused write in a batch: counted once, unwritable, the whole batch undone (the
    writes before it too), later writes of the batch refused without a count, and the
    block's end raises even though the caller caught the failure. Earlier batches stay;
    the next batch that commits makes the journal writable again."""
    journal = _open(tmp_path, FailingJournal)
    assert isinstance(journal, FailingJournal)
    with journal.all_or_nothing():
        _event(journal, "session-1")
    with pytest.raises(JournalWriteFailed, match="rolled back"), journal.all_or_nothing():
        _event(journal, "session-2-before")
        journal.full = True
        with pytest.raises(JournalWriteFailed, match="disk is full"):
            _event(journal, "session-2-failing")
        journal.full = False
        with pytest.raises(JournalWriteFailed, match="rolled back"):
            _event(journal, "session-2-after")
        assert [e["kind"] for e in journal.events()] == ["session-1"]
    assert (journal.write_failures, journal.writable) == (1, False)
    assert _committed_kinds(tmp_path) == ["session-1"]
    with journal.all_or_nothing():
        _event(journal, "session-3")
        assert not journal.writable  # not on disk yet
    assert journal.writable
    assert _committed_kinds(tmp_path) == ["session-1", "session-3"]
    journal.close()


def test_an_exception_in_the_block_rolls_back_that_session_only(tmp_path: Path) -> None:
    """A bug or an interruption in the middle of a session leaves the finished sessions
    and nothing of the broken one, and counts no write failure."""
    journal = _open(tmp_path)
    with journal.all_or_nothing():
        _event(journal, "done")
    for exc in (RuntimeError("bug"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), journal.all_or_nothing():
            _event(journal, "half")
            raise exc
    assert _committed_kinds(tmp_path) == ["done"]
    assert [e["kind"] for e in journal.events()] == ["done"]
    assert (journal.write_failures, journal.writable) == (0, True)
    journal.close()


def test_a_refused_duplicate_undoes_that_write_only(tmp_path: Path) -> None:
    """A second intent for the same ref is refused as outside a batch; the batch's other
    writes, before and after it, commit."""
    journal = _open(tmp_path)
    with journal.all_or_nothing():
        _intent(journal, "o1")
        with pytest.raises(JournalError, match="already in the journal"):
            _intent(journal, "o1")
        _event(journal, "after")
    assert journal.has_order("o1") and _committed_kinds(tmp_path) == ["after"]
    assert journal.write_failures == 0
    journal.close()


def test_a_multi_row_write_that_breaks_midway_leaves_none_of_its_rows(
    tmp_path: Path,
) -> None:
    """A cycle whose second row cannot be built (an adjustment without its fields) is
    undone whole inside the batch, as its own transaction would be outside one."""
    journal = _open(tmp_path)
    with journal.all_or_nothing():
        with pytest.raises(KeyError):
            journal.record_cycle(
                cycle_id="c1",
                run_id="r",
                started_at=T0,
                finished_at=T0 + timedelta(seconds=1),
                trading_day=DAY,
                status="ok",
                reason=None,
                record={},
                adjustments=({"id": "a1"},),
            )
        _event(journal, "after")
    assert journal.recent_cycles() == [] and _committed_kinds(tmp_path) == ["after"]
    journal.close()


def test_a_one_statement_write_that_raises_before_running_keeps_the_batch(
    tmp_path: Path,
) -> None:
    """A single-statement write (no savepoint) that fails building its row wrote
    nothing: the batch's other writes commit and no write failure is counted."""
    journal = _open(tmp_path)
    with journal.all_or_nothing():
        _event(journal, "before")
        with pytest.raises(TypeError):
            journal.record_event("bad", now=T0, detail={1: "a", "b": 2}, run_id="r")
        _event(journal, "after")
    assert _committed_kinds(tmp_path) == ["before", "after"]
    assert (journal.write_failures, journal.writable) == (0, True)
    journal.close()


def test_batches_do_not_nest(tmp_path: Path) -> None:
    """A block inside a block is refused (RuntimeError); the outer one still commits."""
    journal = _open(tmp_path)
    with journal.all_or_nothing():
        _event(journal, "outer")
        with pytest.raises(RuntimeError, match="do not nest"), journal.all_or_nothing():
            _event(journal, "inner")  # never runs
    assert _committed_kinds(tmp_path) == ["outer"]
    journal.close()


class _RefusedCommit:
    """The journal's connection, refusing COMMIT as a full disk does (the WAL cannot
    grow); every other call goes to the real connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)


def test_a_refused_commit_is_a_write_failure(tmp_path: Path) -> None:
    """The batch's COMMIT refused: JournalWriteFailed, counted once, unwritable, nothing
    of the batch on disk, and the journal out of the transaction for the next one."""
    journal = _open(tmp_path)
    real = journal._conn
    journal._conn = _RefusedCommit(real)  # type: ignore[assignment]
    with pytest.raises(JournalWriteFailed, match="disk is full"), journal.all_or_nothing():
        _event(journal, "x")
    journal._conn = real
    assert (journal.write_failures, journal.writable) == (1, False)
    assert not real.in_transaction and _committed_kinds(tmp_path) == []
    with journal.all_or_nothing():
        _event(journal, "y")
    assert journal.writable and _committed_kinds(tmp_path) == ["y"]
    journal.close()
