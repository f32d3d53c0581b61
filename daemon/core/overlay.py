"""Layer 3: size the convexity overlay with a small integer program (alvh-model.md §4).

Each candidate j (one unit of a VIX call spread or an SPX put diagonal) has a debit c_j,
a stress-scenario payoff p_j and a carry cost per day k_j = max(-theta_j, 0), all USD per
unit with the multiplier applied. Choose integers 0 <= n_j <= U (the contract cap:
``overlay.max_contracts_per_income_unit`` x the income book's units, rounded up, at most
``overlay.max_contracts``)

    minimise    sum c_j n_j                                   (USD of debit)
    subject to  sum p_j n_j >= required                       (coverage)
                held + sum p_j n_j <= max_cover x |L|         (never over-hedge)
                (s - tol) P <= sum_vix p_j n_j <= (s + tol) P, P = sum p_j n_j   (mix)
                sum c_j n_j <= B - max(held cost, window spend)                 (budget)
                sum k_j n_j <= max_theta_fraction x |book theta| - held carry   (carry)

with B = ``max_debit_fraction`` x open credit, solved exactly (the program lives in
``overlay_program.py``, its solver in ``overlay_search.py``). The budget bounds the
hedge book as a whole: the cost basis of the hedges that stay (``HedgeSpent``, from the
positions' average cost) and, separately, the debit paid over the last
``budget.spend_window_sessions`` sessions (from the journal) each leave less for new
hedges. ``required`` is
``coverage_frac`` x needed, clipped to the room left under the cap.

The mix is a preference, not a rule. The fallback order, first that applies:
1. every rule: ``OK``;
2. infeasible only because of the budget: the most cover the budget allows with the mix
   (``BUDGET_BINDING``); if the mix leaves that plan with no cover at all while the
   budget could buy some, without the mix: the cheapest full cover (``MIX_RELAXED``) or
   the most cover (``BUDGET_BINDING``), the detail saying the mix was relaxed;
3. infeasible even without the budget (the mix cannot be met with the candidates given,
   or the caps stop full cover): the cheapest full cover without the mix
   (``MIX_RELAXED``); else the most cover within the budget and the caps, with the mix
   if that buys any, without it otherwise (``BUDGET_BINDING`` when the budget is what
   stops full cover, ``PARTIAL_COVER`` when a cap is); ``INFEASIBLE`` only when not one
   unit fits. The detail names what binds (``diagnose``).

Consolidation (``overlay_program.consolidate``): with t = ``consolidate_tolerance_frac``
> 0 the optimum n* is re-solved for the fewest distinct candidates within (1 + t) x its
debit (and, when the cover was the objective, (1 - t) x its cover), never over the
budget or the cap; then the original objective among the plans with that many lines.

Decisions: the mix applies to the new hedges' payoff (held hedges are counted in ``held``
but never re-mixed); a unit with positive theta costs no carry and offsets none (its theta
can turn negative once its short leg expires); candidates are taken in key order, so equal
optima resolve the same way whatever order they arrive in (the consolidation's ties
too); consolidation keeps n* itself unless some plan has strictly fewer lines, and it
never goes to zero lines; the solver time limit applies to each solve (each tiny).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

from daemon.core.calendar import NY
from daemon.core.candidates import Candidate, CandidateSearch
from daemon.core.families import families
from daemon.core.families.base import CandidateContext
from daemon.core.market import MarketView
from daemon.core.overlay_program import (
    EVERY_RULE,
    Goal,
    IntArray,
    Program,
    Rules,
    build_program,
    consolidate,
    diagnose,
    feasible,
    max_cover_within_budget,
    max_units_for,
    mix_blocks_budget,
    solve,
)
from daemon.core.params import ModelParams
from daemon.core.plain import to_plain
from daemon.core.risk import BookRisk


class OverlayStatus(StrEnum):
    OK = "ok"
    BUDGET_BINDING = "budget_binding"
    # Covered in full within the budget, but only by giving up the VIX share target.
    MIX_RELAXED = "mix_relaxed"
    NOTHING_NEEDED = "nothing_needed"
    # Part of the need covered: the contract cap or the cover cap (not the budget) stops
    # the rest; the detail says which.
    PARTIAL_COVER = "partial_cover"
    NO_CANDIDATES = "no_candidates"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Rejection:
    """A candidate left out of the program, and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class HedgeSpent:
    """What the hedge book already uses of the budget (USD, multiplier applied).

    ``held_debit_usd``: the cost basis (net debit paid, from the positions' average cost)
    of the hedges that stay; ``held_carry_usd_per_day`` their carry, each unit's
    ``max(-theta, 0)``; ``window_debit_usd``: the debit paid for hedges over the last
    ``budget.spend_window_sessions`` sessions (from the journal)."""

    held_debit_usd: float = 0.0
    held_carry_usd_per_day: float = 0.0
    window_debit_usd: float = 0.0


