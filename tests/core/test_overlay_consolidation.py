"""Layer 3 consolidation: fewer order lines for nearly the same cost and cover (hand tables,
brute force on tiny instances, invariants on larger ones)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from daemon.core.candidates import Candidate
from daemon.core.overlay import OverlayPlan, OverlayStatus
from tests.core.overlay_oracle import (
    GRID,
    Instance,
    Oracle,
    cand,
    instances,
    le,
    model,
    quantities,
)

# Neighbouring VIX strike pairs: Y pays 10% more than X for 4% more debit (Y_NEAR) or for
# 12% more (Y_DEAR); S is an SPX diagonal.
X = cand(22, payoff_usd=1000, debit_usd=100)
Y_NEAR = cand(23, payoff_usd=1100, debit_usd=104)
Y_DEAR = cand(24, payoff_usd=1100, debit_usd=112)
W = cand(25, payoff_usd=1010, debit_usd=102)
S = cand(5000, payoff_usd=1500, debit_usd=120, is_vix=False)

# (candidates, needed, share, mix tol, consolidation tol, expected quantities, expected
#  debit, cheapest debit), max_contracts 5, cap 20000, budgets loose; solved by hand:
COVERED_TABLE = [
    # Need 3100. Cheapest 2X+Y = 304 (2 lines); one line: 3Y = 312 (+2.6%), 4X = 400.
    # 312 <= 304 x 1.03 = 313.12: one line.
    ((X, Y_NEAR), 3100.0, 1.0, 1.0, 0.03, (0, 3), 312.0, 304.0),
    # Same with consolidation off: the split.
    ((X, Y_NEAR), 3100.0, 1.0, 1.0, 0.0, (2, 1), 304.0, 304.0),
    # Need 3100. Cheapest 2X+Y = 312; one line: 3Y = 336 (+7.7%) > 321.36, 4X = 400.
    # The split saves more than the tolerance: kept.
    ((X, Y_DEAR), 3100.0, 1.0, 1.0, 0.03, (2, 1), 312.0, 312.0),
    # Same with a 10% tolerance: 336 <= 343.2, one line.
    ((X, Y_DEAR), 3100.0, 1.0, 1.0, 0.10, (0, 3), 336.0, 312.0),
    # Need 5100, VIX share 0.4..0.6. One S: VIX >= 3600 but <= 2250, impossible. Two S
    # (3000): VIX in [2100, 4500]: X+Y 2100 for 204 -> 444 (3 lines), 2Y 2200 for 208 ->
    # 448 (+0.9%, 2 lines), 3X -> 540. Three S (4500): VIX >= 3000 -> 660. The mix needs
    # both families, so 2 lines is the fewest: 2Y+2S.
    ((X, Y_NEAR, S), 5100.0, 0.5, 0.1, 0.03, (0, 2, 2), 448.0, 444.0),
]


@pytest.mark.parametrize(
    ("cands", "needed", "share", "mix_tol", "tol", "expect", "debit", "cheapest"), COVERED_TABLE
)
def test_covered_table(
    cands: tuple[Candidate, ...],
    needed: float,
    share: float,
    mix_tol: float,
    tol: float,
    expect: tuple[int, ...],
    debit: float,
    cheapest: float,
) -> None:
    """One line when a split saves less than the tolerance, the split when it saves more."""
    params = model(max_contracts=5, mix_tol=mix_tol, consolidate=tol)
    inst = Instance(cands, needed, -20_000.0, 0.0, share, 1e6, 1e6, params)
    plan = inst.solve()
    assert plan.status is OverlayStatus.OK
    assert quantities(plan, inst) == expect
    assert plan.debit_usd == pytest.approx(debit)
    assert plan.new_payoff_usd >= needed
    assert Oracle(inst).min_debit() == pytest.approx(cheapest)
    assert ("consolidated" in plan.detail) == (debit != cheapest)


# (candidates, budget USD, consolidation tol, expected quantities, payoff, debit); need
# 4000 (4X covers it without the budget), max_contracts 5, share 1, solved by hand:
BUDGET_TABLE = [
    # Budget 305: 3X 3000/300, 2X+W 3010/302, X+2W 3020/304, 3W 3030/306 > 305. Most
    # cover X+2W. One line: 3X 3000 >= 3020 x 0.97 = 2929.4 and 300 <= 304 x 1.03.
    ((X, W), 305.0, 0.03, (3, 0), 3000.0, 300.0),
    ((X, W), 305.0, 0.0, (1, 2), 3020.0, 304.0),
    # Budget 310: 2X+Y 3100/304, X+2Y 3200/308, 3Y 312 > 310. Most cover X+2Y; one line
    # at most 3X 3000 < 3200 x 0.97 = 3104: the split stays.
    ((X, Y_NEAR), 310.0, 0.03, (1, 2), 3200.0, 308.0),
    # With a 10% tolerance (floor 2880, debit <= 310): 3X 3000/300 is the best one line.
    ((X, Y_NEAR), 310.0, 0.10, (3, 0), 3000.0, 300.0),
]


@pytest.mark.parametrize(("cands", "budget", "tol", "expect", "payoff", "debit"), BUDGET_TABLE)
def test_budget_binding_table(
    cands: tuple[Candidate, ...],
    budget: float,
    tol: float,
    expect: tuple[int, ...],
    payoff: float,
    debit: float,
) -> None:
    """Budget-bound: one line for at most tol less cover and tol more debit, never over budget."""
    params = model(max_contracts=5, debit_frac=1.0, consolidate=tol)
    inst = Instance(cands, 4000.0, -20_000.0, 0.0, 1.0, budget, 1e6, params)
    plan = inst.solve()
    assert plan.status is OverlayStatus.BUDGET_BINDING
    assert quantities(plan, inst) == expect
    assert plan.new_payoff_usd == pytest.approx(payoff)
    assert plan.debit_usd == pytest.approx(debit)
    assert plan.debit_usd <= budget


def test_consolidation_ties_do_not_depend_on_order() -> None:
    """Twin neighbours: the one line chosen is the same whatever order they arrive in."""
    twin1 = cand(40, payoff_usd=1000, debit_usd=100)
    twin2 = cand(41, payoff_usd=1000, debit_usd=100)
    one = Instance((twin1, twin2), 3000.0, -1e4, 0.0, 1.0, 1e6, 1e6, model()).solve()
    two = Instance((twin2, twin1), 3000.0, -1e4, 0.0, 1.0, 1e6, 1e6, model()).solve()
    assert len(one.chosen) == 1
    assert [(c.key, n) for c, n in one.chosen] == [(c.key, n) for c, n in two.chosen]


# ---- hypothesis: larger instances than brute force can enumerate ---------------------------
@st.composite
def large_instances(draw: st.DrawFn) -> Instance:
    """Up to 6 neighbouring candidates of both families, up to 40 contracts each."""
    size = draw(st.integers(2, 6))
    payoff, debit = draw(st.integers(5, 30)) * 100, draw(st.integers(5, 40)) * 10
    cands = tuple(
        cand(
            20.0 + j,
            payoff_usd=float(payoff + draw(st.integers(-6, 6)) * 25),
            debit_usd=float(debit + draw(st.integers(-6, 6))),
            is_vix=draw(st.booleans()),
            theta_usd_per_day=float(draw(st.integers(-20, 0))),
        )
        for j in range(size)
    )
    params = model(
        max_contracts=draw(st.integers(5, 40)),
        mix_tol=draw(st.sampled_from([0.1, 0.25, 1.0])),
        debit_frac=1.0,
        theta_frac=1.0,
        consolidate=draw(st.sampled_from([0.01, 0.03, 0.1, 1.0])),
    )
    return Instance(
        cands=cands,
        needed_usd=float(draw(st.integers(5, 200)) * 100),
        tail_loss_usd=-float(draw(st.integers(5, 300)) * 100),
        held_usd=0.0,
        share=draw(GRID),
        credit_usd=float(draw(st.sampled_from([10**6, draw(st.integers(1, 100)) * 100]))),
        book_theta_usd=float(draw(st.sampled_from([10**6, draw(st.integers(0, 500))]))),
        params=params,
    )


def _without_consolidation(inst: Instance) -> OverlayPlan:
    overlay = inst.params.overlay.model_copy(update={"consolidate_tolerance_frac": 0.0})
    return replace(inst, params=inst.params.model_copy(update={"overlay": overlay})).solve()


@settings(max_examples=80, deadline=None)
@given(large_instances())
def test_consolidation_bounds(inst: Instance) -> None:
    """Never over budget or cap, never more lines, debit within (1 + tol) of the minimum."""
    plan, cheapest = inst.solve(), _without_consolidation(inst)
    tol, bud = inst.params.overlay.consolidate_tolerance_frac, inst.params.budget
    assert plan.status is cheapest.status
    assert le(plan.debit_usd, bud.max_debit_fraction * inst.credit_usd)
    carry = sum(max(-c.theta_usd_per_day, 0.0) * n for c, n in plan.chosen)
    assert le(carry, bud.max_theta_fraction * inst.book_theta_usd)
    assert le(plan.payoff_after_usd, inst.params.overlay.max_cover_frac * abs(inst.tail_loss_usd))
    assert len(plan.chosen) <= len(cheapest.chosen)
    assert le(plan.debit_usd, (1.0 + tol) * cheapest.debit_usd)
    if plan.status in (OverlayStatus.OK, OverlayStatus.MIX_RELAXED):
        assert le(plan.required_payoff_usd, plan.new_payoff_usd)
    if plan.status is OverlayStatus.BUDGET_BINDING:
        # Cover kept within tol, or (the mix relaxed and the need met) the need still met.
        near = le((1.0 - tol) * cheapest.new_payoff_usd, plan.new_payoff_usd)
        assert near or le(plan.required_payoff_usd, plan.new_payoff_usd)
        assert plan.chosen or not cheapest.chosen


def test_a_plan_at_the_least_possible_lines_skips_the_line_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the mix band inside (0, 1) every plan needs a VIX spread and a diagonal: a
    cheapest plan of exactly those two lines is kept without the line-count solve (the
    solve could not find fewer)."""
    import daemon.core.overlay_program as program

    cands = (cand(20, 300.0, 100.0), cand(4600, 2500.0, 3000.0, is_vix=False))
    inst = Instance(cands, 2800.0, -20_000.0, 0.0, 0.5, 50_000.0, 500.0, model(mix_tol=0.3))
    line_searches: list[int] = []
    real = program._enumerate

    def counting(prog: object, cost: object, *args: object, **kwargs: object) -> object:
        if cost is None:  # the lines as the objective: the consolidation's line search
            line_searches.append(1)
        return real(prog, cost, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(program, "_enumerate", counting)
    plan = inst.solve()
    assert plan.status is OverlayStatus.OK
    assert len([n for _, n in plan.chosen if n > 0]) == 2  # one line per family
    assert line_searches == []  # the cheapest cover only: no line search


@settings(max_examples=60, deadline=None)
@given(instances())
def test_the_searched_matrix_is_the_rows_stacked(inst: Instance) -> None:
    """Every search ``_enumerate`` hands ``overlay_search`` carries the constraint rows
    as ``np.vstack`` stacks them (the construction it replaced): same shape, dtype,
    C order and bytes."""
    from daemon.core import overlay_program as program

    real_enumerate, real_search = program._enumerate, program.search
    seen: list[tuple[list[object], object]] = []

    def enumerating(prog: object, cost: object, rows: list[object], **kw: object) -> object:
        seen.append((list(rows), None))
        return real_enumerate(prog, cost, rows, **kw)  # type: ignore[arg-type]

    def searching(problem: object) -> object:
        seen[-1] = (seen[-1][0], problem)
        return real_search(problem)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(program, "_enumerate", enumerating)
        mp.setattr(program, "search", searching)
        inst.solve()
    assume(any(rows for rows, _ in seen))  # a plan that searched over some rows
    for rows, problem in seen:
        a = problem.a  # type: ignore[attr-defined]
        if rows:
            want = np.vstack([r[0] for r in rows])  # type: ignore[index]
            assert a.flags.c_contiguous and a.shape == want.shape and a.dtype == want.dtype
            assert a.tobytes() == want.tobytes()
