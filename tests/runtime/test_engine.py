"""The engine's cycle against the simulated broker on a manual clock, with a temp journal.

Oracles: the journal read back (one row per cycle, whatever happened), the captured log
lines (``structlog.testing.capture_logs``), the sim's own order book and positions (a
propose-mode cycle must leave them untouched), and, for the faults, the knob turned on:
each fault names the data problem or the broker error the cycle must give as its reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from daemon.brokers.sim import SimBroker, SimClock
from daemon.core.evaluate import CycleResult
from daemon.core.market import DataProblemCode
from daemon.core.models import Contract, OptionQuote
from daemon.runtime.engine import SKIPPED
from daemon.runtime.executors import Execution, Executor, ProposeExecutor
from daemon.runtime.journal import SqliteJournal
from tests.runtime.engine_rig import START, cycle_rows, log_alerts, open_rig, sim_params


def _events(logs: Sequence[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def test_a_cycle_is_journalled_and_each_adjustment_alerted(tmp_path: Path) -> None:
    """One propose cycle: journalled once, every adjustment alerted and journalled, nothing sent."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite")
        try:
            before = await rig.broker.positions()
            with capture_logs(processors=[merge_contextvars]) as logs:
                outcome = await rig.cycle()
            after = await rig.broker.positions()
            assert outcome.status == "ok", outcome.reason
            assert outcome.result is not None and outcome.result.adjustments
            ids = [a.id for a in outcome.result.adjustments]
            # The alerts: one per adjustment, each with the fields a trader acts on.
            alerts = _events(logs, "adjustment_proposed")
            assert [a["adjustment_id"] for a in alerts] == ids
            assert all(a["legs"] and a["quantity"] > 0 and a["limit_usd"] for a in alerts)
            # Every line of the cycle carries its id; exactly one summary closes it.
            assert {entry.get("cycle_id") for entry in logs} == {outcome.cycle_id}
            assert len(_events(logs, "cycle_summary")) == 1
            # The journal: the cycle with its scalar, and the adjustments it proposed.
            (row,) = cycle_rows(rig.journal)
            assert row["cycle_id"] == outcome.cycle_id and row["status"] == "ok"
            assert outcome.result.scalar is not None
            assert row["scalar"] == outcome.result.scalar.value
            journalled = rig.journal.recent_adjustments()
            assert sorted(a["adjustment_id"] for a in journalled) == sorted(ids)
            assert all(e.outcome == "proposed" for e in outcome.executions)
            # Propose mode sends nothing: no order at the broker, the book unchanged.
            assert await rig.broker.open_orders() == []
            assert after == before
            assert rig.journal.recent_orders() == []
        finally:
            await rig.close()

    asyncio.run(body())


def test_restart_resumes_the_scalar_from_the_journal(tmp_path: Path) -> None:
    """Cycles carry the scalar forward, and a new engine resumes it from the journal."""
    path = tmp_path / "j.sqlite"

    async def body() -> None:
        first = await open_rig(path, run_id="run-a")
        try:
            earlier = await first.cycle()
            last = await first.cycle(advance_min=5)
            moved_to = first.clock.now()
        finally:
            await first.close()
        # Within a run: cycles start at the clock's times, each smoothing from the last.
        reader = SqliteJournal.open(path)
        started = [r["started_at"] for r in cycle_rows(reader)]
        reader.close()
        assert started == [START.isoformat(), moved_to.isoformat()]
        assert (moved_to - START).total_seconds() == 300
        assert earlier.result is not None and earlier.result.scalar is not None
        assert last.result is not None and last.result.scalar is not None
        assert earlier.result.scalar.previous_value is None
        assert last.result.scalar.previous_value == earlier.result.scalar.value
        with capture_logs() as logs:
            second = await open_rig(path, start=moved_to, run_id="run-b")
        try:
            assert second.engine.state is not None
            assert second.engine.state.value == last.result.scalar.value
            (recovered,) = _events(logs, "scalar_state_recovered")
            assert recovered["value"] == last.result.scalar.value
            resumed = await second.cycle(advance_min=5)
            assert resumed.result is not None and resumed.result.scalar is not None
            assert resumed.result.scalar.previous_value == last.result.scalar.value
        finally:
            await second.close()

    asyncio.run(body())


