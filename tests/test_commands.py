"""``alvh once`` and ``alvh journal`` end to end, as a user runs them, on the simulated
market: ``once`` as a process (its text and ``--json`` forms), ``journal`` through the
command line's entry point reading what that process wrote.

Oracles: the journal read through a read-only SQLite connection of the test's own (the
rows ``once`` must have written: the run ended "once", one cycle, its adjustments), and
the printed output parsed back (text, CSV, JSON) and compared with those rows."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.cli import main

ROOT = Path(__file__).resolve().parents[1]
SESSION_OPEN = "2026-11-24T09:30:00-05:00"


def _config(directory: Path) -> Path:
    """config/sim.yaml with its journal in ``directory`` and the session pinned open."""
    raw = yaml.safe_load((ROOT / "config" / "sim.yaml").read_text())
    raw["journal"]["path"] = str(directory / "journal.sqlite")
    raw["execution"]["kill_switch_path"] = str(directory / "KILL")
    raw["events_path"] = str(ROOT / "config" / "events.yaml")
    raw["logging"] = {"format": "json", "level": "info"}
    raw["sim"]["start"] = SESSION_OPEN
    raw["http"]["port"] = 0
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _alvh(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALVH_")}
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _query(journal: Path, sql: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def once_text(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One ``alvh once`` (text output): its config, journal and stdout."""
    directory = tmp_path_factory.mktemp("once")
    config = _config(directory)
    done = _alvh("once", "--config", str(config))
    assert done.returncode == 0, done.stderr[-2000:]
    return config, directory / "journal.sqlite", done.stdout


def test_once_journals_one_ended_run_and_prints_its_cycle(
    once_text: tuple[Path, Path, str],
) -> None:
    """The run is ended "once", one cycle is in, and the printout says the cycle, its
    scalar and each adjustment the journal holds (action, quantity, limit)."""
    _, journal, out = once_text
    (run,) = _query(journal, "SELECT * FROM runs")
    assert run["exit_reason"] == "once" and run["ended_at"] is not None
    assert (run["mode"], run["broker"]) == ("propose", "sim")
    (cycle,) = _query(journal, "SELECT * FROM cycles")
    assert cycle["run_id"] == run["run_id"] and cycle["status"] == "ok", cycle["reason"]
    lines = out.splitlines()
    assert lines[0] == f"cycle {cycle['cycle_id']}: ok ({cycle['reason']})"
    assert lines[1] == f"  scalar {cycle['scalar']:.3f}"
    adjustments = _query(journal, "SELECT * FROM adjustments ORDER BY rowid")
    assert adjustments, "the simulated book is under-hedged: something is proposed"
    printed = [line.split() for line in lines[2:]]
    assert len(printed) == len(adjustments)
    for words, row in zip(printed, adjustments, strict=True):
        assert (words[0], int(words[1]), words[2]) == (row["action"], row["quantity"], "x")
        assert words[-2:] == ["@", f"{row['limit_usd']:.2f}"]
    assert not _query(journal, "SELECT 1 FROM orders")  # propose mode sends nothing


def test_once_json_prints_the_cycle_record_the_journal_holds(tmp_path: Path) -> None:
    """``once --json``: stdout is one JSON document, the very record journalled."""
    config = _config(tmp_path)
    done = _alvh("once", "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)
    (cycle,) = _query(tmp_path / "journal.sqlite", "SELECT * FROM cycles")
    assert record == json.loads(cycle["record_json"])
    assert (record["cycle_id"], record["status"]) == (cycle["cycle_id"], "ok")


def test_journal_lists_each_table_in_each_format(
    once_text: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``alvh journal``: the table form names the cycle, CSV and JSON give back the rows
    the journal holds, ``--limit`` bounds them, and an empty table says so."""
    config, journal, _ = once_text
    (cycle,) = _query(journal, "SELECT * FROM cycles")
    assert main(["journal", "--config", str(config)]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "cycle_id", "started_at", "trading_day", "status", "reason", "scalar", "tail_loss_usd",
    ]  # fmt: skip
    assert row.split()[0] == cycle["cycle_id"] and row.split()[3] == "ok"

    held = _query(journal, "SELECT adjustment_id, quantity FROM adjustments")
    assert main(["journal", "adjustments", "--format", "csv", "--config", str(config)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(r["adjustment_id"], int(r["quantity"])) for r in rows} == {
        (h["adjustment_id"], h["quantity"]) for h in held
    }
    assert main(["journal", "adjustments", "--limit", "1", "--format", "json",
                 "--config", str(config)]) == 0  # fmt: skip
    (one,) = json.loads(capsys.readouterr().out)
    assert one["adjustment_id"] in {h["adjustment_id"] for h in held}

    assert main(["journal", "orders", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "(no rows)\n"


def test_journal_without_a_journal_exits_1_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No journal yet: exit 1, the error names the path and what creates it; none made."""
    config = _config(tmp_path)
    assert main(["journal", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"no journal at {tmp_path / 'journal.sqlite'}" in err and "alvh once" in err
    assert not (tmp_path / "journal.sqlite").exists()
