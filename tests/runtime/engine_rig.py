"""A test rig for the runtime: the engine over the simulated broker on a manual clock.

Everything the composition root wires (``daemon.runtime.app``) is built here by hand, so a
test chooses the market time, the sim's knobs and the executor, and advances the clock
between cycles itself. The model's parameters are the pydantic defaults (the same values
as config/default.yaml), not a file a config edit could change under the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.config import AppConfig, ExecutionParams
from daemon.core.calendar import NY
from daemon.core.params import BudgetParams, ModelParams
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.engine import CycleOutcome, Engine
from daemon.runtime.executors import Executor, ProposeExecutor
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.notify import Fanout
from daemon.runtime.notify.params import AlertParams
from daemon.runtime.snapshot import SnapshotTaker
from daemon.runtime.submit import SubmitExecutor

# Tuesday 24 Nov 2026, half an hour after the open: a full session, past the quiet minutes.
START = datetime(2026, 11, 24, 10, 0, tzinfo=NY)
CONFIG = AppConfig()

ExecutorFactory = Callable[[SimBroker, SqliteJournal, SimClock], Executor]


# A budget that does not bind: cycles that see the same market propose the same
# adjustments, whatever earlier cycles spent (for tests of duplicate order refusal).
LOOSE_BUDGET = CONFIG.model_params().model_copy(
    update={"budget": BudgetParams(max_debit_fraction=5.0, max_theta_fraction=5.0)}
)


def log_alerts(journal: SqliteJournal, **overrides: Any) -> DecisionAlerts:
    """Alerts told to the log only, with the default alert settings unless overridden."""
    return DecisionAlerts(journal, Fanout.log_only(), AlertParams.model_validate(overrides))


def sim_params(**overrides: Any) -> SimParams:
    return SimParams.model_validate({"seed": 7, **overrides})


def execution_params(tmp_path: Path, **overrides: Any) -> ExecutionParams:
    """Submit-mode limits wide enough that only the guard a test tightens refuses."""
    values: dict[str, Any] = {
        "mode": "submit",
        "kill_switch_path": tmp_path / "KILL",
        "max_orders_per_day": 100,
        "max_contracts_per_order": 1000,
        "max_debit_per_day_usd": 1_000_000.0,
        "order_ttl_s": 60.0,
        **overrides,
    }
    return ExecutionParams.model_validate(values)


def submit_executor(params: ExecutionParams, env: dict[str, str] | None = None) -> ExecutorFactory:
    def make(broker: SimBroker, journal: SqliteJournal, clock: SimClock) -> Executor:
        return SubmitExecutor(broker, journal, params, CONFIG.ticks, clock, env=env or {})

    return make


@dataclass
class Rig:
    clock: SimClock
    broker: SimBroker
    journal: SqliteJournal
    executor: Executor
    engine: Engine
    run_id: str

    async def cycle(self, advance_min: float = 0.0) -> CycleOutcome:
        """Advance market time by ``advance_min`` minutes, then run one cycle at it."""
        if advance_min:
            self.clock.advance(timedelta(minutes=advance_min))
        return await self.engine.run_cycle(self.clock.now())

    async def close(self) -> None:
        await self.executor.shutdown()
        await self.broker.close()
        self.journal.end_run(self.run_id, now=self.clock.now(), reason="test")
        self.journal.close()


async def open_rig(
    journal_path: Path,
    *,
    start: datetime = START,
    sim: SimParams | None = None,
    executor: ExecutorFactory | None = None,
    run_id: str = "run-a",
    cycle_timeout_s: float = 30.0,
    broker: SimBroker | None = None,
    model: ModelParams | None = None,
    journal_class: type[SqliteJournal] = SqliteJournal,
) -> Rig:
    """A connected rig with its run started and its executor's recovery done. Given a
    ``broker`` (a gateway that outlived the last run), the rig uses it and its clock;
    ``journal_class`` a journal of another make (a failing disk's)."""
    if broker is None:
        broker = SimBroker(sim or sim_params(), SimClock.manual(start))
    clock = broker.clock
    start = clock.now()
    journal = journal_class.open(journal_path)
    journal.start_run(
        run_id, now=start, version="test", host="test", mode="test", broker="sim", config={}
    )
    chosen = (
        ProposeExecutor(log_alerts(journal))
        if executor is None
        else executor(broker, journal, clock)
    )
    model = CONFIG.model_params() if model is None else model
    engine = Engine(
        broker=broker,
        journal=journal,
        executor=chosen,
        snapshots=SnapshotTaker(broker, model, CONFIG.snapshot, ()),
        model=model,
        run_id=run_id,
        clock=clock.now,
        cycle_timeout_s=cycle_timeout_s,
    )
    await broker.connect()
    await chosen.start()
    return Rig(clock, broker, journal, chosen, engine, run_id)


def cycle_rows(journal: SqliteJournal) -> list[dict[str, Any]]:
    """Every journalled cycle, oldest first."""
    return list(reversed(journal.recent_cycles(limit=10_000)))
