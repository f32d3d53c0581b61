"""``overlay_program._witness`` (its plans built with fancy ``+=``) against the
``np.add.at`` construction it replaced, kept here verbatim: the same yes or no on random
programs with duplicate payoffs, tiny and huge numbers, one to six candidates."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.overlay_program import (
    EVERY_RULE,
    WITNESS_SPLITS,
    Program,
    Rules,
    _meets,
    _witness,
    build_program,
    rows,
)
from tests.core.overlay_oracle import cand, model


def _add_at_witness(prog: Program, constraint_rows: list) -> bool:  # type: ignore[type-arg]
    """The witness as it was built before (``np.add.at`` on every plan)."""
    size = len(prog.candidates)
    i, j = np.triu_indices(size)
    first, second = np.concatenate([i, j]), np.concatenate([j, i])
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
    return bool(_meets(np.minimum(np.vstack(plans), prog.upper), constraint_rows).any())


money = st.one_of(
    st.sampled_from([1.0, 100.0, 250.0, 1e-3, 1e6]),
    st.floats(0.5, 5000.0, allow_nan=False),
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(money, money, st.booleans()), min_size=1, max_size=6),
    st.floats(1.0, 20000.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 5000.0),
    st.integers(1, 30),
    st.booleans(),
)
def test_the_witness_answers_as_the_add_at_one(
    numbers: list[tuple[float, float, bool]],
    required: float,
    share: float,
    budget: float,
    upper: int,
    no_budget: bool,
) -> None:
    """Same answer as the ``np.add.at`` witness under every rule and under no budget."""
    usable = tuple(
        cand(100.0 + k, payoff, debit, is_vix=vix) for k, (payoff, debit, vix) in enumerate(numbers)
    )
    params = model(mix_tol=0.1)
    prog = build_program(usable, required, required * 1.5, share, budget, 30.0, params, upper=upper)
    rules = Rules(coverage=True, budget=False, mix=True, cap=True) if no_budget else EVERY_RULE
    constraint_rows = rows(prog, rules)
    assert _witness(prog, constraint_rows) == _add_at_witness(prog, constraint_rows)
