"""Layer 3 sizing: the integer program against brute-force enumeration and hand tables."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black

from daemon.core.calendar import time_to_expiry_years
from daemon.core.candidates import Candidate
from daemon.core.market import MarketView, build_market_view
from daemon.core.overlay import OverlayStatus, plan_overlay
from daemon.core.params import ModelParams, ScenarioParams
from daemon.core.recognition import recognise
from daemon.core.risk import BookRisk, book_risk
from tests.core.factories import (
    NOW,
    RATE,
    VIX_EXPIRY,
    VIX_FUTURE,
    iron_condor,
    pos,
    standard_snapshot,
    vix_option,
)
from tests.core.overlay_oracle import (
    TOL_ABS_USD,
    Expected,
    Instance,
    Oracle,
    cand,
    instances,
    le,
    line_count,
    model,
    quantities,
    split_instances,
)
from tests.core.stress_oracle import vix_shocked

# ---- hand-computed table --------------------------------------------------------------------
A = cand(20, payoff_usd=1000, debit_usd=100, is_vix=True)
B = cand(21, payoff_usd=2000, debit_usd=300, is_vix=True)
C = cand(5000, payoff_usd=1500, debit_usd=120, is_vix=False)

# (candidates, needed, tail loss, share, mix tol, expected quantities of the candidates,
#  expected debit), each solved by hand. Each optimum is also the plan with the fewest
#  lines within 3% of its debit, so the default consolidation keeps it:
HAND_TABLE = [
    # 3A covers 3000 for 300; A+B also covers 3000 but for 400; 2B overshoots for 600.
    ((A, B), 3000.0, -10_000.0, 1.0, 1.0, (3, 0), 300.0),
    # Needed 2500: A+C covers 2500 for 220, 2C covers 3000 for 240, 3A 3000 for 300.
    ((A, C), 2500.0, -10_000.0, 0.5, 1.0, (1, 1), 220.0),
    # Same with the cap at 2000: coverage clips to 2000 and only 2A (200) lands on it.
    ((A, C), 2500.0, -2_000.0, 0.5, 1.0, (2, 0), 200.0),
    # VIX share pinned to 50% +- 10%: with A (VIX) and C (SPX), 3A+2C = 3000 VIX of 6000
    # (share 0.5) costs 540 for needed 5000; A+3C = 1000/5500 = 0.18 fails the mix;
    # 2A+2C = 2000/5000 = 0.4, debit 440, covers exactly 5000 -> the optimum.
    ((A, C), 5000.0, -20_000.0, 0.5, 0.1, (2, 2), 440.0),
]


@pytest.mark.parametrize(("cands", "needed", "loss", "share", "tol", "expect", "debit"), HAND_TABLE)
def test_hand_table(
    cands: tuple[Candidate, ...],
    needed: float,
    loss: float,
    share: float,
    tol: float,
    expect: tuple[int, ...],
    debit: float,
) -> None:
    """Tiny instances solved by hand give that optimum, and brute force agrees."""
    inst = Instance(cands, needed, loss, 0.0, share, 1e6, 1e6, model(mix_tol=tol, max_contracts=5))
    plan = inst.solve()
    assert plan.status is OverlayStatus.OK
    assert quantities(plan, inst) == expect
    assert plan.debit_usd == pytest.approx(debit)
    assert Oracle(inst).min_debit() == pytest.approx(debit)


def test_budget_binding_covers_what_budget_allows() -> None:
    """A 250 USD debit budget cannot buy 3500 of cover; the plan buys the most it allows."""
    # Budget 0.2 x 1250 = 250 USD; 3500 needed; without the budget A+2C (4000, 340) covers.
    inst = Instance((A, C), 3500.0, -10_000.0, 0.0, 0.5, 1250.0, 1e6, model(debit_frac=0.2))
    plan = inst.solve()
    assert plan.status is OverlayStatus.BUDGET_BINDING
    # By hand: within 250 USD, 2C (3000, 240) is the most cover; A+C 2500; 2A 2000.
    assert quantities(plan, inst) == (0, 2)
    assert plan.payoff_after_usd == pytest.approx(3000.0)
    assert plan.debit_usd <= plan.budget_debit_usd
    assert Oracle(inst).max_payoff_within_budget() == pytest.approx(3000.0)


def test_budget_binding_blocked_by_mix_relaxes_the_mix() -> None:
    """Budget affords only VIX cover but the mix needs SPX: the mix gives way, not the cover."""
    dear_spx = cand(5100, payoff_usd=1500, debit_usd=2000, is_vix=False)
    params = model(mix_tol=0.1, debit_frac=0.5)
    inst = Instance((A, dear_spx), 2000.0, -10_000.0, 0.0, 0.5, 1000.0, 1e6, params)
    plan = inst.solve()
    assert plan.status is OverlayStatus.MIX_RELAXED  # the need is covered, the share is not
    assert Oracle(inst).max_payoff_within_budget() == 0.0  # with the mix: nothing
    # By hand: without the mix, 2 A (2000 USD payoff for 200 USD) cover the 2000 needed
    # within the 500 USD budget; buying more than the need would be over-spending.
    assert quantities(plan, inst) == (2, 0)
    assert plan.debit_usd <= plan.budget_debit_usd
    assert "VIX share relaxed" in plan.detail


def test_theta_budget_binds() -> None:
    """A carry budget of 3 USD/day allows 3 units costing 1 USD/day each."""
    inst = Instance((A,), 5000.0, -10_000.0, 0.0, 1.0, 1e6, 10.0, model(theta_frac=0.3))
    plan = inst.solve()
    assert plan.status is OverlayStatus.BUDGET_BINDING
    assert quantities(plan, inst) == (3,)
    assert plan.theta_usd_per_day == pytest.approx(-3.0)


def test_positive_theta_costs_no_carry() -> None:
    """A candidate that earns theta is not held back by a zero carry budget."""
    earner = cand(5000, payoff_usd=1000, debit_usd=50, is_vix=False, theta_usd_per_day=2.0)
    inst = Instance((earner,), 2000.0, -10_000.0, 0.0, 0.0, 1e6, 0.0, model())
    plan = inst.solve()
    assert plan.status is OverlayStatus.OK
    assert quantities(plan, inst) == (2,)


def test_held_hedges_count_against_the_cap() -> None:
    """Held payoff uses up the cap: 8000 held of a 10000 cap leaves room for 2 units of A."""
    inst = Instance((A,), 5000.0, -10_000.0, 8000.0, 1.0, 1e6, 1e6, model())
    plan = inst.solve()
    assert plan.status is OverlayStatus.OK
    assert quantities(plan, inst) == (2,)
    assert plan.payoff_after_usd == pytest.approx(10_000.0)
    assert "clipped" in plan.detail


def test_held_at_cap_needs_nothing() -> None:
    """When held hedges already reach max_cover x |L|, nothing more is bought."""
    inst = Instance((A,), 1000.0, -10_000.0, 10_000.0, 1.0, 1e6, 1e6, model())
    plan = inst.solve()
    assert plan.status is OverlayStatus.NOTHING_NEEDED
    assert plan.chosen == ()


def test_nothing_needed() -> None:
    """A non-positive need gives NOTHING_NEEDED and no trades."""
    inst = Instance((A, B), 0.0, -10_000.0, 3000.0, 1.0, 1e6, 1e6, model())
    plan = inst.solve()
    assert plan.status is OverlayStatus.NOTHING_NEEDED
    assert plan.chosen == () and plan.debit_usd == 0.0
    assert plan.payoff_after_usd == 3000.0


def test_no_candidates() -> None:
    """An empty candidate list gives NO_CANDIDATES."""
    plan = Instance((), 1000.0, -10_000.0, 0.0, 0.5, 1e6, 1e6, model()).solve()
    assert plan.status is OverlayStatus.NO_CANDIDATES
    assert plan.chosen == ()


def test_bad_candidates_dropped_with_reason() -> None:
    """Candidates with payoff or debit <= 0 are rejected with a reason; none left: NO_CANDIDATES."""
    bad_pay = cand(30, payoff_usd=0.0, debit_usd=100)
    bad_debit = cand(31, payoff_usd=1000.0, debit_usd=-5.0)
    plan = Instance((bad_pay, bad_debit), 1000.0, -1e4, 0.0, 1.0, 1e6, 1e6, model()).solve()
    assert plan.status is OverlayStatus.NO_CANDIDATES
    assert {r.key for r in plan.rejected} == {bad_pay.key, bad_debit.key}
    assert all(r.reason for r in plan.rejected)


def test_mix_impossible_relaxes_the_mix_and_covers() -> None:
    """A VIX share of 50% +- 10% is impossible with VIX candidates only: the mix is a
    preference, so the need is covered without it (2A = 2000 for 200 by hand), and why."""
    inst = Instance((A, B), 2000.0, -10_000.0, 0.0, 0.5, 1e6, 1e6, model(mix_tol=0.1))
    plan = inst.solve()
    assert plan.status is OverlayStatus.MIX_RELAXED
    assert "VIX share" in plan.detail
    assert [(c.key, n) for c, n in plan.chosen] == [(A.key, 2)]
    assert plan.debit_usd == pytest.approx(200.0)


def test_contract_cap_short_buys_what_it_can() -> None:
    """Coverage beyond the contract cap x payoff buys the cap (2A = 2000 of 5000), status
    partial_cover, and the detail names the contract cap."""
    inst = Instance((A,), 5000.0, -10_000.0, 0.0, 1.0, 1e6, 1e6, model(max_contracts=2))
    plan = inst.solve()
    assert plan.status is OverlayStatus.PARTIAL_COVER
    assert "max_contracts" in plan.detail
    assert [(c.key, n) for c, n in plan.chosen] == [(A.key, 2)]


def test_nothing_buyable_is_infeasible() -> None:
    """When no unit of any candidate fits under the cover cap, nothing is bought: infeasible."""
    inst = Instance((B,), 5000.0, -1_500.0, 0.0, 1.0, 1e6, 1e6, model())
    plan = inst.solve()
    assert plan.status is OverlayStatus.INFEASIBLE
    assert plan.chosen == ()


def test_input_order_does_not_matter() -> None:
    """Equal-cost alternatives resolve the same way whatever order the candidates arrive in."""
    twin1 = cand(40, payoff_usd=1000, debit_usd=100)
    twin2 = cand(41, payoff_usd=1000, debit_usd=100)
    one = Instance((twin1, twin2), 1000.0, -1e4, 0.0, 1.0, 1e6, 1e6, model()).solve()
    two = Instance((twin2, twin1), 1000.0, -1e4, 0.0, 1.0, 1e6, 1e6, model()).solve()
    assert [(c.key, n) for c, n in one.chosen] == [(c.key, n) for c, n in two.chosen]


def test_to_json_is_plain() -> None:
    """The plan serialises to plain JSON with the status as a string."""
    plan = Instance((A, C), 2000.0, -1e4, 0.0, 0.5, 1e6, 1e6, model()).solve()
    data = json.loads(json.dumps(plan.to_json()))
    assert data["status"] == "ok"
    assert sum(item["quantity"] for item in data["chosen"]) == 2


# ---- hypothesis: invariants and the brute-force oracle ---------------------------------------
@settings(max_examples=150, deadline=None)
@given(instances())
def test_invariants_hold(inst: Instance) -> None:
    """Any status: integers in 0..max_contracts, held + new under the cap, both budgets kept."""
    plan = inst.solve()
    ov, bud = inst.params.overlay, inst.params.budget
    for c, n in plan.chosen:
        assert isinstance(n, int) and 0 < n <= ov.max_contracts
        assert c in inst.cands
    new = sum(c.payoff_usd * n for c, n in plan.chosen)
    if plan.chosen:
        assert le(inst.held_usd + new, ov.max_cover_frac * abs(inst.tail_loss_usd))
    assert plan.payoff_after_usd == pytest.approx(inst.held_usd + new)
    assert le(plan.debit_usd, bud.max_debit_fraction * inst.credit_usd)
    carry = sum(max(-c.theta_usd_per_day, 0.0) * n for c, n in plan.chosen)
    assert le(carry, bud.max_theta_fraction * inst.book_theta_usd)
    if plan.status is OverlayStatus.OK and new > 0:
        vix = sum(c.payoff_usd * n for c, n in plan.chosen if c.is_vix)
        assert le((inst.share - ov.mix_tolerance_frac) * new, vix)
        assert le(vix, (inst.share + ov.mix_tolerance_frac) * new)


@settings(max_examples=200, deadline=None)
@given(st.one_of(instances(), split_instances()))
def test_matches_brute_force(inst: Instance) -> None:
    """Status, optimum and consolidated line count agree with enumerating every combination."""
    plan = inst.solve()
    oracle = Oracle(inst)
    if inst.needed_usd <= 0 or oracle.required() <= 0:
        assert plan.status is OverlayStatus.NOTHING_NEEDED
        return
    n = quantities(plan, inst)
    covered = oracle.least_debit_plan()
    if covered is not None:
        assert plan.status is OverlayStatus.OK
        assert oracle.ok(n, coverage=True, budget=True)
        _agrees(plan.debit_usd, plan.new_payoff_usd, line_count(n), covered)
    elif oracle.feasible_without_budget():
        with_mix = oracle.most_cover_plan(mix=True)
        assert with_mix.payoff_usd is not None
        if with_mix.payoff_usd > 0 or oracle.max_payoff_within_budget(mix=False) <= 0:
            assert plan.status is OverlayStatus.BUDGET_BINDING
            assert oracle.ok(n, coverage=False, budget=True)
            expected = with_mix
        elif (cheapest := oracle.least_debit_plan(mix=False)) is not None:
            # Mix relaxed and the need covered: at the least debit.
            assert plan.status is OverlayStatus.MIX_RELAXED
            assert oracle.ok(n, coverage=True, budget=True, mix=False)
            expected = cheapest
        else:
            # Mix relaxed, the need not coverable: the most the budget buys.
            assert plan.status is OverlayStatus.BUDGET_BINDING
            assert oracle.ok(n, coverage=False, budget=True, mix=False)
            expected = oracle.most_cover_plan(mix=False)
        _agrees(plan.debit_usd, plan.new_payoff_usd, line_count(n), expected)
    elif (cheapest := oracle.least_debit_plan(mix=False)) is not None:
        # Fallback (a): the mix cannot be met at all; the need covered without it.
        assert plan.status is OverlayStatus.MIX_RELAXED
        assert oracle.ok(n, coverage=True, budget=True, mix=False)
        _agrees(plan.debit_usd, plan.new_payoff_usd, line_count(n), cheapest)
    else:
        # Fallback (b): the most cover the budget and caps allow, with the mix if any.
        with_mix = oracle.most_cover_plan(mix=True)
        mix = with_mix.payoff_usd is not None and with_mix.payoff_usd > 0
        expected = with_mix if mix else oracle.most_cover_plan(mix=False)
        if expected.payoff_usd is None or expected.payoff_usd <= 0:
            assert plan.status is OverlayStatus.INFEASIBLE
            assert plan.chosen == ()
            return
        budget_stops = oracle.feasible_without_budget(mix=mix)
        status = OverlayStatus.BUDGET_BINDING if budget_stops else OverlayStatus.PARTIAL_COVER
        assert plan.status is status
        assert oracle.ok(n, coverage=False, budget=True, mix=mix)
        _agrees(plan.debit_usd, plan.new_payoff_usd, line_count(n), expected)


def _agrees(debit_usd: float, payoff_usd: float, lines: int, expected: Expected) -> None:
    assert debit_usd == pytest.approx(expected.debit_usd, abs=TOL_ABS_USD)
    if expected.payoff_usd is not None:
        assert payoff_usd == pytest.approx(expected.payoff_usd, abs=TOL_ABS_USD)
    if expected.lines is not None:
        assert lines == expected.lines


# ---- the front door: plan_overlay on a synthetic market --------------------------------------
def _market(with_hedge: bool, params: ModelParams | None = None) -> tuple[MarketView, BookRisk]:
    """Ten April condors (credit 800 USD each) and, optionally, 5 held VIX 20/30 call spreads."""
    positions = iron_condor((4700, 4800, 5200, 5300), 10, leg_costs_usd=(500, 900, 700, 300))
    if with_hedge:
        positions += [pos(vix_option(20.0), 5, 250.0), pos(vix_option(30.0), -5, 90.0)]
    snap = standard_snapshot(positions)
    params = ModelParams() if params is None else params
    view = build_market_view(snap, params)
    return view, book_risk(recognise(snap.positions), view, params)


def _vix_spread_payoff_usd(k_long: float, k_short: float, units: int) -> float:
    """Stress payoff of a VIX call spread by vollib: future + beta(DTE) x 15 pts, vol + the
    scenario's VIX option vol shock."""
    t = time_to_expiry_years(vix_option(k_long), NOW)
    dte = (VIX_EXPIRY - NOW.date()).days
    shocked, sigma_after = vix_shocked(VIX_FUTURE, 0.9, dte, ModelParams().scenario)

    def gain(k: float) -> float:
        after = black("c", shocked, k, t, RATE, sigma_after)
        return float(after - black("c", VIX_FUTURE, k, t, RATE, 0.9))

    return units * 100 * (gain(k_long) - gain(k_short))


