"""One writer per journal: an exclusive lock on a file beside it, held for the writer's life.

Two daemons on one journal both run and each reconciles the other's working orders as
ended unseen while their owner still follows them. So a daemon (``alvh run``, ``alvh
once``) takes ``<journal>.lock`` with ``flock(LOCK_EX | LOCK_NB)`` before it opens the
journal, and a second one is refused at once with the holder's pid. The kernel drops the
lock when the process ends, however it ends (kill -9 included), so a stale lock file never
blocks a restart: only a live holder does. Readers (``alvh journal``, ``alvh report``)
take no lock: SQLite's WAL lets them read while the daemon writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from daemon.errors import JournalError
from daemon.runtime.journal_open import check_place


def lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".lock")


class JournalLock:
    """An exclusive, non-blocking lock on ``<journal>.lock``; ``release()`` to let go."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, journal: str | Path) -> JournalLock:
        """Take the lock, or raise ``JournalError`` naming the daemon that holds it."""
        path = lock_path(Path(journal))
        check_place(Path(journal))  # a parent that is a file, a read-only mount: said so
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(
                f"cannot create the journal's lock file {path}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise JournalError(
                f"journal {journal} is in use by another alvh daemon{holder}: stop it first, "
                "or give this one its own journal.path"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        with contextlib.suppress(OSError):  # the pid is for the message only
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let go (idempotent). The file stays: removing it would race a new holder."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode().strip()
        if text:
            return f" (pid {int(text)})"
    return ""
