"""An exact solver for the overlay's small integer programs: bounded enumeration in numpy.

The overlay's programs (``overlay_program.py``) have a handful of integer variables and a
few rows, and the budget rows (debit, carry, the cover cap) have non-negative
coefficients, so the points worth looking at lie in a small simplex: a few SPX diagonals
that cost a thousand USD or more each, and a few dozen cheap VIX call spreads. HiGHS
spends 2-10 ms on each (benchmarks/cycle.py and docs/benchmarks.md: most of it
branch-and-bound on near-ties, the rest its fixed cost); enumerating that simplex
exactly takes a fraction of a millisecond.

How: the variables are bounded from the rows first (interval propagation: each row's
bound, less the least the other variables can add, bounds each variable); then placed
one at a time, smallest range first, on a frontier of partial points (one numpy row per
point, its row sums carried along), each variable's range at each point cut again by
every row given what the variables still free can add at most and at least; the widest
variable comes last and is set in closed form (the end of its feasible interval the
objective prefers). A partial point no completion can make feasible is dropped, so the
frontier holds only points that can still be completed. A one-point frontier and the
tests on the rows run in plain floats (numpy's cost per call was the time); every sum
over variables stays in numpy, whose order of additions is its own.

Exactness: every integer point inside the bounds that meets every row (within
``slack``) is considered, none is skipped; among the optima the first in enumeration
order is returned, so the answer is deterministic. When the frontier would pass
``limit`` points the search gives up (``TOO_BIG``) and the caller falls back to HiGHS;
checked against ``scipy.optimize.milp`` on random programs in
``tests/core/test_overlay_search.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from daemon.core.overlay_interval import interval

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Frontier size past which the enumeration gives up for the caller's fallback: a few MB
# of arrays, a few ms of numpy at most.
DEFAULT_LIMIT = 200_000
# The first cost ceiling, over the least cost the cover rows allow, and its growth per
# level: the last level holds at most CEILING_STEP ** size times the points it must.
CEILING_START = 1.0
CEILING_STEP = 1.5
# A least-debit program without a budget row is first tried whole up to this many partial
# points (a cover cap near the cover often leaves only a few dozen).
WHOLE_FIRST_LIMIT = 5_000


class Found(StrEnum):
    SOLVED = "solved"
    INFEASIBLE = "infeasible"
    TOO_BIG = "too_big"


@dataclass(frozen=True)
class Search:
    """The outcome; ``n`` is set when ``found`` is ``SOLVED``."""

    found: Found
    n: IntArray | None = None


@dataclass(frozen=True)
class Problem:
    """lo <= a @ n <= hi (rows of ``a``), 0 <= n <= upper, n integer.

    ``cost``: minimise cost @ n; None minimises the number of non-zero n_j (at least one
    when ``min_lines`` is 1). ``then``: tie-break costs, in order: among the points
    whose cost is within ``tie_rel`` (relative, at least 1 absolute) of the least,
    minimise then[0] @ n, among those tied on that then[1] @ n, and so on: the
    lexicographic optimum in one search. ``max_lines``: at most that many non-zero n_j.
    ``slack``: per row, how far past a bound still counts as meeting it."""

    a: FloatArray
    lo: FloatArray
    hi: FloatArray
    upper: IntArray
    cost: FloatArray | None
    max_lines: int | None = None
    min_lines: int = 0
    slack: FloatArray | None = None
    then: tuple[FloatArray, ...] = ()
    tie_rel: float = 0.0


def search(problem: Problem, limit: int = DEFAULT_LIMIT) -> Search:
    """The optimum of ``problem`` by enumeration, or why there is none (module docstring).

    A cost that is nowhere negative (least debit) with no budget row to bound the points
    (only the cover cap) is searched under a ceiling on the cost itself, raised from the
    least cost the cover rows allow until a level holds a feasible point: that level holds
    every point as cheap as its best, so its best is the optimum."""
    cost = problem.cost
    if cost is None or (cost < 0).any() or not (cost > 0).any() or _budget_bound(problem):
        return _search(problem, limit)
    # Small enough to search whole (often: the cover cap bounds it): no ceiling needed.
    whole = _search(problem, min(limit, WHOLE_FIRST_LIMIT))
    if whole.found is not Found.TOO_BIG:
        return whole
    most = float(cost @ problem.upper)
    ceiling = _cost_floor(problem) * CEILING_START
    if ceiling <= 0.0:
        ceiling = float(cost[cost > 0].min())
    while ceiling < most:
        capped = replace(
            problem,
            a=np.vstack([problem.a, cost]),
            lo=np.append(problem.lo, -np.inf),
            hi=np.append(problem.hi, ceiling),
            slack=None if problem.slack is None else np.append(problem.slack, 0.0),
        )
        found = _search(capped, limit)
        if found.found is not Found.INFEASIBLE:
            return found
        ceiling *= CEILING_STEP
    return _search(problem, limit)


def _budget_bound(problem: Problem) -> bool:
    """Whether some row caps the cost directly: an upper bound on a row proportional to
    the cost (a debit budget when the cost is the debit). The cover cap bounds the
    points too, but loosely: hundreds of VIX spreads.

    In plain floats (a handful of rows and variables: numpy's cost per call would be most
    of the time): the same quotients, and ``_all_close`` is ``np.allclose`` term for term."""
    assert problem.cost is not None
    cost = problem.cost.tolist()
    zeros = [c == 0 for c in cost]
    paid = [i for i, c in enumerate(cost) if c > 0]
    for row, hi in zip(problem.a.tolist(), problem.hi.tolist(), strict=True):
        if not math.isfinite(hi) or [x == 0 for x in row] != zeros:
            continue
        ratio = [row[i] / cost[i] for i in paid]
        # all(> 0) is np.min(ratio) > 0, NaN included (a NaN fails both).
        if all(x > 0 for x in ratio) and _all_close(ratio):
            return True
    return False


def _all_close(values: list[float]) -> bool:
    """``np.allclose(values, values[0])`` (default tolerances, numpy 2's ``isclose``:
    ``|x - y| <= atol + rtol |y|`` with y finite, or x == y)."""
    y = values[0]
    tol = 1e-08 + 1e-05 * abs(y)
    finite = math.isfinite(y)
    return all((abs(x - y) <= tol and finite) or x == y for x in values)


def _cost_floor(problem: Problem) -> float:
    """A lower bound on the cost of a feasible point: each row asking a positive least
    value of non-negative coefficients costs at least that value at the cheapest rate."""
    assert problem.cost is not None
    floor = 0.0
    for row, lo in zip(problem.a, problem.lo - _slack(problem), strict=True):
        if lo > 0 and (row >= 0).all() and (row > 0).any():
            rate = problem.cost[row > 0] / row[row > 0]
            floor = max(floor, lo * float(rate.min()))
    return floor


def _slack(problem: Problem) -> FloatArray:
    return problem.slack if problem.slack is not None else np.zeros(problem.a.shape[0])


def _search(problem: Problem, limit: int) -> Search:
    a, size = problem.a, problem.a.shape[1]
    slack = _slack(problem)
    lo_b, hi_b = problem.lo - slack, problem.hi + slack
    if _out_of_reach(a, lo_b, hi_b):
        return Search(Found.INFEASIBLE)
    bounds = _propagate(a, lo_b, hi_b, np.zeros(size, dtype=np.int64), problem.upper.copy())
    if bounds is None:
        return Search(Found.INFEASIBLE)
    low, high = bounds
    if _origin_only(a, lo_b, hi_b, high, limit):
        return _at_origin(problem)
    return _place_all(problem, limit, lo_b, hi_b, low, high)


def _origin_only(a: FloatArray, lo: FloatArray, hi: FloatArray, high: IntArray, limit: int) -> bool:
    """Whether the bounds leave only n = 0 (a budget below every unit's cost: most of the
    budget-bound searches) and ``_place_all`` would keep it at every step, so its steps
    can be skipped. There every row's room is lo - (+-0) - 0 .. hi - (+-0) - 0, the
    products of 0 and finite coefficients being zeros of either sign, and each interval
    is [0, 0] exactly when lo <= 0 <= hi (the quotients' signs; no NaN); an infinite
    coefficient would make 0 x inf a NaN the steps read as a row not met, so it is left
    to them. ``tests/core/test_overlay_search_origin.py`` holds this to ``_place_all``."""
    return (
        limit >= 1
        and high.size > 0
        and not high.any()
        and bool((lo <= 0.0).all())
        and bool((hi >= 0.0).all())
        and bool(np.isfinite(a).all())
    )


def _at_origin(problem: Problem) -> Search:
    """``_finish``'s answer at the origin alone: no line, so infeasible when the problem
    asks at least one (or allows fewer than none); else n = 0, the only point to score."""
    if problem.min_lines >= 1 or (problem.max_lines is not None and problem.max_lines < 0):
        return Search(Found.INFEASIBLE)
    return Search(Found.SOLVED, np.zeros(problem.a.shape[1], dtype=np.int64))


def _place_all(
    problem: Problem,
    limit: int,
    lo_b: FloatArray,
    hi_b: FloatArray,
    low: IntArray,
    high: IntArray,
) -> Search:
    """Place the variables one at a time, smallest range first, the last in closed form
    (module docstring), within the propagated [low, high]."""
    a = problem.a
    order = np.argsort(high - low, kind="stable")
    state = _Frontier.start(a.shape[0])
    for step, j in enumerate(order[:-1]):
        rest = order[step + 1 :]
        if not state.place(a, lo_b, hi_b, int(j), low, high, rest, limit):
            return Search(Found.TOO_BIG)
        if state.empty:
            return Search(Found.INFEASIBLE)
    return _finish(problem, state, a, lo_b, hi_b, int(order[-1]), low, high, order)


def _out_of_reach(a: FloatArray, lo: FloatArray, hi: FloatArray) -> bool:
    """Whether a budget row proves a cover row unreachable: with both of non-negative
    coefficients, the cover row is at most (budget) x (its best rate per unit of budget)
    (Dantzig's bound for the fractional knapsack); below its least value, no point, even
    a fractional one, meets both. The budget-bound programs are infeasible this way.

    In plain floats: a handful of rows and variables, where numpy's cost per call is most
    of the time; each quotient, maximum and product is the same IEEE operation."""
    rows = a.tolist()
    nonneg = [all(x >= 0 for x in row) for row in rows]
    lows, highs = lo.tolist(), hi.tolist()
    budgets = [b for b, ok in enumerate(nonneg) if ok and math.isfinite(highs[b])]
    for c, ok in enumerate(nonneg):
        if not ok or not lows[c] > 0:
            continue
        used = [i for i, x in enumerate(rows[c]) if x > 0]
        for b in budgets:
            if (
                used
                and all(rows[b][i] > 0 for i in used)
                and highs[b] * max(rows[c][i] / rows[b][i] for i in used) < lows[c]
            ):
                return True
    return False


def _propagate(
    a: FloatArray, lo: FloatArray, hi: FloatArray, low: IntArray, high: IntArray
) -> tuple[IntArray, IntArray] | None:
    """Tighten each variable's [low, high] from each row, twice (enough for these rows:
    the budget rows bound every variable at once). None when a row cannot be met."""
    nonzero, positive = a != 0, a > 0
    safe = np.where(nonzero, a, 1.0)
    for _ in range(2):
        at_low, at_high = a * low, a * high
        own_least, own_most = np.minimum(at_low, at_high), np.maximum(at_low, at_high)
        least, most = own_least.sum(axis=1), own_most.sum(axis=1)
        if (least > hi).any() or (most < lo).any():
            return None
        with np.errstate(invalid="ignore"):
            # a_ij n_j <= hi_i - (what the others add at least), >= lo_i - (at most).
            top = (hi - least)[:, None] + own_least
            bottom = (lo - most)[:, None] + own_most
        upper_side = np.where(positive, top, bottom) / safe
        lower_side = np.where(positive, bottom, top) / safe
        caps = np.where(nonzero & np.isfinite(upper_side), np.floor(upper_side), np.inf)
        floors = np.where(nonzero & np.isfinite(lower_side), np.ceil(lower_side), -np.inf)
        high = np.minimum(high, caps.min(axis=0, initial=np.inf)).astype(np.int64)
        low = np.maximum(low, floors.max(axis=0, initial=-np.inf)).astype(np.int64)
        if (low > high).any():
            return None
    return low, high


@dataclass
class _Frontier:
    """Partial points: their values (columns in placing order) and their row sums."""

    values: IntArray
    sums: FloatArray

    @classmethod
    def start(cls, n_rows: int) -> _Frontier:
        return cls(np.zeros((1, 0), dtype=np.int64), np.zeros((1, n_rows)))

    @property
    def empty(self) -> bool:
        return int(self.values.shape[0]) == 0

    def place(
        self,
        a: FloatArray,
        lo: FloatArray,
        hi: FloatArray,
        j: int,
        low: IntArray,
        high: IntArray,
        rest: IntArray,
        limit: int,
    ) -> bool:
        """Every value of variable j each point allows; False when past ``limit``."""
        first, last = _var_range(a, lo, hi, j, low, high, rest, self.sums)
        counts = np.maximum(last - first + 1, 0)
        total = int(counts.sum())
        if total > limit:
            return False
        if len(counts) == 1:  # one point (most often): its values, without the bookkeeping
            parent = np.zeros(total, dtype=np.intp)
            value = first[0] + np.arange(total)
        else:
            parent = np.repeat(np.arange(len(counts)), counts)
            starts = np.cumsum(counts) - counts
            value = first[parent] + (np.arange(total) - starts[parent])
        self.values = np.concatenate([self.values[parent], value[:, np.newaxis]], axis=1)
        self.sums = self.sums[parent] + np.outer(value, a[:, j])
        return True


def _var_range(
    a: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    j: int,
    low: IntArray,
    high: IntArray,
    rest: IntArray,
    sums: FloatArray,
) -> tuple[IntArray, IntArray]:
    """Per point, the values of n_j some completion of the free variables ``rest`` may
    still make feasible: a_ij n_j must fit between each row's bounds less the partial
    sum and less what the rest can add at most (below) and at least (above)."""
    sub = a[:, rest]
    at_low, at_high = sub * low[rest], sub * high[rest]
    r_least = np.minimum(at_low, at_high).sum(axis=1)
    r_most = np.maximum(at_low, at_high).sum(axis=1)
    top = hi - r_least - sums  # a_ij n_j <= top
    bottom = lo - r_most - sums  # a_ij n_j >= bottom
    return interval(a[:, j], bottom, top, low[j], high[j])


def _finish(
    problem: Problem,
    state: _Frontier,
    a: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    j: int,
    low: IntArray,
    high: IntArray,
    order: IntArray,
) -> Search:
    """Set the last variable in closed form at every point and pick the optimum."""
    empty = np.array([], dtype=np.int64)
    first, last = _var_range(a, lo, hi, j, low, high, empty, state.sums)
    ok = first <= last
    placed = state.values
    lines = np.count_nonzero(placed, axis=1)
    x = _last_value(problem, j, lines, first, last, ok)
    total_lines = lines + (x > 0)
    bad = ~ok | (total_lines < problem.min_lines)
    if problem.max_lines is not None:
        bad |= total_lines > problem.max_lines
    if bad.all():
        return Search(Found.INFEASIBLE)
    if problem.cost is None:
        score = total_lines.astype(np.float64)
    else:
        score = placed @ problem.cost[order[:-1]] + problem.cost[j] * x
    score = np.where(bad, np.inf, score)
    best = int(np.argmin(score))
    for level in problem.then:
        # Lexicographic: the least of the next cost among the points tied so far.
        window = score <= score[best] + problem.tie_rel * max(1.0, abs(float(score[best])))
        score = np.where(window, placed @ level[order[:-1]] + level[j] * x, np.inf)
        best = int(np.argmin(score))
    n = np.zeros(a.shape[1], dtype=np.int64)
    n[order[:-1]] = placed[best]
    n[j] = x[best]
    return Search(Found.SOLVED, n)


def _last_value(
    problem: Problem,
    j: int,
    lines: IntArray,
    first: IntArray,
    last: IntArray,
    ok: npt.NDArray[np.bool_],
) -> IntArray:
    """The last variable's best value at each point, given its feasible [first, last]:
    the end its cost prefers (its tie-break cost's when it costs nothing), 0 when the
    objective is the lines; then moved to 0 when one more line would pass
    ``max_lines``, or up to 1 when the plan would otherwise have no line at all."""
    zero_ok = ok & (first == 0)
    # Which end of [first, last] the objectives prefer: the cost's sign, or the first
    # tie-break that moves with this variable when the cost does not.
    signs = [problem.cost[j]] if problem.cost is not None else []
    signs += [level[j] for level in problem.then]
    leaning = next((c for c in signs if c != 0), 0.0)
    x = last if leaning < 0 else first
    if problem.cost is None:
        # Fewest lines first: x = 0 whenever it is allowed.
        x = np.where(zero_ok, 0, x)
    elif problem.max_lines is not None:
        too_many = lines + (x > 0) > problem.max_lines
        x = np.where(too_many & zero_ok, 0, x)
    if problem.min_lines >= 1:
        lift = (lines == 0) & (x == 0) & (last >= 1)
        x = np.where(lift, last if leaning < 0 else np.maximum(first, 1), x)
    return x
