"""Checks before a journal is opened for writing: clean refusals, never a traceback, and
never a write to a file that is not an ALVH journal.

- the place: the first existing ancestor of the journal must be a writable directory (a
  parent that is a file, a read-only mount), the file itself writable;
- the file: another program's SQLite database is refused *before* anything is written to
  it (turning WAL on is a write): its ``application_id`` is not ALVH's, and it is not an
  ALVH journal from before the id (known ``user_version``, the v1 tables).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from daemon.errors import JournalError
from daemon.runtime.journal_schema import APPLICATION_ID, LATEST_VERSION, V1_TABLES


def check_place(target: Path) -> None:
    """The journal can be created or written where it is asked to be."""
    for parent in target.parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise JournalError(f"journal {target}: {parent} is a file, not a directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise JournalError(
                f"journal {target}: directory {parent} is not writable (read-only mount or "
                "permissions); the journal and its -wal/-shm files must be created there"
            )
        break
    if target.exists() and not os.access(target, os.R_OK | os.W_OK):
        raise JournalError(f"journal {target} is not writable (read-only file or mount)")


def check_ours(conn: sqlite3.Connection, target: Path) -> None:
    """An ALVH journal (by id, or by schema from before the id), or a new empty file."""
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app_id == APPLICATION_ID:
        return
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {
        str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if app_id == 0 and version == 0 and not tables:
        return  # new (or empty): nothing of anyone's to damage
    if app_id == 0 and 1 <= version <= LATEST_VERSION and tables >= V1_TABLES:
        return  # an ALVH journal from before the application id
    if app_id == 0 and version > LATEST_VERSION and tables >= V1_TABLES:
        return  # a newer ALVH daemon's: the migration step refuses it with its version
    found = ", ".join(sorted(tables)[:5]) or "no tables"
    raise JournalError(
        f"{target} is not an ALVH journal (SQLite application_id {app_id:#x}, "
        f"user_version {version}, tables: {found}); it was left untouched: point "
        "journal.path at a new file"
    )
