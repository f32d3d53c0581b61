"""Contract calendar: VIX expiries, settlement instants across DST, XNYS sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import exchange_calendars as xcals
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.calendar import (
    NY,
    dte_days,
    is_session,
    next_session,
    previous_session,
    session_bounds,
    sessions_until,
    settlement_time,
    spx_monthly_expiry,
    time_to_expiry_years,
    vix_expiries,
    vix_expiry,
)
from daemon.core.models import Contract, Right, SecType

YEAR_S = 365 * 86_400


def _option(trading_class: str, expiry: date, symbol: str = "SPX") -> Contract:
    return Contract(
        symbol=symbol,
        sec_type=SecType.OPTION,
        trading_class=trading_class,
        expiry=expiry,
        strike=5000.0,
        right=Right.PUT,
    )


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---- VIX expiries ---------------------------------------------------------------------------
# Expected monthly VIX (VX) final settlement dates.
# "cboe-final": Cboe Futures Exchange, Futures Final Settlement Prices, VX monthly rows
#   https://www.cboe.com/us/futures/market_statistics/final_settlement_prices/ (2019, 2024)
#   and https://res.cboe.com/us/futures/market_statistics/final_settlement_prices (2025).
# "cboe-listed": Cboe Futures Exchange, Settlement Prices (symbol - expiration date) for
#   January 23, 2026 and March 5, 2026, and for October 7, 2024 (VX/Z4)
#   https://www.cboe.com/us/futures/market_statistics/settlement
# "hand": not found in a published list; worked by hand from the rule (third Friday of
#   the next month, minus 30 days; a holiday Friday first steps back to the previous
#   business day; a holiday result steps back to the previous business day). The third
#   Fridays were counted from weekday anchors (1 Jan 2025 Wed, 1 Jan 2026 Thu,
#   1 Jan 2027 Fri, 1 Jan 2028 Sat).
VIX_EXPIRIES: list[tuple[int, int, date, str]] = [
    (2025, 1, date(2025, 1, 22), "cboe-final"),
    (2025, 2, date(2025, 2, 19), "cboe-final"),
    # Good Friday 2025-04-18 moves April SPX to Thu 04-17, so VIX to Tue 03-18.
    (2025, 3, date(2025, 3, 18), "cboe-final"),
    (2025, 4, date(2025, 4, 16), "cboe-final"),
    (2025, 5, date(2025, 5, 21), "cboe-final"),
    # Juneteenth 2025 is Thursday 06-19: the Wednesday 06-18 is unaffected.
    (2025, 6, date(2025, 6, 18), "cboe-final"),
    (2025, 7, date(2025, 7, 16), "cboe-final"),
    (2025, 8, date(2025, 8, 20), "cboe-final"),
    (2025, 9, date(2025, 9, 17), "cboe-final"),
    (2025, 10, date(2025, 10, 22), "hand"),  # SPX 2025-11-21
    (2025, 11, date(2025, 11, 19), "hand"),  # SPX 2025-12-19
    (2025, 12, date(2025, 12, 17), "hand"),  # SPX 2026-01-16
    (2026, 1, date(2026, 1, 21), "hand"),  # SPX 2026-02-20
    (2026, 2, date(2026, 2, 18), "cboe-listed"),
    (2026, 3, date(2026, 3, 18), "cboe-listed"),
    (2026, 4, date(2026, 4, 15), "cboe-listed"),
    # Juneteenth 2026 is Friday 06-19, the third Friday: SPX Thu 06-18, VIX Tue 05-19.
    (2026, 5, date(2026, 5, 19), "cboe-listed"),
    (2026, 6, date(2026, 6, 17), "cboe-listed"),
    (2026, 7, date(2026, 7, 22), "cboe-listed"),
    (2026, 8, date(2026, 8, 19), "cboe-listed"),
    (2026, 9, date(2026, 9, 16), "cboe-listed"),
    (2026, 10, date(2026, 10, 21), "cboe-listed"),
    (2026, 11, date(2026, 11, 18), "cboe-listed"),
    (2026, 12, date(2026, 12, 16), "hand"),  # SPX 2027-01-15
    (2027, 1, date(2027, 1, 20), "hand"),  # SPX 2027-02-19
    (2027, 2, date(2027, 2, 17), "hand"),  # SPX 2027-03-19
    (2027, 3, date(2027, 3, 17), "hand"),  # SPX 2027-04-16 (Good Friday is 03-26)
    (2027, 4, date(2027, 4, 21), "hand"),  # SPX 2027-05-21
    # Juneteenth 2027 (Sat 06-19) is observed Fri 06-18, the third Friday: SPX Thu 06-17.
    (2027, 5, date(2027, 5, 18), "hand"),
    (2027, 6, date(2027, 6, 16), "hand"),  # SPX 2027-07-16
    (2027, 7, date(2027, 7, 21), "hand"),  # SPX 2027-08-20
    (2027, 8, date(2027, 8, 18), "hand"),  # SPX 2027-09-17
    (2027, 9, date(2027, 9, 15), "hand"),  # SPX 2027-10-15
    (2027, 10, date(2027, 10, 20), "hand"),  # SPX 2027-11-19
    (2027, 11, date(2027, 11, 17), "hand"),  # SPX 2027-12-17
    (2027, 12, date(2027, 12, 22), "hand"),  # SPX 2028-01-21 (needs the 2028 calendar)
]

# Holiday cases outside 2025-2027.
VIX_HOLIDAY_CASES: list[tuple[int, int, date, str]] = [
    # Juneteenth on the Wednesday itself (2024-06-19): the business day before.
    (2024, 6, date(2024, 6, 18), "cboe-final"),
    (2024, 12, date(2024, 12, 18), "cboe-listed"),
    # Good Friday 2019-04-19 is the third Friday of April.
    (2019, 3, date(2019, 3, 19), "cboe-final"),
    (2019, 2, date(2019, 2, 13), "cboe-final"),
    # Juneteenth 2030-06-19 is the Wednesday 30 days before SPX 2030-07-19: Tuesday.
    (2030, 6, date(2030, 6, 18), "hand"),
]


@pytest.mark.parametrize(("year", "month", "expected", "source"), VIX_EXPIRIES)
def test_vix_expiry_matches_published_calendar_2025_2027(
    year: int, month: int, expected: date, source: str
) -> None:
    """Every monthly VIX expiry of 2025-2027 equals the exchange's (or hand-worked) date."""
    assert vix_expiry(year, month) == expected, source


