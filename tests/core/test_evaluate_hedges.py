"""``evaluate``'s hedge wiring end to end: a held SPX put diagonal counts toward the cover,
no hedge leg lands on an income contract (``avoid_keys``), a hedge due to roll is rolled
to the plan's successor and stops counting, and a due hedge kept for want of a successor
still counts, with its cost in the budget. Snapshots from ``test_evaluate``'s independent
builder (vollib prices); expectations reasoned from the rules of ``proposal.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from daemon.core.evaluate import CycleResult, CycleStatus, evaluate
from daemon.core.families.spx_put_diagonal import SPX_PUT_DIAGONAL
from daemon.core.models import (
    Contract,
    MarketSnapshot,
    OptionQuote,
    Position,
    Quote,
    Right,
    SecType,
)
from daemon.core.params import BudgetParams, DiagonalParams, ModelParams
from daemon.core.proposal import AdjustmentAction
from daemon.core.risk import StructureRisk
from tests.core.test_evaluate import (
    FAR,
    HALF_SPREAD_FRAC,
    MIN_MID_USD,
    NEAR,
    NOW,
    PARAMS,
    Market,
    build,
)

M = Market()
TOMORROW = date(2026, 3, 3)  # an SPXW expiry one session after NOW (Monday 2026-03-02)
P = Right.PUT
# The condor's long put wing sits where the diagonal's short leg would go: the candidate
# long put at 4550 less short_offset_frac x spot (1% of 5000 = 50 points) is 4500.
CONDOR = ((4500.0, P, 1), (4750.0, P, -1), (5200.0, Right.CALL, -1), (5300.0, Right.CALL, 1))


def spxw(expiry: date, strike: float, right: Right = P) -> Contract:
    return Contract("SPX", SecType.OPTION, "SPXW", expiry, strike, right)


def opened_at_mid(contract: Contract, quantity: int) -> Position:
    """A position opened at today's mid (IB's avg cost: mid x 100, positive)."""
    return Position(contract, quantity, 100 * M.spx_mid(contract, NOW))


def condor(quantity: int = 10) -> list[Position]:
    return [opened_at_mid(spxw(NEAR, k, r), s * quantity) for k, r, s in CONDOR]


def diagonal(short: Contract, long: Contract, quantity: int) -> list[Position]:
    return [opened_at_mid(short, -quantity), opened_at_mid(long, quantity)]


def with_tomorrow_chain(snap: MarketSnapshot, held: Contract) -> MarketSnapshot:
    """``snap`` plus the SPXW chain expiring tomorrow (the held leg quoted whatever its mid)."""
    extra = []
    for k in M.spx_strikes():
        for right in (Right.CALL, P):
            c = spxw(TOMORROW, k, right)
            mid = M.spx_mid(c, NOW)
            if mid >= MIN_MID_USD or c == held:
                q = Quote(mid * (1 - HALF_SPREAD_FRAC), mid * (1 + HALF_SPREAD_FRAC), NOW)
                extra.append(OptionQuote(c, q))
    return replace(snap, options=snap.options + tuple(extra))


def diagonal_risk(result: CycleResult) -> StructureRisk:
    assert result.risk is not None
    (r,) = [h for h in result.risk.hedges if h.kind is SPX_PUT_DIAGONAL]
    return r


def cost_basis_usd(positions: list[Position]) -> float:
    """The net debit paid, from IB's avg costs: buys pay, sells receive."""
    return sum(p.quantity * p.avg_cost_usd for p in positions)


def ok(result: CycleResult) -> CycleResult:
    assert result.status is CycleStatus.OK, result.reason
    assert result.plan is not None and result.proposal is not None
    return result


