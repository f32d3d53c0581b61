"""The proposal: from the overlay's plan and the hedges held to priced adjustments.

Model page section 5 (shared/design/alvh-model.md). Money is USD per unit of a structure
with the multiplier applied unless a name says ``_price_`` (USD per share, a combo's net).

Rules, applied in this order:

1. **Nothing on bad data.** When the scalar is insufficient (too many signals missing) the
   proposal is empty (status ``INSUFFICIENT_DATA``); rolls that fall due are noted only.
2. **Rolls (time-driven).** A held VIX call spread with ``dte_days < roll.vix_min_dte_days``,
   or a put diagonal whose short leg has ``<= roll.diagonal_short_min_sessions`` sessions to
   expiry, is due. Its successor is the plan's chosen candidate of the same kind (the one
   with the largest quantity left, then the smallest key). ``r = min(held, chosen)`` units
   are rolled as one combo (close the held legs, open the successor's; legs in the same
   contract are netted), the rest of the held hedge is closed and the successor's remaining
   chosen quantity carries on to rule 3. With no successor chosen, the hedge is closed.
   The overlay must therefore be run with the due hedges left out of ``held`` (see
   ``staying_payoff_usd``) so its plan includes their replacements.
3. **Cover (plan-driven).** The plan's quantities are *additions* on top of what is held.
   A chosen candidate with the same legs as a held hedge is an ``ADD`` to it; any other an
   ``OPEN``.
4. **Reduce (plan-driven).** When the coverage kept after rules 2-3 exceeds the target H
   by more than ``min_change_frac`` x H, held hedges are reduced, the highest mark per USD
   of stress payoff first (a hedge paying nothing in the stress counts as infinitely
   dear), each by the most whole units that keep coverage >= H. All of one hedge is a
   ``CLOSE``, part of it a ``REDUCE``.
5. **Hysteresis.** Plan-driven changes (rules 3-4) are grouped by hedge kind (VIX call
   spreads, put diagonals): the group's net change in units is kept only if it is at
   least ``max(min_change_contracts, min_change_frac x target)``, the target being the
   kind's units after the changes. Grouping by kind rather than by strike stops the
   optimiser's switch to a neighbouring strike from opening a 1-lot beside a 10-lot.
   Suppressed changes are listed so the journal explains a quiet cycle. Rolls and the
   closes of rule 2 are never suppressed: expiry does not wait for a band.

Limit prices are signed net prices per share in the *pay* convention of a combo order
bought: ``> 0`` a debit paid, ``< 0`` a credit received (IB's BAG convention). With mid m and
natural n (paying asks, receiving bids; n >= m in pay terms) the limit is
``min(m + price_offset_ticks x tick, n)`` rounded up on the combo tick grid; when rounding
up overshoots n and a grid point lies in [m, n], the highest such point is used instead
(with no grid point in [m, n] the rounded-up price stands, less than a tick beyond n: it
fills at the natural rather than resting below the mid).
So a debit is raised toward the ask and rounded up; a credit (closing) is lowered toward
the bid, rounding toward the smaller credit.

Adjustment ids: the first 16 hex digits of sha256 over the trading day, the structure key,
the legs, the quantity and the action: identical across runs for the same input.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from daemon.core.candidates import Candidate, LegSpec, candidate_key
from daemon.core.models import Action, Contract
from daemon.core.overlay import OverlayPlan
from daemon.core.params import ProposalParams, TickParams
from daemon.core.scalar import ScalarResult
from daemon.core.structures import Structure, StructureKind
from daemon.core.ticks import RoundMode, combo_tick, round_to_tick


class AdjustmentAction(StrEnum):
    OPEN = "open"
    ADD = "add"
    REDUCE = "reduce"
    CLOSE = "close"
    ROLL = "roll"


class Rule(StrEnum):
    """Which rule of the module docstring produced a change."""

    ROLL_VIX_DTE = "roll_vix_dte"
    ROLL_DIAGONAL_SHORT = "roll_diagonal_short"
    EXPIRING_CLOSE = "expiring_close"
    COVER = "cover"
    OVER_TARGET = "over_target"


class ProposalStatus(StrEnum):
    CHANGES = "changes"
    NO_CHANGE = "no_change"
    INSUFFICIENT_DATA = "insufficient_data"


_EXECUTION_ORDER = (
    AdjustmentAction.ROLL,
    AdjustmentAction.CLOSE,
    AdjustmentAction.REDUCE,
    AdjustmentAction.ADD,
    AdjustmentAction.OPEN,
)


@dataclass(frozen=True)
class HeldHedge:
    """A hedge held, with its numbers per unit (USD, multiplier applied).

    ``payoff_usd`` its stress-scenario P&L, ``mark_usd`` its value at mids,
    ``natural_close_usd`` what closing one unit at the natural prices brings (longs sold at
    the bid, shorts bought at the ask), ``theta_usd_per_day`` its theta, ``dte_days`` the
    nearest leg's calendar days and, for a diagonal, ``short_sessions_to_expiry`` the
    exchange sessions until the short leg expires (0 on expiry day)."""

    structure: Structure
    payoff_usd: float
    mark_usd: float
    natural_close_usd: float
    theta_usd_per_day: float
    dte_days: int
    short_sessions_to_expiry: int | None = None

    def __post_init__(self) -> None:
        kind = self.structure.kind
        if not kind.is_hedge:
            raise ValueError(f"{self.structure.label} is not a hedge")
        if kind is StructureKind.SPX_PUT_DIAGONAL and self.short_sessions_to_expiry is None:
            raise ValueError(f"{self.structure.label}: short_sessions_to_expiry is required")

    @property
    def legs(self) -> tuple[LegSpec, ...]:
        """The per-unit legs as bought to open."""
        return tuple(
            LegSpec(
                leg.contract, abs(leg.quantity), Action.BUY if leg.quantity > 0 else Action.SELL
            )
            for leg in self.structure.legs
        )


@dataclass(frozen=True)
class Adjustment:
    """One order to place: ``quantity`` units of the combo ``legs`` at ``limit_price_usd``
    (per share, > 0 debit, < 0 credit); mid and natural in the same convention."""

    id: str
    action: AdjustmentAction
    kind: StructureKind
    structure_key: str
    legs: tuple[LegSpec, ...]
    quantity: int
    limit_price_usd: float
    mid_price_usd: float
    natural_price_usd: float
    reason: dict[str, Any] = field(hash=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action.value,
            "kind": self.kind.value,
            "structure_key": self.structure_key,
            "legs": [leg.to_json() for leg in self.legs],
            "quantity": self.quantity,
            "limit_price_usd": self.limit_price_usd,
            "mid_price_usd": self.mid_price_usd,
            "natural_price_usd": self.natural_price_usd,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SuppressedChange:
    """A plan-driven change the hysteresis band held back."""

    action: AdjustmentAction
    kind: StructureKind
    structure_key: str
    quantity: int
    threshold_units: float
    kind_target_units: int

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "kind": self.kind.value,
            "structure_key": self.structure_key,
            "quantity": self.quantity,
            "threshold_units": self.threshold_units,
            "kind_target_units": self.kind_target_units,
        }


@dataclass(frozen=True)
class Proposal:
    status: ProposalStatus
    adjustments: tuple[Adjustment, ...]
    suppressed: tuple[SuppressedChange, ...]
    notes: tuple[str, ...]
    target_payoff_usd: float
    coverage_before_usd: float
    coverage_after_usd: float

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "adjustments": [a.to_json() for a in self.adjustments],
            "suppressed": [s.to_json() for s in self.suppressed],
            "notes": list(self.notes),
            "target_payoff_usd": self.target_payoff_usd,
            "coverage_before_usd": self.coverage_before_usd,
            "coverage_after_usd": self.coverage_after_usd,
        }


@dataclass(frozen=True)
class _PerUnit:
    """One unit of a change, USD: mid and natural in the pay convention, and the change in
    stress payoff and theta it brings."""

    mid_usd: float
    natural_usd: float
    payoff_usd: float
    theta_usd_per_day: float

    @classmethod
    def opening(cls, c: Candidate) -> _PerUnit:
        return cls(c.debit_usd, c.natural_debit_usd, c.payoff_usd, c.theta_usd_per_day)

    @classmethod
    def closing(cls, h: HeldHedge) -> _PerUnit:
        return cls(-h.mark_usd, -h.natural_close_usd, -h.payoff_usd, -h.theta_usd_per_day)

    def __add__(self, other: _PerUnit) -> _PerUnit:
        return _PerUnit(
            self.mid_usd + other.mid_usd,
            self.natural_usd + other.natural_usd,
            self.payoff_usd + other.payoff_usd,
            self.theta_usd_per_day + other.theta_usd_per_day,
        )


@dataclass(frozen=True)
class _Change:
    """A change before pricing: ``quantity`` units of ``legs``, each worth ``unit``."""

    action: AdjustmentAction
    kind: StructureKind
    structure_key: str
    legs: tuple[LegSpec, ...]
    quantity: int
    unit: _PerUnit
    rule: Rule
    detail: str

    @property
    def signed_units(self) -> int:
        """Units of the kind held after minus before (rolls change nothing here)."""
        if self.action in (AdjustmentAction.OPEN, AdjustmentAction.ADD):
            return self.quantity
        if self.action in (AdjustmentAction.REDUCE, AdjustmentAction.CLOSE):
            return -self.quantity
        return 0

    @property
    def payoff_change_usd(self) -> float:
        return self.unit.payoff_usd * self.quantity


def roll_rule(hedge: HeldHedge, params: ProposalParams) -> Rule | None:
    """The roll rule a held hedge falls under this cycle, or ``None``."""
    roll = params.roll
    kind = hedge.structure.kind
    if kind is StructureKind.VIX_CALL_SPREAD and hedge.dte_days < roll.vix_min_dte_days:
        return Rule.ROLL_VIX_DTE
    sessions = hedge.short_sessions_to_expiry
    if kind is StructureKind.SPX_PUT_DIAGONAL and sessions is not None:
        return Rule.ROLL_DIAGONAL_SHORT if sessions <= roll.diagonal_short_min_sessions else None
    return None


def staying_payoff_usd(held: tuple[HeldHedge, ...], params: ProposalParams) -> float:
    """Stress payoff of the held hedges that are not due to roll: the overlay's ``held``."""
    return math.fsum(h.payoff_usd * h.structure.quantity for h in held if not roll_rule(h, params))