@pytest.mark.parametrize(("year", "month", "expected", "source"), VIX_HOLIDAY_CASES)
def test_vix_expiry_holiday_cases(year: int, month: int, expected: date, source: str) -> None:
    """Wednesday holidays and holiday Fridays move the VIX expiry to the day before."""
    assert vix_expiry(year, month) == expected, source


def test_vix_expiries_lists_the_range_inclusively() -> None:
    """vix_expiries returns the expiries inside [start, end], both ends included."""
    table = [d for _, _, d, _ in VIX_EXPIRIES]
    assert vix_expiries(date(2025, 1, 1), date(2027, 12, 31)) == table
    assert vix_expiries(date(2026, 5, 19), date(2026, 7, 22)) == [
        date(2026, 5, 19),
        date(2026, 6, 17),
        date(2026, 7, 22),
    ]
    assert vix_expiries(date(2026, 5, 20), date(2026, 7, 21)) == [date(2026, 6, 17)]
    assert vix_expiries(date(2026, 6, 18), date(2026, 7, 21)) == []


def test_vix_expiry_rejects_bad_month() -> None:
    """A month outside 1..12 is a ValueError."""
    with pytest.raises(ValueError, match="month"):
        vix_expiry(2026, 13)


@settings(max_examples=60, deadline=None)
@given(st.integers(2005, 2034), st.integers(1, 12))
def test_vix_expiry_is_a_session_about_thirty_days_before_spx(year: int, month: int) -> None:
    """Any VIX expiry is a Tuesday/Wednesday session, 30-32 days before next month's SPX."""
    expiry = vix_expiry(year, month)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    gap_days = (spx_monthly_expiry(next_year, next_month) - expiry).days
    assert is_session(expiry)
    assert expiry.weekday() in (1, 2)
    assert (expiry.year, expiry.month) == (year, month)
    assert 29 <= gap_days <= 32


