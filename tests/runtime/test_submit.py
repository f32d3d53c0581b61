"""Submit mode against the simulated broker: fills, guards, TTL and re-pricing, recovery.

Oracles: the sim's order book and positions (what the broker holds after the orders), the
journal read back, including its ``fills`` table through a separate SQLite connection,
the captured log lines, and hand arithmetic on the combo tick grid (a re-price moves the
limit ``reprice_step_ticks`` x tick toward the natural price, never past it).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from collections.abc import MutableMapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.brokers.sim import SimBroker
from daemon.core.broker import ComboOrder, OrderState
from daemon.core.calendar import NY
from daemon.core.models import Action
from daemon.core.ticks import RoundMode, combo_tick, round_to_tick
from daemon.runtime import follow
from daemon.runtime.engine import CycleOutcome
from daemon.runtime.guards import GuardCode
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.submit import SubmitExecutor
from tests.runtime.engine_rig import (
    CONFIG,
    START,
    execution_params,
    open_rig,
    sim_params,
    submit_executor,
)

# Fills: 1.0 = any limit at or above the combo's mid fills on arrival; 0.0 = only a
# limit at the natural price fills, so a proposal (mid + a tick) rests.
FILLS_AT_MID = sim_params(orders={"price_improvement_frac": 1.0})
FILLS_AT_NATURAL = sim_params(orders={"price_improvement_frac": 0.0})


def _events(logs: Sequence[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def _fills(path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM fills ORDER BY fill_id")]


def _orders(journal: SqliteJournal) -> dict[str, dict[str, Any]]:
    return {row["order_ref"]: row for row in journal.recent_orders(limit=1000)}


async def _book(broker: SimBroker) -> Counter[str]:
    return Counter({p.contract.key: p.quantity for p in await broker.positions()})


def _expected_moves(outcome: CycleOutcome) -> Counter[str]:
    """Contracts each adjustment moves when filled in full: ratio x quantity per leg."""
    assert outcome.result is not None
    moves: Counter[str] = Counter()
    for adj in outcome.result.adjustments:
        for leg in adj.legs:
            sign = 1 if leg.action is Action.BUY else -1
            moves[leg.contract.key] += sign * leg.ratio * adj.quantity
    return moves


def _tick(outcome: CycleOutcome, ref: str) -> float:
    assert outcome.result is not None
    adj = next(a for a in outcome.result.adjustments if a.id == ref)
    return combo_tick(adj.legs[0].contract.symbol, CONFIG.ticks)


def test_a_marketable_order_fills_and_the_fill_is_journalled(tmp_path: Path) -> None:
    """An order that fills on arrival: its fill, quantity and price reach the journal."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        executor = submit_executor(execution_params(tmp_path))
        rig = await open_rig(path, sim=FILLS_AT_MID, executor=executor)
        try:
            before = await _book(rig.broker)
            with capture_logs() as logs:
                outcome = await rig.cycle()
                assert isinstance(rig.executor, SubmitExecutor)
                await rig.executor.wait()
            assert outcome.result is not None and outcome.result.adjustments
            assert [e.outcome for e in outcome.executions] == ["submitted"] * len(
                outcome.result.adjustments
            )
            after = await _book(rig.broker)
            moved = after.copy()
            moved.subtract(before)
            assert +moved == +_expected_moves(outcome)
            orders = _orders(rig.journal)
            fills = _fills(path)
            for adj in outcome.result.adjustments:
                row = orders[adj.id]
                assert row["status"] == "FILLED" and row["filled_qty"] == adj.quantity
                mine = [f for f in fills if f["order_ref"] == adj.id]
                assert sum(f["quantity"] for f in mine) == adj.quantity
                assert all(f["price_usd"] <= adj.limit_price_usd + 1e-9 for f in mine)
                paid = sum(f["quantity"] * f["price_usd"] for f in mine) / adj.quantity
                assert row["avg_fill_usd"] == pytest.approx(paid)
            assert {e["order_ref"] for e in _events(logs, "order_filled")} == set(orders)
            assert await rig.broker.open_orders() == []
        finally:
            await rig.close()

    asyncio.run(body())