def limit_price_usd(
    mid_usd: float,
    natural_usd: float,
    multiplier: int,
    symbol: str,
    offset_ticks: int,
    ticks: TickParams,
) -> float:
    """Limit per share (pay convention) from per-unit mid and natural; module docstring."""
    tick = combo_tick(symbol, ticks)
    mid, natural = mid_usd / multiplier, natural_usd / multiplier
    wanted = mid + offset_ticks * tick
    if natural >= mid:
        wanted = min(wanted, natural)
    limit = round_to_tick(wanted, tick, RoundMode.UP)
    if natural >= mid and limit > natural:
        below = round_to_tick(natural, tick, RoundMode.DOWN)
        if below >= mid:
            limit = below
    return limit


def _net_legs(close: tuple[LegSpec, ...], open_: tuple[LegSpec, ...]) -> tuple[LegSpec, ...]:
    """Close ``close`` and open ``open_`` per unit; same-contract legs net (exchanges reject
    a combo that buys and sells one contract)."""
    signed: dict[str, int] = {}
    contracts: dict[str, Contract] = {}
    for leg, sign in [(g, -1) for g in close] + [(g, 1) for g in open_]:
        signed[leg.contract.key] = signed.get(leg.contract.key, 0) + sign * leg.signed_ratio
        contracts.setdefault(leg.contract.key, leg.contract)
    return tuple(
        LegSpec(contracts[k], abs(q), Action.BUY if q > 0 else Action.SELL)
        for k, q in sorted(signed.items())
        if q != 0
    )


