"""The stress set: the tail measured from the current mark within the remaining max loss,
the worst of several moves, the VIX-future beta table and the near-max-loss rule, checked
against hand-computed values and an independent Black-76 (vollib)."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black as vollib_black

from daemon.core.calendar import time_to_expiry_years
from daemon.core.evaluate import CycleStatus, evaluate
from daemon.core.market import MarketView, build_market_view
from daemon.core.models import MarketSnapshot, OptionQuote, Position, Quote, Right
from daemon.core.params import (
    BudgetParams,
    ModelParams,
    OverlayParams,
    ScenarioParams,
    ShockParams,
)
from daemon.core.pricing import black76
from daemon.core.proposal import AdjustmentAction
from daemon.core.recognition import recognise
from daemon.core.risk import (
    book_risk,
    remaining_max_loss_usd,
    scenario_pnl,
    scenario_pnls,
    vix_future_beta,
)
from daemon.core.stress import leg_views, priced_pnls, vol_beta
from daemon.core.structures import Leg
from tests.core.factories import (
    NOW,
    RATE,
    SPX_EXPIRY,
    SPX_FAR_EXPIRY,
    pos,
    skew,
    spx_forward,
    spx_option,
    standard_snapshot,
    vix_option,
)
from tests.core.test_evaluate import Market, base_snapshot, build
from tests.core.test_evaluate import _filled as filled

PARAMS = ModelParams()
P, C = Right.PUT, Right.CALL
DTE = (SPX_EXPIRY - NOW.date()).days  # 46 calendar days
BETA = min(max(math.sqrt(30 / DTE), 0.3), 1.5)  # the per-leg vol beta at 46 DTE


@cache
def _view() -> MarketView:
    return build_market_view(standard_snapshot(), PARAMS)


def _px(k: float, right: Right, move: float = 0.0, vol_pts: float = 0.0) -> float:
    """vollib's Black-76 price of the SPX_EXPIRY option after a move and a vol shift."""
    f = spx_forward()
    t = time_to_expiry_years(spx_option(k, right), NOW)
    sigma = skew()(k) + BETA * vol_pts / 100  # type: ignore[operator]
    flag = "p" if right is P else "c"
    return float(vollib_black(flag, f * (1 + move), k, t, RATE, sigma))


def _spread(
    short_k: float, long_k: float, right: Right, costs: tuple[float, float]
) -> list[Position]:
    return [
        pos(spx_option(short_k, right), -1, costs[0]),
        pos(spx_option(long_k, right), 1, costs[1]),
    ]


def test_credit_large_against_width_is_measured_from_the_mark() -> None:
    """A 25-wide put spread sold for 24.00 (max loss from entry 100 USD) can still lose what
    its mark leaves: the crash loss is the full repricing, beyond the entry max loss, and
    within width x 100 + mark."""
    (r,) = book_risk(recognise(_spread(4900, 4875, P, (2450.0, 50.0))), _view(), PARAMS).income
    assert r.credit_usd == pytest.approx(2400.0) and r.max_loss_usd == pytest.approx(100.0)
    mark = -100 * (_px(4900, P) - _px(4875, P))
    assert r.mark_usd == pytest.approx(mark, rel=1e-6)
    assert r.remaining_max_loss_usd == pytest.approx(2500 + mark, rel=1e-6)
    crash = -100 * (
        (_px(4900, P, -0.07, 15) - _px(4900, P)) - (_px(4875, P, -0.07, 15) - _px(4875, P))
    )
    assert r.stress_pnl_usd == pytest.approx(crash, rel=1e-6)
    assert crash < -r.max_loss_usd  # the old cap from entry would have said -100
    assert crash >= -r.remaining_max_loss_usd


def test_remaining_max_loss_by_hand() -> None:
    """Remaining max loss = widest wing x 100 x units + signed mark (floored at 0); a VIX
    call spread's is its mark; a diagonal has none."""
    condor = recognise(
        [
            pos(spx_option(4800, P), 2),
            pos(spx_option(4900, P), -2),
            pos(spx_option(5100, C), -2),
            pos(spx_option(5150, C), 2),
        ]
    ).income[0]
    # Widest wing 100 points x 100 x 2 units = 20,000 USD; a mark of -12,345 leaves 7,655.
    assert remaining_max_loss_usd(condor, -12_345.0) == pytest.approx(7_655.0)
    assert remaining_max_loss_usd(condor, -25_000.0) == 0.0


def test_the_rally_move_binds_for_a_call_side_book() -> None:
    """A call spread 2% out of the money loses most in the rally with a vol crush (+6%, VIX
    -6.5): that move sets the tail, by full repricing."""
    book = recognise(_spread(5100, 5125, C, (100 * _px(5100, C), 100 * _px(5125, C))))
    risk = book_risk(book, _view(), PARAMS)
    (r,) = risk.income
    assert risk.binding_shock == "up_vol_crush"
    rally = -100 * (
        (_px(5100, C, 0.06, -6.5) - _px(5100, C)) - (_px(5125, C, 0.06, -6.5) - _px(5125, C))
    )
    assert risk.tail_loss_usd == pytest.approx(rally, rel=1e-6)
    assert r.stress_pnl_usd == pytest.approx(rally, rel=1e-6)
    assert risk.shock_tail_losses_usd["down_vol_spike"] == 0.0  # a call spread gains there
    assert risk.shock_tail_losses_usd["up_vol_crush"] < 0


