"""The enumeration's origin-only short cut (``overlay_search._origin_only``, ``_at_origin``)
against the general placement it skips (``_place_all``), bit for bit: on random programs
where a budget row leaves only n = 0 (often) or more, with zeros, signs, infinities and
NaN in the other rows, random line limits, costs and tie-breaks. The oracle is the
general path run on the same propagated bounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.overlay_search import (
    Found,
    Problem,
    Search,
    _origin_only,
    _place_all,
    _propagate,
    _search,
    _slack,
)

SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1e-300, -1e300, 1e300, np.inf, -np.inf, np.nan]
values = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(min_value=-5000, max_value=5000, allow_nan=False, width=64),
)
bounds = st.one_of(
    st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-12, -1e-12]),
    st.floats(min_value=-5000, max_value=5000, allow_nan=False, width=64),
)


@st.composite
def origin_programs(draw: st.DrawFn) -> tuple[Problem, int]:
    """A budget row whose cap is below every unit's cost (so only 0 fits) most of the
    time, beside random rows; random upper bounds, costs, tie-breaks and line limits."""
    size, extra = draw(st.integers(1, 6)), draw(st.integers(0, 4))
    budget = np.array(
        [draw(st.floats(1.0, 5000.0, allow_nan=False)) for _ in range(size)], dtype=np.float64
    )
    cap = draw(st.one_of(st.floats(0.0, 0.999), st.floats(0.0, 2.0))) * float(budget.min())
    a_rows = [budget] + [np.array([draw(values) for _ in range(size)]) for _ in range(extra)]
    # Half the other bounds drawn around the origin (or NaN): the short cut is often on.
    lows = st.one_of(bounds, st.sampled_from([-np.inf, -0.0, 0.0, -1.0, np.nan]))
    highs = st.one_of(bounds, st.sampled_from([np.inf, -0.0, 0.0, 1.0, np.nan]))
    lo = [-np.inf] + [draw(lows) for _ in range(extra)]
    hi = [cap] + [draw(highs) for _ in range(extra)]
    costs = st.one_of(st.none(), st.lists(values, min_size=size, max_size=size))
    cost, then = draw(costs), draw(st.lists(st.lists(values, min_size=size, max_size=size)))
    slack = draw(st.one_of(st.none(), st.sampled_from([0.0, 1e-9])))
    problem = Problem(
        a=np.vstack(a_rows),
        lo=np.array(lo, dtype=np.float64),
        hi=np.array(hi, dtype=np.float64),
        upper=np.array([draw(st.integers(0, 6)) for _ in range(size)], dtype=np.int64),
        cost=None if cost is None else np.array(cost, dtype=np.float64),
        max_lines=draw(st.one_of(st.none(), st.integers(-1, 3))),
        min_lines=draw(st.integers(0, 1)),
        slack=None if slack is None else np.full(1 + extra, slack),
        then=tuple(np.array(t, dtype=np.float64) for t in then[:2]),
        tie_rel=1e-9,
    )
    return problem, draw(st.sampled_from([0, 1, 50, 200_000]))


def _same(got: Search, want: Search) -> bool:
    if got.found is not want.found or (got.n is None) != (want.n is None):
        return False
    return (
        got.n is None
        or want.n is None
        or (got.n.dtype == want.n.dtype and got.n.tolist() == want.n.tolist())
    )


@settings(max_examples=800, deadline=None)
@given(origin_programs())
def test_the_origin_short_cut_answers_as_the_placement(case: tuple[Problem, int]) -> None:
    """Where the short cut applies, ``_search`` gives what placing every variable would
    (the same outcome, the same n and dtype); elsewhere it is the placement itself."""
    problem, limit = case
    size = problem.a.shape[1]
    with np.errstate(all="ignore"):
        slack = _slack(problem)
        lo_b, hi_b = problem.lo - slack, problem.hi + slack
        got = _search(problem, limit)
        propagated = _propagate(
            problem.a, lo_b, hi_b, np.zeros(size, dtype=np.int64), problem.upper.copy()
        )
        if propagated is None:
            return  # both infeasible before any placement: nothing to compare
        low, high = propagated
        want = _place_all(problem, limit, lo_b, hi_b, low, high)
    assert _same(got, want), (got, want)


def test_a_budget_below_every_unit_takes_the_short_cut_and_finds_nothing() -> None:
    """A budget of 10 USD against units costing 50 and 80: only n = 0 fits; the short cut
    applies and says so as the placement does (no line; infeasible when one is asked)."""
    a = np.array([[50.0, 80.0], [100.0, 300.0]])
    problem = Problem(
        a=a,
        lo=np.array([-np.inf, -np.inf]),
        hi=np.array([10.0, 1000.0]),
        upper=np.array([5, 5], dtype=np.int64),
        cost=np.array([-100.0, -300.0]),
    )
    zero_low = np.zeros(2, dtype=np.int64)
    bounds = _propagate(a, problem.lo, problem.hi, zero_low, problem.upper.copy())
    assert bounds is not None and bounds[1].tolist() == [0, 0]
    assert _origin_only(a, problem.lo, problem.hi, bounds[1], 200_000)
    solved = _search(problem, 200_000)
    assert solved.found is Found.SOLVED and solved.n is not None
    assert solved.n.tolist() == [0, 0]
    one_line = Problem(
        a=a, lo=problem.lo, hi=problem.hi, upper=problem.upper, cost=None, min_lines=1
    )
    assert _search(one_line, 200_000).found is Found.INFEASIBLE