def _rolls(due: list[tuple[HeldHedge, Rule]], remaining: dict[str, list[Any]]) -> list[_Change]:
    """Rule 2. ``remaining`` maps candidate key -> [candidate, units left], consumed here."""
    changes: list[_Change] = []
    for hedge, rule in sorted(due, key=lambda d: d[0].structure.id):
        s, q = hedge.structure, hedge.structure.quantity
        own_key = candidate_key(hedge.legs)
        same = [
            v
            for v in remaining.values()
            if v[0].kind is s.kind and v[1] > 0 and candidate_key(v[0].legs) != own_key
        ]
        succ = min(same, key=lambda v: (-v[1], v[0].key), default=None)
        rolled = 0 if succ is None else min(q, succ[1])
        if succ is not None and rolled > 0:
            cand: Candidate = succ[0]
            succ[1] -= rolled
            legs = _net_legs(hedge.legs, cand.legs)
            unit = _PerUnit.closing(hedge) + _PerUnit.opening(cand)
            detail = f"{s.label} due ({rule.value}, dte {hedge.dte_days}): roll to {cand.key}"
            key = f"{s.id} -> {cand.key}"
            changes.append(
                _Change(AdjustmentAction.ROLL, s.kind, key, legs, rolled, unit, rule, detail)
            )
        if q > rolled:
            action = AdjustmentAction.CLOSE if rolled == 0 else AdjustmentAction.REDUCE
            detail = f"{s.label} due ({rule.value}), no successor for {q - rolled} units: close"
            changes.append(_closing(hedge, q - rolled, action, Rule.EXPIRING_CLOSE, detail))
    return changes