# ---- settlement instants and time to expiry ----------------------------------------------
def test_settlement_times_in_utc_follow_dst() -> None:
    """AM settlements are 13:30/14:30 UTC and PM 20:00/21:00 UTC on either side of DST."""
    # 2026 DST: starts Sunday 03-08, ends Sunday 11-01.
    cases = [
        (_option("SPX", date(2026, 3, 20)), _utc(2026, 3, 20, 13, 30)),  # EDT
        (_option("SPX", date(2026, 2, 20)), _utc(2026, 2, 20, 14, 30)),  # EST
        (_option("SPXW", date(2026, 3, 6)), _utc(2026, 3, 6, 21, 0)),  # EST
        (_option("SPXW", date(2026, 3, 13)), _utc(2026, 3, 13, 20, 0)),  # EDT
        (_option("SPXW", date(2026, 10, 30)), _utc(2026, 10, 30, 20, 0)),  # EDT
        (_option("SPXW", date(2026, 11, 6)), _utc(2026, 11, 6, 21, 0)),  # EST
        (_option("SPX", date(2026, 11, 20)), _utc(2026, 11, 20, 14, 30)),  # EST
        (_option("VIX", date(2026, 3, 18), "VIX"), _utc(2026, 3, 18, 13, 30)),
        (_option("VIXW", date(2026, 11, 4), "VIX"), _utc(2026, 11, 4, 14, 30)),
        (
            Contract("VIX", SecType.FUTURE, trading_class="VX", expiry=date(2026, 11, 18)),
            _utc(2026, 11, 18, 14, 30),
        ),
    ]
    for contract, expected_utc in cases:
        got = settlement_time(contract)
        assert got.tzinfo is not None
        assert got.utcoffset() is not None
        assert got.astimezone(UTC) == expected_utc, contract.key


@pytest.mark.parametrize(
    ("contract", "now"),
    [
        # Across the March 2026 change (clocks skip 02:00 -> 03:00 on 03-08).
        (_option("SPX", date(2026, 3, 20)), datetime(2026, 3, 6, 16, 0, tzinfo=NY)),
        (_option("SPXW", date(2026, 3, 13)), datetime(2026, 3, 7, 10, 0, tzinfo=NY)),
        (_option("VIX", date(2026, 3, 18), "VIX"), datetime(2026, 2, 27, 9, 0, tzinfo=NY)),
        # Across the November 2026 change (02:00 -> 01:00 on 11-01).
        (_option("SPX", date(2026, 11, 20)), datetime(2026, 10, 30, 12, 0, tzinfo=NY)),
        (_option("SPXW", date(2026, 11, 6)), datetime(2026, 10, 31, 23, 30, tzinfo=NY)),
        (_option("VIX", date(2026, 11, 18), "VIX"), _utc(2026, 10, 20, 4, 0)),
    ],
)
def test_time_to_expiry_is_true_elapsed_seconds_across_dst(
    contract: Contract, now: datetime
) -> None:
    """ACT/365 time equals the elapsed seconds between UTC instants, not wall-clock time."""
    assert contract.expiry is not None
    # Oracle: the settlement wall time localised by hand, both instants in UTC.
    wall_time = time(16, 0) if contract.trading_class == "SPXW" else time(9, 30)
    local = datetime.combine(contract.expiry, wall_time, tzinfo=NY)
    elapsed_s = (local.astimezone(UTC) - now.astimezone(UTC)).total_seconds()
    wall_s = (local.replace(tzinfo=None) - now.astimezone(NY).replace(tzinfo=None)).total_seconds()
    assert abs(elapsed_s - wall_s) == 3600  # the case really straddles a DST change
    assert time_to_expiry_years(contract, now) == pytest.approx(elapsed_s / YEAR_S, abs=1e-12)


def test_spx_am_and_spxw_pm_same_day_differ_by_six_and_a_half_hours() -> None:
    """SPX (AM, 09:30) and SPXW (PM, 16:00) expiring on one day settle 6.5 h apart."""
    day = date(2026, 12, 18)
    am = settlement_time(_option("SPX", day))
    pm = settlement_time(_option("SPXW", day))
    assert pm.astimezone(UTC) - am.astimezone(UTC) == timedelta(hours=6, minutes=30)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=NY)
    diff_years = time_to_expiry_years(_option("SPXW", day), now) - time_to_expiry_years(
        _option("SPX", day), now
    )
    assert diff_years == pytest.approx(6.5 * 3600 / YEAR_S, abs=1e-12)


