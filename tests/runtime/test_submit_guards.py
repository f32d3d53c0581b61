"""Submit mode against the simulated broker: every guard, through the executor.

Oracles: the sim's order book and positions (nothing reaches the broker past a guard),
the journal's ``order_refused`` events and orders read back, and the captured log lines.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.core.calendar import NY
from daemon.runtime.guards import GuardCode
from tests.runtime.engine_rig import LOOSE_BUDGET, START, sim_params
from tests.runtime.submit_rig import (
    FILLS_AT_MID,
    FILLS_AT_NATURAL,
    broker_book,
    log_events,
    refused_codes,
    submit_rig,
)


@pytest.mark.parametrize(
    ("start", "sim", "limits", "kill", "code"),
    [
        (START, {"account": {"live_looking": True}}, {}, False, GuardCode.LIVE_ACCOUNT),
        (START, {}, {}, True, GuardCode.KILL_SWITCH),
        (START, {}, {"max_orders_per_day": 0}, False, GuardCode.MAX_ORDERS_PER_DAY),
        (START, {}, {"max_debit_per_day_usd": 0.0}, False, GuardCode.MAX_DEBIT_PER_DAY),
        (
            datetime(2026, 11, 24, 9, 35, tzinfo=NY),
            {},
            {"quiet_after_open_min": 15},
            False,
            GuardCode.QUIET_OPEN,
        ),
        (
            datetime(2026, 11, 24, 15, 55, tzinfo=NY),
            {},
            {"quiet_before_close_min": 10},
            False,
            GuardCode.QUIET_CLOSE,
        ),
        (datetime(2026, 11, 24, 17, 0, tzinfo=NY), {}, {}, False, GuardCode.OUTSIDE_SESSION),
    ],
    ids=["live", "kill-switch", "orders-cap", "debit-cap", "quiet-open", "quiet-close", "closed"],
)
def test_each_guard_refuses_through_the_executor(
    tmp_path: Path,
    start: datetime,
    sim: dict[str, Any],
    limits: dict[str, Any],
    kill: bool,
    code: GuardCode,
) -> None:
    """One guard tripped: every adjustment refused with its code, nothing reaches the broker."""
    if kill:
        (tmp_path / "KILL").touch()

    async def body() -> None:
        async with submit_rig(tmp_path, start=start, sim=sim_params(**sim), **limits) as rig:
            before = await broker_book(rig.broker)
            with capture_logs() as logs:
                outcome = await rig.cycle()
            assert outcome.result is not None and outcome.result.adjustments, outcome.reason
            ids = {a.id for a in outcome.result.adjustments}
            assert {e.adjustment_id for e in outcome.executions if e.outcome == "refused"} == ids
            refused = refused_codes(rig.journal)
            assert set(refused) == ids
            assert all(code.value in codes for codes in refused.values())
            assert {e["adjustment_id"] for e in log_events(logs, "order_refused")} == ids
            assert rig.journal.recent_orders() == []
            assert await rig.broker.open_orders() == []
            assert await broker_book(rig.broker) == before

    asyncio.run(body())


def test_the_contracts_cap_refuses_only_the_orders_above_it(tmp_path: Path) -> None:
    """max_contracts_per_order refuses exactly the adjustments larger than the cap."""

    async def body() -> None:
        async with submit_rig(tmp_path, sim=FILLS_AT_MID, max_contracts_per_order=1) as rig:
            outcome = await rig.cycle()
            assert outcome.result is not None
            sizes = {a.id: a.quantity for a in outcome.result.adjustments}
            assert any(q > 1 for q in sizes.values()) and any(q == 1 for q in sizes.values())
            verdicts = {e.adjustment_id: e.outcome for e in outcome.executions}
            assert verdicts == {
                ref: "refused" if q > 1 else "submitted" for ref, q in sizes.items()
            }
            refused = refused_codes(rig.journal)
            assert all(GuardCode.MAX_CONTRACTS_PER_ORDER.value in c for c in refused.values())

    asyncio.run(body())


@pytest.mark.parametrize(
    ("allow_live", "confirm", "sent"),
    [(True, "U1234567", True), (True, "U7654321", False), (False, "U1234567", False)],
    ids=["both-switches", "wrong-account-confirmed", "config-forbids"],
)
def test_a_live_account_needs_both_switches(
    tmp_path: Path, allow_live: bool, confirm: str, sent: bool
) -> None:
    """Live trading needs allow_live AND the environment naming that very account."""

    async def body() -> None:
        sim = sim_params(account={"live_looking": True, "number": "1234567"})
        env = {"ALVH_CONFIRM_LIVE": confirm}
        async with submit_rig(tmp_path, sim=sim, env=env, allow_live=allow_live) as rig:
            outcome = await rig.cycle()
            assert outcome.executions
            expected = "submitted" if sent else "refused"
            assert {e.outcome for e in outcome.executions} == {expected}

    asyncio.run(body())


def test_a_working_order_is_not_sent_twice_by_later_cycles(tmp_path: Path) -> None:
    """While an order works, later cycles send nothing for its id or legs: one order each;
    and the budget counts the working orders, so the next plan only spends what is left."""

    async def body() -> None:
        async with submit_rig(tmp_path, sim=FILLS_AT_NATURAL, order_ttl_s=600.0) as rig:
            first = await rig.cycle()
            again = await rig.cycle()  # the same market, the first orders still working
            working = await rig.broker.open_orders()
            sent = [e.adjustment_id for e in first.executions if e.outcome == "submitted"]
            assert sent and set(sent) <= {s.order_ref for s in working}
            assert len({s.order_ref for s in working}) == len(working)
            assert first.result is not None and again.result is not None
            busy = {leg.contract.key for a in first.result.adjustments for leg in a.legs}
            for adj, e in zip(again.result.adjustments, again.executions, strict=True):
                if adj.id in sent or busy & {leg.contract.key for leg in adj.legs}:
                    assert e.outcome == "refused"
                    assert "duplicate" in e.detail or "legs_busy" in e.detail
            # The working orders count at their limits against the spend window.
            at_limit = sum(
                a.limit_price_usd * a.legs[0].contract.multiplier * a.quantity
                for a in first.result.adjustments
            )
            plan = again.result.plan
            assert plan is not None
            assert plan.spent.window_debit_usd == pytest.approx(at_limit)
            assert at_limit + plan.debit_usd <= plan.budget_total_debit_usd + 1e-6

    asyncio.run(body())


def test_a_working_order_on_neighbouring_strikes_blocks_its_family(tmp_path: Path) -> None:
    """Orders resting at the broker; five minutes later the market has moved and the cycle
    proposes the families again with new ids, at least one on legs no working order
    holds: each is refused as family_busy, and nothing else is ever sent."""

    async def body() -> None:
        # A budget that does not bind, so the later cycle proposes again (the whole-book
        # budget would otherwise count the working orders and propose nothing).
        rig_args = {"sim": FILLS_AT_NATURAL, "order_ttl_s": 3600.0, "model": LOOSE_BUDGET}
        async with submit_rig(tmp_path, **rig_args) as rig:
            first = await rig.cycle()
            sent = {e.adjustment_id for e in first.executions if e.outcome == "submitted"}
            assert first.result is not None and len(sent) == 2
            busy = {leg.contract.key for a in first.result.adjustments for leg in a.legs}
            again = await rig.cycle(advance_min=5)
            assert again.result is not None
            new = [a for a in again.result.adjustments if a.id not in sent]
            assert any(not busy & {leg.contract.key for leg in a.legs} for a in new)
            codes = refused_codes(rig.journal)
            assert all("family_busy" in codes.get(a.id, []) for a in new) and new
            orders = rig.journal.recent_orders(limit=100)
            assert {o["order_ref"] for o in orders} == sent  # nothing else ever went out

    asyncio.run(body())
