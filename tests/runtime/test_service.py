"""End to end: ``alvh run`` as a process on the simulated market, stopped by signals.

Each test writes a temporary config (config/sim.yaml with the journal and the kill
switch in the test's directory and the simulated session pinned to an open), runs the
daemon (``tests/runtime/daemon_rig.py``: reaped when the test ends, pass or fail), polls
the journal through its own read-only SQLite connection until enough cycles are in, then
signals it. Oracles: the exit code, the journal's ``runs``,
``cycles``, ``orders`` and ``events`` rows, and the JSON log lines on stderr.

The simulated clock runs 60x, so a cycle (one market minute apart) comes every second.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from collections import Counter
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import yaml
from structlog.testing import capture_logs

from daemon.config import load_config
from daemon.runtime.app import build_app
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_schema import TERMINAL_ORDER_STATUSES
from daemon.runtime.service import Service
from tests.runtime.daemon_rig import POLL_TIMEOUT_S, Daemons

REPO = Path(__file__).resolve().parents[2]
SESSION_OPEN = "2026-11-24T09:30:00-05:00"


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _config(tmp_path: Path, changes: dict[str, Any] | None = None) -> Path:
    """config/sim.yaml, its files moved into tmp_path, the session pinned, plus changes."""
    raw = yaml.safe_load((REPO / "config" / "sim.yaml").read_text())
    pinned = {
        "journal": {"path": str(tmp_path / "journal.sqlite")},
        "execution": {"kill_switch_path": str(tmp_path / "KILL")},
        "events_path": str(REPO / "config" / "events.yaml"),
        "logging": {"format": "json", "level": "info"},
        "sim": {"start": SESSION_OPEN},
        # No fixed port: daemons of parallel test runs must not compete for 9322 (the
        # endpoint's own tests use an ephemeral one).
        "http": {"port": 0},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(_merge(_merge(raw, pinned), changes or {})))
    return path


def _query(journal: Path, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows from the journal through a read-only connection of the test's own."""
    if not journal.exists():
        return []
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    except sqlite3.OperationalError:  # the schema is not written yet
        return []
    finally:
        conn.close()


