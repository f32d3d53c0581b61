"""The SPX put diagonal family: long a put at a later expiry, short a put nearer, lower.

- **Recognised**: each short SPX put (nearest expiry, then highest strike first) with a
  long SPX put of a later expiry at or above its strike (the nearest strike, then the
  nearest expiry); the classes may mix (SPX and SPXW).
- **Candidates**: long the put nearest ``diagonal.long_delta`` at an expiry whose DTE lies
  in [``long_dte_min_days``, ``long_dte_max_days``] (the one nearest the middle), short
  the put ``diagonal.short_offset_frac`` x SPX spot lower at the nearest expiry on or
  after the front income expiry and at least ``short_min_dte_days`` away; never on a
  contract the income book holds (``CandidateContext.avoid_keys``). The long shifted by
  up to ``diagonal.neighbour_count`` strikes either way as alternatives.
- **Stress**: full repricing of both legs (``stress.py``); no closed-form max loss (its
  legs expire apart, so its worst case depends on vol at the short expiry), so its
  stress P&L is not capped.
- **Roll**: due when its short leg has ``<= roll.diagonal_short_min_sessions`` sessions to
  expiry (``roll_diagonal_short``).
- **Quoted**: the ``snapshot.diagonal_long_expiries`` expiries of the long window nearest
  its middle, and the first ``snapshot.short_leg_expiries`` expiries on or after the front
  held SPX expiry and ``diagonal.short_min_dte_days`` away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum

from daemon.core.calendar import NY, dte_days
from daemon.core.candidates import (
    CandidateSearch,
    class_rank,
    collect,
    nearest_index,
    priced_chain,
    view_strike,
)
from daemon.core.families.base import (
    CandidateContext,
    HedgeFamily,
    HeldHedge,
    QuoteContext,
    window_middle,
)
from daemon.core.market import SPX_SYMBOL, ExpiryView, MarketView, OptionView
from daemon.core.models import Contract, Right, SecType
from daemon.core.params import ModelParams, RollParams
from daemon.core.structures import Pool, Structure, StructureKind, option_of, strike_of

SPX_PUT_DIAGONAL = StructureKind("SPX_PUT_DIAGONAL", "PDG")


class DiagonalRoll(StrEnum):
    SHORT_LEG = "roll_diagonal_short"


def match_diagonals(pool: Pool) -> list[Structure]:
    """Short puts by nearest expiry then highest strike, each with the long put of a later
    expiry at or above its strike: the nearest strike, then the nearest expiry."""
    found: list[Structure] = []
    while True:
        pair: tuple[Contract, Contract] | None = None
        shorts = sorted(
            pool.shorts(option_of(SPX_SYMBOL, Right.PUT)),
            key=lambda c: (c.expiry or date.min, -strike_of(c), c.trading_class),
        )
        for s in shorts:
            longs = [
                c
                for c in pool.longs(option_of(SPX_SYMBOL, Right.PUT))
                if (c.expiry or date.min) > (s.expiry or date.min) and strike_of(c) >= strike_of(s)
            ]
            if longs:
                # The nearest strike above the short, then the nearest expiry.
                long = min(
                    longs, key=lambda c: (strike_of(c), c.expiry or date.min, c.trading_class)
                )
                pair = (s, long)
                break
        if pair is None:
            return found
        s, long = pair
        found.append(pool.take(SPX_PUT_DIAGONAL, ((s, -1), (long, 1))))


def _pick_spx_expiries(
    view: MarketView, now: datetime, condor_expiry: date, params: ModelParams
) -> tuple[ExpiryView, ExpiryView] | str:
    """(long expiry, short expiry) for the diagonal, or why there is none."""
    p = params.diagonal
    spx = [e for e in view.expiries(SPX_SYMBOL) if e.reliable]
    window = [
        e for e in spx if p.long_dte_min_days <= dte_days(e.expiry, now) <= p.long_dte_max_days
    ]
    if not window:
        return f"no reliable SPX expiry with DTE in [{p.long_dte_min_days}, {p.long_dte_max_days}]"
    # Several in the window: the one nearest its middle, then the earlier, then SPXW.
    middle = 0.5 * (p.long_dte_min_days + p.long_dte_max_days)
    long = min(
        window,
        key=lambda e: (
            abs(dte_days(e.expiry, now) - middle),
            e.expiry,
            class_rank(e.trading_class),
        ),
    )
    # Never nearer than short_min_dte_days: a short leg with a session or two left would be
    # due to roll again at once (rolls every cycle around an expiry).
    earliest = max(condor_expiry, now.astimezone(NY).date() + timedelta(days=p.short_min_dte_days))
    shorts = [e for e in spx if earliest <= e.expiry < long.expiry]
    if not shorts:
        return f"no reliable SPX expiry in [{earliest}, {long.expiry}) for the short leg"
    short = min(shorts, key=lambda e: (e.expiry, class_rank(e.trading_class)))
    return long, short


def find_spx_put_diagonals(
    view: MarketView,
    now: datetime,
    condor_expiry: date | None,
    params: ModelParams,
    avoid_keys: frozenset[str] = frozenset(),
) -> CandidateSearch:
    """SPX put diagonal candidates with the reasons for any left out (module docstring).

    ``avoid_keys``: contracts (``Contract.key``) the income book holds. A diagonal leg on
    one of them would net against the condor on fill (selling the condor's long wing, say)
    and leave neither structure whole, so such strikes are never chosen."""
    if condor_expiry is None:
        return CandidateSearch((), ("no condor expiry: no diagonal short leg to place",))
    picked = _pick_spx_expiries(view, now, condor_expiry, params)
    if isinstance(picked, str):
        return CandidateSearch((), (picked,))
    long_exp, short_exp = picked
    p = params.diagonal
    longs, shorts = (
        _not_held(priced_chain(view, e.trading_class, e.expiry, Right.PUT), avoid_keys)
        for e in (long_exp, short_exp)
    )
    if not longs or not shorts:
        return CandidateSearch((), (f"no priced puts at {long_exp.name} or {short_exp.name}",))
    if view.spot is None or view.spot <= 0:
        return CandidateSearch((), ("no usable SPX spot to place the diagonal's short strike",))
    # A fraction of spot, so the offset means the same at SPX 700 and at 7,000.
    offset_pts = p.short_offset_frac * view.spot
    long_i = nearest_index([v.delta or 0.0 for v in longs], p.long_delta)
    pairs: list[tuple[OptionView, OptionView]] = []
    for shift in range(-p.neighbour_count, p.neighbour_count + 1):
        li = long_i + shift
        if not 0 <= li < len(longs):
            continue
        k_long = view_strike(longs[li])
        # The short strike never above the long's (the diagonal's definition).
        eligible = [v for v in shorts if view_strike(v) <= k_long]
        if eligible:
            si = nearest_index([view_strike(v) for v in eligible], k_long - offset_pts)
            pairs.append((longs[li], eligible[si]))
    if not pairs:
        return CandidateSearch(
            (), (f"no short put at or below the long strikes at {short_exp.name}",)
        )
    return collect(SPX_PUT_DIAGONAL, pairs, view, now, params, is_vix=False)


def _not_held(views: list[OptionView], avoid_keys: frozenset[str]) -> list[OptionView]:
    """``views`` less those on a contract of ``avoid_keys``. An option's key begins with
    its class and expiry (``Contract.key``), so when no avoided key begins like any of
    the chain's, none is avoided and no key need be formatted (the long leg's chain, far
    from the condor's expiry, most of all)."""
    if not avoid_keys:
        return views
    series = {(v.contract.trading_class, v.contract.expiry, v.contract.sec_type) for v in views}
    if all(kind is SecType.OPTION for _, _, kind in series):
        heads = tuple(f"{tc} {expiry} " for tc, expiry, _ in series)
        if not any(key.startswith(heads) for key in avoid_keys):
            return views
    return [v for v in views if v.contract.key not in avoid_keys]


def by_date(pair: tuple[str, date]) -> tuple[date, int]:
    """(class, expiry) pairs by date; PM-settled SPXW before AM SPX on one date, as the
    candidate search prefers it."""
    return pair[1], class_rank(pair[0])


class SpxPutDiagonal(HedgeFamily):
    kind = SPX_PUT_DIAGONAL
    symbol = SPX_SYMBOL
    counts_as_vix = False
    note_name = "SPX"

    def recognise(self, pool: Pool) -> list[Structure]:
        return match_diagonals(pool)

    def find_candidates(
        self, view: MarketView, now: datetime, params: ModelParams, ctx: CandidateContext
    ) -> CandidateSearch:
        return find_spx_put_diagonals(view, now, ctx.condor_expiry, params, ctx.avoid_keys)

    def roll_rule(self, hedge: HeldHedge, roll: RollParams) -> StrEnum | None:
        sessions = hedge.short_sessions_to_expiry
        if sessions is None:
            raise ValueError(f"{hedge.structure.label}: short_sessions_to_expiry is required")
        return DiagonalRoll.SHORT_LEG if sessions <= roll.diagonal_short_min_sessions else None

    def quote_expiries(
        self, listed: Mapping[str, Sequence[date]], ctx: QuoteContext
    ) -> set[tuple[str, date]]:
        diag, today = ctx.params.diagonal, ctx.today
        both = sorted(((tc, d) for tc, days in listed.items() for d in days), key=by_date)
        longs = window_middle(
            sorted({d for _, d in both}), today, diag.long_dte_min_days, diag.long_dte_max_days,
            ctx.breadth.diagonal_long_expiries,
        )  # fmt: skip
        chosen = {(tc, d) for tc, d in both if d in longs}
        fronts = [d for d in ctx.held_fronts if d > today]  # an expiring book has no successor
        if fronts:
            # The short leg: on or after the front held expiry and at least
            # diagonal.short_min_dte_days away.
            first = max(min(fronts), today + timedelta(days=diag.short_min_dte_days))
            after = [(tc, d) for tc, d in both if d >= first]
            chosen |= set(after[: ctx.breadth.short_leg_expiries])
        return chosen


FAMILY = SpxPutDiagonal()
