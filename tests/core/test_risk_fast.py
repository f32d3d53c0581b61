"""The book's risk's shortcuts equal the general constructions they replace, exactly.

- ``stress.vol_beta`` clips with Python's ``min``/``max``; the oracle is the
  ``np.clip`` of the same power it used.
- ``risk._with_stress`` copies a ``StructureRisk`` with another stress P&L without the
  frozen dataclass's ``__init__``; the oracle is ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.market import build_market_view
from daemon.core.models import Right
from daemon.core.params import ModelParams, ScenarioParams
from daemon.core.recognition import recognise
from daemon.core.risk import StructureRisk, _with_stress, book_risk
from daemon.core.stress import vol_beta
from tests.core.factories import iron_condor, pos, standard_snapshot, vix_option


@settings(max_examples=300, deadline=None)
@given(
    dte=st.one_of(st.floats(-5.0, 2000.0), st.integers(-5, 2000).map(float)),
    ref=st.floats(1.0, 365.0),
    exponent=st.floats(0.0, 2.0),
    bounds=st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 5.0)).map(sorted),
)
def test_vol_beta_is_the_numpy_clip(
    dte: float, ref: float, exponent: float, bounds: list[float]
) -> None:
    """Bit for bit the np.clip of (ref / max(1, dte)) ** exponent to [min, max]."""
    scenario = ScenarioParams(
        vol_beta_ref_dte_days=ref,
        vol_beta_exponent=exponent,
        vol_beta_min=bounds[0],
        vol_beta_max=bounds[1],
    )
    ratio = ref / max(1.0, dte)
    expected = float(np.clip(ratio**exponent, bounds[0], bounds[1]))
    got = vol_beta(dte, scenario)
    assert type(got) is float and got == expected


def test_with_stress_is_dataclasses_replace() -> None:
    """The copy equals replace(r, stress_pnl_usd=x) field for field, for priced and
    unpriced structures, income and hedges; the original is left as it was."""
    assert not hasattr(StructureRisk, "__post_init__")
    positions = [
        *iron_condor((4800, 4900, 5150, 5250), quantity=2),
        *iron_condor((4810, 4910, 5160, 5260)),  # off the grid: unpriced
        pos(vix_option(20, Right.CALL), 3),
        pos(vix_option(30, Right.CALL), -3),
    ]
    snap = standard_snapshot(positions)
    params = ModelParams()
    risk = book_risk(recognise(positions), build_market_view(snap, params), params)
    every = [*risk.income, *risk.hedges]
    assert {r.priced for r in every} == {True, False}
    for r in every:
        before = dataclasses.astuple(r)
        for value in (None, -1234.5, 0.0):
            copy = _with_stress(r, value)
            expected = replace(r, stress_pnl_usd=value)
            assert type(copy) is StructureRisk
            assert copy == expected and copy.__dict__ == expected.__dict__
            assert copy is not r
        assert dataclasses.astuple(r) == before