def test_spxw_settles_at_the_early_close() -> None:
    """SPXW expiring the day after Thanksgiving 2026 settles at 13:00 ET (18:00 UTC)."""
    got = settlement_time(_option("SPXW", date(2026, 11, 27)))
    assert got.astimezone(NY).hour == 13
    assert got.astimezone(UTC) == _utc(2026, 11, 27, 18, 0)
    # Christmas Eve 2026 is an early close too.
    assert settlement_time(_option("SPXW", date(2026, 12, 24))).astimezone(UTC) == _utc(
        2026, 12, 24, 18, 0
    )


def test_time_to_expiry_is_zero_once_settled() -> None:
    """At and after the settlement instant the time to expiry is 0.0, never negative."""
    contract = _option("SPXW", date(2026, 3, 13))
    assert time_to_expiry_years(contract, _utc(2026, 3, 13, 20, 0)) == 0.0
    assert time_to_expiry_years(contract, _utc(2026, 3, 20, 0, 0)) == 0.0
    assert time_to_expiry_years(contract, _utc(2026, 3, 13, 19, 59)) == pytest.approx(60 / YEAR_S)


def test_naive_now_is_rejected() -> None:
    """A naive `now` is a ValueError for time_to_expiry_years and dte_days."""
    with pytest.raises(ValueError, match="aware"):
        time_to_expiry_years(_option("SPX", date(2026, 3, 20)), datetime(2026, 3, 1, 12))
    with pytest.raises(ValueError, match="aware"):
        dte_days(date(2026, 3, 20), datetime(2026, 3, 1, 12))


def test_unknown_trading_class_and_missing_expiry_are_clear_errors() -> None:
    """An unknown option class or a missing expiry raises a ValueError naming it."""
    with pytest.raises(ValueError, match="'SPXQ'"):
        settlement_time(_option("SPXQ", date(2026, 3, 20)))
    with pytest.raises(ValueError, match="''"):
        settlement_time(_option("", date(2026, 3, 20)))
    with pytest.raises(ValueError, match="no expiry"):
        settlement_time(Contract("SPX", SecType.OPTION, trading_class="SPX"))
    with pytest.raises(ValueError, match="IND"):
        settlement_time(Contract("SPX", SecType.INDEX, expiry=date(2026, 3, 20)))
    with pytest.raises(ValueError, match="not an XNYS session"):
        settlement_time(_option("SPXW", date(2026, 11, 26)))  # Thanksgiving


def test_dte_days_uses_the_new_york_date() -> None:
    """DTE counts calendar days from now's New York date, whatever now's zone."""
    expiry = date(2026, 3, 20)
    # 23:30 EST on 03-06 is already 03-07 in UTC: still 14 days in New York.
    assert dte_days(expiry, _utc(2026, 3, 7, 4, 30)) == 14
    assert dte_days(expiry, datetime(2026, 3, 7, 0, 30, tzinfo=NY)) == 13
    assert dte_days(_option("SPX", expiry), datetime(2026, 3, 20, 15, 0, tzinfo=NY)) == 0
    assert dte_days(expiry, datetime(2026, 3, 23, 9, 0, tzinfo=NY)) == -3


# ---- sessions -------------------------------------------------------------------------------
def test_is_session_on_holidays_weekends_and_early_closes() -> None:
    """Holidays (scheduled, observed, ad hoc) and weekends are not sessions; early closes are."""
    not_sessions = [
        date(2025, 1, 9),  # national day of mourning (ad hoc closure)
        date(2025, 4, 18),  # Good Friday
        date(2025, 6, 19),  # Juneteenth
        date(2026, 7, 3),  # Independence Day observed (07-04 is a Saturday)
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 11, 28),  # Saturday
        date(2026, 11, 29),  # Sunday
        date(2027, 6, 18),  # Juneteenth observed (06-19 is a Saturday)
    ]
    sessions = [date(2026, 11, 27), date(2026, 12, 24), date(2026, 3, 9), date(2028, 1, 21)]
    assert not any(is_session(d) for d in not_sessions)
    assert all(is_session(d) for d in sessions)


