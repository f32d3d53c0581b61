"""Contract time: settlement instants, time to expiry, VIX expiries and XNYS sessions.

Everything here is pure: the exchange calendar is built once, in memory, from
``exchange_calendars`` (XNYS, which carries the NYSE holiday and early-close rules that
Cboe Options follows), and every function takes its dates and instants as arguments.
Being pure, a series' settlement instant and a day's session bounds are kept once worked
out (``functools`` caches: the replay asks for them dozens of times a session).

Units: ``t_years`` is ACT/365 (elapsed seconds / (365 * 86400)); day counts are calendar
days (``_days``) or exchange sessions (``sessions_``). Aware datetimes are returned in
America/New_York.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals

from daemon.core.models import Contract, SecType

NY = ZoneInfo("America/New_York")

# The calendar covers VIX futures' whole history and well past the longest listed
# expiry (SPX LEAPS run ~5 years; a 2027 VIX expiry already needs 2028 SPX dates).
# The library's default ends one year from today, which is too short.
CALENDAR_START = date(2004, 1, 1)
CALENDAR_END = date(2035, 12, 31)

SECONDS_PER_YEAR = 365 * 86_400  # ACT/365
# AM-settled contracts settle on the opening print: the regular session opens at 09:30.
AM_SETTLEMENT_TIME = time(9, 30)

_AM_OPTION_CLASSES = frozenset({"SPX", "VIX", "VIXW"})
_PM_OPTION_CLASSES = frozenset({"SPXW"})


@dataclass(frozen=True)
class _Sessions:
    """XNYS sessions in a lookup-friendly shape: sorted ordinals plus UTC open/close."""

    ordinals: tuple[int, ...]
    bounds_utc: dict[int, tuple[datetime, datetime]]


@lru_cache(maxsize=1)
def _sessions() -> _Sessions:
    cal = xcals.get_calendar("XNYS", start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat())
    schedule = cal.schedule
    ordinals: list[int] = []
    bounds: dict[int, tuple[datetime, datetime]] = {}
    for label, open_ts, close_ts in zip(
        schedule.index, schedule["open"], schedule["close"], strict=True
    ):
        ordinal = label.date().toordinal()
        ordinals.append(ordinal)
        bounds[ordinal] = (open_ts.to_pydatetime(), close_ts.to_pydatetime())
    return _Sessions(ordinals=tuple(ordinals), bounds_utc=bounds)


def _ordinal(day: date) -> int:
    # A datetime is a date subclass; its calendar date depends on its zone, so the caller
    # must choose (usually ``moment.astimezone(NY).date()``) rather than us guessing.
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got a datetime {day!r}; pass .astimezone(NY).date()")
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise ValueError(
            f"{day} is outside the exchange calendar ({CALENDAR_START}..{CALENDAR_END})"
        )
    return day.toordinal()


def _describe(contract: Contract) -> str:
    return _describe_fields(contract.symbol, contract.sec_type, contract.trading_class)


def _describe_fields(symbol: str, sec_type: SecType, trading_class: str) -> str:
    # Not ``Contract.key``: that formats the strike, which a malformed contract may lack.
    return f"{symbol} {sec_type} class {trading_class!r}"


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")


# ---- sessions -----------------------------------------------------------------------------
def is_session(day: date) -> bool:
    """True when XNYS trades on ``day`` (full or early-close session)."""
    return _ordinal(day) in _sessions().bounds_utc


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """The session's (open, close) as aware New York datetimes; 13:00 close on early days."""
    bounds = _bounds_ny(_ordinal(day))
    if bounds is None:
        raise ValueError(f"{day} is not an XNYS session")
    return bounds


@cache
def _bounds_ny(ordinal: int) -> tuple[datetime, datetime] | None:
    """``session_bounds`` by ordinal, converted once: the replay asks ~30 times a session
    (the sim's clock and steps, settlement instants), two zone conversions each. Bounded
    by the calendar's ~8,000 days; datetimes are immutable, so sharing them is safe."""
    bounds = _sessions().bounds_utc.get(ordinal)
    if bounds is None:
        return None
    open_utc, close_utc = bounds
    return open_utc.astimezone(NY), close_utc.astimezone(NY)


def next_session(day: date) -> date:
    """The first session strictly after ``day`` (``day`` need not be a session)."""
    ordinals = _sessions().ordinals
    i = bisect.bisect_right(ordinals, _ordinal(day))
    if i == len(ordinals):
        raise ValueError(f"no session after {day} within the calendar (ends {CALENDAR_END})")
    return date.fromordinal(ordinals[i])


def previous_session(day: date) -> date:
    """The last session strictly before ``day`` (``day`` need not be a session)."""
    ordinals = _sessions().ordinals
    i = bisect.bisect_left(ordinals, _ordinal(day))
    if i == 0:
        raise ValueError(f"no session before {day} within the calendar (starts {CALENDAR_START})")
    return date.fromordinal(ordinals[i - 1])


def sessions_until(start_day: date, day: date) -> int:
    """Sessions in (start_day, day]: tomorrow's session is 1; 0 when day <= start_day."""
    ordinals = _sessions().ordinals
    start_i = bisect.bisect_right(ordinals, _ordinal(start_day))
    end_i = bisect.bisect_right(ordinals, _ordinal(day))
    return max(0, end_i - start_i)


