"""Layer 3: size the convexity overlay with a small integer program (alvh-model.md §4).

Each candidate j (one unit of a VIX call spread or an SPX put diagonal) has a debit c_j,
a stress-scenario payoff p_j and a carry cost per day k_j = max(-theta_j, 0), all USD per
unit with the multiplier applied. Choose integers 0 <= n_j <= ``overlay.max_contracts``

    minimise    sum c_j n_j                                   (USD of debit)
    subject to  sum p_j n_j >= required                       (coverage)
                held + sum p_j n_j <= max_cover x |L|         (never over-hedge)
                (s - tol) P <= sum_vix p_j n_j <= (s + tol) P, P = sum p_j n_j   (mix)
                sum c_j n_j <= max_debit_fraction x open credit                  (budget)
                sum k_j n_j <= max_theta_fraction x |book theta|                 (carry)

with scipy's ``milp`` (HiGHS). ``required`` is ``coverage_frac`` x needed, clipped to the
room left under the cap: the cap is a hard rule, the target is not. When the program is
infeasible only because of the budget, the plan instead covers as much as the budget
allows (maximise sum p_j n_j under every other constraint, then the cheapest such mix).
If the mix would leave that budget-bound plan with no cover at all while the budget could
buy some, the mix is relaxed for it and the detail says so: a book with some protection
is what a trader expects, not an empty plan that honours a diversification preference.

Decisions: the mix applies to the new hedges' payoff (held hedges are counted in ``held``
but never re-mixed); a unit with positive theta costs no carry and offsets none (its theta
can turn negative once its short leg expires); candidates are taken in key order, so equal
optima resolve the same way whatever order they arrive in; the solver time limit applies to
each of the (at most five) solves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp

from daemon.core.calendar import NY
from daemon.core.candidates import (
    Candidate,
    CandidateSearch,
    find_spx_put_diagonals,
    find_vix_call_spreads,
)
from daemon.core.market import MarketView
from daemon.core.params import ModelParams
from daemon.core.risk import BookRisk

FloatArray = npt.NDArray[np.float64]

# Relative slack when re-checking a rounded integer solution against its constraints:
# sums of a few hundred USD-sized floats differ from the solver's own by far less.
_CHECK_REL_TOL = 1e-9


class OverlayStatus(StrEnum):
    OK = "ok"
    BUDGET_BINDING = "budget_binding"
    NOTHING_NEEDED = "nothing_needed"
    NO_CANDIDATES = "no_candidates"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Rejection:
    """A candidate left out of the program, and why."""

    key: str
    reason: str


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
            "chosen": [{"quantity": n, "candidate": c.to_json()} for c, n in self.chosen],
            "payoff_after_usd": self.payoff_after_usd,
            "debit_usd": self.debit_usd,
            "theta_usd_per_day": self.theta_usd_per_day,
            "budget_debit_usd": self.budget_debit_usd,
            "budget_theta_usd_per_day": self.budget_theta_usd_per_day,
            "rejected": [{"key": r.key, "reason": r.reason} for r in self.rejected],
        }


@dataclass(frozen=True)
class _Program:
    """The numbers of one instance, candidates in key order (the tie-break is stable)."""

    candidates: tuple[Candidate, ...]
    payoff: FloatArray
    debit: FloatArray
    carry: FloatArray  # USD per day per unit, >= 0
    vix_payoff: FloatArray  # payoff of VIX candidates, 0 for the others
    upper: int
    required_usd: float
    room_usd: float
    share_lo: float
    share_hi: float
    budget_debit_usd: float
    budget_carry_usd: float
    time_limit_s: float


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
) -> OverlayPlan:
    """Choose integer quantities of ``candidates`` covering ``needed_payoff_usd`` at least debit.

    ``tail_loss_usd`` is the book's stress P&L (<= 0); ``target_payoff_usd`` defaults to
    held + needed and is only reported."""
    ov, budget = params.overlay, params.budget
    needed = max(float(needed_payoff_usd), 0.0)
    held = float(held_payoff_usd)
    cap = ov.max_cover_frac * abs(float(tail_loss_usd))
    room = cap - held
    required = min(ov.coverage_frac * needed, room)
    share = min(max(float(vix_share_target), 0.0), 1.0)
    usable, rejected = _screen(candidates)
    budget_debit = budget.max_debit_fraction * max(float(book_open_credit_usd), 0.0)
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
        budget_theta_usd_per_day=budget.max_theta_fraction * abs(float(book_theta_usd_per_day)),
        status=OverlayStatus.NOTHING_NEEDED,
        detail="",
        cap_payoff_usd=cap,
        required_payoff_usd=max(required, 0.0),
        rejected=rejected,
    )
    if needed <= 0.0:
        return replace(base, detail="held hedges cover the target")
    if required <= 0.0:
        detail = f"held hedges {held:.0f} USD already reach the cap {cap:.0f} USD"
        return replace(base, detail=detail)
    if not usable:
        detail = f"no usable candidates ({len(rejected)} rejected)"
        return replace(base, status=OverlayStatus.NO_CANDIDATES, detail=detail)
    prog = _program(usable, required, room, share, base, params)
    capped = " (coverage clipped to the cap)" if required < ov.coverage_frac * needed else ""
    n = _solve(prog, prog.debit, coverage=True, budget=True, mix=True, cap=True)
    if n is not None:
        return _with_solution(base, prog, n, OverlayStatus.OK, "covered" + capped)
    if _solve(prog, prog.debit, coverage=True, budget=False, mix=True, cap=True) is not None:
        n = _max_cover_within_budget(prog, mix=True)
        relaxed = ""
        if float(prog.payoff @ n) <= 0.0 and _mix_blocks_budget(prog):
            # Some cover beats none: the mix is a preference, the book's protection is not.
            # Without the mix the budget may even cover the need: then the cheapest way.
            full = _solve(prog, prog.debit, coverage=True, budget=True, mix=False, cap=True)
            n = full if full is not None else _max_cover_within_budget(prog, mix=False)
            relaxed = "; VIX share relaxed: the budget cannot afford the mix"
        covered = float(prog.payoff @ n)
        detail = f"budget binds: covers {covered:.0f} of {required:.0f} USD required{capped}"
        return _with_solution(base, prog, n, OverlayStatus.BUDGET_BINDING, detail + relaxed)
    return replace(base, status=OverlayStatus.INFEASIBLE, detail=_diagnose(prog))


def overlay_target_usd(tail_loss_usd: float, scalar_value: float, params: ModelParams) -> float:
    """H = base_ratio x |L| x scalar, USD of stress payoff (alvh-model.md §2 and §4)."""
    return params.base.base_ratio * abs(tail_loss_usd) * scalar_value


def front_income_expiry(book_risk: BookRisk, now: datetime) -> date | None:
    """The nearest expiry among the live income structures (condors, credit spreads).

    ``StructureRisk`` carries DTE in calendar days from ``now``'s New York date
    (``calendar.dte_days``), so the date is that day plus the DTE."""
    live = [r.dte_days for r in book_risk.income if r.dte_days >= 0]
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
) -> OverlayPlan:
    """Build the candidates from ``view`` and size the overlay for ``book_risk``.

    ``held_payoff_usd`` defaults to every held hedge's stress payoff; pass the payoff of
    the hedges that stay (not due to roll) so the plan includes their successors.
    ``condor_expiry`` defaults to the front income expiry, where the diagonals' short leg
    goes."""
    held = book_risk.hedge_payoff_usd if held_payoff_usd is None else held_payoff_usd
    target = overlay_target_usd(book_risk.tail_loss_usd, scalar_value, params)
    expiry = condor_expiry if condor_expiry is not None else front_income_expiry(book_risk, now)
    vix = find_vix_call_spreads(view, now, params)
    spx = find_spx_put_diagonals(view, now, expiry, params)
    plan = size_overlay(
        list(vix.candidates) + list(spx.candidates),
        max(target - held, 0.0),
        book_risk.tail_loss_usd,
        held,
        vix_share_target,
        book_risk.open_credit_usd,
        book_risk.theta_usd_per_day,
        params,
        target_payoff_usd=target,
    )
    notes = [_family_note(name, found) for name, found in (("VIX", vix), ("SPX", spx))]
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
    base: OverlayPlan, prog: _Program, n: npt.NDArray[np.int64], status: OverlayStatus, detail: str
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


def _program(
    usable: tuple[Candidate, ...],
    required: float,
    room: float,
    share: float,
    base: OverlayPlan,
    params: ModelParams,
) -> _Program:
    ov = params.overlay
    payoff = np.array([c.payoff_usd for c in usable], dtype=np.float64)
    return _Program(
        candidates=usable,
        payoff=payoff,
        debit=np.array([c.debit_usd for c in usable], dtype=np.float64),
        carry=np.array([max(-c.theta_usd_per_day, 0.0) for c in usable], dtype=np.float64),
        vix_payoff=np.where([c.is_vix for c in usable], payoff, 0.0),
        upper=ov.max_contracts,
        required_usd=required,
        room_usd=room,
        share_lo=share - ov.mix_tolerance_frac,
        share_hi=share + ov.mix_tolerance_frac,
        budget_debit_usd=base.budget_debit_usd,
        budget_carry_usd=base.budget_theta_usd_per_day,
        time_limit_s=ov.solver_time_limit_s,
    )


def _rows(
    prog: _Program, *, coverage: bool, budget: bool, mix: bool, cap: bool
) -> list[tuple[FloatArray, float, float]]:
    """The constraint rows (a, lo, hi) meaning lo <= a . n <= hi."""
    inf = np.inf
    rows: list[tuple[FloatArray, float, float]] = []
    if coverage:
        rows.append((prog.payoff, prog.required_usd, inf))
    if cap:
        rows.append((prog.payoff, -inf, prog.room_usd))
    # Mix, linearised: sum_vix p n - share x sum p n is >= 0 (lower) and <= 0 (upper).
    # A bound outside [0, 1] constrains nothing and is left out.
    if mix and prog.share_lo > 0.0:
        rows.append((prog.vix_payoff - prog.share_lo * prog.payoff, 0.0, inf))
    if mix and prog.share_hi < 1.0:
        rows.append((prog.vix_payoff - prog.share_hi * prog.payoff, -inf, 0.0))
    if budget:
        rows.append((prog.debit, -inf, prog.budget_debit_usd))
        rows.append((prog.carry, -inf, prog.budget_carry_usd))
    return rows


def _solve(
    prog: _Program,
    cost: FloatArray,
    *,
    coverage: bool,
    budget: bool,
    mix: bool,
    cap: bool,
    extra: Sequence[tuple[FloatArray, float, float]] = (),
) -> npt.NDArray[np.int64] | None:
    """Minimise ``cost . n`` over the chosen constraints; the integer solution or None."""
    rows = _rows(prog, coverage=coverage, budget=budget, mix=mix, cap=cap) + list(extra)
    size = len(prog.candidates)
    constraints = (
        [
            LinearConstraint(
                np.vstack([r[0] for r in rows]), [r[1] for r in rows], [r[2] for r in rows]
            )
        ]
        if rows
        else []
    )
    result = milp(
        c=cost,
        integrality=np.ones(size),
        bounds=Bounds(np.zeros(size), np.full(size, float(prog.upper))),
        constraints=constraints,
        options={"time_limit": prog.time_limit_s},
    )
    # Status 1 (time limit) may still carry a feasible incumbent; it is used if it checks.
    if result.x is None or result.status not in (0, 1):
        return None
    n = np.rint(result.x).astype(np.int64)
    return n if _satisfies(n, rows) else None


def _satisfies(n: npt.NDArray[np.int64], rows: Sequence[tuple[FloatArray, float, float]]) -> bool:
    for a, lo, hi in rows:
        value = float(a @ n)
        slack = _CHECK_REL_TOL * max(1.0, float(np.abs(a) @ n), abs(lo) if np.isfinite(lo) else 0.0)
        if value < lo - slack or value > hi + slack:
            return False
    return True


def _max_cover_within_budget(prog: _Program, *, mix: bool) -> npt.NDArray[np.int64]:
    """The most payoff the budget allows under the cap (and the mix), at the least debit."""
    best = _solve(prog, -prog.payoff, coverage=False, budget=True, mix=mix, cap=True)
    if best is None:  # n = 0 is always feasible here; only a solver failure lands here
        return np.zeros(len(prog.candidates), dtype=np.int64)
    top = float(prog.payoff @ best)
    # Second pass: the cheapest combination reaching that payoff (lexicographic optimum).
    floor = top - _CHECK_REL_TOL * max(1.0, top)
    cheapest = _solve(
        prog,
        prog.debit,
        coverage=False,
        budget=True,
        mix=mix,
        cap=True,
        extra=[(prog.payoff, floor, np.inf)],
    )
    return best if cheapest is None else cheapest


def _mix_blocks_budget(prog: _Program) -> bool:
    """Whether the budget alone (no mix) would buy some cover: the mix is what stops it."""
    n = _solve(prog, -prog.payoff, coverage=False, budget=True, mix=False, cap=True)
    return n is not None and float(prog.payoff @ n) > 0.0


def _diagnose(prog: _Program) -> str:
    """Say which constraint makes the program infeasible even without the budget."""
    reach = float(prog.payoff.sum()) * prog.upper
    if reach < prog.required_usd:
        return (
            f"coverage {prog.required_usd:.0f} USD unreachable: every candidate at "
            f"max_contracts={prog.upper} pays {reach:.0f} USD"
        )
    if _solve(prog, prog.debit, coverage=True, budget=False, mix=False, cap=True) is not None:
        n_vix = int(np.count_nonzero(prog.vix_payoff))
        return (
            f"VIX share {prog.share_lo:.2f}..{prog.share_hi:.2f} impossible with the "
            f"candidates given ({n_vix} VIX, {len(prog.candidates) - n_vix} SPX)"
        )
    if _solve(prog, prog.debit, coverage=True, budget=False, mix=True, cap=False) is not None:
        return (
            f"no integer combination lands between the coverage {prog.required_usd:.0f} USD "
            f"and the cap room {prog.room_usd:.0f} USD"
        )
    return (
        f"no integer combination meets the coverage {prog.required_usd:.0f} USD, the cap "
        f"room {prog.room_usd:.0f} USD and the VIX share {prog.share_lo:.2f}..{prog.share_hi:.2f}"
        " together"
    )