@dataclass(frozen=True)
class OverlayPlan:
    """What the overlay should hold, new hedges only (held ones are counted in ``held``).

    ``theta_usd_per_day`` is the new hedges' signed theta (negative = they cost carry);
    ``budget_theta_usd_per_day`` bounds their carry cost, the sum of each unit's
    ``max(-theta, 0)``."""

    target_payoff_usd: float
    held_payoff_usd: float
    needed_payoff_usd: float
    vix_share_target: float
    chosen: tuple[tuple[Candidate, int], ...]
    payoff_after_usd: float
    debit_usd: float
    theta_usd_per_day: float
    budget_debit_usd: float
    budget_theta_usd_per_day: float
    status: OverlayStatus
    detail: str
    # Additions beyond the shared contract: the cap, the coverage asked of the program,
    # the new hedges' VIX share and the candidates dropped before solving.
    cap_payoff_usd: float = 0.0
    required_payoff_usd: float = 0.0
    vix_share_after: float | None = None
    rejected: tuple[Rejection, ...] = ()
    # The whole book's debit budget (max_debit_fraction x open credit) and what the hedges
    # held and the recent orders already use of it; ``budget_debit_usd`` is what is left.
    budget_total_debit_usd: float = 0.0
    spent: HedgeSpent = field(default_factory=HedgeSpent)

    @property
    def new_payoff_usd(self) -> float:
        return self.payoff_after_usd - self.held_payoff_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "detail": self.detail,
            "target_payoff_usd": self.target_payoff_usd,
            "held_payoff_usd": self.held_payoff_usd,
            "needed_payoff_usd": self.needed_payoff_usd,
            "required_payoff_usd": self.required_payoff_usd,
            "cap_payoff_usd": self.cap_payoff_usd,
            "vix_share_target": self.vix_share_target,
            "vix_share_after": self.vix_share_after,
            "chosen": [{"quantity": n, "candidate": to_plain(c)} for c, n in self.chosen],
            "payoff_after_usd": self.payoff_after_usd,
            "debit_usd": self.debit_usd,
            "theta_usd_per_day": self.theta_usd_per_day,
            "budget_debit_usd": self.budget_debit_usd,
            "budget_theta_usd_per_day": self.budget_theta_usd_per_day,
            "budget_total_debit_usd": self.budget_total_debit_usd,
            "held_debit_usd": self.spent.held_debit_usd,
            "held_carry_usd_per_day": self.spent.held_carry_usd_per_day,
            "window_debit_usd": self.spent.window_debit_usd,
            "rejected": [{"key": r.key, "reason": r.reason} for r in self.rejected],
        }