# ---- settlement and time to expiry --------------------------------------------------------
def settlement_time(contract: Contract) -> datetime:
    """When ``contract`` settles, as an aware New York datetime.

    From the contract's metadata (Cboe product specifications): SPX monthly options
    (trading class SPX) are AM-settled on the expiry date's opening print (09:30 ET);
    SPXW are PM-settled at that session's close (16:00 ET, 13:00 on an early close);
    VIX and VIXW options and VIX futures are AM-settled (the SOQ at 09:30 ET).
    """
    c = contract
    return _settlement(c.symbol, c.sec_type, c.trading_class, c.expiry)[0]


@lru_cache(maxsize=8192, typed=True)
def _settlement(
    symbol: str, sec_type: SecType, trading_class: str, expiry: date | None
) -> tuple[datetime, datetime]:
    """``settlement_time``'s rule on the fields it reads, with the instant in UTC too:
    worked out once per series (a cycle asks per series, the sim and the ledger per
    contract, ~70 a session) instead of a rule, a combine and two zone conversions
    each time. The fields are the whole key, so a cached answer is the rule's; an error
    is raised, not cached. The bound keeps a long-running daemon's cache small. Typed:
    ``SecType`` is a ``StrEnum`` whose members equal their strings, and the rule tests
    the member by identity."""
    if expiry is None:
        raise ValueError(f"{_describe_fields(symbol, sec_type, trading_class)} has no expiry")
    when = _settlement_rule(symbol, sec_type, trading_class, expiry)
    return when, when.astimezone(UTC)


def _settlement_rule(symbol: str, sec_type: SecType, trading_class: str, expiry: date) -> datetime:
    if symbol == "VIX" and sec_type is SecType.FUTURE:
        return datetime.combine(expiry, AM_SETTLEMENT_TIME, tzinfo=NY)
    if sec_type is not SecType.OPTION:
        raise ValueError(f"no settlement rule for {sec_type} {symbol}")
    if trading_class in _PM_OPTION_CLASSES:
        return session_bounds(expiry)[1]
    if trading_class in _AM_OPTION_CLASSES:
        return datetime.combine(expiry, AM_SETTLEMENT_TIME, tzinfo=NY)
    raise ValueError(
        f"unknown option trading class {trading_class!r} for {symbol}: "
        f"expected one of {sorted(_AM_OPTION_CLASSES | _PM_OPTION_CLASSES)}"
    )


def time_to_expiry_years(contract: Contract, now: datetime) -> float:
    """ACT/365 years from ``now`` to settlement (true elapsed seconds); 0.0 once settled."""
    c = contract  # the kept instant in UTC (``_settlement``)
    return years_until(_settlement(c.symbol, c.sec_type, c.trading_class, c.expiry)[1], now)


def years_until(settles: datetime, now: datetime) -> float:
    """``time_to_expiry_years`` from a settlement instant already known (a caller that
    keeps each expiry's instant skips building a contract to ask for it again)."""
    _require_aware(now)
    # Subtract UTC instants: two datetimes sharing one tzinfo subtract as wall clocks,
    # which would be an hour off across a DST change.
    elapsed_s = (settles.astimezone(UTC) - now.astimezone(UTC)).total_seconds()
    return max(0.0, elapsed_s / SECONDS_PER_YEAR)


def dte_days(expiry: date | Contract, now: datetime) -> int:
    """Calendar days from ``now``'s New York date to the expiry date (negative once past)."""
    _require_aware(now)
    if isinstance(expiry, Contract):
        if expiry.expiry is None:
            raise ValueError(f"{_describe(expiry)} has no expiry")
        expiry = expiry.expiry
    if isinstance(expiry, datetime):
        raise TypeError(f"expected an expiry date, got a datetime {expiry!r}")
    return (expiry - now.astimezone(NY).date()).days


# ---- expiry rules -------------------------------------------------------------------------
def _third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    first_friday = first + timedelta(days=(4 - first.weekday()) % 7)
    return first_friday + timedelta(days=14)


def spx_monthly_expiry(year: int, month: int) -> date:
    """The standard (third-Friday) SPX expiry, or the session before it on a holiday."""
    friday = _third_friday(year, month)
    return friday if is_session(friday) else previous_session(friday)


def vix_expiry(year: int, month: int) -> date:
    """The monthly VIX future/option expiry (final settlement date) of ``year``-``month``.

    Cboe rule (VX futures specification): the Wednesday 30 days before the third Friday
    of the following month; if that Friday is a holiday, 30 days before the business day
    preceding it; if the resulting day is a holiday, the business day before it. Holidays
    are the XNYS calendar's, unscheduled closures included.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    day = spx_monthly_expiry(next_year, next_month) - timedelta(days=30)
    return day if is_session(day) else previous_session(day)


def vix_expiries(start: date, end: date) -> list[date]:
    """Every monthly VIX expiry in [start, end], ascending."""
    # A month's VIX expiry always falls inside that same month (between the 11th and the
    # 22nd, holiday shifts included), so the months from start's to end's cover the range.
    expiries: list[date] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        expiry = vix_expiry(year, month)
        if start <= expiry <= end:
            expiries.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return expiries