def test_an_unreadable_scalar_state_starts_fresh_with_a_warning(tmp_path: Path) -> None:
    """A scalar state the daemon cannot read is reported and ignored, never a crash."""
    path = tmp_path / "j.sqlite"
    journal = SqliteJournal.open(path)
    journal.start_run("run-0", now=START, version="t", host="t", mode="t", broker="sim", config={})
    journal.record_cycle(
        cycle_id="c0",
        run_id="run-0",
        started_at=START,
        finished_at=START,
        trading_day=START.date(),
        status="ok",
        reason="",
        record={},
        scalar_state={"v": 999, "value": 1.0},
    )
    journal.close()

    async def body() -> None:
        with capture_logs() as logs:
            rig = await open_rig(path, run_id="run-1")
        try:
            assert rig.engine.state is None
            assert len(_events(logs, "scalar_state_unreadable")) == 1
            outcome = await rig.cycle()
            assert outcome.result is not None and outcome.result.scalar is not None
            assert outcome.result.scalar.previous_value is None
        finally:
            await rig.close()

    asyncio.run(body())


def _drop_during_option_quotes(broker: SimBroker) -> None:
    """The connection drops after the cycle has read the account, the indices and the
    chains: the option quotes are the first call to find it gone."""
    real = broker.option_quotes

    async def dropping(contracts: Sequence[Contract]) -> list[OptionQuote]:
        broker.option_quotes = real  # type: ignore[method-assign]
        broker.set_faults(drop_connection=True)
        return await real(contracts)

    broker.option_quotes = dropping  # type: ignore[method-assign]


def test_a_disconnect_mid_cycle_skips_that_cycle_and_the_next_reconnects(tmp_path: Path) -> None:
    """Connection lost mid-snapshot: that cycle is skipped with the reason; the next is fine."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite")
        try:
            _drop_during_option_quotes(rig.broker)
            with capture_logs(processors=[merge_contextvars]) as logs:
                lost = await rig.cycle()
                back = await rig.cycle(advance_min=1)
            assert lost.status == SKIPPED
            assert lost.reason.startswith("BrokerDisconnected")
            (skipped,) = _events(logs, "cycle_skipped")
            assert skipped["cycle_id"] == lost.cycle_id and skipped["reason"] == lost.reason
            assert back.status == "ok", back.reason
            reconnect = _events(logs, "broker_connected")
            assert [e["cycle_id"] for e in reconnect] == [back.cycle_id]
            rows = cycle_rows(rig.journal)
            assert [(r["status"], r["reason"]) for r in rows] == [
                (SKIPPED, lost.reason),
                ("ok", back.reason),
            ]
            assert rows[0]["scalar"] is None  # a skipped cycle moves no scalar
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_refused_reconnect_skips_cycles_until_the_gateway_is_back(tmp_path: Path) -> None:
    """While the gateway refuses connections every cycle is skipped, with why; then all is well."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite")
        try:
            rig.broker.set_faults(drop_connection=True, refuse_connect=True)
            dropped = await rig.cycle()
            refused = await rig.cycle(advance_min=1)
            rig.broker.set_faults(refuse_connect=False)
            back = await rig.cycle(advance_min=1)
            assert dropped.status == refused.status == SKIPPED
            assert "drop_connection" in dropped.reason
            assert "refuse_connect" in refused.reason
            assert back.status == "ok", back.reason
            assert [r["status"] for r in cycle_rows(rig.journal)] == [SKIPPED, SKIPPED, "ok"]
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_broker_timeout_skips_the_cycle(tmp_path: Path) -> None:
    """A reply slower than the request timeout skips the cycle as a BrokerTimeout."""

    async def body() -> None:
        sim = sim_params(request_timeout_s=0.05)
        rig = await open_rig(tmp_path / "j.sqlite", sim=sim)
        try:
            rig.broker.set_faults(slow_reply_s=0.05)
            slow = await rig.cycle()
            rig.broker.set_faults(slow_reply_s=0.0)
            back = await rig.cycle(advance_min=1)
            assert slow.status == SKIPPED and slow.reason.startswith("BrokerTimeout")
            assert back.status == "ok", back.reason
        finally:
            await rig.close()

    asyncio.run(body())


