"""Layer 3's integer program: the numbers, the constraints and the solves (alvh-model.md §4).

``overlay.py`` decides which program to solve and turns a solution into a plan; this
module holds one instance's numbers (``Program``), builds its constraint rows from the
``Rules`` in force and solves them exactly by enumeration (``overlay_search``), with
scipy's ``milp`` (HiGHS) for a program too large to enumerate. All money is USD per
unit of a candidate with the multiplier applied; quantities are integers in
0..``max_contracts``.

The consolidation pass (``consolidate``) minimises the number of order lines (distinct
candidates used), then the goal among the plans with that many: one enumeration with
tie-breaks; for HiGHS, one binary y_j per candidate, linked by y_j <= n_j <=
max_contracts x y_j so that y_j = 1 exactly when candidate j is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp

from daemon.core.candidates import Candidate
from daemon.core.overlay_checks import CHECK_REL_TOL, meets, one_unit_fits, satisfies
from daemon.core.overlay_search import Found, Problem, Search, search
from daemon.core.params import ModelParams

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# One constraint row (a, lo, hi) meaning lo <= a . n <= hi.
Row = tuple[FloatArray, float, float]

# How ``_witness`` splits the required cover between two candidates.
WITNESS_SPLITS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Program:
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
    consolidate_tolerance_frac: float


@dataclass(frozen=True)
class Rules:
    """Which constraint groups of the program are in force."""

    coverage: bool
    budget: bool
    mix: bool
    cap: bool


class Goal(StrEnum):
    """What a solution optimises, lexicographically."""

    LEAST_DEBIT = "least_debit"  # meet the coverage at the least debit
    MOST_COVER = "most_cover"  # the most payoff, then the least debit for it


EVERY_RULE = Rules(coverage=True, budget=True, mix=True, cap=True)


def build_program(
    usable: tuple[Candidate, ...],
    required_usd: float,
    room_usd: float,
    share: float,
    budget_debit_usd: float,
    budget_carry_usd: float,
    params: ModelParams,
    *,
    upper: int | None = None,
) -> Program:
    """The program of ``usable`` (already screened and in key order). ``upper``: the most
    units of one candidate, ``overlay.max_contracts`` when None (never more than that)."""
    ov = params.overlay
    payoff = np.array([c.payoff_usd for c in usable], dtype=np.float64)
    return Program(
        candidates=usable,
        payoff=payoff,
        debit=np.array([c.debit_usd for c in usable], dtype=np.float64),
        carry=np.array([max(-c.theta_usd_per_day, 0.0) for c in usable], dtype=np.float64),
        vix_payoff=np.where([c.is_vix for c in usable], payoff, 0.0),
        upper=ov.max_contracts if upper is None else max(1, min(upper, ov.max_contracts)),
        required_usd=required_usd,
        room_usd=room_usd,
        share_lo=share - ov.mix_tolerance_frac,
        share_hi=share + ov.mix_tolerance_frac,
        budget_debit_usd=budget_debit_usd,
        budget_carry_usd=budget_carry_usd,
        time_limit_s=ov.solver_time_limit_s,
        consolidate_tolerance_frac=ov.consolidate_tolerance_frac,
    )


def max_units_for(income_units: int, params: ModelParams) -> int:
    """The most units of one candidate a book of ``income_units`` condors and credit
    spreads allows: ``max_contracts_per_income_unit`` per unit, rounded up, at least 1,
    at most ``max_contracts``."""
    ov = params.overlay
    derived = math.ceil(ov.max_contracts_per_income_unit * max(income_units, 0) - 1e-9)
    return max(1, min(derived, ov.max_contracts))


def rows(prog: Program, rules: Rules) -> list[Row]:
    """The constraint rows of ``rules``, over the quantities n."""
    inf = np.inf
    found: list[Row] = []
    if rules.coverage:
        found.append((prog.payoff, prog.required_usd, inf))
    if rules.cap:
        found.append((prog.payoff, -inf, prog.room_usd))
    # Mix, linearised: sum_vix p n - share x sum p n is >= 0 (lower) and <= 0 (upper).
    # A bound outside [0, 1] constrains nothing and is left out.
    if rules.mix and prog.share_lo > 0.0:
        found.append((prog.vix_payoff - prog.share_lo * prog.payoff, 0.0, inf))
    if rules.mix and prog.share_hi < 1.0:
        found.append((prog.vix_payoff - prog.share_hi * prog.payoff, -inf, 0.0))
    if rules.budget:
        found.append((prog.debit, -inf, prog.budget_debit_usd))
        found.append((prog.carry, -inf, prog.budget_carry_usd))
    return found


def solve(
    prog: Program,
    cost: FloatArray,
    rules: Rules,
    *,
    extra: Sequence[Row] = (),
    max_lines: int | None = None,
) -> IntArray | None:
    """Minimise ``cost . n`` under ``rules`` and ``extra``, using at most ``max_lines``
    distinct candidates; the integer solution or None."""
    return _run(prog, cost, rows(prog, rules) + list(extra), max_lines)


def feasible(prog: Program, rules: Rules) -> bool:
    """Whether some n meets ``rules``: a simple witness first, else the exact search."""
    constraint_rows = rows(prog, rules)
    if _witness(prog, constraint_rows):
        return True
    found = _enumerate(prog, prog.debit, constraint_rows, max_lines=None)
    if found.found is Found.INFEASIBLE:
        return False
    if found.n is not None and satisfies(found.n, constraint_rows):
        return True
    return _highs(prog, prog.debit, constraint_rows, None) is not None


def optimum(
    prog: Program,
    rules: Rules,
    goal: Goal,
    *,
    extra: Sequence[Row] = (),
    max_lines: int | None = None,
) -> IntArray | None:
    """The lexicographic optimum of ``goal``: the least debit, or the most payoff and then
    the least debit reaching it (within the check slack of the most)."""
    if goal is Goal.LEAST_DEBIT:
        return solve(prog, prog.debit, rules, extra=extra, max_lines=max_lines)
    constraint_rows = rows(prog, rules) + list(extra)
    found = _enumerate(prog, -prog.payoff, constraint_rows, max_lines=max_lines, then=(prog.debit,))
    if found.found is Found.INFEASIBLE:
        return None
    if found.n is not None and satisfies(found.n, constraint_rows):
        return found.n
    # Too large to enumerate: HiGHS twice, the most payoff and then the least debit.
    best = _highs(prog, -prog.payoff, constraint_rows, max_lines)
    if best is None:
        return None
    floor: Row = (prog.payoff, _down(float(prog.payoff @ best)), np.inf)
    cheapest = _highs(prog, prog.debit, [*constraint_rows, floor], max_lines)
    return best if cheapest is None else cheapest


def max_cover_within_budget(prog: Program, *, mix: bool) -> IntArray:
    """The most payoff the budget allows under the cap (and the mix), at the least debit."""
    rules = Rules(coverage=False, budget=True, mix=mix, cap=True)
    found = optimum(prog, rules, Goal.MOST_COVER)
    # n = 0 is always feasible here; only a solver failure gives None.
    return np.zeros(len(prog.candidates), dtype=np.int64) if found is None else found


def mix_blocks_budget(prog: Program) -> bool:
    """Whether the budget alone (no mix) would buy some cover: the mix is what stops it.
    Yes without a search when one unit of a candidate fits the cap and both budgets
    (``one_unit_fits``: the search would find at least that much cover)."""
    if one_unit_fits(
        prog.payoff,
        prog.debit,
        prog.carry,
        prog.room_usd,
        prog.budget_debit_usd,
        prog.budget_carry_usd,
        prog.upper,
    ):
        return True
    rules = Rules(coverage=False, budget=True, mix=False, cap=True)
    n = solve(prog, -prog.payoff, rules)
    return n is not None and float(prog.payoff @ n) > 0.0


def consolidate(prog: Program, n: IntArray, rules: Rules, goal: Goal) -> IntArray:
    """``n`` re-solved for the fewest distinct candidates, within the tolerance.

    Under ``rules`` (the ones ``n`` was solved under: budget and cap always among them)
    and debit <= (1 + tol) x n's debit; for ``Goal.MOST_COVER`` also payoff >= (1 - tol)
    x n's payoff, since a budget-bound plan's cover is what it optimised. Among the plans
    with the fewest lines, the ``goal`` optimum. ``n`` itself when no plan has fewer lines
    (it is then already the cheapest with its count), so ties stay as the first solve
    resolved them."""
    tol = prog.consolidate_tolerance_frac
    lines = int(np.count_nonzero(n))
    if tol <= 0.0 or lines <= _least_lines(prog, n, rules, goal):
        return n  # already as few lines as any plan under these rules can have
    near: list[Row] = [(prog.debit, -np.inf, _up(float(prog.debit @ n) * (1.0 + tol)))]
    if goal is Goal.MOST_COVER:
        near.append((prog.payoff, _down(float(prog.payoff @ n) * (1.0 - tol)), np.inf))
    constraint_rows = rows(prog, rules) + near
    # One search: the fewest lines, then the goal's optimum among plans with that many.
    goal_costs = (prog.debit,) if goal is Goal.LEAST_DEBIT else (-prog.payoff, prog.debit)
    found = _enumerate(prog, None, constraint_rows, max_lines=None, then=goal_costs)
    if found.found is Found.INFEASIBLE:
        return n
    if found.n is not None and satisfies(found.n, constraint_rows):
        return found.n if int(np.count_nonzero(found.n)) < lines else n
    fewest = _fewest_lines(prog, constraint_rows)  # too large to enumerate: HiGHS
    if fewest is None or fewest >= lines:
        return n
    again = optimum(prog, rules, goal, extra=near, max_lines=fewest)
    return n if again is None else again


def _least_lines(prog: Program, n: IntArray, rules: Rules, goal: Goal) -> int:
    """A lower bound on the lines of any plan ``consolidate`` may pick instead of ``n``:
    1; 2 when the mix is in force with a band strictly inside (0, 1) and the plan must
    pay something (the coverage row asks a positive payoff, or ``Goal.MOST_COVER`` keeps
    most of n's): it then needs a VIX spread and a diagonal. Reaching it, the line
    search cannot do better, so its solve is skipped (the result is the same)."""
    keeps = prog.consolidate_tolerance_frac < 1.0 and float(prog.payoff @ n) > 0.0
    pays = (rules.coverage and prog.required_usd > 0.0) or (goal is Goal.MOST_COVER and keeps)
    both = rules.mix and prog.share_lo > 0.0 and prog.share_hi < 1.0
    return 2 if pays and both else 1


def diagnose(prog: Program) -> str:
    """Say which constraint makes the program infeasible even without the budget."""
    reach = float(prog.payoff.sum()) * prog.upper
    if reach < prog.required_usd:
        return (
            f"coverage {prog.required_usd:.0f} USD unreachable: every candidate at its "
            f"contract cap ({prog.upper}, max_contracts / max_contracts_per_income_unit) "
            f"pays {reach:.0f} USD"
        )
    no_mix = Rules(coverage=True, budget=False, mix=False, cap=True)
    if feasible(prog, no_mix):
        n_vix = int(np.count_nonzero(prog.vix_payoff))
        return (
            f"VIX share {prog.share_lo:.2f}..{prog.share_hi:.2f} impossible with the "
            f"candidates given ({n_vix} VIX, {len(prog.candidates) - n_vix} SPX)"
        )
    no_cap = Rules(coverage=True, budget=False, mix=True, cap=False)
    if feasible(prog, no_cap):
        return (
            f"no integer combination lands between the coverage {prog.required_usd:.0f} USD "
            f"and the cap room {prog.room_usd:.0f} USD"
        )
    return (
        f"no integer combination meets the coverage {prog.required_usd:.0f} USD, the cap "
        f"room {prog.room_usd:.0f} USD and the VIX share {prog.share_lo:.2f}..{prog.share_hi:.2f}"
        " together"
    )


# ---- the solver call --------------------------------------------------------------------
def _up(value: float) -> float:
    """``value`` plus the check slack: an upper bound a solution at ``value`` still meets."""
    return value + CHECK_REL_TOL * max(1.0, abs(value))


def _down(value: float) -> float:
    return value - CHECK_REL_TOL * max(1.0, abs(value))


def _fewest_lines(prog: Program, constraint_rows: list[Row]) -> int | None:
    """The fewest distinct candidates (at least one) of any n meeting ``constraint_rows``,
    by HiGHS (for a program too large to enumerate)."""
    size = len(prog.candidates)
    cost = np.concatenate([np.zeros(size), np.ones(size)])
    x = _milp(prog, cost, constraint_rows, lines=True, max_lines=None)
    if x is None:
        return None
    n = np.rint(x[:size]).astype(np.int64)
    return int(np.count_nonzero(n)) if satisfies(n, constraint_rows) else None


def _run(
    prog: Program, cost: FloatArray, constraint_rows: list[Row], max_lines: int | None
) -> IntArray | None:
    """Solve over n: by exact enumeration (``overlay_search``), or with HiGHS when the
    enumeration would be too large."""
    found = _enumerate(prog, cost, constraint_rows, max_lines=max_lines)
    if found.found is Found.INFEASIBLE:
        return None
    if found.n is not None and satisfies(found.n, constraint_rows):
        return found.n
    return _highs(prog, cost, constraint_rows, max_lines)


def _witness(prog: Program, constraint_rows: list[Row]) -> bool:
    """Whether one of a few simple plans meets ``constraint_rows``: nothing; two
    candidates (or one twice) splitting the required cover in quarters, each rounded up;
    or one unit of a candidate and, beside it, another in quarters of the split (a
    diagonal's unit may pay more than the cover asked, and the mix then wants VIX
    spreads in proportion to it, not to the cover). A cheap yes for a feasibility
    question (a covering plan usually exists once the budget is lifted); a no proves
    nothing and the exact search decides."""
    size = len(prog.candidates)
    i, j = np.triu_indices(size)
    first, second = np.concatenate([i, j]), np.concatenate([j, i])  # either one anchored
    rows_ = np.arange(len(i))
    anchored = np.arange(len(first))
    plans = [np.zeros((1, size))]
    for w in WITNESS_SPLITS:
        n = np.zeros((len(i), size))
        np.add.at(n, (rows_, i), np.ceil(w * prog.required_usd / prog.payoff[i]))
        np.add.at(n, (rows_, j), np.ceil((1 - w) * prog.required_usd / prog.payoff[j]))
        plans.append(n)
        one = np.zeros((len(first), size))
        beside = np.maximum(
            np.ceil(w / (1 - w) * prog.payoff[second] / prog.payoff[first]),
            np.ceil((prog.required_usd - prog.payoff[second]) / prog.payoff[first]),
        )
        np.add.at(one, (anchored, second), 1.0)
        np.add.at(one, (anchored, first), np.maximum(beside, 0.0))
        plans.append(one)
    return bool(meets(np.minimum(np.vstack(plans), prog.upper), constraint_rows).any())


def _highs(
    prog: Program, cost: FloatArray, constraint_rows: list[Row], max_lines: int | None
) -> IntArray | None:
    """Solve with HiGHS over n (and the line indicators y when the lines are bounded)."""
    size = len(prog.candidates)
    lines = max_lines is not None
    full_cost = np.concatenate([cost, np.zeros(size)]) if lines else cost
    x = _milp(prog, full_cost, constraint_rows, lines=lines, max_lines=max_lines)
    if x is None:
        return None
    n = np.rint(x[:size]).astype(np.int64)
    if max_lines is not None and np.count_nonzero(n) > max_lines:
        return None
    return n if satisfies(n, constraint_rows) else None


def _enumerate(
    prog: Program,
    cost: FloatArray | None,
    constraint_rows: list[Row],
    *,
    max_lines: int | None,
    then: tuple[FloatArray, ...] = (),
) -> Search:
    """``overlay_search.search`` on these rows; ``cost`` None minimises the lines. With
    ``max_lines`` (or the lines as the objective) at least one line, as in ``_milp``.
    The slack is ``_satisfies``'s at a zero left-hand side, never more than it allows."""
    size = len(prog.candidates)
    # ``np.array`` of the equal-length rows is ``np.vstack``'s matrix (same values, dtype,
    # C order) at a quarter of its cost: vstack goes through atleast_2d and concatenate.
    a = np.array([r[0] for r in constraint_rows]) if constraint_rows else np.zeros((0, size))
    lo = np.array([r[1] for r in constraint_rows], dtype=np.float64)
    hi = np.array([r[2] for r in constraint_rows], dtype=np.float64)
    slack = CHECK_REL_TOL * np.maximum(1.0, np.where(np.isfinite(lo), np.abs(lo), 0.0))
    problem = Problem(
        a=a,
        lo=lo,
        hi=hi,
        upper=np.full(size, prog.upper, dtype=np.int64),
        cost=cost,
        max_lines=max_lines,
        min_lines=int(max_lines is not None or cost is None),
        slack=slack,
        then=then,
        tie_rel=CHECK_REL_TOL,
    )
    return search(problem)


def _milp(
    prog: Program,
    cost: FloatArray,
    constraint_rows: list[Row],
    *,
    lines: bool,
    max_lines: int | None,
) -> FloatArray | None:
    """One HiGHS solve; with ``lines`` the variables are [n, y], y_j in {0, 1} marking
    n_j > 0 (y_j <= n_j <= upper x y_j) and at least one line used."""
    size = len(prog.candidates)
    a_rows = [r[0] for r in constraint_rows]
    lo = [r[1] for r in constraint_rows]
    hi = [r[2] for r in constraint_rows]
    upper = np.full(size, float(prog.upper))
    if lines:
        a_rows = [np.concatenate([a, np.zeros(size)]) for a in a_rows]
        eye = np.eye(size)
        link = np.hstack([eye, -eye])  # n_j - y_j >= 0
        big_m = np.hstack([eye, -float(prog.upper) * eye])  # n_j - upper y_j <= 0
        count = np.concatenate([np.zeros(size), np.ones(size)])
        a_rows += [*link, *big_m, count]
        lo += [0.0] * size + [-np.inf] * size + [1.0]
        hi += [np.inf] * size + [0.0] * size + [np.inf if max_lines is None else max_lines]
        upper = np.concatenate([upper, np.ones(size)])
    constraints = [LinearConstraint(np.vstack(a_rows), lo, hi)] if a_rows else []
    result = milp(
        c=cost,
        integrality=np.ones(len(upper)),
        bounds=Bounds(np.zeros(len(upper)), upper),
        constraints=constraints,
        options={"time_limit": prog.time_limit_s},
    )
    # Status 1 (time limit) may still carry a feasible incumbent; it is used if it checks.
    if result.x is None or result.status not in (0, 1):
        return None
    return np.asarray(result.x, dtype=np.float64)
