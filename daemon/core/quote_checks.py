"""Quote checks: whether one quote's numbers may be used, and the data problems found.

A quote is *usable* (its mid may be used to imply a vol or a forward) when it is live
(not delayed or frozen: a delayed quote's time stamp is its arrival, not its age), fresh
(``validation.max_quote_age_s``), finite, two-sided, not crossed and not wider than
``validation.max_spread_frac`` of its mid. Indices usually come as a last price only; for
them the mid of a two-sided quote, else the last, is the value. Prices USD per share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from daemon.core.models import FeedKind, Quote
from daemon.core.params import ModelParams


class DataProblemCode(StrEnum):
    STALE = "STALE"
    MISSING = "MISSING"
    NAN = "NAN"
    CROSSED = "CROSSED"
    WIDE = "WIDE"
    PARITY = "PARITY"
    NO_FORWARD = "NO_FORWARD"
    NO_IV = "NO_IV"


@dataclass(frozen=True)
class DataProblem:
    """``instrument``: an index ("SPX", "VIX", "VIX3M"), a future ("VIX FUT 2026-04-15"),
    an option (``Contract.key``) or an expiry ("SPXW 2026-04-17")."""

    code: DataProblemCode
    instrument: str
    detail: str


class CheckedQuote(NamedTuple):
    """One quote after ``check_quote``: its finite sides, the usable value, whether it is
    stale (a stale quote's broker IV is not used either) and the problems found. A named
    tuple: one is built per option quote (~300 a cycle), at a third of a frozen
    dataclass's cost."""

    bid: float | None
    ask: float | None
    value: float | None  # usable mid (index: mid or last)
    stale: bool
    problems: tuple[DataProblem, ...]


def finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def check_quote(
    q: Quote, instrument: str, now: datetime, params: ModelParams, index: bool = False
) -> CheckedQuote:
    """Validate one quote (see the module docstring); ``index`` accepts a last price."""
    v = params.validation
    quick = quick_check(q, instrument, now, v.max_quote_age_s, v.max_spread_frac, index)
    return quick if quick is not None else _checked(q, instrument, now, params, index)


def _checked(
    q: Quote, instrument: str, now: datetime, params: ModelParams, index: bool
) -> CheckedQuote:
    """Every check, each problem said."""
    v = params.validation
    found: list[DataProblem] = []

    def flag(code: DataProblemCode, detail: str) -> None:
        found.append(DataProblem(code, instrument, detail))

    raw = {"bid": q.bid, "ask": q.ask, "last": q.last}
    nans = [k for k, x in raw.items() if x is not None and not math.isfinite(x)]
    if nans:
        flag(DataProblemCode.NAN, f"non-finite {', '.join(nans)}")
    bid, ask, last = finite_or_none(q.bid), finite_or_none(q.ask), finite_or_none(q.last)
    age_s = (now - q.time).total_seconds()
    stale = age_s > v.max_quote_age_s or q.feed is not FeedKind.LIVE
    if q.feed is not FeedKind.LIVE:
        flag(DataProblemCode.STALE, f"{q.feed.value} market data, not live")
    elif stale:
        flag(DataProblemCode.STALE, f"quote {age_s:.0f}s old > {v.max_quote_age_s:g}s")
    value: float | None = None
    if bid is not None and ask is not None:
        if bid > ask:
            flag(DataProblemCode.CROSSED, f"bid {bid:g} > ask {ask:g}")
        elif bid < 0:
            flag(DataProblemCode.MISSING, f"negative bid {bid:g}")
        else:
            value = 0.5 * (bid + ask)
            if not index and ask - bid > v.max_spread_frac * value:
                flag(DataProblemCode.WIDE, f"spread {ask - bid:g} > {v.max_spread_frac:g} x mid")
                value = None
    elif index and last is not None:
        value = last
    elif not nans:
        missing = [k for k, x in (("bid", bid), ("ask", ask)) if x is None]
        flag(DataProblemCode.MISSING, f"no {' or '.join(missing) or 'price'}")
    if any(p.code is not DataProblemCode.WIDE for p in found):
        value = None
    return CheckedQuote(bid, ask, value, stale, tuple(found))


def quick_check(
    q: Quote,
    instrument: str,
    now: datetime,
    max_age_s: float,
    max_spread_frac: float,
    index: bool,
    fresh_time: datetime | None = None,
) -> CheckedQuote | None:
    """The two common cases, decided without the full checks' bookkeeping: a live feed,
    finite sides (and last), fresh, 0 <= bid <= ask, and either not wide (no problem) or
    wide (its one WIDE problem, said as the full checks say it). None otherwise: the full
    path then says what. Same result as the full path (a cycle checks ~2,000 quotes, and
    a far wing's wide quote is one in fifteen of the options').

    ``fresh_time``: a time stamp this check already found fresh at this ``now`` and
    ``max_age_s`` (a quote it decided). A quote carrying that very object (``is``: a
    datetime is immutable) is fresh without its age worked out again: a snapshot's
    quotes mostly share one stamp, and the age is a subtraction and a division each."""
    if q.feed is not FeedKind.LIVE:  # delayed/frozen: stale whatever its time stamp
        return None
    bid, ask, last = q.bid, q.ask, q.last
    if bid is None or ask is None or not (math.isfinite(bid) and math.isfinite(ask)):
        return None
    if last is not None and not math.isfinite(last):
        return None
    if not 0.0 <= bid <= ask:
        return None
    time = q.time
    if time is not fresh_time and (now - time).total_seconds() > max_age_s:
        return None
    value = 0.5 * (bid + ask)
    if not index and ask - bid > max_spread_frac * value:
        detail = f"spread {ask - bid:g} > {max_spread_frac:g} x mid"
        wide = (DataProblem(DataProblemCode.WIDE, instrument, detail),)
        return _new_tuple(CheckedQuote, (bid, ask, None, False, wide))
    # ``CheckedQuote(...)`` without its generated Python ``__new__``: the same tuple at
    # half the cost, once per option quote.
    return _new_tuple(CheckedQuote, (bid, ask, value, False, ()))


_new_tuple = tuple.__new__
