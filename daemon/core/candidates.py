"""Layer 3 candidates: hedge structures built from the live chains (alvh-model.md §4).

Two families, each a best pair plus neighbouring strike pairs as alternatives (the integer
program in ``overlay.py`` chooses among them, as few pairs as it can unless splitting saves
more than ``overlay.consolidate_tolerance_frac``):

- VIX call spreads at the first VIX expiry with DTE >= ``vix.min_dte_days``: long the call
  nearest ``vix.long_delta``, short the call nearest ``vix.short_delta`` (or the strike
  nearest long + ``vix.width_pts``).
- SPX put diagonals: long the put nearest ``diagonal.long_delta`` at an expiry whose DTE
  lies in [``long_dte_min_days``, ``long_dte_max_days``], short the put
  ``diagonal.short_offset_frac`` x SPX spot lower at the nearest expiry on or after the
  condor's.

Every number is per unit of the structure, USD with the multiplier applied: the debit at
mids, the natural debit (paying asks, receiving bids), the stress-scenario payoff by full
repricing (``risk.scenario_pnls``) and the theta per calendar day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from daemon.core.calendar import NY, dte_days
from daemon.core.market import SPX_SYMBOL, VIX_SYMBOL, ExpiryView, MarketView, OptionView
from daemon.core.models import Action, Contract, Right
from daemon.core.params import ModelParams
from daemon.core.risk import scenario_pnls
from daemon.core.structures import Leg, StructureKind


@dataclass(frozen=True)
class LegSpec:
    """One leg of a candidate: ``ratio`` (> 0) contracts per unit, bought or sold."""

    contract: Contract
    ratio: int
    action: Action

    def __post_init__(self) -> None:
        if self.ratio <= 0:
            raise ValueError(f"leg ratio must be > 0, got {self.ratio}")

    @property
    def signed_ratio(self) -> int:
        return self.ratio if self.action is Action.BUY else -self.ratio

    @property
    def label(self) -> str:
        sign = "+" if self.action is Action.BUY else "-"
        return f"{sign}{self.ratio} {self.contract.key}"

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract.key,
            **self.contract.to_json(),
            "ratio": self.ratio,
            "action": self.action.value,
        }


def candidate_key(legs: tuple[LegSpec, ...]) -> str:
    """A stable identity from the legs alone, e.g.
    ``+1 VIX 2026-04-15 20 C / -1 VIX 2026-04-15 30 C`` (legs in contract order)."""
    return " / ".join(leg.label for leg in sorted(legs, key=lambda leg: leg.contract.key))


@dataclass(frozen=True)
class Candidate:
    """One unit of a hedge structure the overlay may buy; money per unit, USD."""

    key: str
    kind: StructureKind
    legs: tuple[LegSpec, ...]
    debit_usd: float
    natural_debit_usd: float
    payoff_usd: float
    theta_usd_per_day: float
    dte_days: int
    is_vix: bool

    @property
    def debit_per_payoff(self) -> float | None:
        """USD of debit per USD of stress payoff: the price of this protection."""
        return self.debit_usd / self.payoff_usd if self.payoff_usd > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind.value,
            "legs": [leg.to_json() for leg in self.legs],
            "debit_usd": self.debit_usd,
            "natural_debit_usd": self.natural_debit_usd,
            "payoff_usd": self.payoff_usd,
            "theta_usd_per_day": self.theta_usd_per_day,
            "dte_days": self.dte_days,
            "is_vix": self.is_vix,
        }


@dataclass(frozen=True)
class CandidateSearch:
    """The candidates of one family and, when it found none or skipped some, why."""

    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]


# ---- shared helpers ------------------------------------------------------------------------
def _quotable(v: OptionView) -> bool:
    """A leg we can trade and value: a usable two-sided quote, a model vol and greeks."""
    return (
        v.mid is not None
        and v.mid > 0.0
        and v.bid is not None
        and v.ask is not None
        and v.delta is not None
        and v.theta is not None
    )


def _nearest(values: Sequence[float], target: float) -> int:
    """Index of the value nearest ``target``; ties go to the first (the lower strike)."""
    return min(range(len(values)), key=lambda i: (abs(values[i] - target), i))


def _priced(chain: Sequence[OptionView], right: Right) -> list[OptionView]:
    """Options of one right that carry a delta, by strike."""
    found = [v for v in chain if v.contract.right is right and v.delta is not None]
    return sorted(found, key=lambda v: v.contract.strike or 0.0)


def _strike(v: OptionView) -> float:
    return v.contract.strike or 0.0


def _candidate(
    kind: StructureKind,
    legs: tuple[tuple[OptionView, Action], ...],
    payoff: float | None,
    now: datetime,
) -> Candidate | str:
    """One unit (every ratio 1) of ``legs`` whose stress payoff is ``payoff`` (``_specs``
    and ``scenario_pnls``); a reason string when it cannot be priced."""
    if payoff is None:
        return "stress repricing failed"
    specs = _specs(legs)
    debit = natural = theta = 0.0
    for (v, _), spec in zip(legs, specs, strict=True):
        assert v.mid is not None and v.bid is not None and v.ask is not None
        size = spec.signed_ratio * spec.contract.multiplier
        debit += size * v.mid
        # Natural: pay the ask on what we buy, receive the bid on what we sell.
        natural += size * (v.ask if spec.action is Action.BUY else v.bid)
        theta += size * (v.theta or 0.0)
    return Candidate(
        key=candidate_key(specs),
        kind=kind,
        legs=specs,
        debit_usd=debit,
        natural_debit_usd=natural,
        payoff_usd=payoff,
        theta_usd_per_day=theta,
        dte_days=min(dte_days(v.contract, now) for v, _ in legs),
        is_vix=kind is StructureKind.VIX_CALL_SPREAD,
    )


def _specs(legs: tuple[tuple[OptionView, Action], ...]) -> tuple[LegSpec, ...]:
    return tuple(LegSpec(v.contract, 1, action) for v, action in legs)


def _collect(
    kind: StructureKind,
    pairs: Sequence[tuple[OptionView, OptionView]],
    view: MarketView,
    now: datetime,
    params: ModelParams,
) -> CandidateSearch:
    """Price each (long, short) pair; keep the good ones, note the others. The pairs with
    usable quotes are stress-repriced together (``scenario_pnls``: one Black-76 call)."""
    legs = [((long, Action.BUY), (short, Action.SELL)) for long, short in pairs]
    bad = [[v.contract.key for v, _ in pair if not _quotable(v)] for pair in legs]
    jobs = [
        ([Leg(s.contract, s.signed_ratio) for s in _specs(pair)], None)
        for pair, no in zip(legs, bad, strict=True)
        if not no
    ]
    payoffs = iter(scenario_pnls(jobs, view, params.scenario))
    found: list[Candidate] = []
    notes: list[str] = []
    seen: set[str] = set()
    for (long, short), pair, no in zip(pairs, legs, bad, strict=True):
        made: Candidate | str
        if no:
            made = f"no usable quote for {', '.join(no)}"
        else:
            made = _candidate(kind, pair, next(payoffs), now)
        if isinstance(made, str):
            notes.append(f"{kind.value} {long.contract.key} / {short.contract.key}: {made}")
        elif made.key not in seen:
            seen.add(made.key)
            found.append(made)
    return CandidateSearch(tuple(found), tuple(notes))


def _class_rank(trading_class: str) -> int:
    # Between SPX (AM-settled) and SPXW (PM) of one date, prefer the PM class: it settles
    # on a traded price, not the next morning's special opening quotation.
    return 0 if trading_class.endswith("W") else 1


# ---- VIX call spreads ----------------------------------------------------------------------
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
    first = min(expiries, key=lambda e: (e.expiry, _class_rank(e.trading_class)))
    calls = _priced(view.chain(first.trading_class, first.expiry), Right.CALL)
    if len(calls) < 2:
        return CandidateSearch((), (f"VIX {first.name}: fewer than 2 priced calls",))
    deltas = [v.delta or 0.0 for v in calls]
    strikes = [_strike(v) for v in calls]
    long_i = _nearest(deltas, p.long_delta)
    short_i = _nearest(deltas, p.short_delta)
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
            si = above[_nearest([strikes[i] for i in above], strikes[li] + p.width_pts)]
        else:
            si = short_i + shift
        if li < si < len(calls):
            pairs.append((calls[li], calls[si]))
    if not pairs:
        return CandidateSearch((), (f"VIX {first.name}: no long/short call pair",))
    return _collect(StructureKind.VIX_CALL_SPREAD, pairs, view, now, params)


def vix_call_spread_candidates(
    view: MarketView, now: datetime, params: ModelParams
) -> list[Candidate]:
    """VIX call spreads at the first VIX expiry with DTE >= ``vix.min_dte_days``."""
    return list(find_vix_call_spreads(view, now, params).candidates)


# ---- SPX put diagonals ---------------------------------------------------------------------
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
            _class_rank(e.trading_class),
        ),
    )
    # Never nearer than short_min_dte_days: a short leg with a session or two left would be
    # due to roll again at once (rolls every cycle around an expiry).
    earliest = max(condor_expiry, now.astimezone(NY).date() + timedelta(days=p.short_min_dte_days))
    shorts = [e for e in spx if earliest <= e.expiry < long.expiry]
    if not shorts:
        return f"no reliable SPX expiry in [{earliest}, {long.expiry}) for the short leg"
    short = min(shorts, key=lambda e: (e.expiry, _class_rank(e.trading_class)))
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
    free = [
        [
            v
            for v in _priced(view.chain(e.trading_class, e.expiry), Right.PUT)
            if v.contract.key not in avoid_keys
        ]
        for e in (long_exp, short_exp)
    ]
    longs, shorts = free
    if not longs or not shorts:
        return CandidateSearch((), (f"no priced puts at {long_exp.name} or {short_exp.name}",))
    if view.spot is None or view.spot <= 0:
        return CandidateSearch((), ("no usable SPX spot to place the diagonal's short strike",))
    # A fraction of spot, so the offset means the same at SPX 700 and at 7,000.
    offset_pts = p.short_offset_frac * view.spot
    long_i = _nearest([v.delta or 0.0 for v in longs], p.long_delta)
    pairs: list[tuple[OptionView, OptionView]] = []
    for shift in range(-p.neighbour_count, p.neighbour_count + 1):
        li = long_i + shift
        if not 0 <= li < len(longs):
            continue
        k_long = _strike(longs[li])
        # The short strike never above the long's (the diagonal's definition).
        eligible = [v for v in shorts if _strike(v) <= k_long]
        if eligible:
            si = _nearest([_strike(v) for v in eligible], k_long - offset_pts)
            pairs.append((longs[li], eligible[si]))
    if not pairs:
        return CandidateSearch(
            (), (f"no short put at or below the long strikes at {short_exp.name}",)
        )
    return _collect(StructureKind.SPX_PUT_DIAGONAL, pairs, view, now, params)


def spx_put_diagonal_candidates(
    view: MarketView,
    now: datetime,
    condor_expiry: date | None,
    params: ModelParams,
    avoid_keys: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """SPX put diagonals: long near ``diagonal.long_delta`` in the long-DTE window, short
    ``short_offset_frac`` x spot lower at the nearest expiry on or after ``condor_expiry``."""
    found = find_spx_put_diagonals(view, now, condor_expiry, params, avoid_keys)
    return list(found.candidates)
