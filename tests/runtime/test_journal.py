"""The SQLite journal: schema versions, refusals, intent-before-send, recovery."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.errors import JournalError
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_schema import APPLICATION_ID, LATEST_VERSION

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def _journal(tmp_path: Path) -> SqliteJournal:
    journal = SqliteJournal.open(tmp_path / "j.sqlite")
    journal.start_run(
        "run-1", now=T0, version="0.1.0", host="h", mode="submit", broker="sim", config={"a": 1}
    )
    return journal


def _cycle(journal: SqliteJournal, cycle_id: str, when: datetime, **extra: object) -> None:
    journal.record_cycle(
        cycle_id=cycle_id,
        run_id="run-1",
        started_at=when,
        finished_at=when + timedelta(seconds=1),
        trading_day=DAY,
        status="ok",
        reason=None,
        record={"scalar": {"value": 1.2}, "risk": {"tail_loss_usd": -5000.0}},
        scalar=1.2,
        tail_loss_usd=-5000.0,
        **extra,  # type: ignore[arg-type]
    )


def test_new_journal_is_at_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    """A fresh journal is created at the latest schema version, in WAL mode."""
    journal = _journal(tmp_path)
    assert journal.schema_version == LATEST_VERSION
    mode = sqlite3.connect(tmp_path / "j.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    """Closing and reopening loses nothing and re-applies no migration."""
    journal = _journal(tmp_path)
    _cycle(journal, "c1", T0, scalar_state={"v": 1, "value": 1.4})
    journal.close()
    again = SqliteJournal.open(tmp_path / "j.sqlite")
    assert [c["cycle_id"] for c in again.recent_cycles()] == ["c1"]
    assert again.scalar_state() == {"v": 1, "value": 1.4}


def test_not_a_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """A file that is not SQLite is a clear error, and its bytes are not overwritten."""
    path = tmp_path / "j.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(JournalError, match="not a readable SQLite database"):
        SqliteJournal.open(path)
    assert path.read_bytes() == garbage


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A journal written by a newer daemon (ALVH's application id, a higher version) is
    refused, not downgraded."""
    path = tmp_path / "j.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalError, match="newer than this daemon"):
        SqliteJournal.open(path)
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == LATEST_VERSION + 1


def test_directory_path_is_refused(tmp_path: Path) -> None:
    """A journal path that is a directory is a clear error."""
    with pytest.raises(JournalError, match="is a directory"):
        SqliteJournal.open(tmp_path)


def test_order_intent_then_outcome_and_no_second_intent(tmp_path: Path) -> None:
    """An order's intent is recorded once; a second intent for the same ref is refused."""
    journal = _journal(tmp_path)
    kwargs = dict(
        cycle_id="c1",
        trading_day=DAY,
        now=T0,
        quantity=2,
        limit_usd=1.25,
        debit_usd=250.0,
        leg_keys=("VIX 2026-12-16 20 C", "VIX 2026-12-16 30 C"),
    )
    journal.record_order_intent("adj-1", order={"legs": []}, **kwargs)  # type: ignore[arg-type]
    assert journal.has_order("adj-1")
    assert [o["order_ref"] for o in journal.open_orders()] == ["adj-1"]
    with pytest.raises(JournalError, match="already in the journal"):
        journal.record_order_intent("adj-1", order={}, **kwargs)  # type: ignore[arg-type]
    journal.record_order_state("adj-1", now=T0, status="SUBMITTED", order_id="7")
    journal.record_fill("adj-1", order_id="7", quantity=2, price_usd=1.2, at=T0)
    journal.record_order_state("adj-1", now=T0, status="FILLED", filled_qty=2, avg_fill_usd=1.2)
    assert journal.open_orders() == []
    (order,) = journal.orders_on(DAY)
    assert (order["order_id"], order["filled_qty"], order["status"]) == ("7", 2, "FILLED")


def test_cycle_adjustments_and_state_are_one_transaction(tmp_path: Path) -> None:
    """A cycle whose adjustment row is invalid leaves no cycle and no state behind."""
    journal = _journal(tmp_path)
    bad = ({"id": "a", "action": "OPEN", "kind": "VIX_CALL_SPREAD"},)  # no quantity
    with pytest.raises(KeyError):
        _cycle(journal, "c1", T0, adjustments=bad, scalar_state={"v": 1})
    assert journal.recent_cycles() == []
    assert journal.scalar_state() is None


