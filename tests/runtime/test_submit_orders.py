"""Submit mode against the simulated broker: fills, TTL and re-pricing, cancels, rejects.

Oracles: the sim's order book and positions (what the broker holds after the orders), the
journal read back, including its ``fills`` table through a separate SQLite connection,
the captured log lines, and hand arithmetic on the combo tick grid (a re-price moves the
limit ``reprice_step_ticks`` x tick toward the natural price, never past it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from daemon.core.ticks import RoundMode, round_to_tick
from tests.runtime.submit_rig import (
    FILLS_AT_MID,
    FILLS_AT_NATURAL,
    adjustment_tick,
    broker_book,
    expected_moves,
    journal_fills,
    journal_orders,
    journal_path,
    log_events,
    settled_cycle,
    submit_rig,
)


def test_a_marketable_order_fills_and_the_fill_is_journalled(tmp_path: Path) -> None:
    """An order that fills on arrival: its fill, quantity and price reach the journal."""

    async def body() -> None:
        async with submit_rig(tmp_path, sim=FILLS_AT_MID) as rig:
            before = await broker_book(rig.broker)
            outcome, logs = await settled_cycle(rig)
            assert outcome.result is not None and outcome.result.adjustments
            assert [e.outcome for e in outcome.executions] == ["submitted"] * len(
                outcome.result.adjustments
            )
            after = await broker_book(rig.broker)
            moved = after.copy()
            moved.subtract(before)
            assert +moved == +expected_moves(outcome)
            orders = journal_orders(rig.journal)
            fills = journal_fills(journal_path(tmp_path))
            for adj in outcome.result.adjustments:
                row = orders[adj.id]
                assert row["status"] == "FILLED" and row["filled_qty"] == adj.quantity
                mine = [f for f in fills if f["order_ref"] == adj.id]
                assert sum(f["quantity"] for f in mine) == adj.quantity
                assert all(f["price_usd"] <= adj.limit_price_usd + 1e-9 for f in mine)
                paid = sum(f["quantity"] * f["price_usd"] for f in mine) / adj.quantity
                assert row["avg_fill_usd"] == pytest.approx(paid)
            # One order_filled alert per order (not per fill), with its size and structure.
            filled = log_events(logs, "order_filled")
            assert sorted(e["order_ref"] for e in filled) == sorted(orders)
            for e in filled:
                assert e["filled"] == orders[e["order_ref"]]["filled_qty"]
                assert e["line"].startswith(f"FILLED {e['filled']} x ")
            sent = log_events(logs, "order_submitted")
            assert sorted(e["adjustment_id"] for e in sent) == sorted(orders)
            assert await rig.broker.open_orders() == []

    asyncio.run(body())


def test_a_resting_order_is_repriced_then_cancelled(tmp_path: Path) -> None:
    """Unfilled past its TTL: one tick toward the natural, then, out of re-prices, cancelled."""

    async def body() -> None:
        async with submit_rig(
            tmp_path, sim=FILLS_AT_NATURAL, order_ttl_s=0.2, max_reprices=1, reprice_step_ticks=1
        ) as rig:
            before = await broker_book(rig.broker)
            outcome, logs = await settled_cycle(rig)
            assert outcome.result is not None and outcome.result.adjustments
            orders = journal_orders(rig.journal)
            for adj in outcome.result.adjustments:
                tick = adjustment_tick(outcome, adj.id)
                # The precondition of the story: a tick up still rests below the natural.
                assert adj.limit_price_usd + tick < adj.natural_price_usd - 1e-9
                row = orders[adj.id]
                assert row["status"] == "CANCELLED" and row["filled_qty"] == 0
                assert row["limit_usd"] == pytest.approx(adj.limit_price_usd + tick)
            ids = sorted(a.id for a in outcome.result.adjustments)
            assert sorted(e["order_ref"] for e in log_events(logs, "order_repriced")) == ids
            assert sorted(e["order_ref"] for e in log_events(logs, "order_expired")) == ids
            assert await rig.broker.open_orders() == []
            assert await broker_book(rig.broker) == before

    asyncio.run(body())


def test_a_reprice_that_reaches_the_natural_fills(tmp_path: Path) -> None:
    """A big re-price step is capped at the natural price, where the order fills."""

    async def body() -> None:
        async with submit_rig(
            tmp_path, sim=FILLS_AT_NATURAL, order_ttl_s=0.2, max_reprices=3, reprice_step_ticks=20
        ) as rig:
            before = await broker_book(rig.broker)
            outcome, logs = await settled_cycle(rig)
            assert outcome.result is not None and outcome.result.adjustments
            orders = journal_orders(rig.journal)
            fills = journal_fills(journal_path(tmp_path))
            for adj in outcome.result.adjustments:
                tick = adjustment_tick(outcome, adj.id)
                natural = round_to_tick(adj.natural_price_usd, tick, RoundMode.UP)
                assert adj.limit_price_usd < natural  # it rested first
                row = orders[adj.id]
                assert row["status"] == "FILLED" and row["filled_qty"] == adj.quantity
                assert row["limit_usd"] == pytest.approx(natural)
                assert [f["price_usd"] for f in fills if f["order_ref"] == adj.id] == [
                    pytest.approx(natural)
                ]
            assert len(log_events(logs, "order_repriced")) == len(outcome.result.adjustments)
            moved = (await broker_book(rig.broker)).copy()
            moved.subtract(before)
            assert +moved == +expected_moves(outcome)

    asyncio.run(body())


def test_an_unconfirmed_cancel_is_never_repriced_into_a_second_order(tmp_path: Path) -> None:
    """A cancel the broker never confirms stops the re-pricing: one order per id, not two."""

    async def deaf(order_id: int) -> None:  # the request is lost on the way
        return None

    async def body() -> None:
        async with submit_rig(
            tmp_path, sim=FILLS_AT_NATURAL, order_ttl_s=0.2, max_reprices=3, cancel_confirm_s=0.2
        ) as rig:
            rig.broker.cancel = deaf  # type: ignore[method-assign]
            outcome, logs = await settled_cycle(rig, timeout_s=5)
            sent = sorted(e.adjustment_id for e in outcome.executions)
            assert sent
            working = await rig.broker.open_orders()
            assert sorted(s.order_ref for s in working) == sent  # one order each, still there
            unconfirmed = log_events(logs, "order_cancel_unconfirmed")
            assert sorted(e["order_ref"] for e in unconfirmed) == sent
            assert {e["waited_s"] for e in unconfirmed} == {0.2}  # the configured wait
            assert log_events(logs, "order_repriced") == []
            # Still open in the journal, so the next start reconciles it.
            assert sorted(r["order_ref"] for r in rig.journal.open_orders()) == sent

    asyncio.run(body())


def test_a_rejected_order_is_journalled_with_the_reason(tmp_path: Path) -> None:
    """The broker refuses the order: REJECTED with its reason, and the alert says so."""

    async def body() -> None:
        async with submit_rig(tmp_path) as rig:
            rig.broker.set_faults(reject_all_orders=True)
            with capture_logs() as logs:
                outcome = await rig.cycle()
            assert outcome.executions
            assert {e.outcome for e in outcome.executions} == {"rejected"}
            for row in journal_orders(rig.journal).values():
                assert row["status"] == "REJECTED" and "reject_all_orders" in row["reason"]
            assert len(log_events(logs, "order_rejected")) == len(outcome.executions)

    asyncio.run(body())
