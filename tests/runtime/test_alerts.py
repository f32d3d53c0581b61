"""Once per decision: new, still proposed, repeated, withdrawn, across a restart; refusals,
failing cycles and a lost connection likewise."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from daemon.core.adjustment import AdjustmentAction
from daemon.core.broker import ConnectionState
from daemon.core.evaluate import CycleStatus
from daemon.core.proposal import ProposalStatus
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.notify import Fanout
from daemon.runtime.notify.params import AlertParams
from tests.core.factories import vix_option
from tests.runtime.alert_factories import (
    BUY,
    JAN,
    KINDS,
    SELL,
    T0,
    VIX_OPEN,
    Recorder,
    adjustment,
    result,
)
from tests.runtime.engine_rig import log_alerts, open_rig

OPEN, OPEN_LINE = KINDS["open"]
ADD, ADD_LINE = KINDS["add"]


def _alerts(journal: SqliteJournal, **params: Any) -> tuple[DecisionAlerts, Recorder]:
    sink = Recorder()
    return DecisionAlerts(journal, Fanout([sink]), AlertParams.model_validate(params)), sink


def _min(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_a_decision_is_alerted_once_then_counted_at_debug(tmp_path: Path) -> None:
    """Three cycles proposing the same two adjustments: two alerts, then debug counts 2, 3."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    with capture_logs() as logs:
        for n in range(3):
            alerts.proposals(result(T0 + _min(5 * n), (OPEN, ADD)))
    assert sink.events() == ["adjustment_proposed"] * 2
    assert [n.line for n in sink.got] == [OPEN_LINE, ADD_LINE]
    still = [e for e in logs if e["event"] == "adjustment_still_proposed"]
    assert [(e["adjustment_id"], e["count"], e["log_level"]) for e in still] == [
        (OPEN.id, 2, "debug"),
        (ADD.id, 2, "debug"),
        (OPEN.id, 3, "debug"),
        (ADD.id, 3, "debug"),
    ]


def test_a_proposal_that_disappears_is_withdrawn(tmp_path: Path) -> None:
    """ADD gone from the second cycle, OPEN from the third: each withdrawn once, by its line."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    alerts.proposals(result(T0, (OPEN, ADD)))
    alerts.proposals(result(T0 + _min(5), (OPEN,)))
    alerts.proposals(result(T0 + _min(10), ()))
    alerts.proposals(result(T0 + _min(15), ()))
    assert sink.events()[2:] == ["adjustment_withdrawn"] * 2
    assert [n.line for n in sink.got[2:]] == [f"WITHDRAWN {ADD_LINE}", f"WITHDRAWN {OPEN_LINE}"]
    assert sink.got[3].fields["cycles_seen"] == 2


def test_a_cycle_that_could_not_decide_withdraws_nothing(tmp_path: Path) -> None:
    """Bad data or too few signals propose nothing, and that silence withdraws nothing."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    alerts.proposals(result(T0, (OPEN,)))
    alerts.proposals(result(T0 + _min(5), (), status=CycleStatus.DATA_INVALID))
    alerts.proposals(result(T0 + _min(10), (), proposal_status=ProposalStatus.INSUFFICIENT_DATA))
    alerts.proposals(result(T0 + _min(15), (OPEN,)))
    assert sink.events() == ["adjustment_proposed"]


