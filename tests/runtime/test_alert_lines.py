"""What a person reads: one compact line per alert and per cycle on a terminal, in market
time; the full JSON otherwise; APScheduler's overrun warning as a structured event."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from daemon.core.broker import ComboLeg
from daemon.logs import configure_logging, set_market_clock
from daemon.runtime.alerts import overrun_listener
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.notify.lines import order_line
from tests.runtime.alert_factories import KINDS, T0, VIX_OPEN, result
from tests.runtime.engine_rig import log_alerts


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    set_market_clock(lambda: T0)
    yield
    set_market_clock(None)
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_adjustment_kind_is_one_line_on_a_terminal(kind: str, tmp_path: Path) -> None:
    """open, add, reduce, close, roll: the market-time stamp, then the trader's line."""
    adj, expected = KINDS[kind]
    stream = _Terminal()
    configure_logging("info", "auto", stream)
    log_alerts(SqliteJournal.open(tmp_path / "j.sqlite")).proposals(result(T0, (adj,)))
    assert stream.getvalue() == f"24-Nov 10:05:00  {expected}\n"


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_adjustment_kind_is_full_json_elsewhere(kind: str, tmp_path: Path) -> None:
    """Off a terminal: one JSON object with the line, the whole reason, both clocks."""
    adj, expected = KINDS[kind]
    stream = io.StringIO()
    configure_logging("info", "auto", stream)
    log_alerts(SqliteJournal.open(tmp_path / "j.sqlite")).proposals(result(T0, (adj,)))
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["event"] == "adjustment_proposed" and line["line"] == expected
    assert line["reason"] == adj.reason  # the 300-character detail included
    assert line["market_time"] == "2026-11-24T10:05:00-05:00"
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == UTC.utcoffset(None)


def test_a_cycle_is_one_short_line_on_a_terminal() -> None:
    """cycle_summary reads as figures a trader scans; a skipped cycle says why."""
    stream = _Terminal()
    configure_logging("info", "console", stream)
    log = structlog.get_logger("alvh.engine")
    log.info(
        "cycle_summary",
        status="ok",
        reason="",
        spx=5812.46,
        vix=17.2,
        scalar=1.4812,
        tail_loss_usd=412300.4,
        hedge_payoff_usd=380100.0,
        overlay="optimal",
        adjustments=2,
    )
    log.warning("cycle_summary", status="skipped", reason="BrokerDisconnected: lost", spx=None)
    assert stream.getvalue().splitlines() == [
        "24-Nov 10:05:00  cycle ok  SPX 5812.5  VIX 17.20  scalar 1.48  tail 412,300"
        "  hedge 380,100  2 adj",
        "24-Nov 10:05:00  WARN cycle skipped: BrokerDisconnected: lost",
    ]


def test_other_events_keep_the_console_rendering_in_market_time() -> None:
    """An event without a line is structlog's console line, stamped in market time."""
    stream = _Terminal()
    configure_logging("info", "console", stream)
    structlog.get_logger().info("heartbeat", connection="connected")
    text = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())  # without the colours
    assert text.startswith("24-Nov 10:05:00 [info") and "heartbeat" in text
    assert "connection" in text and "market_time" not in text


def test_an_order_line_names_the_structure_from_its_legs() -> None:
    """A combo order's legs (no adjustment kind) read as the same call spread."""
    legs = [ComboLeg(contract, 1, side) for side, contract in VIX_OPEN]
    assert (
        order_line("FILLED", legs, 15, "avg 0.47")
        == "FILLED 15 x VIX 20-Jan-27 22/31 call spread  avg 0.47"
    )


def test_a_scheduler_overrun_is_a_structured_event_not_its_own_warning(tmp_path: Path) -> None:
    """APScheduler's 'maximum number of running instances' warning is replaced by one
    cycle_overrun JSON line, dispatched by the scheduler to the registered listener."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    scheduler = AsyncIOScheduler(timezone=UTC)
    alerts = log_alerts(SqliteJournal.open(tmp_path / "j.sqlite"))
    scheduler.add_listener(overrun_listener(alerts, lambda: T0), EVENT_JOB_MAX_INSTANCES)
    logging.getLogger("apscheduler.scheduler").warning(
        'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
        "cycle",
        1,
    )
    due = datetime(2026, 11, 24, 15, 10, tzinfo=UTC)
    scheduler._dispatch_event(
        JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "cycle", "default", [due])
    )
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["event"] == "cycle_overrun" and line["level"] == "warning"
    assert line["job"] == "cycle"
    assert line["scheduled_wall_utc"] == ["2026-11-24T15:10:00+00:00"]
    assert line["market_time"] == "2026-11-24T10:05:00-05:00"  # when it was seen
    assert line["line"] == "cycle run skipped: the previous one is still running"