def test_a_held_diagonal_counts_and_no_hedge_leg_lands_on_an_income_contract() -> None:
    """A diagonal not due to roll (short leg 46 days out) counts toward the cover at its
    stress payoff, its cost basis is charged to the budget, it is not rolled, and no
    proposed leg is an income contract though the best diagonal would sell the condor's
    long wing."""
    held = diagonal(spxw(NEAR, 4450.0), spxw(FAR, 4500.0), 1)
    result = ok(evaluate(build(positions=condor() + held), None, PARAMS, NOW))
    assert result.plan is not None and result.proposal is not None
    r = diagonal_risk(result)
    assert r.stress_pnl_usd is not None and r.stress_pnl_usd > 0  # it pays in the crash
    assert result.plan.held_payoff_usd == pytest.approx(r.stress_pnl_usd, rel=1e-12)
    assert result.plan.spent.held_debit_usd == pytest.approx(cost_basis_usd(held), rel=1e-12)
    assert result.proposal.coverage_before_usd == pytest.approx(r.stress_pnl_usd, rel=1e-12)
    assert all(not a.structure_key.startswith(r.structure_id) for a in result.adjustments)
    income = {spxw(NEAR, k, right).key for k, right, _ in CONDOR}
    chosen = [c for c, _ in result.plan.chosen]
    assert any(c.kind is SPX_PUT_DIAGONAL for c in chosen), "the check needs a diagonal"
    assert not {leg.contract.key for c in chosen for leg in c.legs} & income
    assert not {leg.contract.key for a in result.adjustments for leg in a.legs} & income


def test_a_diagonal_due_to_roll_is_rolled_and_stops_counting() -> None:
    """Three diagonals whose short leg expires tomorrow (1 session <= the 1 of the roll
    rule) are due: as many as the plan chose of its diagonal are rolled to it in one
    combo (close the held legs, open the successor's), the rest closed. They no longer
    count toward the cover the plan sizes, so the plan buys their successor."""
    short, long = spxw(TOMORROW, 4500.0), spxw(FAR, 4550.0)
    snap = with_tomorrow_chain(build(positions=condor() + diagonal(short, long, 3)), short)
    result = ok(evaluate(snap, None, PARAMS, NOW))
    assert result.plan is not None and result.proposal is not None
    r = diagonal_risk(result)
    assert r.stress_pnl_usd is not None and r.stress_pnl_usd > 0
    assert result.plan.held_payoff_usd == 0.0  # the only hedge held is due: not counted
    assert result.proposal.coverage_before_usd == pytest.approx(r.stress_pnl_usd, rel=1e-12)
    (roll,) = [a for a in result.adjustments if a.action is AdjustmentAction.ROLL]
    assert roll.kind is SPX_PUT_DIAGONAL and roll.reason["rule"] == "roll_diagonal_short"
    held_id, successor_key = roll.structure_key.split(" -> ")
    assert held_id == r.structure_id
    (successor, units) = next((c, n) for c, n in result.plan.chosen if c.key == successor_key)
    assert successor.kind is SPX_PUT_DIAGONAL and roll.quantity == min(3, units)
    # One combo: buy back the short expiring tomorrow, sell the held long unless the
    # successor keeps it (same-contract legs net), and open the successor's legs.
    signed = {leg.contract.key: leg.signed_ratio for leg in roll.legs}
    assert signed[short.key] == 1
    expected = {short.key: 1, long.key: -1}
    for leg in successor.legs:
        expected[leg.contract.key] = expected.get(leg.contract.key, 0) + leg.signed_ratio
    assert signed == {k: v for k, v in expected.items() if v != 0}
    income = {spxw(NEAR, k, right).key for k, right, _ in CONDOR}
    assert not set(signed) & income
    # The units beyond the successor's are closed, as due with no successor.
    rest = [a for a in result.adjustments if a.structure_key == r.structure_id]
    assert sum(a.quantity for a in rest) == 3 - roll.quantity
    assert all(a.reason["rule"] == "expiring_close" for a in rest)