def test_a_cycle_over_its_time_budget_is_abandoned(tmp_path: Path) -> None:
    """Replies each in time but a cycle too slow overall: abandoned at the cycle timeout."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite", cycle_timeout_s=0.2)
        try:
            # ~20 broker calls per cycle at 0.05 s each: well over the 0.2 s budget.
            rig.broker.set_faults(slow_reply_s=0.05)
            slow = await rig.cycle()
            rig.broker.set_faults(slow_reply_s=0.0)
            assert slow.status == SKIPPED
            assert slow.reason == "timeout: cycle took over 0.2 s"
            assert cycle_rows(rig.journal)[0]["reason"] == slow.reason
        finally:
            await rig.close()

    asyncio.run(body())


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"stale_quotes_s": 600.0}, DataProblemCode.STALE),  # older than max_quote_age_s
        ({"nan_quote_frac": 1.0}, DataProblemCode.NAN),
        ({"crossed_quote_frac": 1.0}, DataProblemCode.CROSSED),
    ],
)
def test_bad_quotes_give_no_proposal_and_say_why(
    tmp_path: Path, fault: dict[str, Any], code: DataProblemCode
) -> None:
    """Stale, NaN or crossed quotes: no proposal, the problem named in the log and journal."""

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite")
        try:
            good = await rig.cycle()
            saved = rig.journal.scalar_state()
            rig.broker.set_faults(**fault)
            with capture_logs(processors=[merge_contextvars]) as logs:
                bad = await rig.cycle(advance_min=1)
            assert good.status == "ok", good.reason
            assert bad.status == "data_invalid"
            assert code.value in bad.reason
            assert bad.result is not None and bad.result.adjustments == ()
            assert _events(logs, "adjustment_proposed") == []
            (warning,) = _events(logs, "no_proposal")
            assert warning["reason"] == bad.reason and warning["cycle_id"] == bad.cycle_id
            rows = cycle_rows(rig.journal)
            assert (rows[-1]["status"], rows[-1]["reason"]) == ("data_invalid", bad.reason)
            # Bad data moves nothing: the persisted scalar is the good cycle's.
            assert rig.journal.scalar_state() == saved
        finally:
            await rig.close()

    asyncio.run(body())


class _FailingOnce:
    """An executor with a bug that shows once: the engine must outlive it."""

    mode = "propose"

    def __init__(self, journal: SqliteJournal) -> None:
        self._inner = ProposeExecutor(log_alerts(journal))
        self.failed = False

    async def start(self) -> None:
        return None

    async def execute(self, result: CycleResult, cycle_id: str) -> tuple[Execution, ...]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("boom")
        return await self._inner.execute(result, cycle_id)

    async def shutdown(self) -> None:
        return None


def test_an_internal_error_skips_the_cycle_and_the_daemon_lives_on(tmp_path: Path) -> None:
    """A bug in one cycle is logged with its traceback and journalled; the next cycle runs."""

    def failing(_b: SimBroker, journal: SqliteJournal, _c: SimClock) -> Executor:
        return _FailingOnce(journal)

    async def body() -> None:
        rig = await open_rig(tmp_path / "j.sqlite", executor=failing)
        try:
            with capture_logs() as logs:
                broken = await rig.cycle()
                fine = await rig.cycle(advance_min=1)
            assert broken.status == SKIPPED
            assert broken.reason == "internal error: RuntimeError: boom"
            (failed,) = _events(logs, "cycle_failed")
            assert failed["log_level"] == "error" and failed.get("exc_info")
            assert fine.status == "ok", fine.reason
            assert [r["status"] for r in cycle_rows(rig.journal)] == [SKIPPED, "ok"]
        finally:
            await rig.close()

    asyncio.run(body())
