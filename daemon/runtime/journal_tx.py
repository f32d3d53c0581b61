"""The journal's transactions: one per write, or one per replay session (``all_or_nothing``).

Every ``record_*`` call of ``SqliteJournal`` runs in ``_tx``: alone, that is its own
``BEGIN IMMEDIATE`` .. ``COMMIT``, so the live daemon's order intent is on disk before the
order is sent. Inside ``all_or_nothing`` (the replay, around each session; never the live
daemon, whose engine only sees the ``Journal`` port, which has no batch) the writes join
one open transaction that commits when the block ends: a replay session costs one commit
instead of ~15 (docs/replay.md, "One transaction a session"). Each write is still atomic
inside the batch (a ``SAVEPOINT`` around a write of several statements, SQLite's own
statement atomicity for a write of one): a refused duplicate undoes that write only.

Failure accounting is the same with or without a batch: a write SQLite refuses (disk
full, I/O error, not a constraint) counts in ``write_failures``, marks the journal
unwritable and raises ``JournalWriteFailed``. In a batch it also rolls the whole batch
back, every later write of that batch is refused at once (the session is lost, so
nothing is written half), and the block's end raises ``JournalWriteFailed`` even when a
caller (the engine) caught the first one. ``writable`` comes back with the next commit:
a write's own, or, in a batch, the batch's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import structlog

from daemon.runtime.journal_port import JournalWriteFailed

log = structlog.get_logger("alvh.journal")


class JournalTransactions:
    """The write side's transaction rules over ``_conn`` (mixed into ``SqliteJournal``)."""

    _conn: sqlite3.Connection
    path: Path

    def _init_transactions(self) -> None:
        # Transactions that failed in SQLite (disk full, I/O error, locked); the metrics
        # read it. A refused duplicate order intent is a check, not a failure.
        self.write_failures = 0
        # False from a failed write until the next one that commits (``check_writable``).
        self.writable = True
        self.last_write_error = ""
        # An open ``all_or_nothing`` block, and why it was rolled back ("" while whole).
        self._batch_open = False
        self._batch_lost = ""

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Every write inside is one transaction, committed at the end of the block and
        rolled back whole if the block raises (Ctrl-C included) or a write fails. Reads
        on this journal see the block's writes before the commit. Blocks do not nest:
        a second one inside the first raises ``RuntimeError`` (an inner "commit" that is
        not one would mislead the caller about what is on disk)."""
        if self._batch_open:
            raise RuntimeError("journal: all_or_nothing blocks do not nest")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._write_failed(exc) from exc
        self._batch_open, self._batch_lost = True, ""
        try:
            yield
            if self._batch_lost:  # a write failed and its caller went on: still lost
                raise JournalWriteFailed(
                    f"journal {self.path}: the batch was rolled back ({self._batch_lost})"
                )
        except BaseException:
            self._rollback()
            raise
        finally:
            self._batch_open = False
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._write_failed(exc) from exc
        self._committed()

    @contextmanager
    def _tx(self, *, one_statement: bool = False) -> Iterator[sqlite3.Connection]:
        """One write, atomic. A refused write (not a constraint: those are the caller's
        checks) is counted, marks the journal unwritable, is logged as an error on the
        first failure of a run of them, and raised as ``JournalWriteFailed``.
        ``one_statement``: the write is a single ``execute``, its body's last step."""
        if self._batch_open:
            with self._in_batch(savepoint=not one_statement) as tx:
                yield tx
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise self._write_failed(exc) from exc
            raise
        self._committed()

    @contextmanager
    def _in_batch(self, *, savepoint: bool) -> Iterator[sqlite3.Connection]:
        """A write inside an open batch. A write of several statements runs in a
        savepoint, so a refused duplicate or a bug in its middle undoes that write only.
        A write of one statement needs none (a savepoint costs ~9 us, most writes of a
        session are one ``UPDATE``): SQLite undoes a failed statement whole, and one that
        raised before it ran wrote nothing. A refused write (SQLite may already have
        rolled the transaction back itself on a full disk) loses the batch."""
        if self._batch_lost:
            raise JournalWriteFailed(
                f"journal {self.path}: the batch was rolled back ({self._batch_lost})"
            )
        try:
            if savepoint:
                self._conn.execute("SAVEPOINT alvh_write")
            yield self._conn
            if savepoint:
                self._conn.execute("RELEASE alvh_write")
        except sqlite3.IntegrityError:  # a refused duplicate: this write undone only
            if savepoint and not self._undo_write():
                self._lose_batch("a write's savepoint could not be undone")
            raise
        except sqlite3.Error as exc:
            self._lose_batch(str(exc))
            raise self._write_failed(exc) from exc
        except BaseException as exc:  # a bug or Ctrl-C mid-write: the block decides
            if savepoint and not self._undo_write():
                self._lose_batch(f"{type(exc).__name__} in a write")
            raise

    def _lose_batch(self, reason: str) -> None:
        self._rollback()
        self._batch_lost = reason

    def _undo_write(self) -> bool:
        """Back to before the current write's savepoint; False when that is impossible
        (the transaction is gone or SQLite refuses)."""
        if not self._conn.in_transaction:
            return False
        try:
            self._conn.execute("ROLLBACK TO alvh_write")
            self._conn.execute("RELEASE alvh_write")
        except sqlite3.Error:
            return False
        return True

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):  # a full disk may refuse the rollback too
                self._conn.execute("ROLLBACK")

    def _committed(self) -> None:
        if not self.writable:
            self.writable = True
            log.warning("journal_writable_again", failed_writes=self.write_failures)

    def _write_failed(self, exc: sqlite3.Error) -> JournalWriteFailed:
        self.write_failures += 1
        self.last_write_error = str(exc)
        if self.writable:
            self.writable = False
            log.error("journal_write_failed", path=str(self.path), reason=str(exc))
        return JournalWriteFailed(f"journal {self.path} cannot be written: {exc}")