def test_a_due_diagonal_without_successor_is_kept_and_counts() -> None:
    """With no diagonal candidate at all (no expiry in the long window) and a budget too
    small to cover the target, a due diagonal has no successor while the plan wants
    cover: rule 2 keeps it, untouched and noted, and the plan is sized with it held (its
    payoff counted, its cost basis charged to the budget)."""
    short, long = spxw(TOMORROW, 4500.0), spxw(FAR, 4550.0)
    held = diagonal(short, long, 1)
    snap = with_tomorrow_chain(build(positions=condor() + held), short)
    params = PARAMS.model_copy(
        update={
            "diagonal": DiagonalParams(long_dte_min_days=200, long_dte_max_days=250),
            "budget": BudgetParams(max_debit_fraction=0.02),
        }
    )
    result = ok(evaluate(snap, None, params, NOW))
    assert result.plan is not None and result.proposal is not None
    assert not any(c.kind is SPX_PUT_DIAGONAL for c, _ in result.plan.chosen)
    r = diagonal_risk(result)
    assert r.stress_pnl_usd is not None and r.stress_pnl_usd > 0
    assert result.plan.held_payoff_usd == pytest.approx(r.stress_pnl_usd, rel=1e-12)
    assert result.plan.spent.held_debit_usd == pytest.approx(cost_basis_usd(held), rel=1e-12)
    assert all(not a.structure_key.startswith(r.structure_id) for a in result.adjustments)
    assert any("roll deferred" in n and "kept" in n for n in result.proposal.notes)


def test_a_due_diagonal_is_closed_when_the_plan_covers_without_it() -> None:
    """The same due diagonal with no successor but a budget that covers the target
    without it is closed (rule 2: a hedge due with no successor is closed when the plan
    does not want its cover) and does not count toward the plan's cover."""
    short, long = spxw(TOMORROW, 4500.0), spxw(FAR, 4550.0)
    snap = with_tomorrow_chain(build(positions=condor() + diagonal(short, long, 1)), short)
    params: ModelParams = PARAMS.model_copy(
        update={"diagonal": DiagonalParams(long_dte_min_days=200, long_dte_max_days=250)}
    )
    result = ok(evaluate(snap, None, params, NOW))
    assert result.plan is not None
    assert result.plan.held_payoff_usd == 0.0
    assert result.plan.new_payoff_usd >= result.plan.required_payoff_usd * (1 - 1e-9)
    r = diagonal_risk(result)
    (close,) = [a for a in result.adjustments if a.structure_key == r.structure_id]
    assert close.action is AdjustmentAction.CLOSE and close.quantity == 1
    assert close.reason["rule"] == "expiring_close"
    assert {leg.contract.key: leg.signed_ratio for leg in close.legs} == {
        short.key: 1,
        long.key: -1,
    }


def test_a_kept_due_diagonal_is_not_closed_once_it_covers_the_target() -> None:
    """Three due diagonals without successor, kept because the plan without them wants
    cover, are counted as held in the plan sized after (which they now over-cover): rule
    2 does not then close them for want of cover; only rule 4 may shed the excess above
    the target."""
    short, long = spxw(TOMORROW, 4500.0), spxw(FAR, 4550.0)
    held = diagonal(short, long, 3)
    snap = with_tomorrow_chain(build(positions=condor() + held), short)
    params = PARAMS.model_copy(
        update={
            "diagonal": DiagonalParams(long_dte_min_days=200, long_dte_max_days=250),
            "budget": BudgetParams(max_debit_fraction=0.02),
        }
    )
    result = ok(evaluate(snap, None, params, NOW))
    assert result.plan is not None and result.proposal is not None
    r = diagonal_risk(result)
    assert r.stress_pnl_usd is not None
    assert result.plan.held_payoff_usd == pytest.approx(r.stress_pnl_usd, rel=1e-12)
    assert result.plan.held_payoff_usd > result.plan.target_payoff_usd  # it over-covers
    mine = [a for a in result.adjustments if a.structure_key == r.structure_id]
    assert all(a.reason["rule"] == "over_target" for a in mine)
    assert sum(a.quantity for a in mine) < 3
    assert result.proposal.coverage_after_usd >= result.plan.target_payoff_usd
    assert any("roll deferred" in n and "kept" in n for n in result.proposal.notes)
