"""Layer 3 candidates: the hedge units the overlay may buy, priced from the live chains.

The shared part of every hedge family (alvh-model.md section 4): ``LegSpec``, ``Candidate``
and ``CandidateSearch``, and ``collect``, which prices (long, short) pairs one unit each.
Each family's own search (which expiry, which strikes, the neighbouring pairs offered as
alternatives) lives in its module under ``daemon/core/families/``; the integer program in
``overlay.py`` chooses among them all.

Every number is per unit of the structure, USD with the multiplier applied: the debit at
mids, the natural debit (paying asks, receiving bids), the stress-scenario payoff by full
repricing (``stress.scenario_pnls``) and the theta per calendar day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from daemon.core.calendar import dte_days
from daemon.core.market import MarketView, OptionView
from daemon.core.models import Action, Contract, Right
from daemon.core.params import ModelParams
from daemon.core.plain import to_plain
from daemon.core.stress import scenario_pnls
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
        """The journal's shape (``plain.to_plain`` calls it): the contract's key, then its
        fields flattened beside the ratio and side, as orders have always been read."""
        return {
            "contract": self.contract.key,
            **to_plain(self.contract),
            "ratio": self.ratio,
            "action": to_plain(self.action),
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


@dataclass(frozen=True)
class CandidateSearch:
    """The candidates of one family and, when it found none or skipped some, why."""

    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]


# ---- shared helpers (the families use them) ------------------------------------------
def quotable(v: OptionView) -> bool:
    """A leg we can trade and value: a usable two-sided quote, a model vol and greeks."""
    return (
        v.mid is not None
        and v.mid > 0.0
        and v.bid is not None
        and v.ask is not None
        and v.delta is not None
        and v.theta is not None
    )


def nearest_index(values: Sequence[float], target: float) -> int:
    """Index of the value nearest ``target``; ties go to the first (the lower strike).

    ``min`` over (distance, index) keys, without a key call per value: a later value
    replaces the best only when strictly nearer (an equal distance loses on its larger
    index; a NaN distance is never nearer, nor is anything nearer than a NaN first)."""
    if not values:
        raise ValueError("nearest_index() of an empty sequence")
    best, best_d = 0, abs(values[0] - target)
    for i in range(1, len(values)):
        d = abs(values[i] - target)
        if d < best_d:
            best, best_d = i, d
    return best


def priced(chain: Sequence[OptionView], right: Right) -> list[OptionView]:
    """Options of one right that carry a delta, by strike."""
    found = [v for v in chain if v.contract.right is right and v.delta is not None]
    return sorted(found, key=lambda v: v.contract.strike or 0.0)


def priced_chain(
    view: MarketView, trading_class: str, expiry: date, right: Right
) -> list[OptionView]:
    """``priced(view.chain(trading_class, expiry), right)`` without its sort:
    ``MarketView.chain`` is in (strike, right) order, so the options of one right are in
    strike order already and the stable sort would leave them as they are."""
    chain = view.chain(trading_class, expiry)
    return [v for v in chain if v.contract.right is right and v.delta is not None]


def view_strike(v: OptionView) -> float:
    return v.contract.strike or 0.0


def _candidate(
    kind: StructureKind,
    legs: tuple[tuple[OptionView, Action], ...],
    specs: tuple[LegSpec, ...],
    payoff: float | None,
    now: datetime,
    is_vix: bool,
    dte: dict[date | None, int],
) -> Candidate | str:
    """One unit (every ratio 1) of ``legs``, whose ``_specs`` are ``specs`` and stress
    payoff ``payoff`` (``scenario_pnls``); a reason string when it cannot be priced.
    ``dte``: the expiries' ``dte_days`` already worked out (``_days``)."""
    if payoff is None:
        return "stress repricing failed"
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
        dte_days=min(_days(v.contract, now, dte) for v, _ in legs),
        is_vix=is_vix,
    )


def _specs(legs: tuple[tuple[OptionView, Action], ...]) -> tuple[LegSpec, ...]:
    return tuple(LegSpec(v.contract, 1, action) for v, action in legs)


def collect(
    kind: StructureKind,
    pairs: Sequence[tuple[OptionView, OptionView]],
    view: MarketView,
    now: datetime,
    params: ModelParams,
    *,
    is_vix: bool,
) -> CandidateSearch:
    """Price each (long, short) pair one unit each (bought, sold); keep the good ones, note
    the others. The pairs with usable quotes are stress-repriced together
    (``scenario_pnls``: one Black-76 call). ``is_vix``: the family's payoff counts toward
    the mix's VIX share."""
    legs = [((long, Action.BUY), (short, Action.SELL)) for long, short in pairs]
    bad = [[v.contract.key for v, _ in pair if not quotable(v)] for pair in legs]
    specs = [_specs(pair) for pair in legs]  # each pair's, for its stress job and its unit
    jobs = [
        ([Leg(s.contract, s.signed_ratio) for s in spec], None)
        for spec, no in zip(specs, bad, strict=True)
        if not no
    ]
    payoffs = iter(scenario_pnls(jobs, view, params.scenario))
    dte: dict[date | None, int] = {}  # the pairs share two or three expiries
    found: list[Candidate] = []
    notes: list[str] = []
    seen: set[str] = set()
    for (long, short), pair, spec, no in zip(pairs, legs, specs, bad, strict=True):
        made: Candidate | str
        if no:
            made = f"no usable quote for {', '.join(no)}"
        else:
            made = _candidate(kind, pair, spec, next(payoffs), now, is_vix, dte)
        if isinstance(made, str):
            notes.append(f"{kind.value} {long.contract.key} / {short.contract.key}: {made}")
        elif made.key not in seen:
            seen.add(made.key)
            found.append(made)
    return CandidateSearch(tuple(found), tuple(notes))


def _days(contract: Contract, now: datetime, known: dict[date | None, int]) -> int:
    """``dte_days(contract, now)``, worked out once per expiry in ``known`` (a contract
    without an expiry raises as before: nothing is stored for it)."""
    days = known.get(contract.expiry)
    if days is None:
        days = known[contract.expiry] = dte_days(contract, now)
    return days


def class_rank(trading_class: str) -> int:
    # Between SPX (AM-settled) and SPXW (PM) of one date, prefer the PM class: it settles
    # on a traded price, not the next morning's special opening quotation.
    return 0 if trading_class.endswith("W") else 1
