"""One daemon per journal: a second writer is refused with the holder named; readers are not.

Oracles: the kernel's own flock (the test process holds the lock and a separate ``alvh``
process must see it), the exit code, and the message on stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from daemon.errors import JournalError
from daemon.runtime.app import open_locked
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_lock import JournalLock, lock_path
from tests.runtime.test_service import _config

REPO = Path(__file__).resolve().parents[2]


def _alvh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_lock_on_the_same_journal_is_refused_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    """Two acquisitions (two open file descriptions, as two processes have) exclude each
    other; the refusal names the holder's pid; a release lets the next one in."""
    journal = tmp_path / "j.sqlite"
    first = JournalLock.acquire(journal)
    with pytest.raises(JournalError, match=r"in use by another alvh daemon \(pid \d+\)"):
        JournalLock.acquire(journal)
    first.release()
    second = JournalLock.acquire(journal)
    assert second.held and lock_path(journal).exists()
    second.release()


def test_closing_the_writer_journal_releases_its_lock(tmp_path: Path) -> None:
    """open_locked holds the lock for the journal's life; close() lets the next writer in,
    and a failed open does not leave the lock taken."""
    path = tmp_path / "j.sqlite"
    journal = open_locked(path)
    with pytest.raises(JournalError, match="in use"):
        open_locked(path)
    journal.close()
    open_locked(path).close()
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(JournalError, match="is a directory"):
        open_locked(tmp_path / "dir.sqlite")
    JournalLock.acquire(tmp_path / "dir.sqlite").release()  # not left held


def test_alvh_run_refuses_a_journal_another_daemon_holds_and_readers_still_read(
    tmp_path: Path,
) -> None:
    """With the lock held by another process (this one), `alvh run` exits 1 with one line
    saying the journal is in use and leaves the journal untouched; `alvh journal` reads."""
    config = _config(tmp_path)
    path = tmp_path / "journal.sqlite"
    SqliteJournal.open(path).close()
    before = path.read_bytes()
    holder = JournalLock.acquire(path)
    try:
        ran = _alvh("run", "--config", str(config), cwd=tmp_path)
        read = _alvh("journal", "--config", str(config), cwd=tmp_path)
    finally:
        holder.release()
    assert ran.returncode == 1, ran.stderr
    assert "in use by another alvh daemon" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert path.read_bytes() == before
    assert read.returncode == 0, read.stderr
    assert "(no rows)" in read.stdout
