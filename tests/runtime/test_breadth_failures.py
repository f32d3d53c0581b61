"""Breadth read from the broker: a lost connection skips the cycle, a series the broker
cannot give degrades to "breadth unavailable", saying why (docs/reliability.md, "Breadth:
a data gap or a lost connection").

Oracles: the sim's own connection fault (the call that finds the connection gone raises
``BrokerDisconnected`` in the adapter, not in the test), the journal's cycle rows, the
breadth signal's reading in the cycle's record, and the captured log lines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.brokers.sim import SimBroker
from daemon.core.models import BreadthDay
from daemon.errors import BrokerError, BrokerTimeout, DataError
from daemon.runtime.engine import SKIPPED
from tests.runtime.engine_rig import cycle_rows, open_rig

# What IB's adapter raises when NYSE breadth is not served (daemon/brokers/ib/history.py).
IB_NO_BREADTH = (
    "NYSE breadth history is unavailable from IB: no index ADV-NYSE on NYSE "
    "(200: No security definition has been found for the request); the breadth signal "
    "needs another source"
)


def _breadth_reading(record: dict[str, Any]) -> dict[str, Any]:
    (reading,) = [s for s in record["result"]["signals"] if s["name"] == "breadth"]
    return reading


def _drop_on_breadth(broker: SimBroker) -> None:
    """The connection drops as breadth is asked for: the sim's own check raises."""
    real = broker.breadth_history

    async def dropping(sessions: int) -> list[BreadthDay]:
        broker.breadth_history = real  # type: ignore[method-assign]
        broker.set_faults(drop_connection=True)
        return await real(sessions)

    broker.breadth_history = dropping  # type: ignore[method-assign]


def _time_out_on_breadth(broker: SimBroker) -> None:
    real = broker.breadth_history

    async def late(sessions: int) -> list[BreadthDay]:
        broker.breadth_history = real  # type: ignore[method-assign]
        raise BrokerTimeout("reqHistoricalData ADV-NYSE: no answer in 20 s")

    broker.breadth_history = late  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("fault", "error"),
    [(_drop_on_breadth, "BrokerDisconnected"), (_time_out_on_breadth, "BrokerTimeout")],
)
def test_a_connection_lost_while_reading_breadth_skips_the_cycle(
    tmp_path: Path, fault: Callable[[SimBroker], None], error: str
) -> None:
    """Not a breadth gap: the cycle is skipped with the connection's reason, journalled
    so, and the next cycle (reconnected) reads breadth and scores it."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite")
        try:
            fault(rig.broker)
            with capture_logs() as logs:
                lost = await rig.cycle()
                back = await rig.cycle(advance_min=1)
            assert lost.status == SKIPPED and lost.reason.startswith(error), lost.reason
            assert not [e for e in logs if e["event"] == "breadth_unavailable"]
            assert back.status == "ok", back.reason
            rows = cycle_rows(rig.journal)
            assert [r["status"] for r in rows] == [SKIPPED, "ok"]
            record = rig.journal.cycle_record(back.cycle_id)
            assert record is not None and _breadth_reading(record)["unavailable"] is None
        finally:
            await rig.close()

    asyncio.run(body())


@pytest.mark.parametrize(
    "exc", [BrokerError(IB_NO_BREADTH), DataError("ADV-NYSE bars: 3 sessions, DECL-NYSE: 2")]
)
def test_breadth_the_broker_cannot_give_is_unavailable_with_its_reason(
    tmp_path: Path, exc: Exception
) -> None:
    """The cycle goes on; ``breadth_unavailable`` is logged with the reason, and the
    breadth signal's "unavailable" text carries it, in this cycle and the day's next."""

    async def refuse(sessions: int) -> list[BreadthDay]:
        raise exc

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite")
        try:
            rig.broker.breadth_history = refuse  # type: ignore[method-assign]
            with capture_logs() as logs:
                first = await rig.cycle()
                second = await rig.cycle(advance_min=1)
            why = f"{type(exc).__name__}: {exc}"
            assert [e["reason"] for e in logs if e["event"] == "breadth_unavailable"] == [why]
            for outcome in (first, second):
                assert outcome.status == "ok", outcome.reason
                record = rig.journal.cycle_record(outcome.cycle_id)
                assert record is not None
                reading = _breadth_reading(record)
                assert reading["unavailable"] == "no_data"
                assert reading["detail"] == f"no NYSE advance/decline history: {why}"
        finally:
            await rig.close()

    asyncio.run(body())
