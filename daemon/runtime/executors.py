"""What happens to a cycle's adjustments: the mode, chosen once at wiring time.

``ProposeExecutor`` (the default) alerts each adjustment as ``adjustment_proposed`` with
its legs, quantity, limit and reason, once per decision (``daemon.runtime.alerts``), and
sends nothing. ``SubmitExecutor`` (``daemon.runtime.submit``) also sends them, behind the
guards. The engine never asks which mode it runs in: it hands the result to whichever
executor it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from daemon.core.evaluate import CycleResult
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.notify.lines import adjustment_fields

__all__ = ["Execution", "ExecutionOutcome", "Executor", "ProposeExecutor", "adjustment_fields"]


class ExecutionOutcome(StrEnum):
    """What became of one adjustment; the value is the journal's and the metrics' text."""

    PROPOSED = "proposed"  # alerted only (propose mode)
    REFUSED = "refused"  # a guard, a duplicate or an unwritable journal said no
    SUBMITTED = "submitted"  # placed; the follower takes it from there
    REJECTED = "rejected"  # the broker refused it
    UNKNOWN = "unknown"  # the placement's reply was lost: reconciliation settles it


@dataclass(frozen=True)
class Execution:
    """What became of one adjustment this cycle."""

    adjustment_id: str
    outcome: ExecutionOutcome
    detail: str = ""
    order_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "adjustment_id": self.adjustment_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "order_id": self.order_id,
        }


class Executor(Protocol):
    mode: str

    async def start(self) -> None:
        """Recover what a previous run left (open orders); called once before cycles."""
        ...

    async def execute(self, result: CycleResult, cycle_id: str) -> tuple[Execution, ...]: ...

    async def shutdown(self) -> None:
        """Stop following orders; leave them working at the broker and say which."""
        ...


class ProposeExecutor:
    """Alerts only: each decision is alerted once (see ``DecisionAlerts``), nothing sent.
    Every adjustment is still an ``Execution`` and is journalled with its cycle."""

    mode = "propose"

    def __init__(self, alerts: DecisionAlerts) -> None:
        self.alerts = alerts

    async def start(self) -> None:
        return None

    async def execute(self, result: CycleResult, cycle_id: str) -> tuple[Execution, ...]:
        self.alerts.proposals(result)
        return tuple(Execution(adj.id, ExecutionOutcome.PROPOSED) for adj in result.adjustments)

    async def shutdown(self) -> None:
        return None
