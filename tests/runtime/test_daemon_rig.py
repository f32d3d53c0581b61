"""The test helper that starts daemons reaps them, even when the test fails.

Oracle: the operating system. A reaped child has an exit status collected (the
``Popen.returncode``, here SIGKILL's) and its process id no longer answers a signal."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.runtime.daemon_rig import Daemon, Daemons
from tests.runtime.test_service import _config, _query


def _gone(daemon: Daemon) -> bool:
    try:
        os.kill(daemon.proc.pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_failing_block_still_reaps_every_daemon_it_started(tmp_path: Path) -> None:
    """An assertion fails while two daemons run: the failure comes out unchanged, and
    both are killed and waited for (none is left running or a zombie)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(AssertionError, match="deliberate"), Daemons(tmp_path) as daemons:
        first = daemons.start(_config(tmp_path / "a"), "first")  # a journal each: no lock
        second = daemons.start(_config(tmp_path / "b"), "second")
        assert first.proc.poll() is None and second.proc.poll() is None
        raise AssertionError("deliberate: the test body failed")
    for daemon in (first, second):
        assert daemon.proc.returncode == -signal.SIGKILL
        assert _gone(daemon)


def test_a_daemon_stopped_by_its_test_is_left_as_it_ended(tmp_path: Path) -> None:
    """A daemon that already exited keeps its own exit status: reaping kills nothing."""
    with Daemons(tmp_path) as daemons:
        daemon = daemons.start(_config(tmp_path), "stopped")
        journal = tmp_path / "journal.sqlite"
        daemon.wait_until("its run", lambda: bool(_query(journal, "SELECT 1 FROM runs")))
        assert daemon.stop(signal.SIGTERM) == 0
    assert daemon.proc.returncode == 0 and _gone(daemon)
