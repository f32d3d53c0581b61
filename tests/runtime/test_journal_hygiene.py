"""The journal keeps no secret and is private: created 0600 with its -wal and -shm, the
account id masked in ``runs.config_json`` (issue 12, item 13)."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import yaml

from daemon.config import load_config
from daemon.runtime.app import build_app, start_run
from daemon.runtime.journal import SqliteJournal

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "DU7654321"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_journal_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    """Created 0600 whatever the umask lets through (0644 before): nobody else reads the
    book, the orders or the account's activity."""
    path = tmp_path / "sub" / "j.sqlite"
    old = os.umask(0o022)
    try:
        journal = SqliteJournal.open(path)
        now = datetime(2026, 11, 24, 15, tzinfo=UTC)
        journal.start_run("r", now=now, version="v", host="h", mode="m", broker="b", config={})
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)
        assert [_mode(f) for f in files] == [0o600] * 3
        journal.close()
    finally:
        os.umask(old)


def test_an_existing_journal_keeps_its_mode(tmp_path: Path) -> None:
    """The operator's own choice of mode on an existing journal is not changed."""
    path = tmp_path / "j.sqlite"
    SqliteJournal.open(path).close()
    os.chmod(path, 0o640)
    SqliteJournal.open(path).close()
    assert _mode(path) == 0o640


def test_the_account_id_is_masked_in_the_runs_config(tmp_path: Path) -> None:
    """``runs.config_json`` holds the config as run, with the IB account id masked."""
    raw = yaml.safe_load((REPO / "config" / "sim.yaml").read_text())
    raw["journal"]["path"] = str(tmp_path / "j.sqlite")
    raw["events_path"] = str(REPO / "config" / "events.yaml")
    raw["broker"]["ib"]["account"] = ACCOUNT
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    app = build_app(load_config(path, env={}))
    try:
        start_run(app)
    finally:
        app.journal.close()
    with sqlite3.connect(tmp_path / "j.sqlite") as conn:
        (config_json,) = conn.execute("SELECT config_json FROM runs").fetchone()
    assert ACCOUNT not in config_json
    assert '"account": "******321"' in config_json
