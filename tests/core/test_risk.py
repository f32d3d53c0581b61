"""Layer 1 risk: closed forms of the structures, dollar greeks and the stress scenario,
checked against hand-computed values and an independent Black-76 (vollib)."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black as vollib_black
from vollib.black.greeks.analytical import delta as vollib_delta

from daemon.core.calendar import time_to_expiry_years
from daemon.core.market import MarketView, build_market_view
from daemon.core.models import OptionQuote, Position, Quote, Right
from daemon.core.params import ModelParams, ScenarioParams
from daemon.core.recognition import recognise
from daemon.core.risk import (
    DollarGreeks,
    book_risk,
    dollar_greeks,
    scenario_pnl,
    scenario_pnl_for,
    structure_risk,
    structure_risks,
    vol_beta,
)
from daemon.core.strike_distance import (
    nearest_short_sigmas,
    short_sigma_figures,
    short_strike_sigmas,
)
from daemon.core.structures import Leg, StructureKind
from tests.core.factories import (
    NOW,
    RATE,
    SPOT,
    SPX_EXPIRY,
    SPX_FAR_EXPIRY,
    VIX_EXPIRY,
    VIX_FUTURE,
    iron_condor,
    model_price,
    pos,
    skew,
    spx_forward,
    spx_option,
    standard_snapshot,
    vix_option,
)

PARAMS = ModelParams()
P, C = Right.PUT, Right.CALL
ZERO = ScenarioParams(spx_move_frac=0.0, vix_spot_shock_pts=0.0, vix_option_vol_shock_pts=0.0)
VIX_VOL = 0.9  # standard_snapshot's VIX option vol
DTE = (SPX_EXPIRY - NOW.date()).days  # 46 calendar days


@cache
def _view() -> MarketView:
    return build_market_view(standard_snapshot(), PARAMS)


def _sigma(k: float) -> float:
    vol = skew()
    return vol(k) if callable(vol) else vol


def _at_mark(positions: list[Position]) -> list[Position]:
    """The same positions with avg cost = today's model price x 100 (opened right now)."""
    out = []
    for p in positions:
        c = p.contract
        f = VIX_FUTURE if c.symbol == "VIX" else spx_forward(expiry=c.expiry or SPX_EXPIRY)
        sigma = VIX_VOL if c.symbol == "VIX" else _sigma(c.strike or 0.0)
        out.append(pos(c, p.quantity, 100 * model_price(c, f, sigma)))
    return out


def test_put_credit_spread_closed_forms() -> None:
    """PCS: credit from avg costs, max loss = width x 100 x qty - credit, BE = K - credit/share."""
    book = recognise([pos(spx_option(4900, P), -2, 520.0), pos(spx_option(4850, P), 2, 310.0)])
    (r,) = book_risk(book, _view(), PARAMS).income
    assert r.kind is StructureKind.PUT_CREDIT_SPREAD
    assert r.credit_usd == pytest.approx(420.0)  # 2 x (520 - 310)
    assert r.max_loss_usd == pytest.approx(9580.0)  # 50 x 100 x 2 - 420
    assert r.breakevens == pytest.approx((4897.9,))  # 4900 - 420 / 200
    assert r.dte_days == DTE


def test_condor_closed_forms() -> None:
    """IC: max loss from the wider wing; break-evens off both short strikes."""
    costs = (150.0, 400.0, 300.0, 80.0)  # credit/unit = 400 + 300 - 150 - 80 = 470
    book = recognise(iron_condor((4750, 4900, 5200, 5300), 3, leg_costs_usd=costs))
    (r,) = book_risk(book, _view(), PARAMS).income
    assert r.credit_usd == pytest.approx(1410.0)
    assert r.max_loss_usd == pytest.approx(150 * 100 * 3 - 1410.0)
    assert r.breakevens == pytest.approx((4900 - 4.7, 5200 + 4.7))


def test_vix_call_spread_closed_forms() -> None:
    """VIX call spread: max loss is the debit, break-even long strike + debit/share."""
    book = recognise([pos(vix_option(20, C), 4, 250.0), pos(vix_option(30, C), -4, 90.0)])
    (r,) = book_risk(book, _view(), PARAMS).hedges
    assert r.credit_usd == pytest.approx(-640.0)
    assert r.max_loss_usd == pytest.approx(640.0)
    assert r.breakevens == pytest.approx((21.6,))


