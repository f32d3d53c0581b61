"""An independent reading of the stress set's VIX leg rule, for tests: the future moves
beta(DTE) x the spot shock (beta by hand, linear between the table's two breakpoints that
bracket the DTE, flat beyond the ends) and the option vol moves by the shock's points."""

from __future__ import annotations

from itertools import pairwise

from daemon.core.params import ScenarioParams


def vix_beta_by_hand(dte: float, scenario: ScenarioParams) -> float:
    table = list(scenario.vix_future_beta_by_dte)
    if dte <= table[0][0]:
        return table[0][1]
    for (d0, b0), (d1, b1) in pairwise(table):
        if d0 <= dte <= d1:
            return b0 + (b1 - b0) * (dte - d0) / (d1 - d0)
    return table[-1][1]


def vix_shocked(
    future: float, sigma: float, dte: float, scenario: ScenarioParams
) -> tuple[float, float]:
    """(future, sigma) after the hedge scenario's move, for a VIX option ``dte`` days out."""
    beta = vix_beta_by_hand(dte, scenario)
    return (
        future + beta * scenario.vix_spot_shock_pts,
        sigma + scenario.vix_option_vol_shock_pts / 100,
    )
