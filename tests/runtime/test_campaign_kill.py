"""kill -9 at random points in submit mode (issue 12, the campaign): across every killed
and restarted daemon, the simulated broker's own record of the orders it received (a
file it syncs before handling each one, ``sim.received_orders_path``) shows no order
sent twice, and every order it received has its intent row in the journal.

Real processes on one journal, the sim's clock at 60x. ``CAMPAIGN_KILLS`` (environment)
sets how many daemons are killed (a couple in ``make test``; ``make soak`` gives more),
``CAMPAIGN_SEED`` where they are killed."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from tests.runtime.daemon_rig import Daemons

REPO = Path(__file__).resolve().parents[2]
SESSION_OPEN = "2026-11-24T09:30:00-05:00"
KILLS = int(os.environ.get("CAMPAIGN_KILLS", "2"))
SEED = int(os.environ.get("CAMPAIGN_SEED", "12"))
# Real seconds a daemon runs, once started, before its kill -9: from before its first
# cycle to several cycles in (one market minute, a cycle, per real second).
KILL_AFTER_S = (0.0, 4.0)


def _config(tmp_path: Path) -> Path:
    raw = yaml.safe_load((REPO / "config" / "sim.yaml").read_text())
    raw["journal"]["path"] = str(tmp_path / "journal.sqlite")
    raw["events_path"] = str(REPO / "config" / "events.yaml")
    raw["logging"] = {"format": "json", "level": "info"}
    raw["http"]["port"] = 0
    raw["sim"]["start"] = SESSION_OPEN
    raw["sim"]["received_orders_path"] = str(tmp_path / "received.jsonl")
    raw["execution"].update(
        {
            "mode": "submit",
            "kill_switch_path": str(tmp_path / "KILL"),
            "quiet_after_open_min": 0,
            "max_orders_per_day": 100,
            "max_debit_per_day_usd": 1_000_000.0,
            "order_ttl_s": 30.0,
        }
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _query(journal: Path, sql: str) -> list[Any]:
    if not journal.exists():
        return []
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute(sql)]
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        conn.close()


def _rows(journal: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return [tuple(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def _runs_over(journal: Path, n: int) -> bool:
    return len(_query(journal, "SELECT run_id FROM runs")) > n


def _any_received(tmp_path: Path) -> bool:
    return bool(_received(tmp_path))


def _received(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "received.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_kill_9_at_random_points_sends_nothing_twice_and_journals_every_intent(
    tmp_path: Path,
) -> None:
    """Daemons killed at random points, then one stopped cleanly: the broker received no
    order twice and each order it received was journalled as an intent first."""
    kill_campaign(tmp_path, KILLS, SEED)


def kill_campaign(tmp_path: Path, kills: int, seed: int) -> dict[str, int]:
    """``kills`` daemons killed at random points, one stopped cleanly, checked; its
    figures for ``make soak``."""
    rng = random.Random(seed)
    config = _config(tmp_path)
    journal = tmp_path / "journal.sqlite"
    with Daemons(tmp_path) as daemons:  # none outlives the campaign, whatever fails
        for i in range(kills):
            daemon = daemons.start(config, f"killed-{i}")
            daemon.wait_until("its run", partial(_runs_over, journal, i), poll_s=0.1)
            if i == 0:  # the first dies while its first orders are being followed
                daemon.wait_until("an order received", partial(_any_received, tmp_path), 0.1)
                time.sleep(rng.uniform(0.0, 0.5))
            else:
                time.sleep(rng.uniform(*KILL_AFTER_S))
            assert daemon.proc.poll() is None, f"daemon {i} died before its kill"
            assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
        last = daemons.start(config, "last")
        last.wait_until("its run", partial(_runs_over, journal, kills), poll_s=0.1)
        last.wait_until("an order received", partial(_any_received, tmp_path), poll_s=0.1)
        last.wait_until("a cycle of its own", lambda: _last_run_cycles(journal) >= 2, 0.1)
        assert last.stop(signal.SIGTERM) == 0
    received = _received(tmp_path)
    _check(journal, received)
    return {
        "kills": kills,
        "orders_received": len(received),
        "references": len({r["order_ref"] for r in received}),
        "cycles": len(_query(journal, "SELECT cycle_id FROM cycles")),
    }


def _check(journal: Path, received: list[dict[str, Any]]) -> None:
    """A reference placed again by the same daemon is a re-price (cancel, then the
    remaining quantity re-placed under the same reference: ``runtime/follow.py``); by
    another daemon it would be a duplicate send."""
    assert received, "no order reached the broker: the campaign tested nothing"
    senders: dict[str, set[int]] = {}
    first_qty: dict[str, int] = {}
    for r in received:
        senders.setdefault(r["order_ref"], set()).add(r["pid"])
        first = first_qty.setdefault(r["order_ref"], r["quantity"])
        assert r["quantity"] <= first, f"{r['order_ref']} re-placed above its quantity"
    twice = sorted(ref for ref, pids in senders.items() if len(pids) > 1)
    assert twice == [], f"orders sent again by a restarted daemon: {twice}"
    intents = dict(_rows(journal, "SELECT order_ref, quantity FROM orders"))
    assert set(senders) <= set(intents), "an order reached the broker without its intent row"
    filled = _rows(journal, "SELECT order_ref, SUM(quantity) FROM fills GROUP BY order_ref")
    assert all(qty <= intents[ref] for ref, qty in filled), "filled past an order's quantity"


def _last_run_cycles(journal: Path) -> int:
    return len(
        _query(
            journal,
            "SELECT cycle_id FROM cycles WHERE run_id ="
            " (SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1)",
        )
    )