def _refused_codes(journal: SqliteJournal) -> dict[str, list[str]]:
    out = {}
    for event in journal.events(kind="order_refused"):
        detail = json.loads(event["detail_json"])
        out[detail["adjustment_id"]] = [g.split(":")[0] for g in detail["guards"]]
    return out


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
    path = tmp_path / "j.sqlite"
    if kill:
        (tmp_path / "KILL").touch()

    async def body() -> None:
        executor = submit_executor(execution_params(tmp_path, **limits))
        rig = await open_rig(path, start=start, sim=sim_params(**sim), executor=executor)
        try:
            before = await _book(rig.broker)
            with capture_logs() as logs:
                outcome = await rig.cycle()
            assert outcome.result is not None and outcome.result.adjustments, outcome.reason
            ids = {a.id for a in outcome.result.adjustments}
            assert {e.adjustment_id for e in outcome.executions if e.outcome == "refused"} == ids
            refused = _refused_codes(rig.journal)
            assert set(refused) == ids
            assert all(code.value in codes for codes in refused.values())
            assert {e["adjustment_id"] for e in _events(logs, "order_refused")} == ids
            assert rig.journal.recent_orders() == []
            assert await rig.broker.open_orders() == []
            assert await _book(rig.broker) == before
        finally:
            await rig.close()

    asyncio.run(body())


def test_the_contracts_cap_refuses_only_the_orders_above_it(tmp_path: Path) -> None:
    """max_contracts_per_order refuses exactly the adjustments larger than the cap."""

    async def body() -> None:
        executor = submit_executor(execution_params(tmp_path, max_contracts_per_order=1))
        rig = await open_rig(tmp_path / "j.sqlite", sim=FILLS_AT_MID, executor=executor)
        try:
            outcome = await rig.cycle()
            assert outcome.result is not None
            sizes = {a.id: a.quantity for a in outcome.result.adjustments}
            assert any(q > 1 for q in sizes.values()) and any(q == 1 for q in sizes.values())
            verdicts = {e.adjustment_id: e.outcome for e in outcome.executions}
            assert verdicts == {
                ref: "refused" if q > 1 else "submitted" for ref, q in sizes.items()
            }
            refused = _refused_codes(rig.journal)
            assert all(GuardCode.MAX_CONTRACTS_PER_ORDER.value in c for c in refused.values())
        finally:
            await rig.close()

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
        params = execution_params(tmp_path, allow_live=allow_live)
        executor = submit_executor(params, env={"ALVH_CONFIRM_LIVE": confirm})
        sim = sim_params(account={"live_looking": True, "number": "1234567"})
        rig = await open_rig(tmp_path / "j.sqlite", sim=sim, executor=executor)
        try:
            outcome = await rig.cycle()
            assert outcome.executions
            expected = "submitted" if sent else "refused"
            assert {e.outcome for e in outcome.executions} == {expected}
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_resting_order_is_repriced_then_cancelled(tmp_path: Path) -> None:
    """Unfilled past its TTL: one tick toward the natural, then, out of re-prices, cancelled."""

    async def body() -> None:
        params = execution_params(tmp_path, order_ttl_s=0.2, max_reprices=1, reprice_step_ticks=1)
        rig = await open_rig(
            tmp_path / "j.sqlite", sim=FILLS_AT_NATURAL, executor=submit_executor(params)
        )
        try:
            before = await _book(rig.broker)
            with capture_logs() as logs:
                outcome = await rig.cycle()
                assert isinstance(rig.executor, SubmitExecutor)
                await rig.executor.wait()
            assert outcome.result is not None and outcome.result.adjustments
            orders = _orders(rig.journal)
            for adj in outcome.result.adjustments:
                tick = _tick(outcome, adj.id)
                # The precondition of the story: a tick up still rests below the natural.
                assert adj.limit_price_usd + tick < adj.natural_price_usd - 1e-9
                row = orders[adj.id]
                assert row["status"] == "CANCELLED" and row["filled_qty"] == 0
                assert row["limit_usd"] == pytest.approx(adj.limit_price_usd + tick)
            ids = sorted(a.id for a in outcome.result.adjustments)
            assert sorted(e["order_ref"] for e in _events(logs, "order_repriced")) == ids
            assert sorted(e["order_ref"] for e in _events(logs, "order_expired")) == ids
            assert await rig.broker.open_orders() == []
            assert await _book(rig.broker) == before
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_reprice_that_reaches_the_natural_fills(tmp_path: Path) -> None:
    """A big re-price step is capped at the natural price, where the order fills."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        params = execution_params(tmp_path, order_ttl_s=0.2, max_reprices=3, reprice_step_ticks=20)
        rig = await open_rig(path, sim=FILLS_AT_NATURAL, executor=submit_executor(params))
        try:
            before = await _book(rig.broker)
            with capture_logs() as logs:
                outcome = await rig.cycle()
                assert isinstance(rig.executor, SubmitExecutor)
                await rig.executor.wait()
            assert outcome.result is not None and outcome.result.adjustments
            orders = _orders(rig.journal)
            fills = _fills(path)
            for adj in outcome.result.adjustments:
                natural = round_to_tick(adj.natural_price_usd, _tick(outcome, adj.id), RoundMode.UP)
                assert adj.limit_price_usd < natural  # it rested first
                row = orders[adj.id]
                assert row["status"] == "FILLED" and row["filled_qty"] == adj.quantity
                assert row["limit_usd"] == pytest.approx(natural)
                assert [f["price_usd"] for f in fills if f["order_ref"] == adj.id] == [
                    pytest.approx(natural)
                ]
            assert len(_events(logs, "order_repriced")) == len(outcome.result.adjustments)
            moved = (await _book(rig.broker)).copy()
            moved.subtract(before)
            assert +moved == +_expected_moves(outcome)
        finally:
            await rig.close()

    asyncio.run(body())


def test_an_unconfirmed_cancel_is_never_repriced_into_a_second_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel the broker never confirms stops the re-pricing: one order per id, not two."""
    monkeypatch.setattr(follow, "CANCEL_CONFIRM_S", 0.2)

    async def body() -> None:
        params = execution_params(tmp_path, order_ttl_s=0.2, max_reprices=3)
        rig = await open_rig(
            tmp_path / "j.sqlite", sim=FILLS_AT_NATURAL, executor=submit_executor(params)
        )

        async def deaf(order_id: int) -> None:  # the request is lost on the way
            return None

        rig.broker.cancel = deaf  # type: ignore[method-assign]
        try:
            with capture_logs() as logs:
                outcome = await rig.cycle()
                assert isinstance(rig.executor, SubmitExecutor)
                await asyncio.wait_for(rig.executor.wait(), 5)
            sent = sorted(e.adjustment_id for e in outcome.executions)
            assert sent
            working = await rig.broker.open_orders()
            assert sorted(s.order_ref for s in working) == sent  # one order each, still there
            unconfirmed = _events(logs, "order_cancel_unconfirmed")
            assert sorted(e["order_ref"] for e in unconfirmed) == sent
            assert _events(logs, "order_repriced") == []
            # Still open in the journal, so the next start reconciles it.
            assert sorted(r["order_ref"] for r in rig.journal.open_orders()) == sent
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_working_order_is_not_sent_twice_by_later_cycles(tmp_path: Path) -> None:
    """While an order works, later cycles send nothing for its id or legs: one order each."""

    async def body() -> None:
        params = execution_params(tmp_path, order_ttl_s=600.0)
        rig = await open_rig(
            tmp_path / "j.sqlite", sim=FILLS_AT_NATURAL, executor=submit_executor(params)
        )
        try:
            first = await rig.cycle()
            again = await rig.cycle()  # the same market: the same proposal
            working = await rig.broker.open_orders()
            sent = [e.adjustment_id for e in first.executions if e.outcome == "submitted"]
            assert sent and sorted(s.order_ref for s in working) == sorted(sent)
            assert again.executions
            for e in again.executions:
                assert e.outcome == "refused"
                assert "duplicate" in e.detail or "legs_busy" in e.detail
        finally:
            await rig.close()

    asyncio.run(body())