def test_hedges_are_valued_in_the_crash_even_when_the_rally_binds() -> None:
    """With the rally setting the tail, a held VIX call spread still counts its payoff in
    the down move (the move it is for), not its loss in the rally."""
    calls = _spread(5100, 5125, C, (100 * _px(5100, C), 100 * _px(5125, C)))
    hedge = [pos(vix_option(20, C), 2, 300.0), pos(vix_option(30, C), -2, 50.0)]
    risk = book_risk(recognise(calls + hedge), _view(), PARAMS)
    (h,) = risk.hedges
    assert risk.binding_shock == "up_vol_crush"
    assert h.shock_pnl_usd["up_vol_crush"] < 0 < h.shock_pnl_usd["down_vol_spike"]
    assert risk.hedge_payoff_usd == h.stress_pnl_usd == h.shock_pnl_usd["down_vol_spike"]


def test_vix_future_beta_table_reads_linearly_and_flat_beyond() -> None:
    """beta(DTE): the table's values at its breakpoints, linear between, flat beyond."""
    sc = ScenarioParams(vix_future_beta_by_dte=((20.0, 0.7), (50.0, 0.4), (200.0, 0.25)))
    assert vix_future_beta(20, sc) == pytest.approx(0.7)
    assert vix_future_beta(35, sc) == pytest.approx(0.55)  # halfway from 0.7 to 0.4
    assert vix_future_beta(125, sc) == pytest.approx(0.325)
    assert vix_future_beta(3, sc) == pytest.approx(0.7)
    assert vix_future_beta(400, sc) == pytest.approx(0.25)


def test_default_beta_table_falls_with_dte() -> None:
    """The fitted default: a front future follows spot VIX more than a far one, all < 1."""
    betas = [b for _, b in PARAMS.scenario.vix_future_beta_by_dte]
    assert all(0 < b < 1 for b in betas)
    assert betas == sorted(betas, reverse=True)


def test_a_book_near_max_loss_says_its_hedges_are_kept() -> None:
    """A put spread deep in the money (lost 99% of its max loss) is near max loss; the
    book says why its hedges are kept; a fresh spread is not."""
    deep = recognise(_spread(5300, 5275, P, (400.0, 100.0)))
    risk = book_risk(deep, _view(), PARAMS)
    mark = -100 * (_px(5300, P) - _px(5275, P))
    lost = (-mark - 300.0) / 2200.0
    assert risk.lost_frac == pytest.approx(lost, rel=1e-6) and lost > 0.75
    assert risk.near_max_loss
    assert risk.hedge_hold_reason is not None and "near max loss" in risk.hedge_hold_reason
    fresh = _spread(4900, 4875, P, (100 * _px(4900, P), 100 * _px(4875, P)))
    calm = book_risk(recognise(fresh), _view(), PARAMS)
    assert calm.lost_frac == pytest.approx(0.0, abs=1e-6)
    assert not calm.near_max_loss and calm.hedge_hold_reason is None


# ---- the near-max-loss rule, through a whole cycle ------------------------------------------
def _crashed(snapshot: MarketSnapshot, m: Market) -> MarketSnapshot:
    """``snapshot``'s positions in the market ``m``: every held contract quoted there."""
    crashed = build(m, positions=list(snapshot.positions))
    quoted = {q.contract.key for q in crashed.options}
    extra = []
    for p in snapshot.positions:
        c = p.contract
        if c.key in quoted:
            continue
        mid = (
            m.vix_mid(c.strike or 0.0, c.right or C, NOW)
            if c.symbol == "VIX"
            else m.spx_mid(c, NOW)
        )
        extra.append(OptionQuote(c, Quote(mid * 0.99, mid * 1.01, NOW)))
    return replace(crashed, options=crashed.options + tuple(extra))


def test_hedges_are_kept_when_the_book_is_near_max_loss() -> None:
    """After a crash through the condors' put wings the target falls toward 0, yet no hedge
    is sold into the spike: the cycle says the hedges are kept, and why. With the rule
    off (threshold 1.0) the same cycle would shed them."""
    roomy = PARAMS.model_copy(
        update={
            "budget": BudgetParams(max_debit_fraction=5.0, max_theta_fraction=5.0),
            "overlay": OverlayParams(mix_tolerance_frac=1.0),
        }
    )
    first = evaluate(base_snapshot(), None, roomy, NOW)
    hedged = filled(base_snapshot(), first)
    assert any(p.contract.symbol == "VIX" for p in hedged.positions)
    crash = _crashed(hedged, Market(spot=3900.0, vix=45.0, vix3m=38.0, vix_future=36.0))
    result = evaluate(crash, None, roomy, NOW)
    assert result.status is CycleStatus.OK, result.reason
    assert result.risk is not None and result.risk.near_max_loss
    assert "hedges kept" in result.reason
    shed = {AdjustmentAction.REDUCE, AdjustmentAction.CLOSE}
    assert not shed & {a.action for a in result.adjustments}
    assert result.proposal is not None
    assert any("near max loss" in n for n in result.proposal.notes)
    off = roomy.model_copy(
        update={"scenario": roomy.scenario.model_copy(update={"near_max_loss_lost_frac": 1.0})}
    )
    sold = evaluate(crash, None, off, NOW)
    assert shed & {a.action for a in sold.adjustments}


