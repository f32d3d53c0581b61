"""The reads the executor makes every cycle: right answers, and plans that do not scan a
journal of years (the orders that may still be live have an index of their own, v3)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_schema import MIGRATIONS

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DAY = date(2026, 11, 24)


def _journal(path: Path) -> SqliteJournal:
    journal = SqliteJournal.open(path)
    journal.start_run(
        "run-1", now=T0, version="0", host="h", mode="submit", broker="sim", config={}
    )
    return journal


def _order(journal: SqliteJournal, ref: str, at: datetime, status: str) -> None:
    journal.record_order_intent(
        ref,
        cycle_id="c",
        trading_day=at.date(),
        now=at,
        quantity=1,
        limit_usd=1.0,
        debit_usd=100.0,
        leg_keys=(ref,),
        order={"legs": []},
    )
    if status != "INTENT":
        journal.record_order_state(ref, now=at, status=status)


def _plans(journal: SqliteJournal, read: str) -> list[str]:
    """The query plan of every statement the read ``read`` runs."""
    statements: list[str] = []
    conn = journal._conn
    conn.set_trace_callback(statements.append)
    try:
        getattr(journal, read)()
    finally:
        conn.set_trace_callback(None)
    return [
        str(row[3])
        for sql in statements
        for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    ]


def test_open_orders_are_read_from_their_own_index(tmp_path: Path) -> None:
    """Of ended orders (each terminal status) and live ones (intent, submitted, fate
    unknown), the live ones come back oldest first, and the query walks the partial index
    ``orders_open``, not the table (its term and the index's must stay the same text); so
    does the query for their families, before it looks up their adjustments."""
    journal = _journal(tmp_path / "j.sqlite")
    statuses = ["FILLED", "INTENT", "CANCELLED", "UNKNOWN", "REJECTED", "SUBMITTED", "ENDED_UNSEEN"]
    for i, status in enumerate(statuses):
        _order(journal, f"o{i}-{status}", T0 + timedelta(minutes=i), status)
    assert [r["order_ref"] for r in journal.open_orders()] == [
        "o1-INTENT",
        "o3-UNKNOWN",
        "o5-SUBMITTED",
    ]
    assert _plans(journal, "open_orders") == ["SCAN orders USING INDEX orders_open"]
    assert journal.open_order_kinds() == set()  # no adjustment rows: proposed nowhere
    kinds_plan = _plans(journal, "open_order_kinds")
    assert kinds_plan[0] == "SCAN o USING INDEX orders_open"  # open orders first
    assert any(p.startswith("SEARCH a USING") for p in kinds_plan)  # then their adjustment


def test_a_v2_journal_gets_the_index_on_open(tmp_path: Path) -> None:
    """A journal from before v3 (its orders already there) is given the index when this
    daemon opens it, and reads the same orders through it."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        f"BEGIN;\n{MIGRATIONS[0]}\n{MIGRATIONS[1]}\nPRAGMA user_version = 2;\nCOMMIT;"
    )
    conn.close()
    journal = _journal(path)
    _order(journal, "live", T0, "SUBMITTED")
    _order(journal, "ended", T0 + timedelta(minutes=1), "FILLED")
    assert [r["order_ref"] for r in journal.open_orders()] == ["live"]
    assert _plans(journal, "open_orders") == ["SCAN orders USING INDEX orders_open"]


def test_refs_among_are_the_ones_journalled(tmp_path: Path) -> None:
    """Of the refs asked about, exactly those with an order row (any status), each once;
    none asked, none held."""
    journal = _journal(tmp_path / "j.sqlite")
    _order(journal, "a", T0, "FILLED")
    _order(journal, "b", T0, "INTENT")
    assert journal.order_refs_among(["a", "x", "b", "a"]) == {"a", "b"}
    assert journal.order_refs_among(["x"]) == set()
    assert journal.order_refs_among([]) == set()