def test_an_unchanged_proposal_is_realerted_after_the_repeat_interval(tmp_path: Path) -> None:
    """repeat_after_min=30: alerted at 0, again at 30 and 60 (saying since when), not between."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"), repeat_after_min=30)
    for minute in (0, 10, 29, 30, 45, 59, 60):
        alerts.proposals(result(T0 + _min(minute), (OPEN,)))
    assert [n.at - T0 for n in sink.got] == [_min(0), _min(30), _min(60)]
    again = f"{OPEN_LINE}  (proposed since 24-Nov 10:05 ET)"
    assert [n.line for n in sink.got] == [OPEN_LINE, again, again]
    assert [n.fields.get("repeat", False) for n in sink.got] == [False, True, True]


def test_what_was_alerted_survives_a_restart(tmp_path: Path) -> None:
    """A new daemon on the same journal neither re-alerts OPEN nor forgets to withdraw it."""
    path = tmp_path / "j.sqlite"
    first_journal = SqliteJournal.open(path)
    first, first_sink = _alerts(first_journal)
    first.proposals(result(T0, (OPEN,)))
    first_journal.close()
    second, sink = _alerts(SqliteJournal.open(path))
    second.proposals(result(T0 + _min(5), (OPEN,)))
    assert sink.events() == []
    second.proposals(result(T0 + _min(10), ()))
    assert [n.line for n in sink.got] == [f"WITHDRAWN {OPEN_LINE}"]
    assert first_sink.events() == ["adjustment_proposed"]


def test_the_next_days_id_and_a_small_size_change_are_the_same_decision(
    tmp_path: Path,
) -> None:
    """Ids carry the trading day, the decision does not; 15 -> 16 (7 %, under the 25 %
    band) is not alerted, 15 -> 19 (27 %) is, saying what it was, then 19 -> 14 (26 %)."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"), repeat_after_min=2 * 1440)
    tomorrow = adjustment(AdjustmentAction.OPEN, 15, VIX_OPEN, 0.5, 0.49, "cover", 1.5, adj_id="d2")
    alerts.proposals(result(T0, (OPEN,)))
    alerts.proposals(result(T0 + timedelta(days=1), (tomorrow,)))
    for minutes, quantity in ((5, 16), (10, 19), (15, 14)):
        grown = adjustment(AdjustmentAction.OPEN, quantity, VIX_OPEN, 0.5, 0.49, "cover", 1.5)
        alerts.proposals(result(T0 + timedelta(days=1, minutes=minutes), (grown,)))
    assert sink.events() == ["adjustment_proposed"] * 3
    assert sink.got[1].line.startswith("OPEN 19 x VIX") and sink.got[1].line.endswith("(was 15)")
    assert sink.got[2].line.startswith("OPEN 14 x VIX") and sink.got[2].line.endswith("(was 19)")


def test_a_move_to_a_neighbouring_strike_is_the_same_decision(tmp_path: Path) -> None:
    """OPEN 22/31 then 21/30 in the same expiry (the optimiser's near-ties): no new alert,
    a debug line with the current strikes; withdrawn once, by the strikes last seen."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    moved = adjustment(
        AdjustmentAction.OPEN,
        14,
        ((BUY, vix_option(21, expiry=JAN)), (SELL, vix_option(30, expiry=JAN))),
        0.6,
        0.58,
        "cover",
        1.48,
    )
    alerts.proposals(result(T0, (OPEN,)))
    with capture_logs() as logs:
        alerts.proposals(result(T0 + _min(5), (moved,)))
    alerts.proposals(result(T0 + _min(10), (OPEN,)))
    alerts.proposals(result(T0 + _min(15), (moved,)))
    alerts.proposals(result(T0 + _min(20), ()))
    assert sink.events() == ["adjustment_proposed", "adjustment_withdrawn"]
    (still,) = [e for e in logs if e["event"] == "adjustment_still_proposed"]
    assert still["line"].startswith("OPEN 14 x VIX 20-Jan-27 21/30 call spread")
    assert sink.got[1].line.startswith("WITHDRAWN OPEN 14 x VIX 20-Jan-27 21/30")


def test_a_repeated_refusal_is_alerted_once_per_guard_set(tmp_path: Path) -> None:
    """Submit mode: the same guards refusing each cycle alert once; another guard set anew."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    quiet = ["quiet_period: 5 min after the open"]
    alerts.refusals([(OPEN, quiet)], T0)
    alerts.refusals([(OPEN, quiet)], T0 + _min(5))
    alerts.refusals([(OPEN, ["max_orders_per_day: 10 sent"])], T0 + _min(10))
    assert sink.events() == ["order_refused"] * 2
    assert sink.got[0].line == f"REFUSED {OPEN_LINE}  [{quiet[0]}]"


