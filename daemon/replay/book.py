"""The income book of a replay: a CNDR-like monthly iron condor, or the user's positions.

The rule (``replay.book``, after Cboe's CNDR index methodology):
- on the first session of the replay and at the close of each standard monthly expiry
  (the third Friday, or the session before it on a holiday), when no condor is held, sell
  one iron condor on the next standard expiry of ``trading_class``;
- short strikes: the put nearest ``-short_delta`` below the forward and the call nearest
  ``+short_delta`` above it; long strikes: nearest ``-long_delta`` / ``+long_delta``
  beyond the shorts (deltas from the chain's own mids, ``daemon.replay.chain``);
- size: the most condors whose max loss, (widest wing - credit at mid) x 100, stays
  within ``max_loss_frac`` x equity; none when even one would not;
- held to expiry, cash-settled (SPX monthlies at the opening print, SPXW at the close).

The user's own book instead (``source: csv``): a CSV of positions, each opened on the
first session of the replay (one order per expiry, at the price the rule's orders get:
see ``daemon.replay.trader``) and held to its expiry; after the last expiry the book is
empty, so a CSV book suits a replay over the life of that book. Format, a header line
then one position a line::

    trading_class,expiry,strike,right,quantity
    SPX,2008-02-15,1300,P,-10
    SPX,2008-02-15,1250,P,10

``trading_class`` SPX (monthly, AM-settled) or SPXW; ``right`` P or C; ``quantity``
signed contracts (negative = short).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from daemon.core.calendar import NY, is_session, previous_session, spx_monthly_expiry
from daemon.core.candidates import LegSpec
from daemon.core.models import Action, Contract, Right
from daemon.errors import ConfigError
from daemon.replay.chain import Strike, leg, nearest_delta, option
from daemon.replay.params import BookRuleParams


@dataclass(frozen=True)
class CondorChoice:
    legs: tuple[LegSpec, ...]  # long put, short put, short call, long call
    quantity: int
    credit_mid_usd: float  # per share of one condor
    width_pts: float
    max_loss_usd: float  # per condor, at the mid credit


def standard_expiry_on_or_after(day: date) -> date:
    """The first standard monthly SPX expiry (third Friday, moved before a holiday)
    on or after ``day``."""
    year, month = day.year, day.month
    while True:
        expiry = spx_monthly_expiry(year, month)
        if expiry >= day:
            return expiry
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def is_roll_day(day: date) -> bool:
    return standard_expiry_on_or_after(day) == day


def next_standard_expiry(day: date) -> date:
    """The standard expiry after ``day`` (strictly: on an expiry day, the next month's)."""
    following = standard_expiry_on_or_after(day)
    if following > day:
        return following
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return standard_expiry_on_or_after(nxt)


def choose_condor(
    puts: list[Strike], calls: list[Strike], params: BookRuleParams, equity_usd: float
) -> CondorChoice | None:
    """The condor of the rule from one expiry's puts and calls (with deltas)."""
    short_put = nearest_delta([p for p in puts if p.delta < 0], -params.short_delta)
    short_call = nearest_delta([c for c in calls if c.delta > 0], params.short_delta)
    if short_put is None or short_call is None:
        return None
    sp, sc = short_put.contract.strike or 0.0, short_call.contract.strike or 0.0
    long_put = nearest_delta(
        [p for p in puts if (p.contract.strike or 0.0) < sp], -params.long_delta
    )
    long_call = nearest_delta(
        [c for c in calls if (c.contract.strike or 0.0) > sc], params.long_delta
    )
    if long_put is None or long_call is None or sp >= sc:
        return None
    credit = short_put.mid + short_call.mid - long_put.mid - long_call.mid
    width = max(sp - (long_put.contract.strike or 0.0), (long_call.contract.strike or 0.0) - sc)
    max_loss = (width - credit) * short_put.contract.multiplier
    if credit <= 0 or max_loss <= 0:
        return None
    quantity = math.floor(params.max_loss_frac * equity_usd / max_loss)
    if quantity < 1:
        return None
    legs = (
        leg(long_put, Action.BUY),
        leg(short_put, Action.SELL),
        leg(short_call, Action.SELL),
        leg(long_call, Action.BUY),
    )
    return CondorChoice(legs, quantity, credit, width, max_loss)


@dataclass(frozen=True)
class CsvPosition:
    contract: Contract
    quantity: int


_COLUMNS = ("trading_class", "expiry", "strike", "right", "quantity")


def read_positions_csv(path: Path) -> list[CsvPosition]:
    """The user's book; a bad line is a ConfigError naming the file, line and field."""
    field = "replay.book.positions_csv"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError.single(field, f"cannot read {path}: {exc}", value=str(path)) from exc
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or tuple(rows[0].keys()) != _COLUMNS:
        header = ",".join(_COLUMNS)
        raise ConfigError.single(field, f"{path}: header must be {header}", value=str(path))
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            tc = row["trading_class"].strip()
            if tc not in ("SPX", "SPXW"):
                raise ValueError(f"trading_class {tc!r} is not SPX or SPXW")
            expiry = date.fromisoformat(row["expiry"].strip())
            strike = float(row["strike"])
            right = Right(row["right"].strip().upper())
            quantity = int(row["quantity"])
            if quantity == 0 or not (strike > 0):
                raise ValueError("quantity must be non-zero and strike positive")
            out.append(CsvPosition(option("SPX", tc, expiry, strike, right), quantity))
        except (ValueError, KeyError) as exc:
            raise ConfigError.single(field, f"{path} line {line}: {exc}", value=str(path)) from exc
    return out


def session_day(now: datetime) -> date:
    day = now.astimezone(NY).date()
    return day if is_session(day) else previous_session(day)
