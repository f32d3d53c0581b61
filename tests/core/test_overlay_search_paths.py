"""The enumeration's plain-float paths (``overlay_search``: a one-point frontier's
interval, the budget-bound and out-of-reach tests) against the numpy constructions they
replace, bit for bit, on random rows with zeros, signs, infinities and NaN: the oracle is
the general numpy code (``interval_many``) and, for the two tests, the numpy code the
solver ran before (kept here verbatim)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from daemon.core.overlay_interval import interval, interval_many, interval_one
from daemon.core.overlay_search import Problem, _budget_bound, _Frontier, _out_of_reach

# Values the rows and bounds take: ordinary money, the grid's exact halves, zeros of both
# signs, the extremes and the non-finite ones numpy carries through.
SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1e-300, -1e300, 1e300, np.inf, -np.inf, np.nan]
values = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(min_value=-5000, max_value=5000, allow_nan=False, width=64),
)


def _numpy_budget_bound(problem: Problem) -> bool:
    """The numpy ``_budget_bound`` the solver used before the plain-float one."""
    assert problem.cost is not None
    cost = problem.cost
    for row, hi in zip(problem.a, problem.hi, strict=True):
        ratio = row[cost > 0] / cost[cost > 0]
        same_zeros = np.array_equal(row == 0, cost == 0)
        if np.isfinite(hi) and same_zeros and ratio.min() > 0 and np.allclose(ratio, ratio[0]):
            return True
    return False


def _numpy_out_of_reach(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """The numpy ``_out_of_reach`` the solver used before the plain-float one."""
    nonneg = np.all(a >= 0, axis=1)
    for c in np.flatnonzero(nonneg & (lo > 0)):
        for b in np.flatnonzero(nonneg & np.isfinite(hi)):
            used = a[c] > 0
            if (
                used.any()
                and np.all(a[b][used] > 0)
                and hi[b] * float(np.max(a[c][used] / a[b][used])) < lo[c]
            ):
                return True
    return False


@settings(max_examples=600, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda rows: st.tuples(
            st.lists(values, min_size=rows, max_size=rows),
            st.lists(values, min_size=rows, max_size=rows),
            st.lists(values, min_size=rows, max_size=rows),
        )
    ),
    st.integers(0, 40),
    st.integers(0, 40),
)
def test_a_one_point_interval_is_the_numpy_one_bit_for_bit(
    rows: tuple[list[float], list[float], list[float]], low: int, width: int
) -> None:
    """A one-point frontier's [first, last] in plain floats equals the numpy path's, NaN
    and infinities included."""
    coef, bottom, top = (np.array(r, dtype=np.float64) for r in rows)
    lo_, hi_ = np.int64(low), np.int64(low + width)
    with np.errstate(all="ignore"):
        want = interval_many(coef, bottom[None, :], top[None, :], lo_, hi_)
        got = interval_one(coef, bottom, top, lo_, hi_)
        routed = interval(coef, bottom[None, :], top[None, :], lo_, hi_)
    for a, b in ((got, want), (routed, want)):
        assert a[0].dtype == b[0].dtype == np.int64
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def _grid(draw: st.DrawFn, rows: int, size: int) -> np.ndarray:
    cells = st.one_of(st.sampled_from([0.0, 0.0, 1.0, 2.0, -1.0]), values)
    return np.array(
        [[draw(cells) for _ in range(size)] for _ in range(rows)], dtype=np.float64
    ).reshape(rows, size)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Rows with shared zeros and proportional rows (budget-like), random bounds."""
    size, n_rows = draw(st.integers(1, 5)), draw(st.integers(0, 5))
    cost = _grid(draw, 1, size)[0]
    a = _grid(draw, n_rows, size)
    for i in range(n_rows):
        if draw(st.booleans()):  # a multiple of the cost, one entry maybe off by a hair
            a[i] = cost * draw(st.sampled_from([1.0, 2.5, -1.0]))
            off = draw(st.sampled_from([0.0, 1e-7, 9e-6, 1.1e-5, 1e-4]))
            a[i, draw(st.integers(0, size - 1))] *= 1.0 + off
    bounds = st.one_of(values, st.sampled_from([np.inf, -np.inf]))
    lo = np.array([draw(bounds) for _ in range(n_rows)], dtype=np.float64)
    hi = np.array([draw(bounds) for _ in range(n_rows)], dtype=np.float64)
    upper = np.full(size, 5, dtype=np.int64)
    return Problem(a=a, lo=lo, hi=hi, upper=upper, cost=cost)


@settings(max_examples=600, deadline=None)
@given(problems())
def test_the_budget_bound_test_is_the_numpy_one(problem: Problem) -> None:
    """Whether a row caps the cost: the plain-float test answers as the numpy one did."""
    assert problem.cost is not None
    assume(bool(np.any(problem.cost > 0)))  # ``search`` asks only about such a cost
    with np.errstate(all="ignore"):
        assert _budget_bound(problem) == _numpy_budget_bound(problem)


@settings(max_examples=600, deadline=None)
@given(problems())
def test_the_out_of_reach_test_is_the_numpy_one_on_finite_rows(problem: Problem) -> None:
    """Whether a budget row proves a cover row unreachable: as the numpy test, on the
    finite rows the overlay builds (its candidates' numbers are screened finite)."""
    assume(bool(np.all(np.isfinite(problem.a))))
    with np.errstate(all="ignore"):
        want = _numpy_out_of_reach(problem.a, problem.lo, problem.hi)
        assert _out_of_reach(problem.a, problem.lo, problem.hi) == want


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda size: st.tuples(
            st.lists(
                st.lists(
                    st.floats(-3000, 3000, allow_nan=False, width=64),
                    min_size=size,
                    max_size=size,
                ),
                min_size=1,
                max_size=4,
            ),
            st.lists(st.integers(0, 6), min_size=size, max_size=size),
        )
    ),
    st.lists(st.floats(-5000, 5000, allow_nan=False, width=64), min_size=4, max_size=4),
)
def test_placing_a_variable_at_one_point_is_the_general_placement(
    case: tuple[list[list[float]], list[int]], sums: list[float]
) -> None:
    """A one-point frontier's placement (its own short path) gives the values and row
    sums the general placement gives the same point, bit for bit: the general path run
    on two copies of the point, its first copy's children compared."""
    rows, highs = case
    a = np.array(rows, dtype=np.float64)
    n_rows, size = a.shape
    lo, hi = np.full(n_rows, -np.inf), np.full(n_rows, np.inf)
    hi[0] = abs(sums[0]) + 1000.0  # one bounded row, so the range depends on the point
    low, high = np.zeros(size, dtype=np.int64), np.array(highs, dtype=np.int64)
    point = np.array([sums[:n_rows]], dtype=np.float64)
    one = _Frontier(np.zeros((1, 0), dtype=np.int64), point.copy())
    two = _Frontier(np.zeros((2, 0), dtype=np.int64), np.vstack([point, point]))
    rest = np.arange(1, size)
    with np.errstate(all="ignore"):
        assert one.place(a, lo, hi, 0, low, high, rest, 10_000)
        assert two.place(a, lo, hi, 0, low, high, rest, 10_000)
    k = one.values.shape[0]
    assert two.values.shape[0] == 2 * k
    assert one.values.dtype == two.values.dtype and one.sums.dtype == two.sums.dtype
    assert one.values.tolist() == two.values[:k].tolist()
    assert one.sums.tolist() == two.sums[:k].tolist()