def test_zero_shock_gives_zero_pnl() -> None:
    """With no move and no vol shock every structure's scenario P&L is exactly 0."""
    positions = [
        *iron_condor((4800, 4900, 5200, 5300), 5),
        pos(vix_option(20, C), 3),
        pos(vix_option(30, C), -3),
        pos(spx_option(4650, P, SPX_FAR_EXPIRY), 2),
        pos(spx_option(4600, P), -2),
    ]
    book = recognise(positions)
    assert len(book.structures) == 3
    for s in book.structures:
        assert scenario_pnl(s.position_legs, _view(), ZERO) == 0.0


def test_spx_leg_scenario_matches_independent_repricing() -> None:
    """A short SPX put's stress P&L is vollib's price at F(1+move), sigma + beta x shock."""
    sc = PARAMS.scenario
    k = 4900.0
    f = spx_forward()
    t = time_to_expiry_years(spx_option(k, P), NOW)
    beta = min(max(math.sqrt(30 / DTE), 0.3), 1.5)  # the default beta rule at 46 days
    before = vollib_black("p", f, k, t, RATE, _sigma(k))
    after = vollib_black("p", f * 0.93, k, t, RATE, _sigma(k) + beta * 0.15)
    got = scenario_pnl([Leg(spx_option(k, P), -1)], _view(), sc)
    assert got == pytest.approx(-100 * (after - before), rel=1e-8)


def test_vix_spread_scenario_matches_independent_repricing() -> None:
    """A VIX call spread's stress payoff reprices on future + beta(DTE) x 15 and vol + the
    option vol shock, beta read by hand off a two-point table."""
    # 44 DTE on a table (30 -> 0.8, 60 -> 0.4): beta = 0.8 - 0.4 x 14/30 = 0.61333.
    sc = ScenarioParams(
        vix_future_beta_by_dte=((30.0, 0.8), (60.0, 0.4)), vix_option_vol_shock_pts=10
    )
    assert (VIX_EXPIRY - NOW.date()).days == 44
    t = time_to_expiry_years(vix_option(20, C), NOW)
    shocked = VIX_FUTURE + (0.8 - 0.4 * 14 / 30) * 15

    def value(f: float, vol: float) -> float:
        return vollib_black("c", f, 20, t, RATE, vol) - vollib_black("c", f, 30, t, RATE, vol)

    expected = 100 * 2 * (value(shocked, VIX_VOL + 0.10) - value(VIX_FUTURE, VIX_VOL))
    legs = ((vix_option(20, C), 2), (vix_option(30, C), -2))
    assert scenario_pnl_for(legs, _view(), sc) == pytest.approx(expected, rel=1e-8)
    assert expected > 0


def test_vol_beta_rule() -> None:
    """beta = clip(sqrt(30/dte), 0.3, 1.5) with dte floored at one day."""
    sc = PARAMS.scenario
    assert vol_beta(30, sc) == pytest.approx(1.0)
    assert vol_beta(120, sc) == pytest.approx(0.5)
    assert vol_beta(1, sc) == 1.5
    assert vol_beta(0, sc) == 1.5
    assert vol_beta(365, sc) == pytest.approx(0.3)


def test_huge_down_move_approaches_max_loss() -> None:
    """A -50% move drives a condor opened at mid to (almost) its max loss, never beyond."""
    book = recognise(_at_mark(iron_condor((4800, 4900, 5200, 5300), 2)))
    crash = ScenarioParams(spx_move_frac=-0.5, vix_spot_shock_pts=0.0)
    (r,) = book_risk(book, _view(), PARAMS.model_copy(update={"scenario": crash})).income
    assert r.max_loss_usd is not None and r.stress_pnl_usd is not None
    assert -r.max_loss_usd <= r.stress_pnl_usd <= -0.99 * r.max_loss_usd
    crash_vol = ScenarioParams(spx_move_frac=-0.5, vix_spot_shock_pts=100.0)
    risk = book_risk(book, _view(), PARAMS.model_copy(update={"scenario": crash_vol}))
    assert risk.tail_loss_usd >= -r.max_loss_usd


def test_dollar_delta_and_gamma_of_one_option() -> None:
    """$delta = black76 delta x 100 x qty x F/S (vollib); gamma and delta by finite move."""
    c = spx_option(4900, P)
    f, k = spx_forward(), 4900.0
    t = time_to_expiry_years(c, NOW)
    g = dollar_greeks([Leg(c, 3)], _view())
    assert g is not None
    expected = vollib_delta("p", f, k, t, RATE, _sigma(k)) * 100 * 3 * f / SPOT
    assert g.delta_usd_per_pt == pytest.approx(expected, rel=1e-7)
    h = 2e-4  # 1 SPX point
    up = scenario_pnl([Leg(c, 3)], _view(), ScenarioParams(spx_move_frac=h, vix_spot_shock_pts=0))
    dn = scenario_pnl([Leg(c, 3)], _view(), ScenarioParams(spx_move_frac=-h, vix_spot_shock_pts=0))
    assert up is not None and dn is not None
    ds = SPOT * h
    assert (up - dn) / (2 * ds) == pytest.approx(g.delta_usd_per_pt, rel=1e-4)
    assert (up + dn) / ds**2 == pytest.approx(g.gamma_usd_per_pt2, rel=1e-3)


