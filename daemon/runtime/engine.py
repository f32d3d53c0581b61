"""One cycle, as a story: connect -> snapshot -> evaluate -> execute -> journal.

``run_cycle(now)`` binds a ``cycle_id`` to every log line of the cycle, and ends with one
``cycle_summary`` line and one journal record whatever happened. A step that fails skips
the cycle with its reason (``cycle_skipped``), and the daemon lives on:

- connection lost or a broker timeout: temporary, the next cycle reconnects;
- data the cycle cannot use (no SPX quote, ...): the cycle proposes nothing;
- the journal refusing a write (disk full): the cycle is logged whole instead, nothing is
  sent (``daemon.runtime.submit``), and the daemon says so until writes go through again;
- anything unexpected (a bug): logged with its traceback, journalled, and the next cycle
  runs as usual. An unattended daemon that dies on one bad cycle protects nothing.

The core is pure, so what it must remember across cycles comes from here
(``BookHistory``): the hedge orders' debits over the budget's spend window, read from the
journal each cycle, and the last trading day a cycle saw an income structure, read from
the journal once at start and then kept up to date from each cycle's result.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog

from daemon.core.broker import Broker, ConnectionState
from daemon.core.calendar import NY
from daemon.core.cycle_inputs import BookHistory, HedgeSpend
from daemon.core.evaluate import CycleResult, CycleStatus, evaluate
from daemon.core.params import ModelParams
from daemon.core.plain import to_plain
from daemon.core.scalar import ScalarState
from daemon.core.signals import CustomSignal
from daemon.errors import BrokerError, DataError
from daemon.runtime.executors import Execution, Executor
from daemon.runtime.journal_port import Journal, JournalWriteFailed
from daemon.runtime.snapshot import SnapshotTaker

log = structlog.get_logger("alvh.engine")


class Skipped(StrEnum):
    """The engine's own cycle status, beside the core's ``CycleStatus``: the cycle did not
    reach a result (a timeout, the broker, bad data, a bug); its reason says which."""

    SKIPPED = "skipped"


SKIPPED = Skipped.SKIPPED


@dataclass(frozen=True)
class CycleOutcome:
    cycle_id: str
    started_at: datetime
    status: CycleStatus | Skipped
    reason: str
    result: CycleResult | None = None
    executions: tuple[Execution, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_id": self.cycle_id,
            "started_at": self.started_at.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "result": None if self.result is None else self.result.to_json(),
            "executions": [e.to_json() for e in self.executions],
        }


def new_cycle_id(now: datetime) -> str:
    return f"{now.astimezone(NY):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


class Engine:
    def __init__(
        self,
        *,
        broker: Broker,
        journal: Journal,
        executor: Executor,
        snapshots: SnapshotTaker,
        model: ModelParams,
        run_id: str,
        clock: Callable[[], datetime],
        cycle_timeout_s: float,
        extra_signals: Sequence[CustomSignal] = (),
    ) -> None:
        self._broker = broker
        self._journal = journal
        self._executor = executor
        self._snapshots = snapshots
        self._model = model
        self._run_id = run_id
        self._clock = clock
        self._timeout_s = cycle_timeout_s
        self._extra = tuple(extra_signals)
        self.state = _recover_state(journal)
        self.income_last_seen: date | None = journal.last_income_day()

    async def run_cycle(self, now: datetime) -> CycleOutcome:
        cycle_id = new_cycle_id(now)
        with structlog.contextvars.bound_contextvars(cycle_id=cycle_id):
            try:
                outcome = await asyncio.wait_for(self._steps(cycle_id, now), self._timeout_s)
            except TimeoutError:
                outcome = self._skip(
                    cycle_id, now, f"timeout: cycle took over {self._timeout_s:g} s"
                )
            except (BrokerError, DataError, JournalWriteFailed) as exc:
                outcome = self._skip(cycle_id, now, f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a bug: keep the daemon alive, keep the evidence
                log.exception("cycle_failed")
                outcome = self._skip(cycle_id, now, f"internal error: {type(exc).__name__}: {exc}")
            self._journal_cycle_or_say(outcome)
            self._summary(outcome)
            return outcome

    def _journal_cycle_or_say(self, outcome: CycleOutcome) -> None:
        """A cycle the journal cannot hold (disk full) is still in the log: its
        ``cycle_summary`` line and this error, so nothing is lost silently. The service
        alerts it (``journal.writable`` is False)."""
        try:
            self._journal_cycle(outcome)
        except JournalWriteFailed as exc:
            log.error(
                "cycle_not_journalled",
                reason=str(exc),
                status=outcome.status,
                cycle_reason=outcome.reason,
            )

    def record_skipped_slot(self, now: datetime, reason: str) -> CycleOutcome:
        """A cycle slot the scheduler did not run (missed, or the last cycle still
        running): a ``skipped`` cycle row like any other, so every slot leaves one."""
        cycle_id = new_cycle_id(now)
        with structlog.contextvars.bound_contextvars(cycle_id=cycle_id):
            outcome = self._skip(cycle_id, now, reason)
            self._journal_cycle_or_say(outcome)
        return outcome

    async def _steps(self, cycle_id: str, now: datetime) -> CycleOutcome:
        await self._ensure_connected()
        snapshot = await self._snapshots.take(now)
        history = self._history(now)
        result = evaluate(snapshot, self.state, self._model, now, self._extra, history)
        if result.risk is not None and result.risk.income:
            self.income_last_seen = result.trading_day
        if result.status is not CycleStatus.OK:
            log.warning("no_proposal", status=result.status.value, reason=result.reason)
        executions = await self._executor.execute(result, cycle_id)
        if result.state is not None:
            self.state = result.state
        return CycleOutcome(cycle_id, now, result.status, result.reason, result, executions)

    def _history(self, now: datetime) -> BookHistory:
        """The journal's memory the core needs this cycle (module docstring). Orders are
        read from twice the window in calendar days (plus a margin for holidays); the core
        counts the sessions itself."""
        today = now.astimezone(NY).date()
        window = self._model.budget.spend_window_sessions
        since = today - timedelta(days=2 * window + 10)
        spends = tuple(HedgeSpend(d, usd) for d, usd in self._journal.hedge_spends(since))
        return BookHistory(spends=spends, income_last_seen=self.income_last_seen)

    async def _ensure_connected(self) -> None:
        if self._broker.connection_state is not ConnectionState.CONNECTED:
            log.info("broker_connecting")
            await self._broker.connect()
            log.info("broker_connected")

    def _skip(self, cycle_id: str, now: datetime, reason: str) -> CycleOutcome:
        log.warning("cycle_skipped", reason=reason)
        return CycleOutcome(cycle_id, now, SKIPPED, reason)

    def _journal_cycle(self, outcome: CycleOutcome) -> None:
        result = outcome.result
        state = None if result is None or result.state is None else result.state.to_json()
        adjustments = () if result is None else tuple(to_plain(a) for a in result.adjustments)
        self._journal.record_cycle(
            cycle_id=outcome.cycle_id,
            run_id=self._run_id,
            started_at=outcome.started_at,
            finished_at=self._clock(),
            trading_day=outcome.started_at.astimezone(NY).date(),
            status=outcome.status,
            reason=outcome.reason,
            record=outcome.to_json(),
            scalar=None if result is None or result.scalar is None else result.scalar.value,
            tail_loss_usd=None
            if result is None or result.risk is None
            else result.risk.tail_loss_usd,
            scalar_state=state,
            adjustments=adjustments,
        )

    def _summary(self, outcome: CycleOutcome) -> None:
        result = outcome.result
        scalar = None if result is None or result.scalar is None else result.scalar.value
        risk = None if result is None else result.risk
        log.info(
            "cycle_summary",
            status=outcome.status,
            reason=outcome.reason,
            spx=None if result is None else result.inputs.get("spx"),
            vix=None if result is None else result.inputs.get("vix"),
            scalar=None if scalar is None else round(scalar, 4),
            tail_loss_usd=None if risk is None else round(risk.tail_loss_usd, 2),
            hedge_payoff_usd=None if risk is None else round(risk.hedge_payoff_usd, 2),
            overlay=None if result is None or result.plan is None else result.plan.status.value,
            adjustments=len(outcome.executions),
        )


def _recover_state(journal: Journal) -> ScalarState | None:
    """The scalar where the last run left it, so a restart does not start from scratch."""
    saved = journal.scalar_state()
    if saved is None:
        return None
    try:
        state = ScalarState.from_json(saved)
    except ValueError as exc:
        log.warning("scalar_state_unreadable", reason=str(exc))
        return None
    log.info("scalar_state_recovered", value=state.value, at=state.time.isoformat())
    return state