def size_overlay(
    candidates: Sequence[Candidate],
    needed_payoff_usd: float,
    tail_loss_usd: float,
    held_payoff_usd: float,
    vix_share_target: float,
    book_open_credit_usd: float,
    book_theta_usd_per_day: float,
    params: ModelParams,
    *,
    target_payoff_usd: float | None = None,
    spent: HedgeSpent = HedgeSpent(),
    max_units: int | None = None,
) -> OverlayPlan:
    """Choose integer quantities of ``candidates`` covering ``needed_payoff_usd`` at least debit.

    ``tail_loss_usd`` is the book's stress P&L (<= 0); ``target_payoff_usd`` defaults to
    held + needed and is only reported. ``spent``: what the hedges held and the recent
    orders already use of the budget; ``max_units``: the contract cap the book allows
    (``max_units_for``), ``overlay.max_contracts`` when None."""
    ov, budget = params.overlay, params.budget
    needed = max(float(needed_payoff_usd), 0.0)
    held = float(held_payoff_usd)
    cap = ov.max_cover_frac * abs(float(tail_loss_usd))
    room = cap - held
    required = min(ov.coverage_frac * needed, room)
    share = min(max(float(vix_share_target), 0.0), 1.0)
    usable, rejected = _screen(candidates)
    total_debit = budget.max_debit_fraction * max(float(book_open_credit_usd), 0.0)
    total_carry = budget.max_theta_fraction * abs(float(book_theta_usd_per_day))
    # The hedge book as a whole: what the hedges kept cost, and what was paid lately, are
    # taken from the budget before anything new is bought.
    budget_debit = max(
        min(total_debit - spent.held_debit_usd, total_debit - spent.window_debit_usd), 0.0
    )
    base = OverlayPlan(
        target_payoff_usd=held + needed if target_payoff_usd is None else target_payoff_usd,
        held_payoff_usd=held,
        needed_payoff_usd=needed,
        vix_share_target=share,
        chosen=(),
        payoff_after_usd=held,
        debit_usd=0.0,
        theta_usd_per_day=0.0,
        budget_debit_usd=budget_debit,
        budget_theta_usd_per_day=max(total_carry - spent.held_carry_usd_per_day, 0.0),
        status=OverlayStatus.NOTHING_NEEDED,
        detail="",
        cap_payoff_usd=cap,
        required_payoff_usd=max(required, 0.0),
        rejected=rejected,
        budget_total_debit_usd=total_debit,
        spent=spent,
    )
    if needed <= 0.0:
        return replace(base, detail="held hedges cover the target")
    if required <= 0.0:
        detail = f"held hedges {held:.0f} USD already reach the cap {cap:.0f} USD"
        return replace(base, detail=detail)
    if not usable:
        detail = f"no usable candidates ({len(rejected)} rejected)"
        return replace(base, status=OverlayStatus.NO_CANDIDATES, detail=detail)
    prog = build_program(
        usable,
        required,
        room,
        share,
        budget_debit,
        base.budget_theta_usd_per_day,
        params,
        upper=max_units,
    )
    capped = " (coverage clipped to the cap)" if required < ov.coverage_frac * needed else ""
    n = solve(prog, prog.debit, EVERY_RULE)
    if n is not None:
        kept = consolidate(prog, n, EVERY_RULE, Goal.LEAST_DEBIT)
        detail = "covered" + capped + _consolidation_note(prog, n, kept)
        return _with_solution(base, prog, kept, OverlayStatus.OK, detail)
    no_budget = Rules(coverage=True, budget=False, mix=True, cap=True)
    if feasible(prog, no_budget):
        return _budget_bound(base, prog, capped)
    return _mix_or_cover_short(base, prog, capped)


def _mix_or_cover_short(base: OverlayPlan, prog: Program, capped: str) -> OverlayPlan:
    """Fallback 3 of the module docstring: no plan meets the coverage, the cap and the
    mix together even without the budget."""
    why = diagnose(prog)
    covering = Rules(coverage=True, budget=True, mix=False, cap=True)
    full = solve(prog, prog.debit, covering)
    if full is not None:
        kept = consolidate(prog, full, covering, Goal.LEAST_DEBIT)
        note = f"; VIX share relaxed: {why}" + _consolidation_note(prog, full, kept)
        return _with_solution(base, prog, kept, OverlayStatus.MIX_RELAXED, f"covered{capped}{note}")
    mix = True
    n = max_cover_within_budget(prog, mix=True)
    if float(prog.payoff @ n) <= 0.0:
        mix = False
        n = max_cover_within_budget(prog, mix=False)
    if float(prog.payoff @ n) <= 0.0:
        return replace(base, status=OverlayStatus.INFEASIBLE, detail=why)
    rules = Rules(coverage=False, budget=True, mix=mix, cap=True)
    kept = consolidate(prog, n, rules, Goal.MOST_COVER)
    budget_stops = feasible(prog, Rules(True, False, mix, True))
    status = OverlayStatus.BUDGET_BINDING if budget_stops else OverlayStatus.PARTIAL_COVER
    covered = float(prog.payoff @ kept)
    limit = "budget binds" if budget_stops else "cover short"
    detail = f"{limit}: covers {covered:.0f} of {prog.required_usd:.0f} USD required{capped}; {why}"
    if not mix:
        detail += "; VIX share relaxed"
    return _with_solution(base, prog, kept, status, detail + _consolidation_note(prog, n, kept))


