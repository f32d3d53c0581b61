"""Opening the journal: each bad place or bad file is a clean refusal (JournalError, exit 1
with one line, no traceback), and a file that is not an ALVH journal is never written.

Oracles: the file's bytes before and after (and no -wal beside it), SQLite's own header
fields read through a separate connection, and the CLI's exit code and stderr.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.errors import JournalError
from daemon.runtime.app import build_app
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_lock import JournalLock
from daemon.runtime.journal_schema import APPLICATION_ID
from tests.runtime.test_ops_service import _config as app_config
from tests.runtime.test_service import _config as config_file

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def _alvh_run(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", "run", "--config", str(config)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _header_ids(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return int(app_id), int(version)
    finally:
        conn.close()


def test_another_programs_sqlite_file_is_refused_and_left_byte_for_byte(tmp_path: Path) -> None:
    """A SQLite file of someone else's (no ALVH id, other tables): refused before any
    write, so its bytes, its rollback-journal mode and its neighbours are unchanged."""
    path = tmp_path / "notes.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match=r"is not an ALVH journal .*tables: notes"):
        SqliteJournal.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.sqlite"]


def test_alvh_run_refuses_a_foreign_file_with_exit_1_and_no_traceback(tmp_path: Path) -> None:
    """The same through the CLI: exit 1, one message naming the file, no traceback."""
    path = tmp_path / "journal.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    ran = _alvh_run(config_file(tmp_path), tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert "is not an ALVH journal" in ran.stderr and "Traceback" not in ran.stderr
    assert path.read_bytes() == before


def test_a_new_journal_carries_the_alvh_id_and_an_old_one_is_given_it(tmp_path: Path) -> None:
    """New: application_id "ALVH". A journal from before the id (ALVH schema, id 0): opened,
    its rows kept, and the id set."""
    path = tmp_path / "j.sqlite"
    journal = SqliteJournal.open(path)
    journal.record_event("kept", now=NOW, detail={})
    journal.close()
    assert _header_ids(path)[0] == 0x414C5648 == APPLICATION_ID
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")
    conn.close()
    assert _header_ids(path)[0] == 0
    journal = SqliteJournal.open(path)
    kinds = [e["kind"] for e in journal.events()]
    journal.close()
    assert kinds == ["kept"]
    assert _header_ids(path)[0] == APPLICATION_ID


def test_a_parent_that_is_a_file_is_refused_cleanly(tmp_path: Path) -> None:
    """journal.path under a regular file: JournalError naming it, for the reader's open
    and for `alvh run` (exit 1, no traceback)."""
    (tmp_path / "var").write_text("not a directory")
    target = tmp_path / "var" / "journal.sqlite"
    with pytest.raises(JournalError, match="var is a file, not a directory"):
        SqliteJournal.open(target)
    config = config_file(tmp_path, {"journal": {"path": str(target)}})
    ran = _alvh_run(config, tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert "is a file, not a directory" in ran.stderr and "Traceback" not in ran.stderr


def test_a_damaged_record_that_passes_quick_check_is_refused_at_start(tmp_path: Path) -> None:
    """A cycle record whose JSON is broken on disk (quick_check does not read text):
    build_app refuses with JournalError instead of a sqlite traceback, lock released."""
    config = app_config(tmp_path)
    path = config.journal.path
    journal = SqliteJournal.open(path)
    journal.start_run("r", now=NOW, version="t", host="t", mode="propose", broker="sim", config={})
    journal.record_cycle(
        cycle_id="c1",
        run_id="r",
        started_at=NOW,
        finished_at=NOW,
        trading_day=NOW.date(),
        status="ok",
        reason="",
        record={"result": {"risk": {"income": ["MARKER_XYZ"]}}},
    )
    journal.close()  # checkpointed into the main file
    data = path.read_bytes()
    assert data.count(b'["MARKER_XYZ"]') == 1
    path.write_bytes(data.replace(b'["MARKER_XYZ"]', b'["MARKER_XYZ"}'))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # the precondition
    conn.close()
    with pytest.raises(JournalError, match=r"cannot be read back .*damaged"):
        build_app(config)
    JournalLock.acquire(path).release()  # the refusal released the writer's lock


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files and directories")
def test_a_read_only_file_or_directory_is_refused_cleanly(tmp_path: Path) -> None:
    """A journal file without write permission, or in a directory without it: refused
    with JournalError saying so (what a read-only mount looks like to the daemon)."""
    path = tmp_path / "j.sqlite"
    SqliteJournal.open(path).close()
    path.chmod(0o444)
    with pytest.raises(JournalError, match="not writable"):
        SqliteJournal.open(path)
    path.chmod(0o644)
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(JournalError, match="not writable"):
            SqliteJournal.open(locked / "j.sqlite")
    finally:
        locked.chmod(0o755)
