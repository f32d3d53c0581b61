"""Logging setup: formats, levels, the bound cycle_id, and the masked account id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from structlog.testing import capture_logs

from daemon.logs import configure_logging, mask_secret


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("value", "masked"),
    [("DU1234567", "******567"), ("U1234", "**234"), ("1234", "*234"), ("123", "***"), ("", "")],
)
def test_mask_secret_keeps_last_three(value: str, masked: str) -> None:
    """Only the last three characters survive, and never the whole of a short value."""
    assert mask_secret(value) == masked


def test_json_line_has_timestamp_level_event_logger() -> None:
    """A JSON line carries an ISO UTC timestamp, the level, the event name and the logger."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    before = datetime.now(UTC)
    structlog.get_logger("daemon.test").info("cycle_done", spot=5800.5)
    (line,) = _json_lines(stream)
    stamp = datetime.fromisoformat(str(line["timestamp"]))
    assert stamp.utcoffset() == timedelta(0)
    assert abs((stamp - before).total_seconds()) < 60
    assert {k: line[k] for k in ("level", "event", "logger", "spot")} == {
        "level": "info",
        "event": "cycle_done",
        "logger": "daemon.test",
        "spot": 5800.5,
    }
    assert list(line)[:3] == ["timestamp", "level", "event"]


def test_cycle_id_lands_on_every_line_including_stdlib() -> None:
    """A cycle_id bound in the context is on structlog and standard-library lines alike."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    structlog.contextvars.bind_contextvars(cycle_id="2026-11-24T10:05")
    structlog.get_logger().info("snapshot_taken")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job %s was missed", "cycle")
    lines = _json_lines(stream)
    assert [line["cycle_id"] for line in lines] == ["2026-11-24T10:05"] * 2
    assert lines[1]["event"] == "Run time of job cycle was missed"
    assert lines[1]["level"] == "warning"


def test_account_is_masked_at_any_depth() -> None:
    """account and account_id values are masked, top level and nested, never printed whole."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    structlog.contextvars.bind_contextvars(account="DU7654321")
    structlog.get_logger().info(
        "connected", account_id="U1234567", broker={"account": "DU1234567", "port": 4002}
    )
    (line,) = _json_lines(stream)
    assert line["account"] == "******321"
    assert line["account_id"] == "*****567"
    assert line["broker"] == {"account": "******567", "port": 4002}
    for secret in ("DU7654321", "U1234567", "DU1234567"):
        assert secret not in stream.getvalue()


def test_level_filters_below_threshold() -> None:
    """At level warning, debug and info events are dropped before any processor runs."""
    configure_logging("warning", "json", io.StringIO())
    log = structlog.get_logger()
    with capture_logs() as captured:
        log.debug("noise")
        log.info("chatter")
        log.warning("guard_tripped", guard="max_orders_per_day")
        log.error("broker_lost")
    assert [(e["event"], e["log_level"]) for e in captured] == [
        ("guard_tripped", "warning"),
        ("broker_lost", "error"),
    ]


def test_exception_is_one_json_line() -> None:
    """log.exception renders the traceback as a string field of a single JSON line."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        structlog.get_logger().exception("cycle_failed")
    (line,) = _json_lines(stream)
    assert line["level"] == "error"
    assert "ZeroDivisionError: boom" in str(line["exception"])


@pytest.mark.parametrize(
    ("fmt", "stream_type", "is_json"),
    [
        ("auto", io.StringIO, True),
        ("auto", _Terminal, False),
        ("console", io.StringIO, False),
        ("json", _Terminal, True),
    ],
)
def test_format_choice(fmt: str, stream_type: type[io.StringIO], is_json: bool) -> None:
    """auto = console on a terminal and JSON elsewhere; console and json are forced."""
    stream = stream_type()
    configure_logging("info", fmt, stream)  # type: ignore[arg-type]
    structlog.get_logger().info("heartbeat", account="DU1234567")
    text = stream.getvalue()
    assert "heartbeat" in text
    assert "DU1234567" not in text and "******567" in text
    if is_json:
        assert json.loads(text)["event"] == "heartbeat"
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)


def test_reconfiguring_replaces_the_handler() -> None:
    """Calling configure_logging twice leaves one handler, writing to the newest stream."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "json", first)
    configure_logging("info", "json", second)
    logging.getLogger("ib_async").info("connected")
    assert first.getvalue() == ""
    assert _json_lines(second)[0]["event"] == "connected"
