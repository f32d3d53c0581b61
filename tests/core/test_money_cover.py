"""Issue 7 item 2: an infeasible program must not leave the book unprotected.

The mix is a preference (a documented fallback order, overlay.py), the contract cap comes
from the book's size, and a due hedge is never closed without a successor while the
target still wants cover. Oracles: hand arithmetic on the cap, and the proposal's own
adjustments read against what a trader expects of a roll (one combo, same kind).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from daemon.core.calendar import NY
from daemon.core.evaluate import CycleStatus, evaluate
from daemon.core.families.spx_put_diagonal import SPX_PUT_DIAGONAL
from daemon.core.models import Position, Right
from daemon.core.overlay import OverlayStatus, max_units_for, size_overlay
from daemon.core.params import (
    BudgetParams,
    DiagonalParams,
    ModelParams,
    OverlayParams,
    RollParams,
    VixSpreadParams,
)
from daemon.core.proposal import AdjustmentAction
from daemon.core.recognition import recognise
from tests.core.overlay_oracle import cand, model
from tests.core.test_evaluate import (
    FAR,
    NEAR,
    PARAMS,
    VIX_APRIL,
    Market,
    _option,
    build,
    condor_positions,
)
from tests.core.test_proposal import PDG, VCS, VCS_APR, candidate, held, plan, propose, spx_put

# Monday 16 March 2026: the April SPXW expiry (NEAR) is 32 days out, May (FAR) 60.
MID_MARCH = datetime(2026, 3, 16, 11, 0, tzinfo=NY)


def _diagonal(m: Market, now: datetime, units: int) -> list[Position]:
    """A put diagonal far from the candidates' strikes: long FAR 4100, short NEAR 4050,
    opened at today's mids (IB average cost = mid x 100)."""
    long_leg = _option("SPX", "SPXW", FAR, 4100.0, Right.PUT)
    short_leg = _option("SPX", "SPXW", NEAR, 4050.0, Right.PUT)
    return [
        Position(long_leg, units, 100 * m.spx_mid(long_leg, now)),
        Position(short_leg, -units, 100 * m.spx_mid(short_leg, now)),
    ]


def test_no_vix_chain_rolls_the_diagonal_into_a_diagonal() -> None:
    """No VIX options quoted and a diagonal due: the mix cannot be met, so it is relaxed
    and the diagonal rolls, in one combo, into a new diagonal; nothing is closed alone."""
    m = Market()
    positions = condor_positions(m, MID_MARCH) + _diagonal(m, MID_MARCH, 2)
    snap = build(m, MID_MARCH, positions)
    snap = replace(snap, options=tuple(o for o in snap.options if o.contract.symbol != "VIX"))
    # The short leg at NEAR (about 23 sessions away) falls due; the budget is loose so the
    # VIX share is the only rule in the way.
    params = PARAMS.model_copy(
        update={
            "proposal": PARAMS.proposal.model_copy(
                update={"roll": RollParams(diagonal_short_min_sessions=30)}
            ),
            "budget": BudgetParams(max_debit_fraction=1.0, max_theta_fraction=1.0),
        }
    )
    held_diagonal = next(s for s in recognise(snap.positions).hedges if s.kind is SPX_PUT_DIAGONAL)
    result = evaluate(snap, None, params, MID_MARCH)
    assert result.status is CycleStatus.OK, result.reason
    assert result.plan is not None and result.plan.status is OverlayStatus.MIX_RELAXED
    mine = [a for a in result.adjustments if a.structure_key.startswith(held_diagonal.id)]
    assert [(a.action, a.kind) for a in mine] == [(AdjustmentAction.ROLL, SPX_PUT_DIAGONAL)]
    assert AdjustmentAction.CLOSE not in {a.action for a in result.adjustments}


def test_a_hundred_condor_book_on_a_stress_day_gets_a_feasible_plan() -> None:
    """100 condors with SPX 15% lower and VIX at 45, one candidate per family (as in the
    worked example): the plan buys cover under the default budget, where a fixed
    50-contract cap and a hard VIX share bought nothing (status infeasible)."""
    stress = Market(spot=4250.0, vix=45.0, vix3m=36.0, vix_future=38.0, vix_option_sigma=1.3)
    snap = build(stress, MID_MARCH, condor_positions(stress, MID_MARCH, quantity=100))
    params = PARAMS.model_copy(
        update={
            "vix": VixSpreadParams(neighbour_count=0),
            "diagonal": DiagonalParams(neighbour_count=0),
        }
    )
    result = evaluate(snap, None, params, MID_MARCH)
    assert result.status is CycleStatus.OK, result.reason
    plan = result.plan
    assert plan is not None
    assert plan.status is not OverlayStatus.INFEASIBLE, plan.detail
    assert plan.chosen and plan.new_payoff_usd > 0.0
    assert max(n for _, n in plan.chosen) <= max_units_for(100, PARAMS)