def _closing(
    hedge: HeldHedge, units: int, action: AdjustmentAction, rule: Rule, detail: str
) -> _Change:
    s, legs = hedge.structure, _net_legs(hedge.legs, ())
    return _Change(action, s.kind, s.id, legs, units, _PerUnit.closing(hedge), rule, detail)


def _covers(staying: list[HeldHedge], remaining: dict[str, list[Any]]) -> list[_Change]:
    """Rule 3: the plan's additions, as ADDs to held hedges with the same legs or OPENs."""
    held_by_legs = {candidate_key(h.legs): h for h in sorted(staying, key=lambda h: h.structure.id)}
    changes = []
    for key in sorted(remaining):
        cand, units = remaining[key]
        if units <= 0:
            continue
        match = held_by_legs.get(candidate_key(cand.legs))
        action = AdjustmentAction.OPEN if match is None else AdjustmentAction.ADD
        skey = cand.key if match is None else match.structure.id
        unit, detail = _PerUnit.opening(cand), f"plan adds {units} x {cand.key}"
        changes.append(_Change(action, cand.kind, skey, cand.legs, units, unit, Rule.COVER, detail))
    return changes


def _reductions(
    staying: list[HeldHedge], covered_usd: float, target_usd: float, band_frac: float
) -> list[_Change]:
    """Rule 4: shed the dearest protection first while coverage stays >= target."""
    if covered_usd <= target_usd * (1.0 + band_frac):
        return []

    def dearness(h: HeldHedge) -> tuple[float, str]:
        ratio = h.mark_usd / h.payoff_usd if h.payoff_usd > 0 else math.inf
        return (-ratio, h.structure.id)

    changes = []
    for hedge in sorted(staying, key=dearness):
        q, p = hedge.structure.quantity, hedge.payoff_usd
        # 1e-9 of a unit of slack so an exact fit (excess = k x p) is not lost to rounding.
        units = q if p <= 0 else min(q, math.floor((covered_usd - target_usd) / p + 1e-9))
        if units <= 0:
            continue
        covered_usd -= units * max(p, 0.0)
        action = AdjustmentAction.CLOSE if units == q else AdjustmentAction.REDUCE
        detail = f"coverage above target by more than {band_frac:.0%}: shed {hedge.structure.label}"
        changes.append(_closing(hedge, units, action, Rule.OVER_TARGET, detail))
    return changes


def _hysteresis(
    plan_driven: list[_Change], base_units: dict[StructureKind, int], params: ProposalParams
) -> tuple[list[_Change], list[SuppressedChange]]:
    """Rule 5: keep a kind's plan-driven changes only if their net is big enough."""
    kept: list[_Change] = []
    suppressed: list[SuppressedChange] = []
    for kind in sorted({c.kind for c in plan_driven}):
        group = [c for c in plan_driven if c.kind is kind]
        net = sum(c.signed_units for c in group)
        target = base_units.get(kind, 0) + net
        threshold = max(float(params.min_change_contracts), params.min_change_frac * target)
        if net != 0 and abs(net) >= threshold:
            kept += group
            continue
        suppressed += [
            SuppressedChange(c.action, kind, c.structure_key, c.quantity, threshold, target)
            for c in group
        ]
    return kept, suppressed


