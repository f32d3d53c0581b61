"""Shared pieces of the submit-mode tests: a rig with a submit executor, and read-backs.

The read-backs are the tests' oracles: the sim's positions, the journal (its ``fills``
table through a separate SQLite connection), the captured log lines, and the combo tick
of an adjustment on the configured grid.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, MutableMapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from daemon.brokers.sim import SimBroker, SimParams
from daemon.core.models import Action
from daemon.core.params import ModelParams
from daemon.core.ticks import combo_tick
from daemon.runtime.engine import CycleOutcome
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.submit import SubmitExecutor
from tests.runtime.engine_rig import (
    CONFIG,
    START,
    Rig,
    execution_params,
    open_rig,
    sim_params,
    submit_executor,
)

# Fills: 1.0 = any limit at or above the combo's mid fills on arrival; 0.0 = only a
# limit at the natural price fills, so a proposal (mid + a tick) rests.
FILLS_AT_MID = sim_params(orders={"price_improvement_frac": 1.0})
FILLS_AT_NATURAL = sim_params(orders={"price_improvement_frac": 0.0})

LogLines = list[MutableMapping[str, Any]]


def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "j.sqlite"


@asynccontextmanager
async def submit_rig(
    tmp_path: Path,
    *,
    sim: SimParams | None = None,
    start: datetime = START,
    env: dict[str, str] | None = None,
    run_id: str = "run-a",
    model: ModelParams | None = None,
    journal_class: type[SqliteJournal] = SqliteJournal,
    **limits: Any,
) -> AsyncIterator[Rig]:
    """A rig journalling to ``journal_path(tmp_path)`` whose executor submits under
    ``execution_params(tmp_path, **limits)``; closed on leaving the block."""
    executor = submit_executor(execution_params(tmp_path, **limits), env=env)
    rig = await open_rig(
        journal_path(tmp_path),
        start=start,
        sim=sim,
        executor=executor,
        run_id=run_id,
        model=model,
        journal_class=journal_class,
    )
    try:
        yield rig
    finally:
        await rig.close()


async def settled_cycle(rig: Rig, timeout_s: float | None = None) -> tuple[CycleOutcome, LogLines]:
    """One cycle, then wait until every order it sent has ended; the log lines of both."""
    with capture_logs() as logs:
        outcome = await rig.cycle()
        assert isinstance(rig.executor, SubmitExecutor)
        await asyncio.wait_for(rig.executor.wait(), timeout_s)
    return outcome, logs


def log_events(logs: Sequence[MutableMapping[str, Any]], name: str) -> LogLines:
    return [entry for entry in logs if entry["event"] == name]


def journal_fills(path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM fills ORDER BY fill_id")]


def journal_orders(journal: SqliteJournal) -> dict[str, dict[str, Any]]:
    return {row["order_ref"]: row for row in journal.recent_orders(limit=1000)}


def refused_codes(journal: SqliteJournal) -> dict[str, list[str]]:
    """The guard codes of each refused adjustment, by adjustment id."""
    out = {}
    for event in journal.events(kind="order_refused"):
        detail = json.loads(event["detail_json"])
        out[detail["adjustment_id"]] = [g.split(":")[0] for g in detail["guards"]]
    return out


async def broker_book(broker: SimBroker) -> Counter[str]:
    return Counter({p.contract.key: p.quantity for p in await broker.positions()})


def expected_moves(outcome: CycleOutcome) -> Counter[str]:
    """Contracts each adjustment moves when filled in full: ratio x quantity per leg."""
    assert outcome.result is not None
    moves: Counter[str] = Counter()
    for adj in outcome.result.adjustments:
        for leg in adj.legs:
            sign = 1 if leg.action is Action.BUY else -1
            moves[leg.contract.key] += sign * leg.ratio * adj.quantity
    return moves


def adjustment_tick(outcome: CycleOutcome, ref: str) -> float:
    """The combo tick (USD) of the adjustment ``ref`` proposed in ``outcome``."""
    assert outcome.result is not None
    adj = next(a for a in outcome.result.adjustments if a.id == ref)
    return combo_tick(adj.legs[0].contract.symbol, CONFIG.ticks)
