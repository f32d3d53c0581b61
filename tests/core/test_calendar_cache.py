"""The calendar's kept answers (settlement instants by series, session bounds by day)
equal exchange_calendars' schedule and the Cboe rule worked out afresh, on every ask."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import exchange_calendars as xcals
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.calendar import (
    NY,
    session_bounds,
    settlement_time,
    time_to_expiry_years,
)
from daemon.core.models import Contract, Right, SecType

YEAR_S = 365 * 86_400
# An independent reference: the library's own schedule, not the module's session table.
_REFERENCE = xcals.get_calendar("XNYS", start="2019-01-01", end="2030-12-31")


def _schedule_bounds(day: date) -> tuple[datetime, datetime] | None:
    ts = pd.Timestamp(day)
    if not _REFERENCE.is_session(ts):
        return None
    row = _REFERENCE.schedule.loc[ts]
    return row["open"].to_pydatetime().astimezone(NY), row["close"].to_pydatetime().astimezone(NY)


def _expected_settlement(trading_class: str, expiry: date) -> datetime | None:
    """Cboe's rule written out: SPXW at the session's close, the others at 09:30 ET."""
    if trading_class == "SPXW":
        bounds = _schedule_bounds(expiry)
        return None if bounds is None else bounds[1]
    return datetime.combine(expiry, time(9, 30), tzinfo=NY)


def _contract(trading_class: str, expiry: date) -> Contract:
    symbol = "VIX" if trading_class.startswith("VIX") else "SPX"
    return Contract(symbol, SecType.OPTION, trading_class, expiry, 20.0, Right.CALL)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["SPX", "SPXW", "VIX", "VIXW"]),
    st.dates(date(2019, 2, 1), date(2030, 11, 30)),
    st.integers(-10 * 86_400, 400 * 86_400),
    st.integers(1, 3),
)
def test_settlement_and_years_left_equal_the_rule_on_every_ask(
    trading_class: str, expiry: date, seconds_before: int, asks: int
) -> None:
    """Asked once or several times, a series' settlement and time left are the rule's
    (a SPXW expiry off the calendar raises each time: an error is not kept)."""
    contract = _contract(trading_class, expiry)
    expected = _expected_settlement(trading_class, expiry)
    now = datetime.combine(expiry, time(12, 0), tzinfo=UTC) - timedelta(seconds=seconds_before)
    for _ in range(asks):
        if expected is None:
            with pytest.raises(ValueError, match="not an XNYS session"):
                settlement_time(contract)
            continue
        when = settlement_time(contract)
        assert when == expected and when.tzinfo is NY
        elapsed_s = (expected.astimezone(UTC) - now).total_seconds()
        assert time_to_expiry_years(contract, now) == max(0.0, elapsed_s / YEAR_S)


def test_a_kept_answer_is_not_given_to_a_plain_string_sec_type() -> None:
    """``SecType`` is a ``StrEnum``: "OPT" equals ``SecType.OPTION`` as a key, but the
    rule reads the member (``is``), so a contract carrying the plain string still has no
    settlement rule after the member's answer was kept."""
    expiry = date(2026, 3, 20)
    assert settlement_time(_contract("SPX", expiry)) == datetime(2026, 3, 20, 9, 30, tzinfo=NY)
    odd = Contract("SPX", "OPT", "SPX", expiry, 20.0, Right.CALL)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no settlement rule"):
        settlement_time(odd)


def test_a_missing_expiry_is_said_on_every_ask() -> None:
    """A contract without an expiry raises the same error each time it is asked."""
    bare = Contract("SPX", SecType.OPTION, "SPXW")
    for _ in range(2):
        with pytest.raises(ValueError, match="SPX OPT class 'SPXW' has no expiry"):
            time_to_expiry_years(bare, datetime(2026, 3, 2, 15, tzinfo=UTC))


@settings(max_examples=100, deadline=None)
@given(st.dates(date(2019, 1, 2), date(2030, 12, 30)))
def test_session_bounds_equal_the_schedule_on_every_ask(day: date) -> None:
    """Session bounds asked twice are the library schedule's, in New York time; a day
    without a session raises both times."""
    expected = _schedule_bounds(day)
    for _ in range(2):
        if expected is None:
            with pytest.raises(ValueError, match="not an XNYS session"):
                session_bounds(day)
        else:
            bounds = session_bounds(day)
            assert bounds == expected
            assert bounds[0].tzinfo is NY and bounds[1].tzinfo is NY
