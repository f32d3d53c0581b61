"""Layer 3 candidates: strikes, debits, payoffs and theta on synthetic chains vs vollib."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black
from vollib.black.greeks.analytical import delta as vollib_delta
from vollib.black.greeks.analytical import theta as vollib_theta

from daemon.core.calendar import time_to_expiry_years
from daemon.core.candidates import Candidate, LegSpec, nearest_index, priced, priced_chain
from daemon.core.families.spx_put_diagonal import (
    SPX_PUT_DIAGONAL,
    _not_held,
    find_spx_put_diagonals,
)
from daemon.core.families.vix_call_spread import (
    VIX_CALL_SPREAD,
    find_vix_call_spreads,
)
from daemon.core.market import MarketView, OptionView, build_market_view
from daemon.core.models import Action, Contract, OptionQuote, Right
from daemon.core.params import DiagonalParams, ModelParams, VixSpreadParams
from daemon.core.stress import scenario_pnl_for
from tests.core.factories import (
    HALF_SPREAD_FRAC,
    NOW,
    RATE,
    SPOT,
    SPX_EXPIRY,
    SPX_FAR_EXPIRY,
    VIX_EXPIRY,
    VIX_FUTURE,
    chain,
    quote,
    skew,
    snapshot,
    spx_forward,
    spx_option,
    standard_snapshot,
    strikes,
    vix_option,
)
from tests.core.stress_oracle import vix_shocked

PARAMS = ModelParams()
VIX_SIGMA = 0.9
SPX_VOL = skew()  # the factories' default SPX smile, sigma(K)
VIX_STRIKES = strikes(10, 50, 1)
SPX_STRIKES = strikes(4000, 6000, 25)


def vix_call_spread_candidates(
    view: MarketView, now: datetime, params: ModelParams
) -> list[Candidate]:
    """The VIX call spread family's candidates, as a list."""
    return list(find_vix_call_spreads(view, now, params).candidates)