def test_vix_dollar_delta_is_per_future_point() -> None:
    """For VIX options dF/dS = 1: $delta = delta x 100 x qty."""
    c = vix_option(20, C)
    t = time_to_expiry_years(c, NOW)
    g = dollar_greeks([Leg(c, -2)], _view())
    assert g is not None
    expected = vollib_delta("c", VIX_FUTURE, 20, t, RATE, VIX_VOL) * 100 * -2
    assert g.delta_usd_per_pt == pytest.approx(expected, rel=1e-7)


def test_mark_sigmas_and_book_totals() -> None:
    """Book: marks at mids, short-strike sigmas, credit and theta totals, hedge payoff."""
    condor = _at_mark(iron_condor((4800, 4900, 5200, 5300), 2))
    pcs = _at_mark([pos(spx_option(4700, P), -1), pos(spx_option(4650, P), 1)])
    vcs = _at_mark([pos(vix_option(20, C), 5), pos(vix_option(30, C), -5)])
    book = recognise(condor + pcs + vcs)
    risk = book_risk(book, _view(), PARAMS)
    assert risk.complete and len(risk.income) == 2 and len(risk.hedges) == 1
    ic = next(r for r in risk.income if r.kind is StructureKind.IRON_CONDOR)
    # Opened at mid: mark = -credit, open P&L 0 (mids are exact model prices).
    assert ic.mark_usd == pytest.approx(-ic.credit_usd, rel=1e-9)
    assert ic.open_pnl_usd == pytest.approx(0.0, abs=1e-6)
    f = spx_forward()
    sqrt_t = math.sqrt(time_to_expiry_years(spx_option(4900, P), NOW))
    x_put = math.log(4900 / f) / (_sigma(4900) * sqrt_t)
    x_call = math.log(5200 / f) / (_sigma(5200) * sqrt_t)
    assert ic.short_strike_sigmas == pytest.approx((x_put, x_call), rel=1e-6)
    assert ic.nearest_short_sigmas == pytest.approx(min(-x_put, x_call), rel=1e-6)
    assert risk.open_credit_usd == pytest.approx(sum(r.credit_usd for r in risk.income))
    assert risk.theta_usd_per_day == pytest.approx(
        sum(r.theta_usd_per_day or 0.0 for r in risk.income)
    )
    assert risk.theta_usd_per_day > 0  # short premium earns theta
    assert risk.tail_loss_usd < 0
    assert risk.tail_loss_usd == pytest.approx(sum(r.stress_pnl_usd or 0 for r in risk.income))
    (h,) = risk.hedges
    assert risk.hedge_payoff_usd == h.stress_pnl_usd and risk.hedge_payoff_usd > 0
    assert set(risk.hedge_greeks) == {"VIX"}
    assert risk.nearest_short_sigmas == min(
        r.nearest_short_sigmas for r in risk.income if r.nearest_short_sigmas is not None
    )


def test_unpriced_structure_counts_at_max_loss() -> None:
    """A condor with a leg missing from the chains is unpriced and counts at its max loss."""
    book = recognise(iron_condor((4390, 4900, 5200, 5300), 1, leg_costs_usd=(0, 500, 400, 100)))
    risk = book_risk(book, _view(), PARAMS)
    (r,) = risk.income
    assert not r.priced and r.missing_reason is not None and "4390" in r.missing_reason
    assert r.stress_pnl_usd is None and r.mark_usd is None
    assert r.max_loss_usd == pytest.approx(510 * 100 - 800)
    assert risk.tail_loss_usd == pytest.approx(-r.max_loss_usd)
    assert risk.unpriced == (r.structure_id,) and not risk.complete


# ---- invariant ----------------------------------------------------------------------------
_grid = st.integers(0, 40).map(lambda i: 4450.0 + 25 * i)  # strikes inside the chain