def adjustment_id(
    today: date,
    structure_key: str,
    legs: tuple[LegSpec, ...],
    quantity: int,
    action: AdjustmentAction,
) -> str:
    """Deterministic id: sha256 of the trading day, structure, legs, quantity, action."""
    text = json.dumps(
        [today.isoformat(), structure_key, [leg.label for leg in legs], quantity, action.value]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _scalar_summary(result: ScalarResult) -> dict[str, Any]:
    return {
        "value": result.value,
        "raw": result.raw,
        "clipped_raw": result.clipped_raw,
        "previous_value": result.previous_value,
        "capped": result.capped,
        "components": {
            r.name: {"z": r.z, "weight": r.weight, "contribution": r.contribution}
            for r in result.components
            if r.unavailable is None
        },
        "missing": {m.name: m.reason.value for m in result.missing},
    }


def _adjustment(
    change: _Change,
    common: dict[str, Any],
    params: ProposalParams,
    ticks: TickParams,
    today: date,
) -> Adjustment:
    first, unit, q = change.legs[0].contract, change.unit, change.quantity
    offset = params.price_offset_ticks
    limit = limit_price_usd(
        unit.mid_usd, unit.natural_usd, first.multiplier, first.symbol, offset, ticks
    )
    reason = {
        "rule": change.rule.value,
        "detail": change.detail,
        **common,
        "payoff_change_usd": unit.payoff_usd * q,
        "debit_usd": unit.mid_usd * q,
        "natural_debit_usd": unit.natural_usd * q,
        "theta_change_usd_per_day": unit.theta_usd_per_day * q,
    }
    return Adjustment(
        id=adjustment_id(today, change.structure_key, change.legs, q, change.action),
        action=change.action,
        kind=change.kind,
        structure_key=change.structure_key,
        legs=change.legs,
        quantity=q,
        limit_price_usd=limit,
        mid_price_usd=unit.mid_usd / first.multiplier,
        natural_price_usd=unit.natural_usd / first.multiplier,
        reason=reason,
    )


def build_proposal(
    plan: OverlayPlan,
    held_hedges: tuple[HeldHedge, ...],
    scalar_result: ScalarResult,
    params: ProposalParams,
    ticks: TickParams,
    today: date,
) -> Proposal:
    """Diff the plan against the hedges held into priced adjustments (module docstring)."""
    target = plan.target_payoff_usd
    before = math.fsum(h.payoff_usd * h.structure.quantity for h in held_hedges)
    notes = [f"overlay {plan.status.value}: {plan.detail}"]
    due = [(h, r) for h in held_hedges if (r := roll_rule(h, params)) is not None]
    staying = [h for h in held_hedges if roll_rule(h, params) is None]
    if scalar_result.insufficient:
        notes.append(f"scalar insufficient, nothing proposed: {scalar_result.detail}")
        notes += [f"roll deferred: {h.structure.label} ({r.value})" for h, r in due]
        return Proposal(
            ProposalStatus.INSUFFICIENT_DATA, (), (), tuple(notes), target, before, before
        )
    remaining = {c.key: [c, n] for c, n in plan.chosen if n > 0}
    timed = _rolls(due, remaining)
    covers = _covers(staying, remaining)
    # Coverage once rules 2-3 are done: every held hedge plus the changes' payoffs.
    kept_usd = before + math.fsum(c.payoff_change_usd for c in timed + covers)
    reductions = _reductions(staying, kept_usd, target, params.min_change_frac)
    base_units: dict[StructureKind, int] = {}
    for h in held_hedges:
        base_units[h.structure.kind] = base_units.get(h.structure.kind, 0) + h.structure.quantity
    for c in timed:
        base_units[c.kind] += c.signed_units
    plan_driven, suppressed = _hysteresis(covers + reductions, base_units, params)
    changes = sorted(
        timed + plan_driven,
        key=lambda c: (_EXECUTION_ORDER.index(c.action), c.structure_key),
    )
    after = before + math.fsum(c.payoff_change_usd for c in changes)
    if suppressed:
        notes.append(f"{len(suppressed)} change(s) inside the hysteresis band, not proposed")
    common = {
        "scalar": _scalar_summary(scalar_result),
        "target_payoff_usd": target,
        "coverage_before_usd": before,
        "coverage_after_usd": after,
        "plan_status": plan.status.value,
    }
    adjustments = tuple(_adjustment(c, common, params, ticks, today) for c in changes)
    status = ProposalStatus.CHANGES if adjustments else ProposalStatus.NO_CHANGE
    return Proposal(status, adjustments, tuple(suppressed), tuple(notes), target, before, after)