def _budget_bound(base: OverlayPlan, prog: Program, capped: str) -> OverlayPlan:
    """The plan when only the budget stands between the program and the coverage."""
    n = max_cover_within_budget(prog, mix=True)
    rules, goal = Rules(coverage=False, budget=True, mix=True, cap=True), Goal.MOST_COVER
    relaxed, status = "", OverlayStatus.BUDGET_BINDING
    if float(prog.payoff @ n) <= 0.0 and mix_blocks_budget(prog):
        # Some cover beats none: the mix is a preference, the book's protection is not.
        # Without the mix the budget may even cover the need: then the cheapest way.
        covering = Rules(coverage=True, budget=True, mix=False, cap=True)
        full = solve(prog, prog.debit, covering)
        if full is not None:
            n, rules, goal = full, covering, Goal.LEAST_DEBIT
            status = OverlayStatus.MIX_RELAXED
        else:
            n = max_cover_within_budget(prog, mix=False)
            rules = Rules(coverage=False, budget=True, mix=False, cap=True)
        relaxed = "; VIX share relaxed: the budget cannot afford the mix"
    kept = consolidate(prog, n, rules, goal)
    covered = float(prog.payoff @ kept)
    if status is OverlayStatus.MIX_RELAXED:
        detail = f"covered{capped}"
    else:
        detail = (
            f"budget binds: covers {covered:.0f} of {prog.required_usd:.0f} USD required{capped}"
        )
    note = relaxed + _consolidation_note(prog, n, kept)
    return _with_solution(base, prog, kept, status, detail + note)


def _consolidation_note(prog: Program, cheapest: IntArray, kept: IntArray) -> str:
    """What consolidation traded for fewer lines; "" when it kept the optimum."""
    if np.array_equal(cheapest, kept):
        return ""
    before, after = int(np.count_nonzero(cheapest)), int(np.count_nonzero(kept))
    debit = float(prog.debit @ (kept - cheapest))
    cover = float(prog.payoff @ (kept - cheapest))
    return (
        f"; consolidated to {after} line(s) from {before}: debit {debit:+.0f} USD, "
        f"cover {cover:+.0f} USD"
    )


def overlay_target_usd(tail_loss_usd: float, scalar_value: float, params: ModelParams) -> float:
    """H = base_ratio x |L| x scalar, USD of stress payoff (alvh-model.md §2 and §4)."""
    return params.base.base_ratio * abs(tail_loss_usd) * scalar_value


def front_income_expiry(book_risk: BookRisk, now: datetime) -> date | None:
    """The nearest expiry among the live income structures (condors, credit spreads).

    ``StructureRisk`` carries DTE in calendar days from ``now``'s New York date
    (``calendar.dte_days``), so the date is that day plus the DTE. A structure expiring
    today (0 DTE, or AM-settled this morning) is ignored: a diagonal's short leg placed
    there would be due to roll the moment it is opened."""
    live = [r.dte_days for r in book_risk.income if r.dte_days >= 1]
    if not live:
        return None
    return now.astimezone(NY).date() + timedelta(days=min(live))