@st.composite
def _condor_books(draw: st.DrawFn) -> list[Position]:
    out: list[Position] = []
    for _ in range(draw(st.integers(1, 3))):
        ks = sorted(draw(st.sets(_grid, min_size=4, max_size=4)))
        costs = tuple(draw(st.floats(0, 3000)) for _ in range(4))
        out += iron_condor(
            (ks[0], ks[1], ks[2], ks[3]),
            draw(st.integers(1, 10)),
            expiry=draw(st.sampled_from([SPX_EXPIRY, SPX_FAR_EXPIRY])),
            leg_costs_usd=(costs[0], costs[1], costs[2], costs[3]),
        )
    return out


@settings(max_examples=60, deadline=None)
@given(
    _condor_books(),
    st.floats(-0.5, 0.5),
    st.floats(-20, 100),
    st.floats(-50, 100),
)
def test_tail_loss_never_beyond_max_loss(
    positions: list[Position], move: float, shock: float, vix_vol_shock: float
) -> None:
    """Whatever the book and moves, 0 >= tail loss >= -(sum of remaining max losses), each
    structure within its own remaining max loss in every move, the tail the worst move."""
    scenario = ScenarioParams(
        spx_move_frac=move, vix_spot_shock_pts=shock, vix_option_vol_shock_pts=vix_vol_shock
    )
    risk = book_risk(
        recognise(positions), _view(), PARAMS.model_copy(update={"scenario": scenario})
    )
    remaining = 0.0
    for r in risk.income:
        assert r.remaining_max_loss_usd is not None and r.stress_pnl_usd is not None
        assert r.stress_pnl_usd >= -r.remaining_max_loss_usd - 1e-9
        assert all(v >= -r.remaining_max_loss_usd - 1e-9 for v in r.shock_pnl_usd.values())
        remaining += r.remaining_max_loss_usd
    assert -remaining - 1e-6 <= risk.tail_loss_usd <= 0.0
    assert risk.tail_loss_usd == min(risk.shock_tail_losses_usd.values())


def test_vix_expiry_is_the_april_wednesday() -> None:
    """Sanity of the fixture: the VIX chain's expiry is the one its future settles on."""
    assert _view().vix_future(VIX_EXPIRY) == pytest.approx(VIX_FUTURE)


def test_crash_loss_of_a_rich_condor_is_bounded_from_its_mark_not_its_entry() -> None:
    """A condor that took 20 of credit on 25-point wings (max loss 5 from entry) still loses
    what a -30% crash costs from its mark now, by independent repricing (vollib), bounded
    by its remaining max loss (wing x 100 x qty + mark), not by the max loss from entry."""
    strikes_ = (4500.0, 4525.0, 5500.0, 5525.0)
    qty = 2
    costs = (0.0, 1000.0, 1000.0, 0.0)  # credit/unit = 1000 + 1000 = 2000 USD = 20 points
    book = recognise(iron_condor(strikes_, qty, leg_costs_usd=costs))
    crash = ScenarioParams(
        spx_move_frac=-0.3, vix_spot_shock_pts=0.0, vix_option_vol_shock_pts=0.0, other_shocks=()
    )
    risk = book_risk(book, _view(), PARAMS.model_copy(update={"scenario": crash}))
    (r,) = risk.income
    # Hand: credit 2 x 2000; max loss from entry 2 x (25 - 20) x 100 = 1000 USD.
    assert r.credit_usd == pytest.approx(4000.0)
    assert r.max_loss_usd == pytest.approx(1000.0)
    f = spx_forward()
    t = time_to_expiry_years(spx_option(4500, P), NOW)
    legs = ((4500.0, "p", 1), (4525.0, "p", -1), (5500.0, "c", -1), (5525.0, "c", 1))
    now_usd = sum(s * qty * 100 * vollib_black(fl, f, k, t, RATE, _sigma(k)) for k, fl, s in legs)
    after_usd = sum(
        s * qty * 100 * vollib_black(fl, 0.7 * f, k, t, RATE, _sigma(k)) for k, fl, s in legs
    )
    expected = after_usd - now_usd  # no vol shock: only the forward moves
    assert expected < -2 * r.max_loss_usd  # far beyond the max loss from entry
    assert r.mark_usd == pytest.approx(now_usd, rel=1e-6)
    assert r.remaining_max_loss_usd == pytest.approx(qty * 25 * 100 + now_usd, rel=1e-9)
    assert r.stress_pnl_usd == pytest.approx(expected, rel=1e-6)
    assert r.stress_pnl_usd >= -r.remaining_max_loss_usd
    assert risk.tail_loss_usd == pytest.approx(expected, rel=1e-6)


