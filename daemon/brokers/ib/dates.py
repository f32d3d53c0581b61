"""IB's dates, turned into the core's: expiration and settlement dates, completed sessions.

IB's ``lastTradeDateOrContractMonth`` is the last *trading* day, which for AM-settled
contracts (SPX monthlies, VIX options and futures) is the session before settlement, and
which date IB reports for them is not documented; so an option's expiry is read from its
OCC local symbol when there is one, then from ``realExpirationDate``, and only then from
the last trade date, mapped to settlement by the Cboe rules in ``daemon.core.calendar``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from daemon.core.calendar import (
    NY,
    is_session,
    next_session,
    session_bounds,
    spx_monthly_expiry,
    vix_expiry,
)

# AM-settled classes settle at the open of the session after their last trading day.
AM_SETTLED_CLASSES = frozenset({"SPX", "VIX", "VIXW"})
# OCC option symbol: root padded to 6, YYMMDD (the expiration date), C/P, strike x 1000.
_OCC = re.compile(r"^\S{1,6}\s*(\d{6})([CP])(\d{8})$")


def parse_ib_date(text: str) -> date | None:
    """``20261218`` or ``20261218 16:00 US/Eastern`` -> the date; None when not a full date."""
    head = text.strip().split(" ")[0].split("-")[0]
    if len(head) != 8 or not head.isdigit():
        return None
    try:
        return date(int(head[:4]), int(head[4:6]), int(head[6:]))
    except ValueError:
        return None


def ib_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def occ_expiry(local_symbol: str) -> date | None:
    """The expiration date an OCC option symbol spells, e.g. ``SPX   261218P05800000``."""
    match = _OCC.match(local_symbol.strip())
    if match is None:
        return None
    return parse_ib_date("20" + match.group(1))


def settlement_from_last_trade(day: date, trading_class: str) -> date:
    """The settlement date of an AM-settled class from the date IB gave, which may be the
    last trading day (the session before: Thursday for SPX monthlies, Tuesday for VIX).

    A date that already is the class's settlement date is kept, so this is right whichever
    day IB reports. The rules: SPX monthlies settle on the third Friday (the session before
    on a holiday), VIX on the Cboe VIX expiry, VIXW weeklies on Wednesdays."""
    if trading_class not in AM_SETTLED_CLASSES or not is_session(day):
        return day
    after = next_session(day)
    if trading_class == "SPX":
        standard = {spx_monthly_expiry(d.year, d.month) for d in (day, after)}
    elif trading_class == "VIX":
        standard = {vix_expiry(d.year, d.month) for d in (day, after)}
    else:  # VIXW
        standard = {d for d in (day, after) if d.weekday() == 2}
    if day in standard:
        return day
    return after if after in standard else day


def option_expiry(
    last_trade: str, local_symbol: str, trading_class: str, real_expiration: str = ""
) -> date | None:
    """An option's expiration date: the OCC symbol's date when it parses (authoritative),
    else IB's ``realExpirationDate``, else the last trade date mapped to settlement."""
    for day in (occ_expiry(local_symbol), parse_ib_date(real_expiration)):
        if day is not None:
            return day
    day = parse_ib_date(last_trade)
    return None if day is None else settlement_from_last_trade(day, trading_class)


def vix_future_expiry(last_trade: str, real_expiration: str = "") -> date | None:
    """A VIX future's final settlement date when it is a monthly contract, else None.

    IB may give the last trading day (the Tuesday) or the settlement day (the Wednesday);
    either maps to the monthly Cboe VIX expiry, and weeklies (any other Wednesday) to None."""
    for text in (real_expiration, last_trade):
        day = parse_ib_date(text)
        if day is None:
            continue
        for candidate in (day, day + timedelta(days=1)):
            if candidate == vix_expiry(candidate.year, candidate.month):
                return candidate
    return None


# ---- sessions --------------------------------------------------------------------------------
def session_completed(day: date, now: datetime) -> bool:
    """True once ``day``'s session has closed at ``now`` (aware): IB's daily bar of the
    session in progress is partial and must not pass for a close."""
    today = now.astimezone(NY).date()
    if day != today:
        return day < today
    return not is_session(day) or now >= session_bounds(day)[1]
