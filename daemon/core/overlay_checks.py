"""Checks of integer plans against the overlay program's rows (``overlay_program``).

A row (a, lo, hi) means lo <= a . n <= hi; a plan meets it within ``CHECK_REL_TOL`` of
the larger of 1, |a| . n and |lo|, the slack the enumeration and HiGHS answers are both
re-checked with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Row = tuple[FloatArray, float, float]

# Relative slack when re-checking a rounded integer solution against its constraints:
# sums of a few hundred USD-sized floats differ from the solver's own by far less.
CHECK_REL_TOL = 1e-9


def satisfies(n: IntArray, constraint_rows: Sequence[Row]) -> bool:
    return bool(meets(n[np.newaxis, :], constraint_rows)[0])


def meets(plans: FloatArray | IntArray, constraint_rows: Sequence[Row]) -> npt.NDArray[np.bool_]:
    """Per plan (a row of ``plans``), whether it meets every row within the check slack
    (``CHECK_REL_TOL`` of the larger of 1, |a| . n and |lo|)."""
    ok = np.ones(len(plans), dtype=bool)
    for a, lo, hi in constraint_rows:
        value = plans @ a
        floor = abs(lo) if np.isfinite(lo) else 0.0
        slack = CHECK_REL_TOL * np.maximum(np.maximum(1.0, plans @ np.abs(a)), floor)
        ok &= (value >= lo - slack) & (value <= hi + slack)
    return ok


def one_unit_fits(
    payoff: FloatArray,
    debit: FloatArray,
    carry: FloatArray,
    room_usd: float,
    budget_debit_usd: float,
    budget_carry_usd: float,
    upper: int,
) -> bool:
    """Whether one unit of some candidate fits the cover cap and the debit and carry
    budgets exactly (no slack needed), on rows of positive payoffs and non-negative
    debits and carries, with ``upper`` (the most units of one) at least 1. Then the
    most-cover search under those three rows alone finds a plan of positive cover: its
    feasible points are closed downward (non-negative rows with upper bounds only),
    that unit is one of them, and any plan scoring at least its payoff has some unit of
    positive payoff. NaN anywhere answers no (the caller's search decides).
    ``tests/core/test_overlay_one_unit.py`` holds it to the search."""
    rows_ok = (payoff > 0.0).all() and (debit >= 0.0).all() and (carry >= 0.0).all()
    if upper < 1 or not rows_ok:
        return False
    fits = (payoff <= room_usd) & (debit <= budget_debit_usd) & (carry <= budget_carry_usd)
    return bool(fits.any())