def spx_put_diagonal_candidates(
    view: MarketView,
    now: datetime,
    condor_expiry: date | None,
    params: ModelParams,
    avoid_keys: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """The SPX put diagonal family's candidates, as a list."""
    return list(find_spx_put_diagonals(view, now, condor_expiry, params, avoid_keys).candidates)


def view_of(options_override: dict[str, OptionQuote] | None = None) -> MarketView:
    """The factories' standard market, with some option quotes replaced by key."""
    snap = standard_snapshot()
    if options_override:
        options = tuple(options_override.get(o.contract.key, o) for o in snap.options)
        snap = replace(snap, options=options)
    return build_market_view(snap, PARAMS)


def t_years(contract: Contract) -> float:
    return time_to_expiry_years(contract, NOW)


# ---- oracles: vollib on the vols the chain was built with ------------------------------------
def vix_call_delta(k: float) -> float:
    c = vix_option(k, Right.CALL)
    return float(vollib_delta("c", VIX_FUTURE, k, t_years(c), RATE, VIX_SIGMA))


def spx_put_delta(k: float, expiry: date) -> float:
    c = spx_option(k, Right.PUT, expiry)
    fwd = spx_forward(SPOT, expiry)
    return float(vollib_delta("p", fwd, k, t_years(c), RATE, SPX_VOL(k)))  # type: ignore[operator]


def nearest(grid: list[float], value_of: dict[float, float], target: float) -> float:
    return min(grid, key=lambda k: (abs(value_of[k] - target), k))


def leg_strike(c: Candidate, action: Action) -> float:
    (leg,) = [g for g in c.legs if g.action is action]
    assert leg.contract.strike is not None
    return leg.contract.strike


def central(cands: list[Candidate], long_k: float) -> Candidate:
    (found,) = [c for c in cands if leg_strike(c, Action.BUY) == long_k]
    return found


# ---- VIX call spreads ---------------------------------------------------------------------------
def test_vix_strikes_nearest_target_deltas() -> None:
    """The best pair's strikes are the ones whose vollib call delta is nearest 0.35 and 0.10."""
    deltas = {k: vix_call_delta(k) for k in VIX_STRIKES}
    long_k = nearest(VIX_STRIKES, deltas, PARAMS.vix.long_delta)
    short_k = nearest(VIX_STRIKES, deltas, PARAMS.vix.short_delta)
    cands = vix_call_spread_candidates(view_of(), NOW, PARAMS)
    best = central(cands, long_k)
    assert leg_strike(best, Action.SELL) == short_k
    assert best.kind is VIX_CALL_SPREAD and best.is_vix
    assert all(g.contract.expiry == VIX_EXPIRY and g.ratio == 1 for g in best.legs)


def test_vix_neighbours_shift_the_pair() -> None:
    """Alternatives are the best pair shifted by 1..neighbour_count strikes each way."""
    deltas = {k: vix_call_delta(k) for k in VIX_STRIKES}
    long_k = nearest(VIX_STRIKES, deltas, PARAMS.vix.long_delta)
    short_k = nearest(VIX_STRIKES, deltas, PARAMS.vix.short_delta)
    n = PARAMS.vix.neighbour_count
    expected = {(long_k + s, short_k + s) for s in range(-n, n + 1)}
    cands = vix_call_spread_candidates(view_of(), NOW, PARAMS)
    got = {(leg_strike(c, Action.BUY), leg_strike(c, Action.SELL)) for c in cands}
    assert got == expected


def test_vix_width_mode() -> None:
    """With vix.width_pts set, every short strike is its long strike plus the width."""
    params = PARAMS.model_copy(update={"vix": VixSpreadParams(width_pts=7.0)})
    cands = vix_call_spread_candidates(view_of(), NOW, params)
    assert len(cands) == 2 * params.vix.neighbour_count + 1
    for c in cands:
        assert leg_strike(c, Action.SELL) == leg_strike(c, Action.BUY) + 7.0


def test_vix_money_matches_closed_form() -> None:
    """Debit, natural debit, stress payoff and theta of a spread equal vollib's Black-76 values."""
    deltas = {k: vix_call_delta(k) for k in VIX_STRIKES}
    k1 = nearest(VIX_STRIKES, deltas, PARAMS.vix.long_delta)
    k2 = nearest(VIX_STRIKES, deltas, PARAMS.vix.short_delta)
    best = central(vix_call_spread_candidates(view_of(), NOW, PARAMS), k1)
    t = t_years(vix_option(k1))
    dte = (VIX_EXPIRY - NOW.date()).days
    shocked, sigma_after = vix_shocked(VIX_FUTURE, VIX_SIGMA, dte, PARAMS.scenario)

    def px(f: float, k: float, sigma: float = VIX_SIGMA) -> float:
        return float(black("c", f, k, t, RATE, sigma))

    mid1, mid2 = px(VIX_FUTURE, k1), px(VIX_FUTURE, k2)
    assert best.debit_usd == pytest.approx(100 * (mid1 - mid2), rel=1e-7)
    natural = 100 * (mid1 * (1 + HALF_SPREAD_FRAC) - mid2 * (1 - HALF_SPREAD_FRAC))
    assert best.natural_debit_usd == pytest.approx(natural, rel=1e-7)
    payoff = 100 * ((px(shocked, k1, sigma_after) - mid1) - (px(shocked, k2, sigma_after) - mid2))
    assert best.payoff_usd == pytest.approx(payoff, rel=1e-6)
    theta = 100 * (
        vollib_theta("c", VIX_FUTURE, k1, t, RATE, VIX_SIGMA)
        - vollib_theta("c", VIX_FUTURE, k2, t, RATE, VIX_SIGMA)
    )
    assert best.theta_usd_per_day == pytest.approx(theta, rel=1e-6)
    assert best.dte_days == (VIX_EXPIRY - NOW.date()).days


def test_vix_expiry_too_near() -> None:
    """With vix.min_dte_days beyond the only VIX expiry there are no candidates, and a reason."""
    params = PARAMS.model_copy(update={"vix": VixSpreadParams(min_dte_days=60)})
    found = find_vix_call_spreads(view_of(), NOW, params)
    assert found.candidates == ()
    assert any("DTE >= 60" in note for note in found.notes)


def test_vix_bad_quote_skips_pair() -> None:
    """A crossed quote on the best pair's short leg drops that pair only, with a note."""
    deltas = {k: vix_call_delta(k) for k in VIX_STRIKES}
    k1 = nearest(VIX_STRIKES, deltas, PARAMS.vix.long_delta)
    k2 = nearest(VIX_STRIKES, deltas, PARAMS.vix.short_delta)
    bad = vix_option(k2, Right.CALL)
    view = view_of({bad.key: OptionQuote(bad, quote(1.0, 0.5))})
    found = find_vix_call_spreads(view, NOW, PARAMS)
    pairs = {(leg_strike(c, Action.BUY), leg_strike(c, Action.SELL)) for c in found.candidates}
    assert (k1, k2) not in pairs
    assert len(pairs) == 2 * PARAMS.vix.neighbour_count
    assert any(bad.key in note for note in found.notes)


# ---- SPX put diagonals --------------------------------------------------------------------------
def test_diagonal_strikes_and_expiries() -> None:
    """Long put nearest delta -0.20 at the 60-90 DTE expiry; short 1% of spot (50 pts) lower at
    the condor's."""
    deltas = {k: spx_put_delta(k, SPX_FAR_EXPIRY) for k in SPX_STRIKES}
    long_k = nearest(SPX_STRIKES, deltas, PARAMS.diagonal.long_delta)
    cands = spx_put_diagonal_candidates(view_of(), NOW, SPX_EXPIRY, PARAMS)
    best = central(cands, long_k)
    legs = {g.action: g for g in best.legs}
    assert legs[Action.BUY].contract.expiry == SPX_FAR_EXPIRY
    assert legs[Action.SELL].contract.expiry == SPX_EXPIRY
    assert leg_strike(best, Action.SELL) == long_k - PARAMS.diagonal.short_offset_frac * SPOT
    assert not best.is_vix and best.kind is SPX_PUT_DIAGONAL
    assert best.dte_days == (SPX_EXPIRY - NOW.date()).days
    assert len(cands) == 2 * PARAMS.diagonal.neighbour_count + 1


@pytest.mark.parametrize("spot", [700.0, 7000.0])
def test_diagonal_short_offset_is_a_fraction_of_spot(spot: float) -> None:
    """The short strike sits 1% of spot below the long at any index level (7 points at SPX
    700, 70 at 7,000), never a fixed 50 index points."""
    vol = skew(slope_per_pt=-0.00015 * SPOT / spot, spot=spot)
    grid = strikes(0.8 * spot, 1.1 * spot, spot / 1000)
    options = [
        q for e in (SPX_EXPIRY, SPX_FAR_EXPIRY) for q in chain(grid, spx_forward(spot, e), vol, e)
    ]
    view = build_market_view(snapshot(spx=spot, options=options), PARAMS)
    deltas = {k: spx_put_delta_at(k, SPX_FAR_EXPIRY, spot, vol) for k in grid}
    long_k = nearest(grid, deltas, PARAMS.diagonal.long_delta)
    best = central(spx_put_diagonal_candidates(view, NOW, SPX_EXPIRY, PARAMS), long_k)
    assert leg_strike(best, Action.SELL) == pytest.approx(long_k - 0.01 * spot)


def spx_put_delta_at(k: float, expiry: date, spot: float, vol: object) -> float:
    c = spx_option(k, Right.PUT, expiry)
    sigma = vol(k)  # type: ignore[operator]
    return float(vollib_delta("p", spx_forward(spot, expiry), k, t_years(c), RATE, sigma))


def test_diagonal_never_uses_a_contract_the_income_book_holds() -> None:
    """A short strike the condor holds (its long wing) is skipped for the next one down."""
    deltas = {k: spx_put_delta(k, SPX_FAR_EXPIRY) for k in SPX_STRIKES}
    long_k = nearest(SPX_STRIKES, deltas, PARAMS.diagonal.long_delta)
    wing = spx_option(long_k - PARAMS.diagonal.short_offset_frac * SPOT, Right.PUT, SPX_EXPIRY)
    cands = spx_put_diagonal_candidates(
        view_of(), NOW, SPX_EXPIRY, PARAMS, avoid_keys=frozenset({wing.key})
    )
    assert cands
    assert all(leg.contract.key != wing.key for c in cands for leg in c.legs)
    best = central(cands, long_k)
    # The grid is every 25 points: the nearest strike left is one step further down.
    assert leg_strike(best, Action.SELL) == long_k - PARAMS.diagonal.short_offset_frac * SPOT - 25


def test_diagonal_payoff_matches_closed_form() -> None:
    """The diagonal's stress payoff equals vollib repricing at F x 0.93 and IV + beta x 15 pts."""
    deltas = {k: spx_put_delta(k, SPX_FAR_EXPIRY) for k in SPX_STRIKES}
    long_k = nearest(SPX_STRIKES, deltas, PARAMS.diagonal.long_delta)
    short_k = long_k - PARAMS.diagonal.short_offset_frac * SPOT
    best = central(spx_put_diagonal_candidates(view_of(), NOW, SPX_EXPIRY, PARAMS), long_k)
    s = PARAMS.scenario

    def pnl(k: float, expiry: date) -> float:
        fwd = spx_forward(SPOT, expiry)
        t = t_years(spx_option(k, Right.PUT, expiry))
        dte = (expiry - NOW.date()).days
        beta = min(max(math.sqrt(s.vol_beta_ref_dte_days / dte), s.vol_beta_min), s.vol_beta_max)
        sigma = SPX_VOL(k)  # type: ignore[operator]
        after = black("p", fwd * (1 + s.spx_move_frac), k, t, RATE, sigma + beta * 0.15)
        return float(after - black("p", fwd, k, t, RATE, sigma))

    expected = 100 * (pnl(long_k, SPX_FAR_EXPIRY) - pnl(short_k, SPX_EXPIRY))
    # The view recovers the forward from parity and the vol by inversion: both ~1e-9.
    assert best.payoff_usd == pytest.approx(expected, rel=1e-5)
    assert best.payoff_usd > 0


def test_diagonal_needs_condor_expiry() -> None:
    """Without a condor expiry there is no short leg to place: no diagonals, with a reason."""
    found = find_spx_put_diagonals(view_of(), NOW, None, PARAMS)
    assert found.candidates == () and found.notes


def test_diagonal_no_long_expiry_in_window() -> None:
    """A long-DTE window that no listed expiry falls in gives no diagonals, with a reason."""
    params = PARAMS.model_copy(
        update={"diagonal": DiagonalParams(long_dte_min_days=100, long_dte_max_days=120)}
    )
    found = find_spx_put_diagonals(view_of(), NOW, SPX_EXPIRY, params)
    assert found.candidates == ()
    assert any("[100, 120]" in note for note in found.notes)


def test_candidate_keys_are_stable_and_leg_based() -> None:
    """Two builds of the same market give the same keys; a key names every leg's contract."""
    one = vix_call_spread_candidates(view_of(), NOW, PARAMS)
    two = vix_call_spread_candidates(view_of(), NOW, PARAMS)
    assert [c.key for c in one] == [c.key for c in two]
    for c in one:
        assert all(g.contract.key in c.key for g in c.legs)


def test_legspec_rejects_zero_ratio() -> None:
    """A leg ratio must be positive."""
    with pytest.raises(ValueError):
        LegSpec(vix_option(20.0), 0, Action.BUY)


def test_now_is_an_argument() -> None:
    """Building later (fewer days left) changes DTE accordingly: time comes from ``now``."""
    later = datetime(2026, 3, 9, 11, 0, tzinfo=NOW.tzinfo)
    snap = standard_snapshot(now=later)
    cands = vix_call_spread_candidates(build_market_view(snap, PARAMS), later, PARAMS)
    assert cands and all(c.dte_days == (VIX_EXPIRY - later.date()).days for c in cands)


def _bare_view(contract: Contract) -> OptionView:
    """A view that carries only its contract (the filter reads nothing else)."""
    return OptionView(contract, None, None, None, None, None, None, 0.1, 1.0, 0.0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["SPX", "SPXW"]),
            st.sampled_from([SPX_EXPIRY, SPX_FAR_EXPIRY]),
            st.sampled_from([4800.0, 4812.5, 4900.0, 5000.0]),
            st.sampled_from([Right.PUT, Right.CALL]),
        ),
        max_size=8,
    ),
    st.lists(st.integers(0, 7), max_size=3),
    st.lists(
        st.tuples(st.sampled_from(["SPX", "SPXW"]), st.sampled_from([4800.0, 4850.0])),
        max_size=2,
    ),
)
def test_skipping_held_contracts_is_the_plain_key_filter(
    legs: list[tuple[str, date, float, Right]],
    held: list[int],
    elsewhere: list[tuple[str, float]],
) -> None:
    """``_not_held`` (which formats no key when no avoided key shares a chain's class and
    expiry) keeps exactly the views whose ``Contract.key`` is not avoided, in order:
    avoided keys from the chain itself, from another expiry, or none."""
    views = [_bare_view(spx_option(k, r, e, tc)) for tc, e, k, r in legs]
    other = date(2026, 6, 18)
    avoid = frozenset(
        [views[i].contract.key for i in held if i < len(views)]
        + [spx_option(k, Right.PUT, other, tc).key for tc, k in elsewhere]
    )
    want = [v for v in views if v.contract.key not in avoid]
    assert _not_held(views, avoid) == want