def test_batched_stress_repricing_is_each_job_priced_alone() -> None:
    """``scenario_pnls`` (every job in one Black-76 call) gives, job by job and bit for
    bit, what ``scenario_pnl`` gives the job alone, in order: SPX and VIX legs, every move
    of the stress set, an empty job (0.0) and one with an unquoted leg (None)."""
    view = _view()
    sc = PARAMS.scenario
    spx = [Leg(spx_option(4800, P), -2), Leg(spx_option(4700, P), 2)]
    vix = [Leg(vix_option(20, C), 1), Leg(vix_option(30, C), -1)]
    missing = [Leg(spx_option(4812.5, P), 1)]
    assert view.option(missing[0].contract) is None
    jobs: list[tuple[list[Leg], ShockParams | None]] = [
        (legs, move) for legs in (spx, vix, spx + vix, [], missing) for move in (None, *sc.shocks)
    ]
    batched = scenario_pnls(jobs, view, sc)
    alone = [scenario_pnl(legs, view, sc, move) for legs, move in jobs]
    assert batched == alone  # floats compared exactly
    assert all(isinstance(x, float) and x != 0.0 for x in batched[: 3 * (1 + len(sc.shocks))])
    assert set(batched[-2 * (1 + len(sc.shocks)) :]) == {0.0, None}


def test_a_batch_sharing_expiries_is_each_leg_repriced_alone() -> None:
    """``priced_pnls`` on legs at two SPX expiries and the VIX one, interleaved (each leg
    takes its expiry's beta once worked out for the call), equals, bit for bit, each leg
    repriced on its own by one-element Black-76 calls with the beta of its own DTE and
    the per-leg P&L summed exactly (``math.fsum``)."""
    view = _view()
    sc = PARAMS.scenario
    legs = [
        Leg(spx_option(4800, P), -2),
        Leg(spx_option(4700, P, SPX_FAR_EXPIRY), 3),
        Leg(vix_option(20, C), 1),
        Leg(spx_option(4750, P), 1),
        Leg(spx_option(4900, C, SPX_FAR_EXPIRY), -1),
        Leg(vix_option(30, C), -1),
    ]
    jobs = [(legs[:3], None), (legs[3:], None), (legs, sc.shocks[-1])]
    got = priced_pnls([(j, leg_views(j, view), m) for j, m in jobs], view, sc)

    def alone(leg: Leg, move: ShockParams) -> float:
        ov = view.option(leg.contract)
        assert ov is not None and ov.underlying_price is not None and ov.iv_sigma is not None
        f, sigma, c = ov.underlying_price, ov.iv_sigma, leg.contract
        assert c.expiry is not None
        dte = (c.expiry - NOW.date()).days
        if c.symbol == "SPX":
            f2 = f * (1.0 + move.spx_move_frac)
            s2 = max(0.01, sigma + vol_beta(dte, sc) * move.vix_spot_shock_pts / 100)
        else:
            f2 = max(0.01, f + vix_future_beta(dte, sc) * move.vix_spot_shock_pts)
            s2 = max(0.01, sigma + move.vix_option_vol_shock_pts / 100)
        args = (c.strike, ov.t_years, ov.rate_frac)

        def px(fwd: float, vol: float) -> float:
            return float(black76([fwd], [args[0]], [args[1]], [args[2]], [vol], [c.right]).price[0])

        return float(leg.quantity * c.multiplier) * (px(f2, s2) - px(f, sigma))

    want = [math.fsum(alone(leg, sc.hedge_shock if m is None else m) for leg in j) for j, m in jobs]
    assert got == want  # floats compared exactly
    assert all(x != 0.0 for x in got)


_POOL = (
    Leg(spx_option(4800, P), -2),
    Leg(spx_option(4700, P, SPX_FAR_EXPIRY), 3),
    Leg(spx_option(4800, P), 1),
    Leg(vix_option(20, C), 1),
    Leg(vix_option(30, C), -1),
    Leg(spx_option(4812.5, P), 1),  # not quoted: its job is None
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_POOL), max_size=4),
            st.sampled_from((None, *PARAMS.scenario.shocks)),
        ),
        max_size=8,
    )
)
def test_a_batch_sharing_legs_is_each_job_priced_alone(
    jobs: list[tuple[list[Leg], ShockParams | None]],
) -> None:
    """Jobs that share option views (one leg in many jobs, twice in one job, under one
    move or several), each leg repriced once per (view, move), give bit for bit what
    ``scenario_pnl`` gives each job priced alone."""
    view = _view()
    sc = PARAMS.scenario
    assert scenario_pnls(jobs, view, sc) == [scenario_pnl(j, view, sc, m) for j, m in jobs]