def _cycles(journal: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    rows = _query(journal, "SELECT * FROM cycles ORDER BY started_at")
    return [r for r in rows if run_id is None or r["run_id"] == run_id]


def _runs(journal: Path) -> list[dict[str, Any]]:
    return _query(journal, "SELECT * FROM runs ORDER BY rowid")


def _named(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == event]


# Lines only a cycle writes: each must carry the cycle's id.
CYCLE_EVENTS = frozenset(
    {
        "broker_connecting",
        "broker_connected",
        "cycle_summary",
        "cycle_skipped",
        "cycle_failed",
        "no_proposal",
        "adjustment_proposed",
        "order_refused",
        "order_submitted",
        "order_fate_unknown",
    }
)


def _assert_cycle_lines_tagged(lines: list[dict[str, Any]], cycles: list[dict[str, Any]]) -> None:
    ids = {c["cycle_id"] for c in cycles}
    untagged = [
        line for line in lines if line["event"] in CYCLE_EVENTS and not line.get("cycle_id")
    ]
    assert not untagged
    summaries = [line["cycle_id"] for line in lines if line["event"] == "cycle_summary"]
    assert sorted(summaries) == sorted(ids)  # one summary per journalled cycle


def test_run_on_the_sim_stops_cleanly_on_sigterm(tmp_path: Path, daemons: Daemons) -> None:
    """`alvh run`: cycles journalled, SIGTERM exits 0, every log line JSON, cycles tagged."""
    journal = tmp_path / "journal.sqlite"
    daemon = daemons.start(_config(tmp_path), "run")
    daemon.wait_until("3 cycles", lambda: len(_cycles(journal)) >= 3)
    assert daemon.stop(signal.SIGTERM) == 0

    (run,) = _runs(journal)
    assert run["exit_reason"] == "SIGTERM" and run["ended_at"] is not None
    assert run["mode"] == "propose" and run["broker"] == "sim"
    cycles = _cycles(journal)
    assert all(c["run_id"] == run["run_id"] for c in cycles)
    assert all(c["status"] == "ok" for c in cycles), [c["reason"] for c in cycles]

    lines = daemon.lines()
    assert daemon.stdout.read_text() == ""  # logs on stderr; stdout stays clean
    assert lines[0]["event"] == "daemon_started"
    assert _named(lines, "daemon_stopped")[-1]["reason"] == "SIGTERM"
    assert _named(lines, "adjustment_proposed")
    _assert_cycle_lines_tagged(lines, cycles)


SUBMIT = {
    "execution": {
        "mode": "submit",
        "quiet_after_open_min": 0,
        "max_orders_per_day": 100,
        "max_debit_per_day_usd": 1_000_000.0,
        "order_ttl_s": 30.0,  # market seconds: half a real second at 60x
    },
}


def test_kill_9_then_restart_in_submit_mode_sends_no_adjustment_twice(
    tmp_path: Path, daemons: Daemons
) -> None:
    """After kill -9 and a restart, ids the journal holds are refused, never sent again."""
    journal = tmp_path / "journal.sqlite"
    config = _config(tmp_path, SUBMIT)
    first = daemons.start(config, "first")
    first.wait_until("an order", lambda: bool(_query(journal, "SELECT 1 FROM orders")))
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    sent_before = {r["order_ref"] for r in _query(journal, "SELECT order_ref FROM orders")}

    second = daemons.start(config, "second")
    second.wait_until("a second run", lambda: len(_runs(journal)) == 2)
    run_b = _runs(journal)[1]["run_id"]
    second.wait_until(
        "2 cycles and a fill in the second run",
        lambda: len(_cycles(journal, run_b)) >= 2 and bool(_query(journal, "SELECT 1 FROM fills")),
    )
    assert second.stop(signal.SIGTERM) == 0

    killed, stopped = _runs(journal)
    assert killed["ended_at"] is None and killed["exit_reason"] is None
    assert stopped["exit_reason"] == "SIGTERM"
    # No adjustment id went out twice, across both processes.
    submitted = [
        line["adjustment_id"]
        for d in (first, second)
        for line in d.lines()
        if line["event"] == "order_submitted"
    ]
    assert submitted and not [ref for ref, n in Counter(submitted).items() if n > 1]
    _assert_cycle_lines_tagged(second.lines(), _cycles(journal, run_b))
    # Orders were filled, and each fill belongs to an order sent once.
    fills = _query(journal, "SELECT order_ref, SUM(quantity) AS qty FROM fills GROUP BY order_ref")
    quantity = {r["order_ref"]: r["quantity"] for r in _query(journal, "SELECT * FROM orders")}
    assert fills and all(0 < f["qty"] <= quantity[f["order_ref"]] for f in fills)
    assert sent_before.isdisjoint(
        line["adjustment_id"] for line in _named(second.lines(), "order_submitted")
    )
    # What the second run proposed again was refused as a duplicate, in the journal.
    proposed_again = {
        r["adjustment_id"]
        for r in _query(
            journal,
            "SELECT a.adjustment_id FROM adjustments a JOIN cycles c USING (cycle_id)"
            " WHERE c.run_id = ?",
            (run_b,),
        )
    } & sent_before
    assert proposed_again, "the restarted run proposed none of the first run's adjustments"
    refusals = [
        json.loads(e["detail_json"])
        for e in _query(journal, "SELECT * FROM events WHERE kind = 'order_refused'")
    ]
    duplicates = {
        r["adjustment_id"] for r in refusals if any(g.startswith("duplicate") for g in r["guards"])
    }
    assert proposed_again <= duplicates
    # Whatever the first run left open was settled when the second started.
    status = {r["order_ref"]: r["status"] for r in _query(journal, "SELECT * FROM orders")}
    assert {status[ref] for ref in sent_before} <= set(TERMINAL_ORDER_STATUSES)


FAULTS = {
    "sim": {
        "faults": {
            "drop_connection": True,  # the first call finds the connection gone
            "nan_quote_frac": 0.02,
            "crossed_quote_frac": 0.02,
            "stale_quotes_s": 30.0,  # late, but within validation.max_quote_age_s
        }
    }
}


def test_a_faulty_session_keeps_the_daemon_alive_and_explains_each_cycle(
    tmp_path: Path, daemons: Daemons
) -> None:
    """Injected faults: the daemon lives on, every cycle without a proposal says why."""
    journal = tmp_path / "journal.sqlite"
    daemon = daemons.start(_config(tmp_path, FAULTS), "faults")
    daemon.wait_until("3 cycles", lambda: len(_cycles(journal)) >= 3)
    assert daemon.stop(signal.SIGTERM) == 0

    cycles = _cycles(journal)
    (run,) = _runs(journal)
    assert run["exit_reason"] == "SIGTERM"
    # The dropped connection skipped the first cycle; the next one reconnected.
    assert cycles[0]["status"] == "skipped"
    assert cycles[0]["reason"].startswith("BrokerDisconnected")
    assert cycles[1]["status"] != "skipped", cycles[1]["reason"]
    for cycle in cycles:
        if cycle["status"] != "ok":
            assert cycle["reason"], cycle
            assert not _query(
                journal, "SELECT 1 FROM adjustments WHERE cycle_id = ?", (cycle["cycle_id"],)
            )
    lines = daemon.lines()
    said = {(line["cycle_id"], line["reason"]) for line in _named(lines, "cycle_summary")}
    assert {(c["cycle_id"], c["reason"]) for c in cycles} == said
    _assert_cycle_lines_tagged(lines, cycles)


def test_recovery_is_retried_by_each_cycle_until_the_gateway_answers(tmp_path: Path) -> None:
    """Gateway down at start: cycles are skipped with why, and once it is back, the orders a
    previous run left open are reconciled before anything is sent."""
    config = load_config(_config(tmp_path, {**SUBMIT, "sim": {"faults": {"refuse_connect": True}}}))
    start = config.sim.start
    assert start is not None
    journal = SqliteJournal.open(config.journal.path)
    journal.start_run(
        "run-0",
        now=start,
        version="t",
        host="t",
        mode="submit",
        broker="sim",
        config={},
    )
    journal.record_order_intent(
        "left-open",
        cycle_id="c0",
        trading_day=start.date(),
        now=start,
        quantity=1,
        limit_usd=1.0,
        debit_usd=100.0,
        leg_keys=("VIX 2027-01-20 20 C",),
        order={},
    )
    journal.record_order_state("left-open", now=start, status="SUBMITTED")
    journal.close()

    async def body() -> tuple[int, list[MutableMapping[str, Any]]]:
        app = build_app(config)
        service = Service(app)
        with capture_logs() as logs:
            task = asyncio.create_task(service.run())
            while sum(1 for e in logs if e["event"] == "cycle_skipped") < 2:
                await asyncio.sleep(0.1)
            app.broker.set_faults(refuse_connect=False)  # type: ignore[attr-defined]
            while not any(e["event"] == "cycle_summary" and e["status"] == "ok" for e in logs):
                assert not task.done()
                await asyncio.sleep(0.1)
            service.request_stop("test")
            code = await asyncio.wait_for(task, POLL_TIMEOUT_S)
        return code, logs

    code, logs = asyncio.run(asyncio.wait_for(body(), POLL_TIMEOUT_S))
    assert code == 0
    events = [e["event"] for e in logs]
    assert events.count("warmup_failed") >= 2  # the start, and each cycle until it answered
    # Reconciled (the sim does not know the order) before the first cycle that ran.
    assert events.index("order_reconciled") < next(
        i for i, e in enumerate(logs) if e["event"] == "cycle_summary" and e["status"] == "ok"
    )
    reopened = SqliteJournal.open(config.journal.path)
    try:
        (row,) = [r for r in reopened.recent_orders() if r["order_ref"] == "left-open"]
        assert row["status"] == "ENDED_UNSEEN"
    finally:
        reopened.close()