def test_a_chains_priced_options_need_no_second_sort() -> None:
    """``priced_chain`` (no sort) lists what ``priced`` (sorted by strike) lists, in the
    same order, for every chain of the view and both rights: the chain is already in
    (strike, right) order. A shuffled chain shows the sort ``priced`` keeps is real."""
    view = view_of()
    seen = 0
    for e in view.expiry_views:
        for right in (Right.PUT, Right.CALL):
            want = priced(view.chain(e.trading_class, e.expiry), right)
            assert priced_chain(view, e.trading_class, e.expiry, right) == want
            seen += len(want)
    assert seen > 100
    chain = view.chain("SPXW", SPX_EXPIRY)
    assert priced(chain[::-1], Right.PUT) == priced(chain, Right.PUT)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([0.0, -0.0, 0.25, -0.25, 0.5, math.nan, math.inf, -math.inf]),
            st.floats(-2.0, 2.0, allow_nan=False),
        ),
        min_size=1,
        max_size=12,
    ),
    st.one_of(st.sampled_from([0.0, 0.25, -0.25, math.nan]), st.floats(-2.0, 2.0)),
)
def test_nearest_index_is_the_min_over_distance_and_index(
    values: list[float], target: float
) -> None:
    """The nearest value's index is ``min``'s over (distance, index) keys, the construction
    it replaced: ties to the first, NaN distances and infinities included."""
    want = min(range(len(values)), key=lambda i: (abs(values[i] - target), i))
    assert nearest_index(values, target) == want


