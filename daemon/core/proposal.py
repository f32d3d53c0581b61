"""The proposal: from the overlay's plan and the hedges held to priced adjustments.

Model page section 5 (shared/design/alvh-model.md). Money is USD per unit of a structure
with the multiplier applied unless a name says ``_price_`` (USD per share, a combo's net).

Rules, applied in this order:

1. **Nothing on bad data.** When the scalar is insufficient (too many signals missing) the
   proposal is empty (status ``INSUFFICIENT_DATA``); rolls that fall due are noted only.
   **Nothing in a book gap.** When the caller says the income book is in its grace gap
   (``hold``: empty, but held an income structure within ``book_gap_grace_sessions``
   sessions; ``evaluate`` decides), every hedge is kept and nothing is proposed
   (``NO_CHANGE``, the reason in the notes): the gap between an expiring condor and the
   next is not a reason to sell protection and buy it back days later.
2. **Rolls (time-driven).** A held hedge is due when its family's roll rule says so
   (``HedgeFamily.roll_rule``, ``daemon.core.families``): a VIX call spread with
   ``dte_days < roll.vix_min_dte_days``, a put diagonal whose short leg has
   ``<= roll.diagonal_short_min_sessions`` sessions to expiry. Its successor is the plan's
   chosen candidate of the same kind (the one with the largest quantity left, then the
   smallest key). ``r = min(held, chosen)`` units are rolled as one combo (close the held
   legs, open the successor's; legs in the same contract are netted), the rest of the held
   hedge is closed and the successor's remaining chosen quantity carries on to rule 3. With
   no successor chosen, the hedge is closed only if the plan covers what it was asked
   without it; while the plan falls short (the target still wants cover) it is kept,
   untouched, and noted (``kept_due``): a roll is one adjustment, never a close now and a
   purchase later. The overlay must therefore be run with the due hedges left out of
   ``held`` (see ``staying_payoff_usd``) so its plan
   includes their replacements, and again with the kept ones counted as held, so the
   budget counts what they cost (``evaluate`` does both).
3. **Cover (plan-driven).** The plan's quantities are *additions* on top of what is held.
   A chosen candidate with the same legs as a held hedge is an ``ADD`` to it; any other an
   ``OPEN``.
4. **Reduce (plan-driven).** When the coverage kept after rules 2-3 exceeds the target H
   by more than ``min_change_frac`` x H, held hedges are reduced, the highest mark per USD
   of stress payoff first (a hedge paying nothing in the stress counts as infinitely
   dear), each by the most whole units that keep coverage >= H. All of one hedge is a
   ``CLOSE``, part of it a ``REDUCE``. Skipped, with a note, when the caller passes a
   ``keep_hedges_reason`` (the income book near max loss: ``BookRisk.hedge_hold_reason``).
5. **Hysteresis.** Plan-driven changes (rules 3-4) are grouped by hedge kind (VIX call
   spreads, put diagonals): the group's net change in units is kept only if it is at
   least ``max(min_change_contracts, min_change_frac x target)``, the target being the
   kind's units after the changes. Grouping by kind rather than by strike stops the
   optimiser's switch to a neighbouring strike from opening a 1-lot beside a 10-lot.
   Suppressed changes are listed so the journal explains a quiet cycle. Rolls and the
   closes of rule 2 are never suppressed: expiry does not wait for a band.

Limit prices and adjustment ids: ``adjustment.py``. Rules 2-5 as unpriced changes:
``proposal_rules.py``. The names of both that callers use are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from daemon.core.adjustment import Adjustment, AdjustmentAction, adjustment_id, limit_price_usd
from daemon.core.overlay import OverlayPlan
from daemon.core.params import ProposalParams, TickParams
from daemon.core.proposal_rules import (
    Change,
    HeldHedge,
    Rule,
    SuppressedChange,
    apply_hysteresis,
    chosen_units,
    cover_changes,
    reduction_changes,
    roll_changes,
    roll_rule,
    staying_payoff_usd,
)
from daemon.core.scalar import ScalarResult
from daemon.core.structures import StructureKind

__all__ = [
    "Adjustment",
    "AdjustmentAction",
    "HeldHedge",
    "Proposal",
    "ProposalStatus",
    "Rule",
    "SuppressedChange",
    "adjustment_id",
    "build_proposal",
    "kept_due",
    "limit_price_usd",
    "roll_rule",
    "staying_payoff_usd",
    "wants_cover",
]


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
class Proposal:
    status: ProposalStatus
    adjustments: tuple[Adjustment, ...]
    suppressed: tuple[SuppressedChange, ...]
    notes: tuple[str, ...]
    target_payoff_usd: float
    coverage_before_usd: float
    coverage_after_usd: float


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
    change: Change,
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


def wants_cover(plan: OverlayPlan) -> bool:
    """Whether the plan falls short of the cover it was asked for (rule 2's test)."""
    return plan.new_payoff_usd < plan.required_payoff_usd * (1.0 - 1e-9) - 1e-6


def kept_due(
    plan: OverlayPlan, held_hedges: tuple[HeldHedge, ...], params: ProposalParams
) -> frozenset[str]:
    """Ids of the due hedges rule 2 keeps under ``plan`` (no successor, cover wanted)."""
    due = [(h, r) for h in held_hedges if (r := roll_rule(h, params)) is not None]
    remaining = chosen_units(plan.chosen)
    _, kept = roll_changes(due, remaining, wants_cover=wants_cover(plan))
    return frozenset(h.structure.id for h in kept)


def build_proposal(
    plan: OverlayPlan,
    held_hedges: tuple[HeldHedge, ...],
    scalar_result: ScalarResult,
    params: ProposalParams,
    ticks: TickParams,
    today: date,
    *,
    keep_due: frozenset[str] | None = None,
    hold: str | None = None,
    keep_hedges_reason: str | None = None,
) -> Proposal:
    """Diff the plan against the hedges held into priced adjustments (module docstring).

    ``keep_due``: the due hedges rule 2 keeps (``kept_due`` of the plan they were left out
    of), computed from ``plan`` when None. ``hold``: why nothing may change this cycle
    (the book-gap grace), or None. ``keep_hedges_reason``: when set (the income book near
    max loss, ``BookRisk.hedge_hold_reason``), rule 4 is skipped and the reason is noted:
    no hedge is reduced toward the target. Rolls and covers go on."""
    target = plan.target_payoff_usd
    before = math.fsum(h.payoff_usd * h.structure.quantity for h in held_hedges)
    notes = [f"overlay {plan.status.value}: {plan.detail}"]
    keep = kept_due(plan, held_hedges, params) if keep_due is None else keep_due
    due = [
        (h, r)
        for h in held_hedges
        if (r := roll_rule(h, params)) is not None and h.structure.id not in keep
    ]
    staying = [h for h in held_hedges if roll_rule(h, params) is None or h.structure.id in keep]
    if hold is not None:
        notes.append(f"hedges kept, nothing proposed: {hold}")
        return Proposal(ProposalStatus.NO_CHANGE, (), (), tuple(notes), target, before, before)
    if scalar_result.insufficient:
        notes.append(f"scalar insufficient, nothing proposed: {scalar_result.detail}")
        notes += [
            f"roll deferred: {h.structure.label} ({r.value})"
            for h in held_hedges
            if (r := roll_rule(h, params)) is not None
        ]
        return Proposal(
            ProposalStatus.INSUFFICIENT_DATA, (), (), tuple(notes), target, before, before
        )
    remaining = chosen_units(plan.chosen)
    # Rule 2 again on this plan: a due hedge whose successor this plan no longer offers is
    # kept too, never closed while the plan falls short.
    timed, also_kept = roll_changes(due, remaining, wants_cover=wants_cover(plan))
    kept_ids = keep | {h.structure.id for h in also_kept}
    notes += [
        f"roll deferred: {h.structure.label} has no successor in the plan and the target"
        " still wants its cover: kept"
        for h in held_hedges
        if h.structure.id in kept_ids
    ]
    covers = cover_changes(staying, remaining)
    # Coverage once rules 2-3 are done: every held hedge plus the changes' payoffs.
    kept_usd = before + math.fsum(c.payoff_change_usd for c in timed + covers)
    reductions = reduction_changes(staying, kept_usd, target, params.min_change_frac)
    if keep_hedges_reason is not None:
        if reductions:
            notes.append(f"{keep_hedges_reason} ({len(reductions)} reduction(s) held)")
        reductions = []
    base_units: dict[StructureKind, int] = {}
    for h in held_hedges:
        base_units[h.structure.kind] = base_units.get(h.structure.kind, 0) + h.structure.quantity
    for c in timed:
        base_units[c.kind] += c.signed_units
    plan_driven, suppressed = apply_hysteresis(covers + reductions, base_units, params)
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
