"""What happens to a cycle's adjustments: the mode, chosen once at wiring time.

``ProposeExecutor`` (the default) turns each adjustment into an ``adjustment_proposed``
alert with its legs, quantity, limit and reason, and sends nothing. ``SubmitExecutor``
(``daemon.runtime.submit``) also sends them, behind the guards. The engine never asks
which mode it runs in: it hands the result to whichever executor it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from daemon.core.evaluate import CycleResult
from daemon.core.proposal import Adjustment

log = structlog.get_logger("alvh.execution")


@dataclass(frozen=True)
class Execution:
    """What became of one adjustment this cycle."""

    adjustment_id: str
    outcome: str  # proposed | refused | submitted | rejected | unknown
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


def adjustment_fields(adj: Adjustment) -> dict[str, Any]:
    """The alert's fields: everything a trader needs to act on it by hand."""
    return {
        "adjustment_id": adj.id,
        "action": adj.action.value,
        "kind": adj.kind.value,
        "structure": adj.structure_key,
        "legs": [leg.label for leg in adj.legs],
        "quantity": adj.quantity,
        # Prices per share: rounded for the reader (binary float noise such as
        # 0.8899999999999999 helps nobody); the journal keeps them exact.
        "limit_usd": round(adj.limit_price_usd, 4),
        "mid_usd": round(adj.mid_price_usd, 4),
        "natural_usd": round(adj.natural_price_usd, 4),
        "reason": adj.reason,
    }


class ProposeExecutor:
    """Alerts only: every adjustment is logged, nothing is sent."""

    mode = "propose"

    async def start(self) -> None:
        return None

    async def execute(self, result: CycleResult, cycle_id: str) -> tuple[Execution, ...]:
        out = []
        for adj in result.adjustments:
            log.info("adjustment_proposed", **adjustment_fields(adj))
            out.append(Execution(adj.id, "proposed"))
        return tuple(out)

    async def shutdown(self) -> None:
        return None