def plan_overlay(
    view: MarketView,
    book_risk: BookRisk,
    scalar_value: float,
    vix_share_target: float,
    now: datetime,
    params: ModelParams,
    *,
    held_payoff_usd: float | None = None,
    condor_expiry: date | None = None,
    avoid_keys: frozenset[str] = frozenset(),
    spent: HedgeSpent = HedgeSpent(),
) -> OverlayPlan:
    """Build every registered family's candidates from ``view`` (``daemon.core.families``,
    in table order) and size the overlay for ``book_risk``.

    ``held_payoff_usd`` defaults to every held hedge's stress payoff; pass the payoff of
    the hedges that stay (not due to roll) so the plan includes their successors, and
    their cost in ``spent``. ``condor_expiry`` defaults to the front income expiry, where
    the diagonals' short leg goes. ``avoid_keys``: the income book's contracts, which no
    hedge leg may use. The contract cap comes from the income book's units."""
    held = book_risk.hedge_payoff_usd if held_payoff_usd is None else held_payoff_usd
    target = overlay_target_usd(book_risk.hedge_tail_loss_usd, scalar_value, params)
    expiry = condor_expiry if condor_expiry is not None else front_income_expiry(book_risk, now)
    ctx = CandidateContext(condor_expiry=expiry, avoid_keys=avoid_keys)
    searches = [(f.note_name, f.find_candidates(view, now, params, ctx)) for f in families()]
    plan = size_overlay(
        [c for _, found in searches for c in found.candidates],
        max(target - held, 0.0),
        book_risk.hedge_tail_loss_usd,
        held,
        vix_share_target,
        book_risk.open_credit_usd,
        book_risk.theta_usd_per_day,
        params,
        target_payoff_usd=target,
        spent=spent,
        max_units=max_units_for(sum(r.quantity for r in book_risk.income), params),
    )
    notes = [_family_note(name, found) for name, found in searches]
    kept = [n for n in notes if n]
    return replace(plan, detail="; ".join([plan.detail, *kept])) if kept else plan


def _family_note(name: str, found: CandidateSearch) -> str:
    """Why a family has no candidates, or how many of its pairs were skipped."""
    if not found.candidates:
        return f"no {name} candidates: {'; '.join(found.notes) or 'none built'}"
    if found.notes:
        return f"{len(found.notes)} {name} pair(s) skipped"
    return ""


def _with_solution(
    base: OverlayPlan, prog: Program, n: IntArray, status: OverlayStatus, detail: str
) -> OverlayPlan:
    """``base`` with the quantities ``n`` of ``prog``'s candidates and their totals."""
    chosen = tuple((c, int(k)) for c, k in zip(prog.candidates, n, strict=True) if k > 0)
    new_payoff = math.fsum(c.payoff_usd * k for c, k in chosen)
    vix_payoff = math.fsum(c.payoff_usd * k for c, k in chosen if c.is_vix)
    return replace(
        base,
        chosen=chosen,
        payoff_after_usd=base.held_payoff_usd + new_payoff,
        debit_usd=math.fsum(c.debit_usd * k for c, k in chosen),
        theta_usd_per_day=math.fsum(c.theta_usd_per_day * k for c, k in chosen),
        vix_share_after=vix_payoff / new_payoff if new_payoff > 0 else None,
        status=status,
        detail=detail,
    )


def _screen(
    candidates: Sequence[Candidate],
) -> tuple[tuple[Candidate, ...], tuple[Rejection, ...]]:
    """Drop candidates that cannot be part of a sensible hedge; sort the rest by key."""
    usable: dict[str, Candidate] = {}
    rejected: list[Rejection] = []
    for c in candidates:
        numbers = (c.payoff_usd, c.debit_usd, c.theta_usd_per_day)
        if not all(np.isfinite(x) for x in numbers):
            rejected.append(Rejection(c.key, "non-finite payoff, debit or theta"))
        elif c.payoff_usd <= 0.0:
            rejected.append(Rejection(c.key, f"stress payoff {c.payoff_usd:.2f} USD <= 0"))
        elif c.debit_usd <= 0.0:
            # A hedge paid to us at mids means the quotes are wrong, not a free lunch.
            rejected.append(Rejection(c.key, f"debit {c.debit_usd:.2f} USD <= 0 at mids"))
        elif c.key in usable:
            rejected.append(Rejection(c.key, "duplicate key"))
        else:
            usable[c.key] = c
    ordered = tuple(usable[k] for k in sorted(usable))
    return ordered, tuple(rejected)
