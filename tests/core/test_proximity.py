"""The proximity signal's raw value: the nearest short strike from spot in ATM sigmas."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.calendar import time_to_expiry_years
from daemon.core.cycle_inputs import nearest_short_distance
from daemon.core.market import build_market_view
from daemon.core.models import Right
from daemon.core.params import ModelParams
from daemon.core.recognition import recognise
from daemon.core.signals import SignalInputs, UnavailableReason, compute_signals
from daemon.core.signals.book import atm_iv_sigma, short_strike_distance
from tests.core.factories import (
    NOW,
    SPOT,
    SPX_EXPIRY,
    chain,
    iron_condor,
    pos,
    skew,
    snapshot,
    spx_forward,
    spx_option,
    standard_snapshot,
    strikes,
)

P, C = Right.PUT, Right.CALL


def test_distance_by_hand() -> None:
    """ln(S/K) / (sigma sqrt T) for a put, ln(K/S) / (sigma sqrt T) for a call."""
    t, sigma = 0.09, 0.16
    put = short_strike_distance(4650.0, P, 5000.0, sigma, t)
    call = short_strike_distance(5200.0, C, 5000.0, sigma, t)
    assert put == pytest.approx(math.log(5000 / 4650) / (0.16 * 0.3), rel=1e-12)
    assert call == pytest.approx(math.log(5200 / 5000) / (0.16 * 0.3), rel=1e-12)
    # Spot below the short put: breached, negative.
    breached = short_strike_distance(4650.0, P, 4600.0, sigma, t)
    assert breached == pytest.approx(math.log(4600 / 4650) / 0.048, rel=1e-12)
    assert short_strike_distance(4650.0, P, 5000.0, sigma, 0.0) is None
    assert short_strike_distance(4650.0, P, 5000.0, math.nan, t) is None


@given(
    k_frac=st.floats(0.5, 0.999),
    spot=st.floats(100.0, 10_000.0),
    scale=st.floats(0.1, 10.0),
    move=st.floats(0.001, 0.2),
)
def test_distance_is_scale_free_and_shrinks_as_spot_nears(
    k_frac: float, spot: float, scale: float, move: float
) -> None:
    """Scaling strike and spot together leaves it unchanged; spot falling towards a
    short put shortens it."""
    k = k_frac * spot
    base = short_strike_distance(k, P, spot, 0.2, 0.1)
    scaled = short_strike_distance(k * scale, P, spot * scale, 0.2, 0.1)
    nearer = short_strike_distance(k, P, spot * (1 - move), 0.2, 0.1)
    assert base is not None and scaled is not None and nearer is not None
    assert scaled == pytest.approx(base, rel=1e-9, abs=1e-9)
    assert nearer < base


def test_atm_iv_uses_the_out_of_the_money_side() -> None:
    """Puts at or below the forward, calls at or above (averaged where both), linear in
    strike; an in-the-money quote is ignored; no extrapolation."""
    ks = [4900.0, 4900.0, 5000.0, 5000.0, 5100.0, 5100.0]
    rights = [P, C, P, C, P, C]
    ivs = [0.20, 0.50, 0.18, 0.17, 0.90, 0.15]  # 4900 C and 5100 P are in the money
    assert atm_iv_sigma(ks, rights, ivs, 5000.0) == pytest.approx(0.175)
    # F = 5050: the 5000 put (0.18) and the 5100 call (0.15), halfway.
    assert atm_iv_sigma(ks, rights, ivs, 5050.0) == pytest.approx(0.165)
    assert atm_iv_sigma(ks, rights, ivs, 5200.0) is None
    assert atm_iv_sigma(ks[:2], rights[:2], ivs[:2], 5000.0) is None


def test_condor_measured_from_spot_with_the_atm_vol() -> None:
    """On a skewed chain the nearest short strike is read with the smile's vol at the
    forward and from spot, not with the strike's own vol from the forward."""
    smile = skew(atm_sigma=0.18, slope_per_pt=-0.00015)
    legs = iron_condor((4500, 4700, 5200, 5400), quantity=2)
    snap = standard_snapshot(positions=legs, spx_vol=smile)
    view = build_market_view(snap, ModelParams())
    got = nearest_short_distance(recognise(snap.positions), view)
    forward = spx_forward(SPOT, SPX_EXPIRY)
    t = time_to_expiry_years(spx_option(4700, P), NOW)
    atm = smile(forward)  # linear smile: interpolation at the forward is exact
    put = math.log(SPOT / 4700) / (atm * math.sqrt(t))
    call = math.log(5200 / SPOT) / (atm * math.sqrt(t))
    assert got == pytest.approx(min(put, call), rel=1e-6)
    own_iv_put = math.log(forward / 4700) / (smile(4700) * math.sqrt(t))
    assert abs(put - own_iv_put) > 0.05  # the old reading differed materially


def test_no_atm_vol_is_not_a_number_rather_than_no_positions() -> None:
    """Short strikes whose expiry has no quotes on both sides of the forward give NaN,
    and the signal reports it as a number it could not compute."""
    low = strikes(4400, 4900, 25)  # all below the forward: no ATM bracket
    quotes = chain(low, spx_forward(), 0.2)
    positions = [pos(spx_option(4500, P), 1), pos(spx_option(4600, P), -1)]
    snap = snapshot(positions=positions, options=quotes)
    view = build_market_view(snap, ModelParams())
    value = nearest_short_distance(recognise(snap.positions), view)
    assert value is not None and math.isnan(value)
    assert nearest_short_distance(recognise([]), view) is None
    inputs = SignalInputs(today=NOW.date(), nearest_short_sigmas=value)
    (reading,) = [
        r for r in compute_signals(inputs, ModelParams().signals) if r.name == "proximity"
    ]
    assert reading.unavailable is UnavailableReason.NOT_A_NUMBER
