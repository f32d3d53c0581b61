"""The VIX call spread family: long a call, short a higher call, same VIX expiry.

- **Recognised**: the lowest long VIX call with the nearest short call above it in the
  same series (trading class and expiry), as many units as both legs have.
- **Candidates**: at the first reliable VIX expiry with DTE >= ``vix.min_dte_days``, long
  the call nearest ``vix.long_delta``, short the call nearest ``vix.short_delta`` (or the
  strike nearest long + ``vix.width_pts``); the pair shifted by up to
  ``vix.neighbour_count`` strikes either way as alternatives. Its payoff counts toward
  the mix's VIX share.
- **Stress**: the legs repriced on the shocked VIX future (``stress.py``); it cannot lose
  more than its debit (max loss), nor more than its mark from now (remaining max loss).
- **Roll**: due when its DTE falls below ``roll.vix_min_dte_days`` (``roll_vix_dte``).
- **Quoted**: the first ``1 + snapshot.vix_extra_expiries`` VIX expiries with DTE >=
  ``vix.min_dte_days`` (the next ones in case the first fails its checks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum

from daemon.core.calendar import dte_days
from daemon.core.candidates import (
    CandidateSearch,
    class_rank,
    collect,
    nearest_index,
    priced_chain,
    view_strike,
)
from daemon.core.families.base import CandidateContext, HedgeFamily, HeldHedge, QuoteContext
from daemon.core.market import VIX_SYMBOL, MarketView, OptionView
from daemon.core.models import Right
from daemon.core.params import ModelParams, RollParams
from daemon.core.structures import Pool, Structure, StructureKind, leg_strikes, match_verticals

VIX_CALL_SPREAD = StructureKind("VIX_CALL_SPREAD", "VCS")


class VixRoll(StrEnum):
    DTE = "roll_vix_dte"


def find_vix_call_spreads(view: MarketView, now: datetime, params: ModelParams) -> CandidateSearch:
    """VIX call spread candidates with the reasons for any left out (module docstring)."""
    p = params.vix
    expiries = [
        e
        for e in view.expiries(VIX_SYMBOL)
        if e.reliable and dte_days(e.expiry, now) >= p.min_dte_days
    ]
    if not expiries:
        return CandidateSearch((), (f"no reliable VIX expiry with DTE >= {p.min_dte_days}",))
    first = min(expiries, key=lambda e: (e.expiry, class_rank(e.trading_class)))
    calls = priced_chain(view, first.trading_class, first.expiry, Right.CALL)
    if len(calls) < 2:
        return CandidateSearch((), (f"VIX {first.name}: fewer than 2 priced calls",))
    deltas = [v.delta or 0.0 for v in calls]
    strikes = [view_strike(v) for v in calls]
    long_i = nearest_index(deltas, p.long_delta)
    short_i = nearest_index(deltas, p.short_delta)
    pairs: list[tuple[OptionView, OptionView]] = []
    # Neighbours: the whole pair shifted by up to neighbour_count strikes either way (in
    # width mode only the long leg shifts; the short follows at long + width).
    for shift in range(-p.neighbour_count, p.neighbour_count + 1):
        li = long_i + shift
        if not 0 <= li < len(calls):
            continue
        if p.width_pts is not None:
            above = list(range(li + 1, len(calls)))
            if not above:
                continue
            si = above[nearest_index([strikes[i] for i in above], strikes[li] + p.width_pts)]
        else:
            si = short_i + shift
        if li < si < len(calls):
            pairs.append((calls[li], calls[si]))
    if not pairs:
        return CandidateSearch((), (f"VIX {first.name}: no long/short call pair",))
    return collect(VIX_CALL_SPREAD, pairs, view, now, params, is_vix=True)


class VixCallSpread(HedgeFamily):
    kind = VIX_CALL_SPREAD
    symbol = VIX_SYMBOL
    counts_as_vix = True
    note_name = "VIX"

    def recognise(self, pool: Pool) -> list[Structure]:
        return match_verticals(pool, VIX_CALL_SPREAD, VIX_SYMBOL, Right.CALL, anchor_short=False)

    def find_candidates(
        self, view: MarketView, now: datetime, params: ModelParams, ctx: CandidateContext
    ) -> CandidateSearch:
        # No avoid_keys filter: the income book holds SPX options only.
        return find_vix_call_spreads(view, now, params)

    def roll_rule(self, hedge: HeldHedge, roll: RollParams) -> StrEnum | None:
        return VixRoll.DTE if hedge.dte_days < roll.vix_min_dte_days else None

    def max_loss_usd(self, s: Structure, credit_usd: float) -> float | None:
        return max(0.0, -credit_usd)

    def remaining_max_loss_usd(self, s: Structure, mark_usd: float) -> float | None:
        # Worth at worst 0: it can lose its mark.
        return max(0.0, mark_usd)

    def breakevens(self, s: Structure, credit_usd: float) -> tuple[float, ...]:
        # The long strike plus the debit per share (the credit is negative).
        per_share = credit_usd / (s.legs[0].contract.multiplier * s.quantity)
        return (leg_strikes(s, Right.CALL, 1)[0] - per_share,)

    def quote_expiries(
        self, listed: Mapping[str, Sequence[date]], ctx: QuoteContext
    ) -> set[tuple[str, date]]:
        days = listed.get(VIX_SYMBOL, ())
        far = [d for d in days if (d - ctx.today).days >= ctx.params.vix.min_dte_days]
        return {(VIX_SYMBOL, d) for d in far[: 1 + ctx.breadth.vix_extra_expiries]}


FAMILY = VixCallSpread()
