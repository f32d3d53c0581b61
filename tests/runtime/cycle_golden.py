"""The cycle records of a few evaluations on the simulated market, as the journal encodes
them: the input of ``test_cycle_record_golden.py``.

The golden file ``data/cycle_records.json`` was written by ``write_golden()`` from the
``main`` branch at 9856f3b, before the core's hand-written ``to_json`` methods were folded
into ``daemon.core.plain``; the test checks the records are still byte-identical. Only a
deliberate change of the journal's format may rewrite it (``python -m
tests.runtime.cycle_golden``), and that change must say so.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.config import AppConfig
from daemon.core.evaluate import CycleResult, evaluate
from daemon.core.models import Action, MarketSnapshot, Position
from daemon.core.params import ModelParams
from daemon.core.scalar import ScalarState
from daemon.runtime.snapshot import SnapshotTaker
from tests.runtime.engine_rig import START

GOLDEN = Path(__file__).parent / "data" / "cycle_records.json"
# Moments after the start, the hedges first chosen held: nothing to do the next morning,
# a reduce six days on, a close and a change held back by the hysteresis band at 13 days.
LATER = (timedelta(days=1), timedelta(days=6), timedelta(days=13))


class _HeldBroker:
    """The simulated broker with some hedge positions added to its book's listing."""

    def __init__(self, broker: SimBroker, extra: list[Position]) -> None:
        self._broker = broker
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    async def positions(self) -> list[Position]:
        return [*await self._broker.positions(), *self._extra]


def _hedges_bought(result: CycleResult) -> list[Position]:
    """The hedges the plan chose, as positions bought at their mid."""
    assert result.plan is not None
    out: list[Position] = []
    for candidate, quantity in result.plan.chosen:
        per_leg = candidate.debit_usd / len(candidate.legs)
        for leg in candidate.legs:
            sign = 1 if leg.action is Action.BUY else -1
            out.append(Position(leg.contract, sign * leg.ratio * quantity, abs(per_leg)))
    return out


async def _snapshot(broker: Any, now: datetime) -> MarketSnapshot:
    config = AppConfig()
    taker = SnapshotTaker(broker, config.model_params(), config.snapshot, ())
    return await taker.take(now)


def _as_frozen(params: ModelParams) -> ModelParams:
    """The model as it was when the golden was written: two neighbouring pairs per family
    (the default became one later, a model change the golden is not about)."""
    return params.model_copy(
        update={
            "vix": params.vix.model_copy(update={"neighbour_count": 2}),
            "diagonal": params.diagonal.model_copy(update={"neighbour_count": 2}),
        }
    )


def cycle_records() -> list[str]:
    """The JSON text of each evaluation's record (``_encode``)."""

    async def go() -> list[str]:
        params = _as_frozen(AppConfig().model_params())
        sim = SimParams.model_validate({"seed": 7})
        broker = SimBroker(sim, SimClock.manual(START))
        await broker.connect()
        try:
            first = evaluate(await _snapshot(broker, START), None, params, START)
            results = [first]
            held = _HeldBroker(broker, _hedges_bought(first))
            state: ScalarState | None = first.state
            for step in LATER:
                broker.clock.advance(step - (broker.clock.now() - START))
                now = broker.clock.now()
                result = evaluate(await _snapshot(held, now), state, params, now)
                state = result.state or state
                results.append(result)
        finally:
            await broker.close()
        return [_encode(r) for r in results]

    return asyncio.run(go())


def _encode(result: CycleResult) -> str:
    """As the journal writes it, but in the record's own key order (the journal sorts the
    keys): equal strings here mean equal journal rows and equal ``--json`` output."""
    return json.dumps(result.to_json(), default=str)


def write_golden() -> None:
    GOLDEN.write_text(json.dumps(cycle_records(), indent=1) + "\n")


if __name__ == "__main__":
    write_golden()
