"""The overlay's exact enumeration (``overlay_search``) against two independent oracles:
scipy's ``milp`` (HiGHS, optimality gap 0) on thousands of random programs shaped like
the overlay's, and brute force over every integer point of small boxes for what
``milp`` is not asked here (the fewest lines, a lines cap, the lexicographic tie-break)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from daemon.core.overlay_program import Program, Rules, build_program, feasible, rows
from daemon.core.overlay_search import Found, Problem, search
from tests.core.overlay_oracle import cand, model

# Money on a 0.5 USD grid (a mid on a 0.05 tick, x 100, halved), so sums are exact in
# floating point and a point on a bound is on it for both solvers.
GRID = 0.5


def _money(rng: np.random.Generator, lo: float, hi: float, size: int) -> np.ndarray:
    return np.round(rng.uniform(lo, hi, size) / GRID) * GRID


def _overlay_shaped(rng: np.random.Generator) -> tuple[Problem, bool]:
    """A program like the overlay's: a few cheap VIX spreads, a few dear diagonals; rows
    of cover (>= required), cap (<= room), the VIX share band, debit and carry budgets.
    The flag says whether the objective is the most cover (else the least debit)."""
    n_vix, n_spx = int(rng.integers(1, 4)), int(rng.integers(0, 4))
    size = n_vix + n_spx
    payoff = np.concatenate([_money(rng, 100, 400, n_vix), _money(rng, 300, 2500, n_spx)])
    debit = np.concatenate([_money(rng, 40, 200, n_vix), _money(rng, 500, 3000, n_spx)])
    carry = np.concatenate([_money(rng, 0, 3, n_vix), _money(rng, 0, 2, n_spx)])
    vix = np.concatenate([payoff[:n_vix], np.zeros(n_spx)])
    budget = float(_money(rng, 500, 6000, 1)[0])
    required = float(_money(rng, 500, 12000, 1)[0])
    room = required * float(rng.uniform(1.0, 2.0))
    share = float(rng.uniform(0.2, 0.8))
    most_cover = bool(rng.integers(0, 2))
    rows = [(payoff, -np.inf, room), (debit, -np.inf, budget), (carry, -np.inf, 40.0)]
    if not most_cover:
        rows.append((payoff, required, np.inf))
    if n_spx and rng.integers(0, 2):
        rows.append((vix - (share - 0.15) * payoff, 0.0, np.inf))
        rows.append((vix - (share + 0.15) * payoff, -np.inf, 0.0))
    a = np.vstack([r[0] for r in rows])
    lo = np.array([r[1] for r in rows])
    hi = np.array([r[2] for r in rows])
    cost = -payoff if most_cover else debit
    upper = np.full(size, int(rng.integers(5, 60)), dtype=np.int64)
    return Problem(a=a, lo=lo, hi=hi, upper=upper, cost=cost), most_cover


def _milp_value(p: Problem) -> float | None:
    assert p.cost is not None
    res = milp(
        c=p.cost,
        integrality=np.ones(len(p.cost)),
        bounds=Bounds(np.zeros(len(p.cost)), p.upper.astype(np.float64)),
        constraints=[LinearConstraint(p.a, p.lo, p.hi)],
        options={"mip_rel_gap": 0.0, "time_limit": 30.0},
    )
    assert res.status in (0, 2), res.message  # optimal or infeasible, never a time-out
    return None if res.status == 2 else float(p.cost @ np.rint(res.x))


def _meets(p: Problem, n: np.ndarray) -> bool:
    values = p.a @ n
    return bool(np.all(values >= p.lo - 1e-9) and np.all(values <= p.hi + 1e-9))


def test_agrees_with_milp_on_2000_overlay_shaped_programs() -> None:
    """Same verdict (feasible or not) and the same optimal value as HiGHS on 2,000 seeded
    random programs; every point returned meets every row and its bounds."""
    rng = np.random.default_rng(20261129)
    solved = 0
    for _ in range(2000):
        p, _ = _overlay_shaped(rng)
        found = search(p)
        assert found.found is not Found.TOO_BIG
        expected = _milp_value(p)
        if expected is None:
            assert found.found is Found.INFEASIBLE
            continue
        assert found.found is Found.SOLVED and found.n is not None
        assert _meets(p, found.n) and np.all((found.n >= 0) & (found.n <= p.upper))
        assert p.cost is not None
        assert float(p.cost @ found.n) == pytest.approx(expected, abs=1e-6)
        solved += 1
    assert solved > 500  # the draw is not all infeasible


def _brute(p: Problem) -> list[tuple[int, ...]]:
    """Every integer point of the box meeting every row and the lines rules."""
    ranges = [range(int(u) + 1) for u in p.upper]
    out = []
    for point in itertools.product(*ranges):
        n = np.array(point)
        lines = int(np.count_nonzero(n))
        if lines < p.min_lines or (p.max_lines is not None and lines > p.max_lines):
            continue
        if _meets(p, n):
            out.append(point)
    return out


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    size = draw(st.integers(1, 4))
    coef = st.integers(-6, 12).map(float)
    n_rows = draw(st.integers(0, 3))
    a = np.array([[draw(coef) for _ in range(size)] for _ in range(n_rows)]).reshape(n_rows, size)
    lo = np.array([draw(st.sampled_from([-np.inf, 0.0, 3.0, 10.0])) for _ in range(n_rows)])
    hi = np.array([draw(st.sampled_from([np.inf, 8.0, 20.0, 40.0])) for _ in range(n_rows)])
    upper = np.array([draw(st.integers(0, 5)) for _ in range(size)], dtype=np.int64)
    kind = draw(st.sampled_from(["cost", "lines", "lexicographic"]))
    cost = None if kind == "lines" else np.array([draw(coef) for _ in range(size)])
    levels = {
        "cost": 0,
        "lines": draw(st.integers(0, 2)),
        "lexicographic": draw(st.integers(1, 2)),
    }[kind]
    then = tuple(np.array([draw(coef) for _ in range(size)]) for _ in range(levels))
    max_lines = draw(st.none() | st.integers(1, size))
    min_lines = 1 if kind == "lines" or max_lines is not None else draw(st.integers(0, 1))
    return Problem(
        a=a, lo=lo, hi=hi, upper=upper, cost=cost, max_lines=max_lines,
        min_lines=min_lines, then=then,
    )  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(small_problems())
def test_agrees_with_brute_force(p: Problem) -> None:
    """On small boxes: infeasible exactly when no point qualifies; otherwise a qualifying
    point with the least cost (or the fewest lines), and with ``then`` the least of each
    tie-break in turn among the points tied on everything before it."""
    points = _brute(p)
    found = search(p)
    if not points:
        assert found.found is Found.INFEASIBLE
        return
    assert found.found is Found.SOLVED and found.n is not None
    assert tuple(found.n.tolist()) in points
    every = np.array(points)
    if p.cost is None:
        lines = np.count_nonzero(every, axis=1)
        assert np.count_nonzero(found.n) == lines.min()
        tied = every[lines == lines.min()]
    else:
        best = (every @ p.cost).min()
        assert float(p.cost @ found.n) == pytest.approx(best)
        tied = every[np.isclose(every @ p.cost, best)]
    for level in p.then:
        least = (tied @ level).min()
        assert float(level @ found.n) == pytest.approx(least)
        tied = tied[np.isclose(tied @ level, least)]


def test_a_frontier_past_the_limit_gives_up() -> None:
    """A program whose enumeration would pass the limit says so (the caller then solves
    it with HiGHS) instead of answering from part of the points."""
    size = 3  # 101 x 101 partial points before the last variable is set
    p = Problem(
        a=np.ones((1, size)),
        lo=np.array([-np.inf]),
        hi=np.array([400.0]),
        upper=np.full(size, 100, dtype=np.int64),
        cost=-np.arange(1.0, size + 1.0),
    )
    assert search(p, limit=1000).found is Found.TOO_BIG
    assert search(p).found is Found.SOLVED


def test_least_debit_without_a_budget_row_is_found_under_rising_ceilings() -> None:
    """With only a cover row to bound the points (no budget), the least debit is still
    the optimum: hand case, cover >= 1000 from payoffs 300 (debit 100) and 700 (debit
    400); 4 x 300 = 1200 for 400 USD beats 300 + 700 (500) and 2 x 700 (800)."""
    p = Problem(
        a=np.array([[300.0, 700.0]]),
        lo=np.array([1000.0]),
        hi=np.array([np.inf]),
        upper=np.array([1000, 1000], dtype=np.int64),
        cost=np.array([100.0, 400.0]),
    )
    found = search(p)
    assert found.found is Found.SOLVED and found.n is not None
    assert found.n.tolist() == [4, 0]


@st.composite
def small_programs(draw: st.DrawFn) -> tuple[Program, Rules]:
    """A tiny overlay program (1-4 candidates of either family, at most 4 units each) and
    a set of rules in force."""
    size = draw(st.integers(1, 4))
    money = st.integers(1, 40).map(lambda k: 50.0 * k)
    cands = tuple(
        cand(
            100.0 + i,
            draw(money),
            draw(money),
            is_vix=draw(st.booleans()),
            theta_usd_per_day=-draw(st.integers(0, 5)),
        )
        for i in range(size)
    )
    params = model(max_contracts=4, mix_tol=draw(st.sampled_from([0.0, 0.1, 0.3])))
    prog = build_program(
        cands,
        required_usd=draw(money),
        room_usd=draw(money) * 2,
        share=draw(st.sampled_from([0.2, 0.5, 0.8])),
        budget_debit_usd=draw(money) * 2,
        budget_carry_usd=float(draw(st.integers(0, 30))),
        params=params,
    )
    rules = Rules(*(draw(st.booleans()) for _ in range(4)))
    return prog, rules


@settings(max_examples=300, deadline=None)
@given(small_programs())
def test_feasible_agrees_with_brute_force(case: tuple[Program, Rules]) -> None:
    """``overlay_program.feasible`` (a simple witness first, then the exact search) says
    a program has a plan exactly when one of the box's integer points meets its rows."""
    prog, rules = case
    constraint_rows = rows(prog, rules)
    exists = any(
        all(lo - 1e-9 <= float(a @ np.array(n)) <= hi + 1e-9 for a, lo, hi in constraint_rows)
        for n in itertools.product(range(prog.upper + 1), repeat=len(prog.candidates))
    )
    assert feasible(prog, rules) == exists
