"""A follower that dies of an error nobody expected is loud: logged with the error, its
order journalled of unknown fate and alerted, and the next reconciliation takes it up.

Oracles: the simulated broker's open orders (the order is still working when its follower
dies), the journal's order rows and the captured log lines."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from daemon.runtime.submit import SubmitExecutor
from tests.runtime.submit_rig import (
    FILLS_AT_NATURAL,
    journal_orders,
    log_events,
    settled_cycle,
    submit_rig,
)


class AdapterBug(RuntimeError):
    """Not a ``BrokerError``: what a bug in an adapter raises."""


def test_a_follower_that_fails_journals_its_order_unknown_and_reconcile_takes_it_up(
    tmp_path: Path,
) -> None:
    """The cancel at TTL raises an unexpected error: ``order_follow_failed`` names the
    order and the error, the row is UNKNOWN with that reason, ``order_fate_unknown`` is
    alerted; once the bug is gone, reconciliation follows the still-working order again."""

    async def buggy_cancel(order_id: int) -> None:
        raise AdapterBug(f"cancel {order_id} blew up")

    async def body() -> None:
        async with submit_rig(
            tmp_path, sim=FILLS_AT_NATURAL, order_ttl_s=0.2, max_reprices=0
        ) as rig:
            assert isinstance(rig.executor, SubmitExecutor)
            real_cancel = rig.broker.cancel
            rig.broker.cancel = buggy_cancel  # type: ignore[method-assign]
            outcome, logs = await settled_cycle(rig, timeout_s=10)
            sent = sorted(e.adjustment_id for e in outcome.executions)
            assert sent, "the simulated book is under-hedged: something is sent"
            working = await rig.broker.open_orders()
            assert sorted(s.order_ref for s in working) == sent  # nothing was cancelled

            failed = log_events(logs, "order_follow_failed")
            assert sorted(e["order_ref"] for e in failed) == sent
            assert all("AdapterBug: cancel" in e["error"] for e in failed)
            rows = journal_orders(rig.journal)
            for ref in sent:
                assert rows[ref]["status"] == "UNKNOWN"
                assert "order follower failed: AdapterBug" in rows[ref]["reason"]
            unknown = log_events(logs, "order_fate_unknown")
            assert sorted(e["order_ref"] for e in unknown) == sent
            assert all(e["line"].startswith("FATE UNKNOWN order ") for e in unknown)
            # Open in the journal: the guards still count it, nothing is sent twice.
            assert sorted(r["order_ref"] for r in rig.journal.open_orders()) == sent

            rig.broker.cancel = real_cancel  # type: ignore[method-assign]
            with capture_logs() as later:
                await rig.executor.start()  # the reconciliation a cycle runs first
                await asyncio.wait_for(rig.executor.wait(), 10)
            assert sorted(e["order_ref"] for e in log_events(later, "order_recovered")) == sent
            rows = journal_orders(rig.journal)
            assert {rows[ref]["status"] for ref in sent} == {"CANCELLED"}
            assert await rig.broker.open_orders() == []

    asyncio.run(body())