def test_plan_overlay_target_and_held_first() -> None:
    """H = base_ratio x |L_crash| x scalar; held hedges' payoff (vollib) is taken off H."""
    scalar = 1.4
    view0, risk0 = _market(with_hedge=False)
    view1, risk1 = _market(with_hedge=True)
    plan0 = plan_overlay(view0, risk0, scalar, 0.5, NOW, ModelParams())
    plan1 = plan_overlay(view1, risk1, scalar, 0.5, NOW, ModelParams())
    crash = risk0.shock_tail_losses_usd["down_vol_spike"]
    target = 0.25 * abs(crash) * scalar
    assert crash < 0
    assert plan0.target_payoff_usd == pytest.approx(target)
    assert plan0.needed_payoff_usd == pytest.approx(target)
    held = _vix_spread_payoff_usd(20.0, 30.0, 5)
    assert plan1.held_payoff_usd == pytest.approx(held, rel=1e-6)
    assert plan1.needed_payoff_usd == pytest.approx(max(target - held, 0.0), rel=1e-6)
    assert plan1.needed_payoff_usd < plan0.needed_payoff_usd
    assert plan0.budget_debit_usd == pytest.approx(0.20 * 8000.0)


def test_plan_overlay_held_override() -> None:
    """An explicit held payoff (hedges due to roll left out) replaces the book's hedge payoff."""
    view, risk = _market(with_hedge=True)
    plan = plan_overlay(view, risk, 1.0, 0.5, NOW, ModelParams(), held_payoff_usd=0.0)
    assert plan.held_payoff_usd == 0.0
    assert plan.needed_payoff_usd == pytest.approx(plan.target_payoff_usd)


