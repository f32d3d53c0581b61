"""Issue 7 item 1: the carry budget bounds the hedge book as a whole, not each cycle.

Oracles: the budget recomputed from the condors' IB average costs (0.20 x open credit),
the hedges' cost basis recomputed from their positions' average costs (what was paid,
long legs minus short legs), and their carry from the proposal's own theta per unit.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.cycle_inputs import BookHistory, HedgeSpend
from daemon.core.evaluate import CycleStatus, evaluate
from daemon.core.models import MarketSnapshot
from daemon.core.overlay import HedgeSpent, size_overlay
from daemon.core.params import BudgetParams, OverlayParams
from tests.core.overlay_oracle import Instance, instances, le
from tests.core.test_evaluate import (
    NOW,
    PARAMS,
    TOL_USD,
    _filled,
    base_snapshot,
    condor_credit_usd,
)

# The mix left loose so the budget, not the VIX share, is what binds.
LOOSE_MIX = PARAMS.model_copy(update={"overlay": OverlayParams(mix_tolerance_frac=1.0)})


def _hedge_cost_usd(snapshot: MarketSnapshot) -> float:
    """Net debit paid for the hedge legs (everything but the condors' SPXW April legs
    opened at the start): long legs' average cost minus short legs'."""
    condor = {p.contract.key for p in base_snapshot().positions}
    return math.fsum(
        math.copysign(abs(p.avg_cost_usd) * abs(p.quantity), p.quantity)
        for p in snapshot.positions
        if p.contract.key not in condor
    )


def test_cycles_with_fills_never_spend_more_than_the_budget_in_total() -> None:
    """Three cycles on one market, every order filled at its mid in between, with a budget
    that binds (5% of the credit): the hedges' total debit stays within it and the cost
    basis the model counts is what the positions say was paid (a per-cycle budget paid
    it again each cycle: 2,098 USD of 1,628 here)."""
    params = LOOSE_MIX.model_copy(update={"budget": BudgetParams(max_debit_fraction=0.05)})
    budget = 0.05 * condor_credit_usd()
    snap, paid = base_snapshot(), 0.0
    for _ in range(3):
        result = evaluate(snap, None, params, NOW)
        assert result.status is CycleStatus.OK and result.plan is not None
        assert result.plan.spent.held_debit_usd == pytest.approx(_hedge_cost_usd(snap))
        paid += math.fsum(max(a.reason["debit_usd"], 0.0) for a in result.adjustments)
        # The carry budget likewise: held carry plus new carry within 0.30 x book theta.
        assert result.risk is not None
        carry_budget = params.budget.max_theta_fraction * abs(result.risk.theta_usd_per_day)
        new_carry = math.fsum(max(-c.theta_usd_per_day, 0.0) * n for c, n in result.plan.chosen)
        assert result.plan.spent.held_carry_usd_per_day + new_carry <= carry_budget + TOL_USD
        snap = _filled(snap, result)
    assert paid > 0.0
    assert paid <= budget + TOL_USD
    assert _hedge_cost_usd(snap) == pytest.approx(paid)


def test_the_spend_window_bounds_a_book_rolled_often() -> None:
    """Hedges bought and closed again (none held) inside the window: what they cost still
    counts, so a cycle that already spent the budget today buys nothing more."""
    budget = LOOSE_MIX.budget.max_debit_fraction * condor_credit_usd()
    today = NOW.date()
    spent = BookHistory(spends=(HedgeSpend(today, budget),))
    result = evaluate(base_snapshot(), None, LOOSE_MIX, NOW, history=spent)
    assert result.plan is not None
    assert result.plan.budget_debit_usd == pytest.approx(0.0, abs=TOL_USD)
    assert result.plan.chosen == ()
    assert result.adjustments == ()


def test_spend_outside_the_window_does_not_count() -> None:
    """A debit 40 calendar days back (more than 21 sessions) leaves the whole budget; one
    3 sessions back (Wed 25 Feb before Mon 2 Mar) takes its amount off; credits received
    are not netted."""
    budget = LOOSE_MIX.budget.max_debit_fraction * condor_credit_usd()
    today = NOW.date()
    old = BookHistory(spends=(HedgeSpend(today - timedelta(days=40), budget),))
    assert old.window_debit_usd(today, 21) == 0.0
    recent = BookHistory(spends=(HedgeSpend(date(2026, 2, 25), 1000.0), HedgeSpend(today, -400.0)))
    assert recent.window_debit_usd(today, 21) == pytest.approx(1000.0)
    assert recent.window_debit_usd(today, 3) == 0.0  # 25 Feb is the 4th session back
    result = evaluate(base_snapshot(), None, LOOSE_MIX, NOW, history=recent)
    assert result.plan is not None
    assert result.plan.budget_debit_usd == pytest.approx(budget - 1000.0)
    assert result.plan.debit_usd <= budget - 1000.0 + TOL_USD


@settings(max_examples=120, deadline=None)
@given(
    inst=instances(),
    held_frac=st.floats(0.0, 1.5),
    window_frac=st.floats(0.0, 1.5),
    carry_frac=st.floats(0.0, 1.5),
)
def test_new_hedges_fit_in_what_the_book_left(
    inst: Instance, held_frac: float, window_frac: float, carry_frac: float
) -> None:
    """Whatever the hedges held cost and the window spent (as fractions of the budget),
    the new debit is at most B - max(held cost, window spend) and the new carry at most
    the carry budget less the held carry; never negative room."""
    bud = inst.params.budget
    total = bud.max_debit_fraction * inst.credit_usd
    carry_total = bud.max_theta_fraction * inst.book_theta_usd
    spent = HedgeSpent(
        held_debit_usd=held_frac * total,
        held_carry_usd_per_day=carry_frac * carry_total,
        window_debit_usd=window_frac * total,
    )
    plan = size_overlay(
        list(inst.cands),
        inst.needed_usd,
        inst.tail_loss_usd,
        inst.held_usd,
        inst.share,
        inst.credit_usd,
        inst.book_theta_usd,
        inst.params,
        spent=spent,
    )
    room = max(total - max(spent.held_debit_usd, spent.window_debit_usd), 0.0)
    assert le(plan.debit_usd, room)
    carry = sum(max(-c.theta_usd_per_day, 0.0) * n for c, n in plan.chosen)
    assert le(carry, max(carry_total - spent.held_carry_usd_per_day, 0.0))
    if room <= 0.0:
        assert plan.chosen == ()  # every usable candidate has a positive debit
