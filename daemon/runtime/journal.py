"""The journal: every run, cycle, adjustment, order, fill and event, in SQLite.

Why SQLite (stdlib) in WAL mode: one local file a trader can open with any SQLite tool,
atomic transactions so a SIGTERM or a kill -9 never leaves half a record, and readers
(``alvh journal``) that do not block the daemon's writes.

Each ``record_*`` call is one transaction (``daemon.runtime.journal_tx``; a replay joins
a session's writes into one with ``all_or_nothing``). The order intent is written
*before* the order is sent and its outcome after, so a restart finds every order it may
have sent.

A write SQLite refuses (disk full, I/O error) is ``JournalWriteFailed`` and marks the
journal unwritable until a write commits again (docs/reliability.md, "Runtime and journal").

Refusals at open (``JournalError``, never an overwrite; ``daemon.runtime.journal_open``):
a place that cannot hold it (a parent that is a file, a read-only file or directory), a
file that is not a SQLite database or fails ``PRAGMA quick_check`` (corrupt), another
program's SQLite file (checked before the first write: its ``application_id`` is not
ALVH's and it lacks the ALVH tables), and a schema version newer than this daemon knows.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any

import structlog

from daemon.errors import JournalError
from daemon.runtime.journal_lock import JournalLock
from daemon.runtime.journal_open import check_ours, check_place
from daemon.runtime.journal_port import Journal, JournalOrderStatus, JournalWriteFailed
from daemon.runtime.journal_reads import JournalReads
from daemon.runtime.journal_schema import APPLICATION_ID, LATEST_VERSION, MIGRATIONS
from daemon.runtime.journal_tx import JournalTransactions

log = structlog.get_logger("alvh.journal")

__all__ = ["JournalWriteFailed", "SqliteJournal"]


# One encoder for every JSON column, made once (``json.dumps`` makes one a call when given
# options). No circular check: every value is a tree (``to_plain``'s output, a config
# dump, an event's detail); a cycle would fail as a RecursionError instead of ValueError.
_ENCODER = json.JSONEncoder(sort_keys=True, default=str, check_circular=False)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


class SqliteJournal(JournalReads, JournalTransactions):
    """The SQLite implementation of the journal port (``daemon.runtime.journal_port``).
    Open with ``SqliteJournal.open(path)``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._init_transactions()  # write_failures, writable, last_write_error
        self._lock: JournalLock | None = None

    def hold(self, lock: JournalLock) -> None:
        """Keep the writer's lock (``daemon.runtime.journal_lock``) until ``close()``."""
        self._lock = lock

    # ---- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> SqliteJournal:
        target = Path(path)
        if target.exists() and target.is_dir():
            raise JournalError(f"journal path {target} is a directory")
        check_place(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A new journal is created 0600: it holds the book, the orders and the account's
        # activity. SQLite gives the -wal and -shm files the main file's mode. An existing
        # file keeps its mode (the operator's choice).
        with contextlib.suppress(OSError):  # exists, or unwritable: connect() says which
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            try:
                cls._check_integrity(conn, target)
                check_ours(conn, target)  # before the first write: never touch another's
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
                cls._migrate(conn, target)
            except BaseException:
                conn.close()
                raise
        except sqlite3.OperationalError as exc:  # read-only, locked, no space, no file
            raise JournalError(f"journal {target} cannot be opened for writing: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise JournalError(
                f"journal {target} is not a readable SQLite database: {exc}"
            ) from exc
        return cls(conn, target)

    def relax_durability(self) -> None:
        """WAL with ``synchronous=NORMAL``: a commit survives the process dying, not a
        power cut. For a journal that can be re-made (a replay's), where an fsync per
        commit would cost more than the replay itself; a live daemon keeps FULL."""
        self._conn.execute("PRAGMA synchronous=NORMAL")

    @staticmethod
    def _check_integrity(conn: sqlite3.Connection, target: Path) -> None:
        row = conn.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            detail = row[0] if row is not None else "no answer"
            raise JournalError(f"journal {target} is corrupt ({detail}); move it aside to start")

    @staticmethod
    def _migrate(conn: sqlite3.Connection, target: Path) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > LATEST_VERSION:
            raise JournalError(
                f"journal {target} has schema v{version}, newer than this daemon's "
                f"v{LATEST_VERSION}; upgrade the daemon or point it at another journal"
            )
        for number in range(version + 1, LATEST_VERSION + 1):
            # executescript commits first, so wrap the script in its own transaction.
            conn.executescript(
                f"BEGIN;\n{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        if int(conn.execute("PRAGMA application_id").fetchone()[0]) != APPLICATION_ID:
            # A new journal, or one from before the id: ours (check_ours said so).
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error as exc:  # a last checkpoint on a full disk: the WAL keeps it
            log.error("journal_close_failed", reason=str(exc))
        if self._lock is not None:
            self._lock.release()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def check_writable(self, now: datetime) -> bool:
        """Writable, or, after a failure, whether a write goes through again: the probe is
        a ``journal_writable_again`` event, so the recovery is on record when it works."""
        if self.writable:
            return True
        with suppress(JournalWriteFailed):
            self.record_event(
                "journal_writable_again",
                now=now,
                detail={"failed_writes": self.write_failures, "last": self.last_write_error},
            )
        return self.writable

    # ---- runs and cycles ------------------------------------------------------------------
    def start_run(
        self,
        run_id: str,
        *,
        now: datetime,
        version: str,
        host: str,
        mode: str,
        broker: str,
        config: Mapping[str, Any],
    ) -> None:
        with self._tx(one_statement=True) as tx:
            tx.execute(
                "INSERT INTO runs (run_id, started_at, version, host, mode, broker, config_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, now.isoformat(), version, host, mode, broker, _dumps(config)),
            )

    def end_run(self, run_id: str, *, now: datetime, reason: str) -> None:
        with self._tx(one_statement=True) as tx:
            tx.execute(
                "UPDATE runs SET ended_at = ?, exit_reason = ? WHERE run_id = ?",
                (now.isoformat(), reason, run_id),
            )

    def record_cycle(
        self,
        *,
        cycle_id: str,
        run_id: str,
        started_at: datetime,
        finished_at: datetime,
        trading_day: date,
        status: str,
        reason: str | None,
        record: Mapping[str, Any],
        scalar: float | None = None,
        tail_loss_usd: float | None = None,
        scalar_state: Mapping[str, Any] | None = None,
        adjustments: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        """The cycle, its adjustments and the scalar state it leaves, in one transaction.
        ``scalar`` and ``tail_loss_usd`` are copied out of the record into columns, so the
        journal can be queried by them without parsing JSON."""
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO cycles (cycle_id, run_id, started_at, finished_at, trading_day,"
                " status, reason, scalar, tail_loss_usd, record_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cycle_id,
                    run_id,
                    started_at.isoformat(),
                    finished_at.isoformat(),
                    trading_day.isoformat(),
                    status,
                    reason,
                    scalar,
                    tail_loss_usd,
                    _dumps(record),
                ),
            )
            for adj in adjustments:
                tx.execute(
                    "INSERT INTO adjustments (adjustment_id, cycle_id, created_at, action, kind,"
                    " quantity, limit_usd, adjustment_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        adj["id"],
                        cycle_id,
                        finished_at.isoformat(),
                        adj["action"],
                        adj["kind"],
                        int(adj["quantity"]),
                        float(adj["limit_price_usd"]),
                        _dumps(adj),
                    ),
                )
            if scalar_state is not None:
                tx.execute(
                    "INSERT INTO scalar_state (id, state_json, updated_at) VALUES (1, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET state_json = excluded.state_json,"
                    " updated_at = excluded.updated_at",
                    (_dumps(scalar_state), finished_at.isoformat()),
                )

    def scalar_state(self) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT state_json FROM scalar_state WHERE id = 1").fetchone()
        return None if row is None else dict(json.loads(row["state_json"]))

    def record_event(
        self,
        kind: str,
        *,
        now: datetime,
        detail: Mapping[str, Any],
        run_id: str | None = None,
        cycle_id: str | None = None,
    ) -> None:
        with self._tx(one_statement=True) as tx:
            tx.execute(
                "INSERT INTO events (at, run_id, cycle_id, kind, detail_json)"
                " VALUES (?, ?, ?, ?, ?)",
                (now.isoformat(), run_id, cycle_id, kind, _dumps(detail)),
            )

    # ---- orders -----------------------------------------------------------------------------
    def record_order_intent(
        self,
        order_ref: str,
        *,
        cycle_id: str,
        trading_day: date,
        now: datetime,
        quantity: int,
        limit_usd: float,
        debit_usd: float,
        leg_keys: Sequence[str],
        order: Mapping[str, Any],
    ) -> None:
        """Written before the order is sent. A second intent for the same ref is refused."""
        try:
            with self._tx(one_statement=True) as tx:
                tx.execute(
                    "INSERT INTO orders (order_ref, cycle_id, trading_day, intent_at, status,"
                    " quantity, limit_usd, debit_usd, leg_keys, updated_at, order_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        order_ref,
                        cycle_id,
                        trading_day.isoformat(),
                        now.isoformat(),
                        JournalOrderStatus.INTENT.value,
                        quantity,
                        limit_usd,
                        debit_usd,
                        "|".join(leg_keys),
                        now.isoformat(),
                        _dumps(order),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"order {order_ref} is already in the journal") from exc

    def record_order_state(
        self,
        order_ref: str,
        *,
        now: datetime,
        status: JournalOrderStatus,
        order_id: str | None = None,
        filled_qty: int | None = None,
        avg_fill_usd: float | None = None,
        reason: str | None = None,
        limit_usd: float | None = None,
    ) -> None:
        with self._tx(one_statement=True) as tx:
            tx.execute(
                "UPDATE orders SET status = ?, updated_at = ?,"
                " order_id = COALESCE(?, order_id), filled_qty = COALESCE(?, filled_qty),"
                " avg_fill_usd = COALESCE(?, avg_fill_usd), reason = COALESCE(?, reason),"
                " limit_usd = COALESCE(?, limit_usd)"
                " WHERE order_ref = ?",
                (
                    str(status),
                    now.isoformat(),
                    order_id,
                    filled_qty,
                    avg_fill_usd,
                    reason,
                    limit_usd,
                    order_ref,
                ),
            )

    def record_fill(
        self, order_ref: str, *, order_id: str, quantity: int, price_usd: float, at: datetime
    ) -> None:
        with self._tx(one_statement=True) as tx:
            tx.execute(
                "INSERT INTO fills (order_ref, order_id, quantity, price_usd, filled_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (order_ref, order_id, quantity, price_usd, at.isoformat()),
            )

    def record_alerts(
        self, standing: Sequence[Mapping[str, Any]], ended: Sequence[str], *, now: datetime
    ) -> None:
        """Upsert the standing alerts (keys of ``active_alerts``' rows) and mark ``ended``
        inactive, in one transaction."""
        with self._tx() as tx:
            for row in standing:
                tx.execute(
                    "INSERT INTO alerts (alert_key, kind, subject_id, line, first_alerted_at,"
                    " last_alerted_at, last_seen_at, times_seen, active, detail_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT(alert_key) DO UPDATE SET"
                    " subject_id = excluded.subject_id, line = excluded.line,"
                    " first_alerted_at = excluded.first_alerted_at,"
                    " last_alerted_at = excluded.last_alerted_at,"
                    " last_seen_at = excluded.last_seen_at, times_seen = excluded.times_seen,"
                    " active = 1, detail_json = excluded.detail_json",
                    (
                        row["alert_key"],
                        row["kind"],
                        row["subject_id"],
                        row["line"],
                        row["first_alerted_at"],
                        row["last_alerted_at"],
                        row["last_seen_at"],
                        row["times_seen"],
                        row["detail_json"],
                    ),
                )
            for key in ended:
                tx.execute(
                    "UPDATE alerts SET active = 0, last_seen_at = ? WHERE alert_key = ?",
                    (now.isoformat(), key),
                )


# The SQLite journal is the port's implementation: mypy checks this assignment
# (tests/runtime/test_journal_port.py checks it at run time).
_PORT: type[Journal] = SqliteJournal