def test_plan_overlay_buys_from_the_chains() -> None:
    """With a loose budget the plan covers H with VIX spreads and SPX diagonals from the view."""
    params = model(mix_tol=0.25, debit_frac=5.0, theta_frac=5.0)
    view, risk = _market(with_hedge=False)
    plan = plan_overlay(view, risk, 1.0, 0.5, NOW, params)
    assert plan.status is OverlayStatus.OK, plan.detail
    assert plan.payoff_after_usd >= plan.target_payoff_usd - 1e-6
    assert {c.is_vix for c, _ in plan.chosen} == {True, False}
    for c, _ in plan.chosen:
        assert all(view.option(g.contract) is not None for g in c.legs)
    assert plan.vix_share_after is not None and abs(plan.vix_share_after - 0.5) <= 0.25 + 1e-9


def test_plan_overlay_one_line_per_family() -> None:
    """A VIX split across neighbouring pairs becomes one line per family for <= 3% more debit."""
    # Pinned to a flat 0.6 VIX-future beta, no VIX option vol shock and one move: the
    # instance on which the optimum splits the VIX family across neighbouring pairs (two
    # neighbours each side, as the default was when the instance was built).
    flat = ScenarioParams(
        vix_future_beta_by_dte=((0.0, 0.6), (1.0, 0.6)),
        vix_option_vol_shock_pts=0.0,
        other_shocks=(),
    )
    base = model(mix_tol=0.25, debit_frac=5.0, theta_frac=5.0)
    loose = base.model_copy(
        update={
            "scenario": flat,
            "vix": base.vix.model_copy(update={"neighbour_count": 2}),
            "diagonal": base.diagonal.model_copy(update={"neighbour_count": 2}),
        }
    )
    off = loose.model_copy(
        update={"overlay": loose.overlay.model_copy(update={"consolidate_tolerance_frac": 0.0})}
    )
    view, risk = _market(with_hedge=False, params=loose)
    split = plan_overlay(view, risk, 1.7, 0.5, NOW, off)
    plan = plan_overlay(view, risk, 1.7, 0.5, NOW, loose)
    assert split.status is plan.status is OverlayStatus.OK
    assert len(split.chosen) > len({c.is_vix for c, _ in split.chosen})
    assert len(plan.chosen) == len({c.is_vix for c, _ in plan.chosen}) == 2
    assert plan.debit_usd <= 1.03 * split.debit_usd
    assert plan.new_payoff_usd >= plan.required_payoff_usd
