"""Submit mode against the simulated broker: recovery at start, restarts, lost placements.

Oracles: the sim's working orders (a broker that outlives the daemon, as the gateway
does), the journal read back by a new run, the ``order_refused`` events' guard codes,
and the captured log lines.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from daemon.brokers.sim import SimBroker
from daemon.core.broker import ComboOrder, OrderState
from daemon.runtime.guards import GuardCode
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.submit import SubmitExecutor
from tests.runtime.engine_rig import (
    CONFIG,
    LOOSE_BUDGET,
    execution_params,
    open_rig,
    submit_executor,
)
from tests.runtime.submit_rig import (
    FILLS_AT_MID,
    FILLS_AT_NATURAL,
    journal_orders,
    journal_path,
    log_events,
    refused_codes,
    settled_cycle,
    submit_rig,
)


async def _left_working(tmp_path: Path) -> tuple[SimBroker, list[OrderState]]:
    """A first run sends orders that rest, then stops with them working at the broker."""
    params = execution_params(tmp_path, order_ttl_s=600.0)
    executor = submit_executor(params)
    rig = await open_rig(
        journal_path(tmp_path), sim=FILLS_AT_NATURAL, executor=executor, model=LOOSE_BUDGET
    )
    outcome = await rig.cycle()
    assert {e.outcome for e in outcome.executions} == {"submitted"}
    with capture_logs() as logs:
        await rig.executor.shutdown()
    working = await rig.broker.open_orders()
    assert sorted(e["order_ref"] for e in log_events(logs, "order_left_working")) == sorted(
        s.order_ref for s in working
    )
    rig.journal.close()  # the daemon is gone; the broker (the gateway) stays up
    return rig.broker, working


def test_restart_recovers_a_working_order_follows_it_and_sends_no_duplicate(
    tmp_path: Path,
) -> None:
    """On start an order still working is followed again; cycles send nothing twice."""

    async def body() -> None:
        broker, working = await _left_working(tmp_path)
        executor = submit_executor(execution_params(tmp_path, order_ttl_s=600.0))
        with capture_logs() as logs:
            rig = await open_rig(
                journal_path(tmp_path),
                broker=broker,
                executor=executor,
                run_id="b",
                model=LOOSE_BUDGET,
            )
        try:
            refs = sorted(s.order_ref for s in working)
            assert sorted(e["order_ref"] for e in log_events(logs, "order_recovered")) == refs
            # The same market: the same adjustments, refused, the broker's orders unchanged.
            again = await rig.cycle()
            assert again.result is not None
            assert sorted(a.id for a in again.result.adjustments) == refs
            assert {e.outcome for e in again.executions} == {"refused"}
            assert await broker.open_orders() == working
            # Followed: cancelled by hand at the broker, the follower journals it and ends.
            for state in working:
                await broker.cancel(state.order_id)
            assert isinstance(rig.executor, SubmitExecutor)
            await asyncio.wait_for(rig.executor.wait(), 5)
            assert {journal_orders(rig.journal)[ref]["status"] for ref in refs} == {"CANCELLED"}
        finally:
            await rig.close()

    asyncio.run(body())


def test_an_order_that_ended_while_down_is_closed_in_the_journal(tmp_path: Path) -> None:
    """An order the broker no longer lists at start ended while the daemon was down."""

    async def body() -> None:
        broker, working = await _left_working(tmp_path)
        try:
            for state in working:  # cancelled by hand while the daemon was down
                await broker.cancel(state.order_id)
            journal = SqliteJournal.open(journal_path(tmp_path))
            params = execution_params(tmp_path)
            executor = SubmitExecutor(broker, journal, params, CONFIG.ticks, broker.clock, env={})
            with capture_logs() as logs:
                await executor.start()
            refs = sorted(s.order_ref for s in working)
            reconciled = log_events(logs, "order_reconciled")
            assert sorted(e["order_ref"] for e in reconciled) == refs
            assert {e["status"] for e in reconciled} == {"ENDED_UNSEEN"}
            assert {journal_orders(journal)[ref]["status"] for ref in refs} == {"ENDED_UNSEEN"}
            assert journal.open_orders() == []
            journal.close()
        finally:
            await broker.close()

    asyncio.run(body())


def test_after_a_restart_no_adjustment_id_is_sent_again(tmp_path: Path) -> None:
    """A restarted daemon (new process, new broker session) refuses the ids it journalled."""

    async def body() -> None:
        # A budget loose enough that what the first run spent leaves the plan unchanged.
        async with submit_rig(
            tmp_path, sim=FILLS_AT_MID, run_id="run-a", model=LOOSE_BUDGET
        ) as first:
            sent, _ = await settled_cycle(first)
        journalled = set(journal_orders(SqliteJournal.open(journal_path(tmp_path))))
        # The same seed and market time: the restarted run proposes the same adjustments.
        async with submit_rig(
            tmp_path, sim=FILLS_AT_MID, run_id="run-b", model=LOOSE_BUDGET
        ) as second:
            again = await second.cycle()
            assert again.result is not None and sent.result is not None
            ids = {a.id for a in again.result.adjustments}
            assert ids and ids <= journalled
            assert {e.outcome for e in again.executions} == {"refused"}
            refused = refused_codes(second.journal)
            assert all(GuardCode.DUPLICATE.value in refused[ref] for ref in ids)
            assert await second.broker.open_orders() == []
            assert len(journal_orders(second.journal)) == len(journalled)

    asyncio.run(body())


def test_a_placement_lost_to_a_disconnect_is_unknown_and_never_resent(tmp_path: Path) -> None:
    """Connection lost while placing: journalled UNKNOWN, never resent, settled next cycle."""

    async def body() -> None:
        async with submit_rig(tmp_path, sim=FILLS_AT_MID) as rig:
            real = rig.broker.place_combo

            async def dropping(order: ComboOrder) -> OrderState:
                rig.broker.place_combo = real  # type: ignore[method-assign]
                rig.broker.set_faults(drop_connection=True)
                return await real(order)

            rig.broker.place_combo = dropping  # type: ignore[method-assign]
            with capture_logs() as logs:
                lost = await rig.cycle()
            assert lost.result is not None and len(lost.result.adjustments) >= 2
            first = lost.result.adjustments[0].id
            # The first is in doubt; the cycle sends nothing after it.
            assert [(e.adjustment_id, e.outcome) for e in lost.executions] == [(first, "unknown")]
            assert journal_orders(rig.journal)[first]["status"] == "UNKNOWN"
            assert [e["adjustment_id"] for e in log_events(logs, "order_fate_unknown")] == [first]
            retry = await rig.cycle()  # reconnects; the same id must not go out again
            assert retry.result is not None
            assert all(e.outcome == "refused" for e in retry.executions if e.adjustment_id == first)
            assert first not in {s.order_ref for s in await rig.broker.open_orders()}
            # Settled at the very next cycle, not left in doubt until a restart: the broker
            # does not list it, so it ended unseen (here: it never arrived).
            assert journal_orders(rig.journal)[first]["status"] == "ENDED_UNSEEN"

    asyncio.run(body())
