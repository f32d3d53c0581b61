"""The proposal's rules 2-5 (see ``proposal.py``'s module docstring) as unpriced changes.

Which held hedges are due to roll, the rolls and expiring closes (rule 2), the plan's
covers (rule 3), the reductions above target (rule 4) and the hysteresis band (rule 5).
Money is USD per unit of a structure with the multiplier applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from daemon.core.adjustment import AdjustmentAction
from daemon.core.candidates import Candidate, LegSpec, candidate_key
from daemon.core.models import Action, Contract
from daemon.core.params import ProposalParams
from daemon.core.structures import Structure, StructureKind


class Rule(StrEnum):
    """Which rule of ``proposal.py``'s module docstring produced a change."""

    ROLL_VIX_DTE = "roll_vix_dte"
    ROLL_DIAGONAL_SHORT = "roll_diagonal_short"
    EXPIRING_CLOSE = "expiring_close"
    COVER = "cover"
    OVER_TARGET = "over_target"


@dataclass(frozen=True)
class HeldHedge:
    """A hedge held, with its numbers per unit (USD, multiplier applied).

    ``payoff_usd`` its stress-scenario P&L, ``mark_usd`` its value at mids,
    ``natural_close_usd`` what closing one unit at the natural prices brings (longs sold at
    the bid, shorts bought at the ask), ``theta_usd_per_day`` its theta, ``dte_days`` the
    nearest leg's calendar days and, for a diagonal, ``short_sessions_to_expiry`` the
    exchange sessions until the short leg expires (0 on expiry day). ``cost_basis_usd``:
    the net debit paid to open one unit, from the positions' average costs (IB
    convention); what the hedge uses of the budget while it is held."""

    structure: Structure
    payoff_usd: float
    mark_usd: float
    natural_close_usd: float
    theta_usd_per_day: float
    dte_days: int
    short_sessions_to_expiry: int | None = None
    cost_basis_usd: float = 0.0

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
class SuppressedChange:
    """A plan-driven change the hysteresis band held back."""

    action: AdjustmentAction
    kind: StructureKind
    structure_key: str
    quantity: int
    threshold_units: float
    kind_target_units: int


@dataclass(frozen=True)
class PerUnit:
    """One unit of a change, USD: mid and natural in the pay convention, and the change in
    stress payoff and theta it brings."""

    mid_usd: float
    natural_usd: float
    payoff_usd: float
    theta_usd_per_day: float

    @classmethod
    def opening(cls, c: Candidate) -> PerUnit:
        return cls(c.debit_usd, c.natural_debit_usd, c.payoff_usd, c.theta_usd_per_day)

    @classmethod
    def closing(cls, h: HeldHedge) -> PerUnit:
        return cls(-h.mark_usd, -h.natural_close_usd, -h.payoff_usd, -h.theta_usd_per_day)

    def __add__(self, other: PerUnit) -> PerUnit:
        return PerUnit(
            self.mid_usd + other.mid_usd,
            self.natural_usd + other.natural_usd,
            self.payoff_usd + other.payoff_usd,
            self.theta_usd_per_day + other.theta_usd_per_day,
        )


@dataclass(frozen=True)
class Change:
    """A change before pricing: ``quantity`` units of ``legs``, each worth ``unit``."""

    action: AdjustmentAction
    kind: StructureKind
    structure_key: str
    legs: tuple[LegSpec, ...]
    quantity: int
    unit: PerUnit
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


def staying_payoff_usd(
    held: tuple[HeldHedge, ...], params: ProposalParams, keep: frozenset[str] = frozenset()
) -> float:
    """Stress payoff of the held hedges that are not due to roll (or that rule 2 keeps,
    ``keep``): the overlay's ``held``."""
    return math.fsum(h.payoff_usd * h.structure.quantity for h in staying(held, params, keep))


def staying(
    held: tuple[HeldHedge, ...], params: ProposalParams, keep: frozenset[str] = frozenset()
) -> tuple[HeldHedge, ...]:
    """The held hedges that stay this cycle: not due to roll, or due and kept."""
    return tuple(h for h in held if roll_rule(h, params) is None or h.structure.id in keep)


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


def roll_changes(
    due: list[tuple[HeldHedge, Rule]], remaining: dict[str, list[Any]], *, wants_cover: bool
) -> tuple[list[Change], list[HeldHedge]]:
    """Rule 2. ``remaining`` maps candidate key -> [candidate, units left], consumed here.

    A due hedge with no successor at all is closed only when the plan does not want
    cover (``wants_cover`` False: the plan covers what is asked without it); otherwise it
    is kept, and returned second, since a roll is one adjustment, never a close now and
    a buy some other day. Units beyond a successor's quantity are closed: the plan
    chose that many."""
    changes: list[Change] = []
    kept: list[HeldHedge] = []
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
        if rolled == 0 and wants_cover:
            kept.append(hedge)
            continue
        if succ is not None and rolled > 0:
            cand: Candidate = succ[0]
            succ[1] -= rolled
            legs = _net_legs(hedge.legs, cand.legs)
            unit = PerUnit.closing(hedge) + PerUnit.opening(cand)
            detail = f"{s.label} due ({rule.value}, dte {hedge.dte_days}): roll to {cand.key}"
            key = f"{s.id} -> {cand.key}"
            changes.append(
                Change(AdjustmentAction.ROLL, s.kind, key, legs, rolled, unit, rule, detail)
            )
        if q > rolled:
            action = AdjustmentAction.CLOSE if rolled == 0 else AdjustmentAction.REDUCE
            detail = f"{s.label} due ({rule.value}), no successor for {q - rolled} units: close"
            changes.append(_closing(hedge, q - rolled, action, Rule.EXPIRING_CLOSE, detail))
    return changes, kept


def _closing(
    hedge: HeldHedge, units: int, action: AdjustmentAction, rule: Rule, detail: str
) -> Change:
    s, legs = hedge.structure, _net_legs(hedge.legs, ())
    return Change(action, s.kind, s.id, legs, units, PerUnit.closing(hedge), rule, detail)


def cover_changes(staying: list[HeldHedge], remaining: dict[str, list[Any]]) -> list[Change]:
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
        unit, detail = PerUnit.opening(cand), f"plan adds {units} x {cand.key}"
        changes.append(Change(action, cand.kind, skey, cand.legs, units, unit, Rule.COVER, detail))
    return changes


def reduction_changes(
    staying: list[HeldHedge], covered_usd: float, target_usd: float, band_frac: float
) -> list[Change]:
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


def apply_hysteresis(
    plan_driven: list[Change], base_units: dict[StructureKind, int], params: ProposalParams
) -> tuple[list[Change], list[SuppressedChange]]:
    """Rule 5: keep a kind's plan-driven changes only if their net is big enough."""
    kept: list[Change] = []
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