def test_session_bounds_regular_and_early_close() -> None:
    """Sessions open 09:30 ET and close 16:00 ET, or 13:00 ET on an early-close day."""
    open_, close = session_bounds(date(2026, 3, 9))
    assert (open_.tzinfo, open_.hour, open_.minute) == (NY, 9, 30)
    assert (close.hour, close.minute) == (16, 0)
    assert open_.astimezone(UTC) == _utc(2026, 3, 9, 13, 30)
    assert close.astimezone(UTC) == _utc(2026, 3, 9, 20, 0)
    for early in (date(2026, 11, 27), date(2026, 12, 24), date(2025, 7, 3)):
        early_open, early_close = session_bounds(early)
        assert (early_open.hour, early_open.minute) == (9, 30)
        assert (early_close.hour, early_close.minute) == (13, 0)
    with pytest.raises(ValueError, match="not an XNYS session"):
        session_bounds(date(2026, 11, 26))


def test_next_and_previous_session_skip_holidays_and_weekends() -> None:
    """next/previous_session step strictly past holidays and weekends."""
    assert next_session(date(2026, 11, 25)) == date(2026, 11, 27)  # over Thanksgiving
    assert next_session(date(2026, 11, 26)) == date(2026, 11, 27)
    assert next_session(date(2026, 11, 27)) == date(2026, 11, 30)  # over the weekend
    assert next_session(date(2026, 11, 28)) == date(2026, 11, 30)
    assert previous_session(date(2026, 11, 30)) == date(2026, 11, 27)
    assert previous_session(date(2026, 11, 27)) == date(2026, 11, 25)
    assert previous_session(date(2025, 4, 21)) == date(2025, 4, 17)  # over Good Friday


def test_sessions_until_across_a_holiday() -> None:
    """sessions_until counts sessions in (start, day]: tomorrow is 1, holidays skipped."""
    assert sessions_until(date(2026, 11, 24), date(2026, 11, 25)) == 1
    assert sessions_until(date(2026, 11, 25), date(2026, 11, 27)) == 1  # Thanksgiving
    assert sessions_until(date(2026, 11, 25), date(2026, 11, 30)) == 2
    assert sessions_until(date(2026, 11, 25), date(2026, 11, 26)) == 0  # holiday itself
    assert sessions_until(date(2026, 12, 31), date(2027, 1, 4)) == 1  # New Year's Day
    assert sessions_until(date(2026, 11, 28), date(2026, 11, 30)) == 1  # from a Saturday
    assert sessions_until(date(2026, 11, 25), date(2026, 11, 25)) == 0
    assert sessions_until(date(2026, 11, 30), date(2026, 11, 25)) == 0


def test_session_helpers_reject_datetimes_and_out_of_range_days() -> None:
    """A datetime (ambiguous date) is a TypeError; a day outside the calendar a ValueError."""
    with pytest.raises(TypeError, match="datetime"):
        is_session(datetime(2026, 3, 9, 12, tzinfo=NY))
    with pytest.raises(ValueError, match="outside"):
        is_session(date(1999, 1, 4))


_REFERENCE = xcals.get_calendar("XNYS", start="2020-01-01", end="2030-12-31")


@settings(max_examples=80, deadline=None)
@given(
    # The reference ends 2030-12-31: a start late enough that start + 40 days passes it
    # asks exchange_calendars about days it does not hold (DateOutOfBounds).
    st.dates(date(2020, 2, 1), date(2030, 11, 20)),
    st.integers(0, 40),
)
def test_session_helpers_agree_with_exchange_calendars(start: date, span_days: int) -> None:
    """Helpers match exchange_calendars' own session queries on random days and spans."""
    end = start + timedelta(days=span_days)
    ts = pd.Timestamp(start)
    assert is_session(start) == _REFERENCE.is_session(ts)
    assert (
        next_session(start) == _REFERENCE.date_to_session(ts + pd.Timedelta(days=1), "next").date()
    )
    assert (
        previous_session(start)
        == _REFERENCE.date_to_session(ts - pd.Timedelta(days=1), "previous").date()
    )
    expected = len(_REFERENCE.sessions_in_range(ts + pd.Timedelta(days=1), pd.Timestamp(end)))
    assert sessions_until(start, end) == expected