@pytest.mark.parametrize(
    ("units", "per_unit", "ceiling", "expected"),
    [
        (100, 20.0, 1000, 1000),  # 2000 wanted, the absolute ceiling binds
        (10, 20.0, 1000, 200),
        (3, 2.5, 1000, 8),  # 7.5 rounded up
        (0, 20.0, 1000, 1),  # never below one unit
        (1, 0.1, 1000, 1),
    ],
)
def test_contract_cap_from_the_book(
    units: int, per_unit: float, ceiling: int, expected: int
) -> None:
    """The per-candidate cap is per_unit x income units, rounded up, within [1, ceiling]."""
    params = ModelParams(
        overlay=OverlayParams(max_contracts_per_income_unit=per_unit, max_contracts=ceiling)
    )
    assert max_units_for(units, params) == expected


def test_the_contract_cap_bounds_every_quantity() -> None:
    """size_overlay with max_units=3 never buys more than 3 of a candidate (12 would be
    the cheapest cover: it buys 3, partial cover)."""
    a = cand(20, payoff_usd=1000, debit_usd=100)
    params = model(max_contracts=50)
    plan_ = size_overlay([a], 12_000.0, -20_000.0, 0.0, 1.0, 1e6, 1e6, params, max_units=3)
    assert [(c.key, n) for c, n in plan_.chosen] == [(a.key, 3)]
    assert plan_.status is OverlayStatus.PARTIAL_COVER


def test_a_due_hedge_without_successor_is_kept_while_cover_is_wanted() -> None:
    """The plan falls short (it covers 0 of 6000 required) and chose no VIX spread: the due
    spread (5 x 1000 of cover, under the target) is kept, not closed, and the notes say why."""
    due = held(VCS, VCS_APR, 5, dte=3)
    short = replace(plan([], 6_000.0), required_payoff_usd=6_000.0)
    result = propose(short, [due])
    assert result.adjustments == ()
    assert any("roll deferred" in n and "kept" in n for n in result.notes)


def test_a_due_hedge_is_closed_when_the_plan_covers_without_it() -> None:
    """The plan covers what it was asked with a diagonal only: the due VIX spread, whose
    cover is no longer wanted, is closed."""
    due = held(VCS, VCS_APR, 5, dte=3)
    diag = candidate(PDG, [(spx_put(NEAR, 4600), -1), (spx_put(FAR, 4650), 1)])
    covered = replace(plan([(diag, 2)], 2_000.0), required_payoff_usd=2_000.0)
    result = propose(covered, [due])
    actions = sorted((a.action.value, a.kind.value) for a in result.adjustments)
    assert actions == [("close", VCS.value), ("open", PDG.value)]


def test_a_due_spread_with_no_successor_on_offer_is_kept_and_counted() -> None:
    """8 April: the held April VIX spread has 7 days left (due), and no hedge can be
    bought (no VIX expiry 25+ days out, no SPX expiry in the diagonal window): the spread
    is kept, not closed, and the second overlay run counts what it cost in the budget."""
    april_8 = datetime(2026, 4, 8, 11, 0, tzinfo=NY)
    m = Market()
    long_call = _option("VIX", "VIX", VIX_APRIL, 19.0, Right.CALL)
    short_call = _option("VIX", "VIX", VIX_APRIL, 24.0, Right.CALL)
    spread = [
        Position(long_call, 3, 100 * m.vix_mid(19.0, Right.CALL, april_8)),
        Position(short_call, -3, 100 * m.vix_mid(24.0, Right.CALL, april_8)),
    ]
    paid = sum(p.quantity * p.avg_cost_usd for p in spread)
    snap = build(m, april_8, condor_positions(m, april_8) + spread)
    result = evaluate(snap, None, PARAMS, april_8)
    assert result.status is CycleStatus.OK, result.reason
    assert result.plan is not None and result.plan.status is OverlayStatus.NO_CANDIDATES
    assert result.adjustments == ()
    assert result.proposal is not None
    assert any("roll deferred" in n for n in result.proposal.notes)
    assert result.plan.spent.held_debit_usd == pytest.approx(paid)