def test_failing_cycles_alert_once_then_say_they_recovered(tmp_path: Path) -> None:
    """Three skipped cycles: one cycles_failing; the next good one: cycles_recovered (3)."""
    alerts, sink = _alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    for n in range(3):
        alerts.cycle(
            skipped=True, reason="BrokerDisconnected: lost", now=T0 + _min(n), cycle_id="c"
        )
    alerts.cycle(skipped=False, reason="", now=T0 + _min(3), cycle_id="c")
    alerts.cycle(skipped=False, reason="", now=T0 + _min(4), cycle_id="c")
    assert sink.events() == ["cycles_failing", "cycles_recovered"]
    assert sink.got[0].level == "error"
    assert sink.got[1].fields["failed_cycles"] == 3


def test_a_lost_connection_is_alerted_after_the_configured_minutes(tmp_path: Path) -> None:
    """Not before the first connection; after 10 min down, once; then the reconnection."""
    alerts, sink = _alerts(
        SqliteJournal.open(tmp_path / "j.sqlite"), broker_disconnected_after_min=10
    )
    down, up = ConnectionState.DISCONNECTED, ConnectionState.CONNECTED
    alerts.connection(down, T0 - _min(60))  # before the first connection: nothing lost
    alerts.connection(up, T0)
    for minute in (1, 5, 10.9):
        alerts.connection(down, T0 + _min(minute))
    assert sink.events() == []
    alerts.connection(down, T0 + _min(11))
    alerts.connection(down, T0 + _min(20))
    alerts.connection(up, T0 + _min(21))
    assert sink.events() == ["broker_disconnected", "broker_connection_restored"]
    assert sink.got[0].line == "BROKER DISCONNECTED since 24-Nov 10:06 ET"
    assert sink.got[1].fields["down_min"] == 20


def test_the_engine_alerts_once_across_cycles_and_a_restart(tmp_path: Path) -> None:
    """On the simulated market, its clock held still so the market does not move: the first
    cycle alerts each proposal; the second cycle and a restarted daemon's first cycle
    alert none of them again."""

    async def body() -> None:
        path = tmp_path / "j.sqlite"
        rig = await open_rig(path)
        with capture_logs() as logs:
            first = await rig.cycle()
            second = await rig.cycle()
        assert first.result is not None and first.result.adjustments
        ids = [a.id for a in first.result.adjustments]
        assert second.result is not None and [a.id for a in second.result.adjustments] == ids
        proposed = [e["adjustment_id"] for e in logs if e["event"] == "adjustment_proposed"]
        assert proposed == ids
        await rig.executor.shutdown()
        rig.journal.end_run(rig.run_id, now=rig.clock.now(), reason="test")
        rig.journal.close()
        again = await open_rig(path, broker=rig.broker, run_id="run-b")
        try:
            with capture_logs() as logs:
                third = await again.cycle()
            assert third.result is not None and [a.id for a in third.result.adjustments] == ids
            events = [e["event"] for e in logs]
            assert "adjustment_proposed" not in events
            assert events.count("adjustment_still_proposed") == len(ids)
        finally:
            await again.close()

    asyncio.run(body())


def test_the_rig_helper_builds_log_only_alerts(tmp_path: Path) -> None:
    """The rig's alerts tell the log alone, with the settings a test overrides."""
    alerts = log_alerts(SqliteJournal.open(tmp_path / "j.sqlite"), repeat_after_min=7)
    assert alerts.notifier.sink_names == ("log",)
    with capture_logs() as logs:
        alerts.proposals(result(T0, (OPEN,)))
    assert [(e["event"], e["line"]) for e in logs] == [("adjustment_proposed", OPEN_LINE)]