def test_crash_loss_is_capped_at_what_the_legs_can_still_lose_from_their_mark() -> None:
    """A deep in-the-money put spread whose long leg is quoted a little below its
    discounted intrinsic (IB often shows such mids; its vol then comes from the broker)
    is marked at that mid: it can then lose at most wing x 100 + mark, less than what the
    model's crash repricing of its legs says, and the stress P&L is that cap, by hand."""
    vol = 0.05  # flat: deep in-the-money puts carry a small, known time value
    positions = iron_condor((5150, 5250, 5500, 5525), 1, leg_costs_usd=(0, 1000, 1000, 0))
    snap = standard_snapshot(positions, spx_vol=vol)
    f = spx_forward()
    long_put = spx_option(5150, P)
    t = time_to_expiry_years(long_put, NOW)
    below = math.exp(-RATE * t) * (5150 - f) - 0.2  # 0.2 under the discounted intrinsic
    quotes = tuple(
        OptionQuote(q.contract, Quote(below - 0.1, below + 0.1, NOW, None, vol))
        if q.contract == long_put
        else q
        for q in snap.options
    )
    view = build_market_view(replace(snap, options=quotes), PARAMS)
    assert view.is_valid
    crash = ScenarioParams(
        spx_move_frac=-0.3, vix_spot_shock_pts=0.0, vix_option_vol_shock_pts=0.0, other_shocks=()
    )
    (r,) = book_risk(
        recognise(positions), view, PARAMS.model_copy(update={"scenario": crash})
    ).income
    # Hand: the mark from the mids (the long put's as quoted, the others at the model).
    legs = ((5150.0, "p", 1), (5250.0, "p", -1), (5500.0, "c", -1), (5525.0, "c", 1))

    def price(k: float, flag: str, fwd: float) -> float:
        return float(vollib_black(flag, fwd, k, t, RATE, vol))

    mark = sum(100 * s * (below if k == 5150 else price(k, fl, f)) for k, fl, s in legs)
    remaining = 100 * 100 + mark  # the widest wing (100 points) x 100 + the signed mark
    model_loss = sum(100 * s * (price(k, fl, 0.7 * f) - price(k, fl, f)) for k, fl, s in legs)
    assert 0 < remaining < -model_loss  # the cap binds
    assert r.mark_usd == pytest.approx(mark, rel=1e-9)
    assert r.remaining_max_loss_usd == pytest.approx(remaining, rel=1e-6)
    assert r.stress_pnl_usd == pytest.approx(-remaining, rel=1e-6)


def test_structures_priced_together_are_each_priced_alone() -> None:
    """``structure_risks`` (legs looked up once, every move of every structure repriced in
    one call) gives each structure exactly what ``structure_risk`` gives it alone, with an
    unpriceable structure between priced ones (its moves skipped, the next aligned)."""
    view = _view()
    positions = [
        *iron_condor((4800, 4900, 5150, 5250), quantity=2),
        *iron_condor((4810, 4910, 5160, 5260)),  # 5 pts off the grid: no quote, unpriced
        pos(vix_option(20, C), 3),
        pos(vix_option(30, C), -3),
    ]
    book = recognise(positions)
    structures = [*book.income, *book.hedges]
    assert len(structures) >= 3
    together = structure_risks(structures, view, PARAMS.scenario)
    alone = [structure_risk(s, view, PARAMS.scenario) for s in structures]
    assert together == alone
    assert {r.priced for r in together} == {True, False}
    assert all(len(r.shock_pnl_usd) == len(PARAMS.scenario.shocks) for r in together if r.priced)


def test_a_structures_greeks_and_sigmas_are_its_legs_summed_one_by_one() -> None:
    """A condor's dollar greeks are its legs' (``dollar_greeks`` of each leg alone) added
    one after another from zero with ``DollarGreeks.__add__``, bit for bit; its short
    strikes' sigmas and the nearest are those of ``short_strike_sigmas`` and
    ``nearest_short_sigmas``, from one pass over the legs."""
    view = _view()
    (condor,) = recognise(iron_condor((4800, 4900, 5150, 5250), quantity=3)).income
    risk = structure_risk(condor, view, PARAMS.scenario)
    legs = condor.position_legs
    total = DollarGreeks()
    for leg in legs:
        one = dollar_greeks([leg], view)
        assert one is not None
        total = total + one
    assert risk.greeks == total
    assert short_sigma_figures(legs, view) == (
        short_strike_sigmas(legs, view),
        nearest_short_sigmas(legs, view),
    )
    assert (risk.short_strike_sigmas, risk.nearest_short_sigmas) == short_sigma_figures(legs, view)
    assert len(risk.short_strike_sigmas) == 2 and risk.nearest_short_sigmas is not None