def test_events_and_adjustments_read_back_newest_first(tmp_path: Path) -> None:
    """Events and adjustments come back newest first, filterable by kind."""
    journal = _journal(tmp_path)
    adj = {"id": "a1", "action": "OPEN", "kind": "VIX_CALL_SPREAD", "quantity": 3}
    _cycle(journal, "c1", T0, adjustments=({**adj, "limit_price_usd": 0.85},))
    journal.record_event("cycle_skipped", now=T0, detail={"reason": "stale"}, cycle_id="c2")
    journal.record_event("heartbeat", now=T0 + timedelta(minutes=1), detail={})
    assert [e["kind"] for e in journal.events()] == ["heartbeat", "cycle_skipped"]
    assert [e["cycle_id"] for e in journal.events("cycle_skipped")] == ["c2"]
    (row,) = journal.recent_adjustments()
    assert (row["adjustment_id"], row["quantity"], row["limit_usd"]) == ("a1", 3, 0.85)


def test_kill_9_mid_write_leaves_a_consistent_journal(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-stream leaves a journal that opens and holds whole rows."""
    path = tmp_path / "j.sqlite"
    SqliteJournal.open(path).close()
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import UTC, date, datetime
        from daemon.runtime.journal import SqliteJournal
        j = SqliteJournal.open({str(path)!r})
        now = datetime(2026, 11, 24, tzinfo=UTC)
        j.start_run("r", now=now, version="v", host="h", mode="m", broker="b", config={{}})
        print("ready", flush=True)
        i = 0
        while True:
            j.record_cycle(cycle_id=f"c{{i}}", run_id="r", started_at=now, finished_at=now,
                           trading_day=date(2026, 11, 24), status="ok", reason=None,
                           record={{"n": i, "pad": "x" * 4000}}, scalar_state={{"n": i}})
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    subprocess.run(["sleep", "0.5"], check=True)
    proc.kill()
    proc.wait()
    journal = SqliteJournal.open(path)
    cycles = journal.recent_cycles(limit=100_000)
    assert cycles, "the writer wrote nothing before it was killed"
    newest = max(int(c["cycle_id"][1:]) for c in cycles)
    # The state row is written in the same transaction as its cycle: they agree.
    assert journal.scalar_state() == {"n": newest}


def test_cycles_on_one_day_oldest_first(tmp_path: Path) -> None:
    """cycles_on returns that trading day's cycles only, in time order."""
    journal = _journal(tmp_path)
    _cycle(journal, "c2", T0 + timedelta(minutes=5))
    _cycle(journal, "c1", T0)
    assert [c["cycle_id"] for c in journal.cycles_on(DAY)] == ["c1", "c2"]
    assert journal.cycles_on(date(2026, 11, 25)) == []


def test_open_order_kinds_are_the_families_of_orders_still_live(tmp_path: Path) -> None:
    """The family of an order comes from its adjustment; it counts until a terminal state."""
    journal = _journal(tmp_path)
    vix = {"id": "v1", "action": "OPEN", "kind": "VIX_CALL_SPREAD", "quantity": 3}
    diag = {"id": "d1", "action": "OPEN", "kind": "SPX_PUT_DIAGONAL", "quantity": 1}
    _cycle(journal, "c1", T0, adjustments=tuple({**a, "limit_price_usd": 1.0} for a in (vix, diag)))
    assert journal.open_order_kinds() == set()  # proposed, never sent
    for ref in ("v1", "d1"):
        journal.record_order_intent(
            ref, cycle_id="c1", trading_day=DAY, now=T0, quantity=1, limit_usd=1.0,
            debit_usd=100.0, leg_keys=(ref,), order={},
        )  # fmt: skip
    assert journal.open_order_kinds() == {"VIX_CALL_SPREAD", "SPX_PUT_DIAGONAL"}
    journal.record_order_state("d1", now=T0, status="CANCELLED")
    assert journal.open_order_kinds() == {"VIX_CALL_SPREAD"}