def test_nearest_index_of_nothing_raises_as_min_did() -> None:
    """An empty list has no nearest value: ValueError, as ``min`` of nothing raised."""
    with pytest.raises(ValueError):
        nearest_index([], 0.25)


def test_collect_pairs_each_unit_with_its_own_legs_and_payoff() -> None:
    """``collect`` builds each pair's legs once for its stress job and its unit: with a
    pair left out for a bad quote among the others, every candidate is one long bought
    and one short sold, and its payoff is, bit for bit, ``scenario_pnl_for`` of those
    legs priced alone (so the units and the batched payoffs stay in step)."""
    deltas = {k: vix_call_delta(k) for k in VIX_STRIKES}
    k2 = nearest(VIX_STRIKES, deltas, PARAMS.vix.short_delta)
    bad = vix_option(k2, Right.CALL)
    view = view_of({bad.key: OptionQuote(bad, quote(1.0, 0.5))})
    found = find_vix_call_spreads(view, NOW, PARAMS)
    assert found.notes and len(found.candidates) == 2 * PARAMS.vix.neighbour_count
    for c in found.candidates:
        assert [(leg.ratio, leg.action) for leg in c.legs] == [(1, Action.BUY), (1, Action.SELL)]
        legs = [(leg.contract, leg.signed_ratio) for leg in c.legs]
        assert c.payoff_usd == scenario_pnl_for(legs, view, PARAMS.scenario)
