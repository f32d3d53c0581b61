"""Assembling one cycle's inputs for the layers: signal inputs, the skew chain, held hedges.

Pure glue between the snapshot, the market view, the book's risk and the layers' own
input types, kept out of ``evaluate`` so the front door reads as the model's steps.

``BookHistory`` is what one snapshot cannot show and the runtime reads from its journal:
the hedge orders' debits (for the rolling spend cap, ``budget.spend_window_sessions``) and
the last session the income book was not empty (for ``proposal.book_gap_grace_sessions``).
The core stays pure: it only counts sessions between the dates it is given and today.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from typing import TypeVar

import numpy as np

from daemon.core.calendar import NY, sessions_until
from daemon.core.market import MarketView
from daemon.core.models import BreadthDay, DailyBar, MarketSnapshot, Right
from daemon.core.params import ModelParams
from daemon.core.proposal import HeldHedge
from daemon.core.risk import BookRisk, StructureRisk
from daemon.core.signals import SignalInputs, SkewChain
from daemon.core.signals.book import atm_iv_sigma, short_strike_distance
from daemon.core.structures import Book, Structure


@dataclass(frozen=True)
class HedgeSpend:
    """One hedge order as the journal knows it: its trading day and the net debit paid
    for it, USD with multiplier and quantity applied (filled quantity at the fill price,
    plus any quantity still working at its limit); < 0 for a net credit received."""

    day: date
    debit_usd: float


@dataclass(frozen=True)
class BookHistory:
    """The journal's memory the core needs (module docstring). ``income_last_seen``: the
    latest trading day on which a cycle saw an income structure; ``None`` when unknown,
    in which case no grace applies."""

    spends: tuple[HedgeSpend, ...] = ()
    income_last_seen: date | None = None

    def window_debit_usd(self, today: date, window_sessions: int) -> float:
        """Debit paid over the last ``window_sessions`` sessions, today included. Credits
        received are not netted against it: the cap bounds what is paid, and a roll is
        one combo whose net price is already its own netting."""
        return math.fsum(
            max(s.debit_usd, 0.0)
            for s in self.spends
            if s.day <= today and sessions_until(s.day, today) < window_sessions
        )

    def gap_sessions(self, today: date) -> int | None:
        """Sessions since the income book was last seen, or None when never seen."""
        if self.income_last_seen is None:
            return None
        return sessions_until(self.income_last_seen, today)


def trading_day(now: datetime) -> date:
    return now.astimezone(NY).date()


# The sort key of DailyBar and BreadthDay rows: a C call per row, not a Python one.
_BY_DAY = attrgetter("day")
# Module constants: ``Right.PUT`` is a class attribute look-up (~0.15 µs) per option.
_CALL, _PUT = Right.CALL, Right.PUT
_Row = TypeVar("_Row", DailyBar, BreadthDay)


def _before(rows: Sequence[_Row], today: date) -> list[_Row]:
    """The rows dated before ``today``, oldest first (a stable sort by day). Sorting all
    then cutting at today is the same list as sorting those kept: a stable sort keeps the
    order of equal days either way, and the rows kept are a prefix of the sorted ones."""
    ordered = sorted(rows, key=_BY_DAY)
    return ordered[: bisect_left(ordered, today, key=_BY_DAY)]


def signal_inputs(
    snapshot: MarketSnapshot,
    view: MarketView,
    book: Book | None,
    params: ModelParams,
    now: datetime,
) -> SignalInputs:
    """The signals' inputs. Daily history excludes today's bar: today is the live quote.
    The series are put in date order here: the snapshot does not promise one, and every
    indicator reads its input oldest first."""
    today = trading_day(now)
    bars = _before(snapshot.spx_history, today)
    breadth = _before(snapshot.breadth_history, today)
    return SignalInputs(
        today=today,
        # List comprehensions into ``np.asarray``: faster here than ``np.fromiter`` or
        # ``map(attrgetter)``, most of all for the breadth's ints.
        spx_closes=np.asarray([bar.close for bar in bars], dtype=np.float64),
        spx_last=view.spot,
        vix=view.vix,
        vix3m=view.vix3m,
        advancing=np.asarray([b.advancing for b in breadth], dtype=np.float64),
        declining=np.asarray([b.declining for b in breadth], dtype=np.float64),
        unchanged=np.asarray([b.unchanged for b in breadth], dtype=np.float64),
        breadth_unavailable=snapshot.breadth_unavailable,
        events=snapshot.events,
        sessions_until=sessions_until,
        nearest_short_sigmas=None if book is None else nearest_short_distance(book, view),
        skew=skew_chain(view, params, now),
    )


def nearest_short_distance(book: Book, view: MarketView) -> float | None:
    """The proximity signal's raw value: the nearest short strike of the income book, in
    ATM sigmas from spot (``daemon.core.signals.book``). ``None`` without short strikes;
    NaN when the book has some but none could be measured (no spot, or no ATM IV or time
    for its expiry), so the signal reports a number it could not compute rather than an
    empty book."""
    shorts = [leg for s in book.income for leg in s.legs if leg.quantity < 0]
    if not shorts:
        return None
    distances: list[float] = []
    atm_by_expiry: dict[tuple[str, date], float | None] = {}
    for leg in shorts:
        c = leg.contract
        quote = view.option(c)
        if quote is None or view.spot is None or c.strike is None or c.right is None:
            continue
        if c.expiry is None or quote.underlying_price is None:
            continue
        key = (c.trading_class, c.expiry)
        if key not in atm_by_expiry:
            series = view.chain(c.trading_class or c.symbol, c.expiry)
            chain = [o for o in series if o.iv_sigma is not None]
            atm_by_expiry[key] = atm_iv_sigma(
                [o.contract.strike or math.nan for o in chain],
                [o.contract.right or _CALL for o in chain],
                [o.iv_sigma or math.nan for o in chain],
                quote.underlying_price,
            )
        atm = atm_by_expiry[key]
        if atm is None:
            continue
        x = short_strike_distance(c.strike, c.right, view.spot, atm, quote.t_years)
        if x is not None:
            distances.append(x)
    return min(distances, default=math.nan)


def skew_chain(view: MarketView, params: ModelParams, now: datetime) -> SkewChain | None:
    """The put smile of the reliable SPX/SPXW expiry nearest ``signals.skew.tenor_days``."""
    today = trading_day(now)
    expiries = [
        e for e in view.expiries("SPX") if e.reliable and e.t_years > 0 and e.forward is not None
    ]
    if not expiries:
        return None
    tenor = params.signals.skew.tenor_days
    best = min(expiries, key=lambda e: abs((e.expiry - today).days - tenor))
    puts = sorted(
        (o for o in view.chain(best.trading_class, best.expiry) if o.contract.right is _PUT),
        key=lambda o: o.contract.strike or 0.0,
    )
    if len(puts) < 2 or best.forward is None:
        return None
    return SkewChain(
        strikes=np.array([o.contract.strike for o in puts], dtype=np.float64),
        put_iv_sigma=np.array(
            [math.nan if o.iv_sigma is None else o.iv_sigma for o in puts], dtype=np.float64
        ),
        forward=best.forward,
        t_years=best.t_years,
        rate_frac=params.pricing.risk_free_rate_frac,
    )


def _natural_close_usd(structure: Structure, view: MarketView) -> float | None:
    """What closing one unit brings at the natural prices: longs sold at the bid, shorts
    bought back at the ask (USD, multiplier applied)."""
    total = 0.0
    for leg in structure.legs:
        quote = view.option(leg.contract)
        if quote is None:
            return None
        side = quote.bid if leg.quantity > 0 else quote.ask
        if side is None:
            return None
        total += side * leg.quantity * leg.contract.multiplier
    return total


def held_hedges(
    book: Book, risk: BookRisk, view: MarketView, now: datetime
) -> tuple[HeldHedge, ...]:
    """The proposal's view of each hedge held, per unit. Every hedge must be priced:
    ``evaluate`` stops an incomplete book first (``UNPRICED_BOOK``), and the market view
    only validates when every held leg has a two-sided quote, so its natural close is
    known too. A hedge without a value here is a programming error and raises
    ``ValueError`` (it used to be set aside as "unpriced", a path nothing could reach)."""
    by_id: dict[str, StructureRisk] = {r.structure_id: r for r in risk.hedges}
    today = trading_day(now)
    found: list[HeldHedge] = []
    for structure in book.hedges:
        r = by_id.get(structure.id)
        close = _natural_close_usd(structure, view)
        if r is None or r.stress_pnl_usd is None or r.mark_usd is None:
            raise ValueError(f"{structure.label}: held hedge not priced in the book's risk")
        if close is None or r.theta_usd_per_day is None:
            raise ValueError(f"{structure.label}: held hedge has no natural close or theta")
        units = structure.quantity
        # Sessions until the nearest short leg expires: the diagonal's roll rule reads it.
        shorts = [leg.contract.expiry for leg in structure.legs if leg.quantity < 0]
        short = min((d for d in shorts if d is not None), default=None)
        short_sessions = None if short is None else sessions_until(today, short)
        found.append(
            HeldHedge(
                structure=structure,
                payoff_usd=r.stress_pnl_usd / units,
                mark_usd=r.mark_usd / units,
                natural_close_usd=close,
                theta_usd_per_day=r.theta_usd_per_day / units,
                dte_days=r.dte_days,
                short_sessions_to_expiry=short_sessions,
                cost_basis_usd=-r.credit_usd / units,
            )
        )
    return tuple(found)