async def _left_working(tmp_path: Path, path: Path) -> tuple[SimBroker, list[OrderState]]:
    """A first run sends orders that rest, then stops with them working at the broker."""
    params = execution_params(tmp_path, order_ttl_s=600.0)
    rig = await open_rig(path, sim=FILLS_AT_NATURAL, executor=submit_executor(params))
    outcome = await rig.cycle()
    assert {e.outcome for e in outcome.executions} == {"submitted"}
    with capture_logs() as logs:
        await rig.executor.shutdown()
    working = await rig.broker.open_orders()
    assert sorted(e["order_ref"] for e in _events(logs, "order_left_working")) == sorted(
        s.order_ref for s in working
    )
    rig.journal.close()  # the daemon is gone; the broker (the gateway) stays up
    return rig.broker, working


def test_restart_recovers_a_working_order_follows_it_and_sends_no_duplicate(
    tmp_path: Path,
) -> None:
    """On start an order still working is followed again; cycles send nothing twice."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        broker, working = await _left_working(tmp_path, path)
        params = execution_params(tmp_path, order_ttl_s=600.0)
        with capture_logs() as logs:
            rig = await open_rig(path, broker=broker, executor=submit_executor(params), run_id="b")
        try:
            refs = sorted(s.order_ref for s in working)
            assert sorted(e["order_ref"] for e in _events(logs, "order_recovered")) == refs
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
            assert {_orders(rig.journal)[ref]["status"] for ref in refs} == {"CANCELLED"}
        finally:
            await rig.close()

    asyncio.run(body())


def test_an_order_that_ended_while_down_is_closed_in_the_journal(tmp_path: Path) -> None:
    """An order the broker no longer lists at start ended while the daemon was down."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        broker, working = await _left_working(tmp_path, path)
        try:
            for state in working:  # cancelled by hand while the daemon was down
                await broker.cancel(state.order_id)
            journal = SqliteJournal.open(path)
            params = execution_params(tmp_path)
            executor = SubmitExecutor(broker, journal, params, CONFIG.ticks, broker.clock, env={})
            with capture_logs() as logs:
                await executor.start()
            refs = sorted(s.order_ref for s in working)
            reconciled = _events(logs, "order_reconciled")
            assert sorted(e["order_ref"] for e in reconciled) == refs
            assert {e["status"] for e in reconciled} == {"ENDED_UNSEEN"}
            assert {_orders(journal)[ref]["status"] for ref in refs} == {"ENDED_UNSEEN"}
            assert journal.open_orders() == []
            journal.close()
        finally:
            await broker.close()

    asyncio.run(body())


