"""The proposal's rules 2-5 (see ``proposal.py``'s module docstring) as unpriced changes.

Which held hedges are due to roll, the rolls and expiring closes (rule 2), the plan's
covers (rule 3), the reductions above target (rule 4) and the hysteresis band (rule 5).
Money is USD per unit of a structure with the multiplier applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from daemon.core.adjustment import AdjustmentAction
from daemon.core.candidates import Candidate, LegSpec, candidate_key
from daemon.core.families import family_of
from daemon.core.families.base import HeldHedge
from daemon.core.models import Action, Contract
from daemon.core.params import ProposalParams
from daemon.core.structures import StructureKind

__all__ = [
    "Change",
    "Chosen",
    "HeldHedge",
    "PerUnit",
    "Rule",
    "SuppressedChange",
    "apply_hysteresis",
    "chosen_units",
    "cover_changes",
    "reduction_changes",
    "roll_changes",
    "roll_rule",
    "staying",
    "staying_payoff_usd",
]


class Rule(StrEnum):
    """Which rule of ``proposal.py``'s module docstring produced a change. The roll rules
    (rule 2) are each family's own (``HedgeFamily.roll_rule``: ``roll_vix_dte``,
    ``roll_diagonal_short``); these are the rules every family shares."""

    EXPIRING_CLOSE = "expiring_close"
    COVER = "cover"
    OVER_TARGET = "over_target"


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
    rule: StrEnum  # a ``Rule``, or the family's roll rule
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


def roll_rule(hedge: HeldHedge, params: ProposalParams) -> StrEnum | None:
    """The roll rule a held hedge falls under this cycle (its family's), or ``None``."""
    return family_of(hedge.structure.kind).roll_rule(hedge, params.roll)


@dataclass
class Chosen:
    """One candidate the plan chose and the units of it still to place: rule 2's rolls
    take their successors' units from it, rule 3 opens or adds what is left."""

    candidate: Candidate
    units_left: int


def chosen_units(chosen: tuple[tuple[Candidate, int], ...]) -> dict[str, Chosen]:
    """The plan's chosen candidates by key, each with all its units still to place."""
    return {c.key: Chosen(c, n) for c, n in chosen if n > 0}


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
    due: list[tuple[HeldHedge, StrEnum]], remaining: dict[str, Chosen], *, wants_cover: bool
) -> tuple[list[Change], list[HeldHedge]]:
    """Rule 2. ``remaining``: the plan's chosen candidates by key (``chosen_units``),
    whose units left the rolls consume here.

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
            if v.candidate.kind is s.kind
            and v.units_left > 0
            and candidate_key(v.candidate.legs) != own_key
        ]
        succ = min(same, key=lambda v: (-v.units_left, v.candidate.key), default=None)
        rolled = 0 if succ is None else min(q, succ.units_left)
        if rolled == 0 and wants_cover:
            kept.append(hedge)
            continue
        if succ is not None and rolled > 0:
            cand = succ.candidate
            succ.units_left -= rolled
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


def cover_changes(staying: list[HeldHedge], remaining: dict[str, Chosen]) -> list[Change]:
    """Rule 3: the plan's additions, as ADDs to held hedges with the same legs or OPENs."""
    held_by_legs = {candidate_key(h.legs): h for h in sorted(staying, key=lambda h: h.structure.id)}
    changes = []
    for key in sorted(remaining):
        cand, units = remaining[key].candidate, remaining[key].units_left
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
