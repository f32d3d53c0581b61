"""``mix_blocks_budget``'s one-unit answer (``overlay_checks.one_unit_fits``) against
the search it skips (the function as it was, kept here verbatim), on random programs
with tiny and huge numbers, one to six candidates, budgets around one unit's cost."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.overlay_checks import one_unit_fits
from daemon.core.overlay_program import Program, Rules, build_program, mix_blocks_budget, solve
from tests.core.overlay_oracle import cand, model

money = st.one_of(
    st.sampled_from([1.0, 100.0, 250.0, 1e-3, 1e6]),
    st.floats(0.5, 5000.0, allow_nan=False),
)


def _searched_mix_blocks_budget(prog: Program) -> bool:
    """``mix_blocks_budget`` as it was: the most cover under the cap and the budgets
    alone, by the search, and whether it is positive."""
    n = solve(prog, -prog.payoff, Rules(coverage=False, budget=True, mix=False, cap=True))
    return n is not None and float(prog.payoff @ n) > 0.0


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(money, money, st.floats(0.0, 40.0), st.booleans()), min_size=1, max_size=6),
    st.floats(0.0, 8000.0),
    st.floats(0.0, 8000.0),
    st.floats(0.0, 40.0),
    st.integers(1, 30),
)
def test_one_unit_that_fits_answers_as_the_search(
    numbers: list[tuple[float, float, float, bool]],
    room: float,
    budget: float,
    theta_budget: float,
    upper: int,
) -> None:
    """``mix_blocks_budget`` (yes at once when one unit fits) answers as the search it
    skips, on cheap and dear candidates with budgets and caps around one unit's cost."""
    usable = tuple(
        cand(100.0 + k, payoff, debit, is_vix=vix, theta_usd_per_day=-theta)
        for k, (payoff, debit, theta, vix) in enumerate(numbers)
    )
    params = model(max_contracts=upper)
    prog = build_program(usable, room, room, 0.5, budget, theta_budget, params)
    with np.errstate(all="ignore"):  # a 1e-3 USD unit against a budget overflows a bound
        want = _searched_mix_blocks_budget(prog)
        fits = one_unit_fits(
            prog.payoff, prog.debit, prog.carry, room, budget, theta_budget, prog.upper
        )
        assert mix_blocks_budget(prog) == want
    assert want or not fits


def test_a_budget_below_every_unit_is_not_a_fit_and_one_above_is() -> None:
    """Units costing 300 and 120 USD: a 100 USD budget fits none (the search finds no
    cover either); 150 USD fits the second (and the search buys it)."""
    usable = (cand(100.0, 500.0, 300.0), cand(101.0, 200.0, 120.0))
    for budget, fits in ((100.0, False), (150.0, True)):
        prog = build_program(usable, 1000.0, 1000.0, 0.5, budget, 50.0, model())
        got = one_unit_fits(prog.payoff, prog.debit, prog.carry, 1000.0, budget, 50.0, prog.upper)
        assert got is fits
        assert _searched_mix_blocks_budget(prog) is fits