def test_after_a_restart_no_adjustment_id_is_sent_again(tmp_path: Path) -> None:
    """A restarted daemon (new process, new broker session) refuses the ids it journalled."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        params = execution_params(tmp_path)
        first = await open_rig(
            path, sim=FILLS_AT_MID, executor=submit_executor(params), run_id="run-a"
        )
        try:
            sent = await first.cycle()
            assert isinstance(first.executor, SubmitExecutor)
            await first.executor.wait()
        finally:
            await first.close()
        journalled = set(_orders(SqliteJournal.open(path)))
        # The same seed and market time: the restarted run proposes the same adjustments.
        second = await open_rig(
            path, sim=FILLS_AT_MID, executor=submit_executor(params), run_id="run-b"
        )
        try:
            again = await second.cycle()
            assert again.result is not None and sent.result is not None
            ids = {a.id for a in again.result.adjustments}
            assert ids and ids <= journalled
            assert {e.outcome for e in again.executions} == {"refused"}
            refused = _refused_codes(second.journal)
            assert all(GuardCode.DUPLICATE.value in refused[ref] for ref in ids)
            assert await second.broker.open_orders() == []
            assert len(_orders(second.journal)) == len(journalled)
        finally:
            await second.close()

    asyncio.run(body())


def test_a_placement_lost_to_a_disconnect_is_unknown_and_never_resent(tmp_path: Path) -> None:
    """Connection lost while placing: journalled UNKNOWN, never resent, settled next cycle."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        rig = await open_rig(
            path, sim=FILLS_AT_MID, executor=submit_executor(execution_params(tmp_path))
        )
        real = rig.broker.place_combo

        async def dropping(order: ComboOrder) -> OrderState:
            rig.broker.place_combo = real  # type: ignore[method-assign]
            rig.broker.set_faults(drop_connection=True)
            return await real(order)

        rig.broker.place_combo = dropping  # type: ignore[method-assign]
        try:
            with capture_logs() as logs:
                lost = await rig.cycle()
            assert lost.result is not None and len(lost.result.adjustments) >= 2
            first = lost.result.adjustments[0].id
            # The first is in doubt; the cycle sends nothing after it.
            assert [(e.adjustment_id, e.outcome) for e in lost.executions] == [(first, "unknown")]
            assert _orders(rig.journal)[first]["status"] == "UNKNOWN"
            assert [e["adjustment_id"] for e in _events(logs, "order_fate_unknown")] == [first]
            retry = await rig.cycle()  # reconnects; the same id must not go out again
            assert retry.result is not None
            assert all(e.outcome == "refused" for e in retry.executions if e.adjustment_id == first)
            assert first not in {s.order_ref for s in await rig.broker.open_orders()}
            # Settled at the very next cycle, not left in doubt until a restart: the broker
            # does not list it, so it ended unseen (here: it never arrived).
            assert _orders(rig.journal)[first]["status"] == "ENDED_UNSEEN"
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_rejected_order_is_journalled_with_the_reason(tmp_path: Path) -> None:
    """The broker refuses the order: REJECTED with its reason, and the alert says so."""

    async def body() -> None:
        rig = await open_rig(
            tmp_path / "j.sqlite", executor=submit_executor(execution_params(tmp_path))
        )
        try:
            rig.broker.set_faults(reject_all_orders=True)
            with capture_logs() as logs:
                outcome = await rig.cycle()
            assert outcome.executions
            assert {e.outcome for e in outcome.executions} == {"rejected"}
            for row in _orders(rig.journal).values():
                assert row["status"] == "REJECTED" and "reject_all_orders" in row["reason"]
            assert len(_events(logs, "order_rejected")) == len(outcome.executions)
        finally:
            await rig.close()

    asyncio.run(body())
