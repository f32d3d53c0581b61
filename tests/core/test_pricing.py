"""Black-76 pricing core against independent oracles: vollib's analytic Black, closed-form
identities (put-call parity, intrinsic limits, hand-computed least squares) and
no-arbitrage properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.models import Right
from daemon.core.params import PricingParams
from daemon.core.pricing import (
    Greeks,
    IVReason,
    black76,
    implied_forward,
    implied_vol,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from vollib.black import black as vollib_black
    from vollib.black.greeks import analytical as vollib_greeks
    from vollib.black.implied_volatility import implied_volatility as vollib_iv


def random_options(n: int, seed: int, max_sd: float = 4.0) -> dict[str, np.ndarray]:
    """F, K, T, r, sigma, call: sigma in [0.01, 3], T in [1 hour, 3 years], K within
    ``max_sd`` standard deviations (sigma sqrt(T)) of F in log terms, r in [-1%, 10%]."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(10.0, 8000.0, n)
    t = np.exp(rng.uniform(math.log(1 / 8760), math.log(3.0), n))
    sigma = rng.uniform(0.01, 3.0, n)
    k = f * np.exp(rng.uniform(-max_sd, max_sd, n) * sigma * np.sqrt(t))
    r = rng.uniform(-0.01, 0.10, n)
    call = rng.uniform(size=n) < 0.5
    return {"F": f, "K": k, "T": t, "r": r, "sigma": sigma, "call": call}


def vollib_reference(o: dict[str, np.ndarray]) -> np.ndarray:
    """vollib's price, delta, gamma, vega (per 1%), theta (per day), one option at a time."""
    functions = (
        vollib_black,
        vollib_greeks.delta,
        vollib_greeks.gamma,
        vollib_greeks.vega,
        vollib_greeks.theta,
    )
    rows = []
    for f, k, t, r, sigma, call in zip(
        o["F"], o["K"], o["T"], o["r"], o["sigma"], o["call"], strict=True
    ):
        flag = "c" if call else "p"
        rows.append([float(fn(flag, f, k, t, r, sigma)) for fn in functions])
    return np.array(rows).T


def test_black76_matches_vollib_price_and_greeks() -> None:
    """Price and all four greeks agree with vollib to 1e-9 relative on 10,000 options."""
    o = random_options(10_000, seed=1, max_sd=5.0)
    ours = black76(o["F"], o["K"], o["T"], o["r"], o["sigma"], o["call"])
    ref = vollib_reference(o)
    # Relative 1e-9, plus an absolute floor of 1e-12 of each quantity's natural scale for
    # values that are ~0 (far wings, theta crossing zero), where a relative error is noise:
    # price F USD, delta 1, gamma 1/F, vega F sqrt(T)/100, theta F/365.
    f, t = o["F"], o["T"]
    scales = (f, np.ones_like(f), 1.0 / f, f * np.sqrt(t) / 100.0, f / 365.0)
    for name, value, expected, scale in zip(Greeks._fields, ours, ref, scales, strict=True):
        tolerance = 1e-9 * np.abs(expected) + 1e-12 * scale
        worst = np.max(np.abs(value - expected) / tolerance)
        assert worst <= 1.0, f"{name}: error {worst:.3g} times the tolerance"


def test_put_call_parity_closed_form() -> None:
    """Calls and puts satisfy put-call parity in price and in every greek (closed form)."""
    # C - P = D (F - K), delta_C - delta_P = D, gamma and vega equal, theta_C - theta_P =
    # r D (F - K) / 365, with D = exp(-rT).
    o = random_options(5_000, seed=2)
    args = (o["F"], o["K"], o["T"], o["r"], o["sigma"])
    c, p = black76(*args, True), black76(*args, False)
    disc = np.exp(-o["r"] * o["T"])
    forward_value = disc * (o["F"] - o["K"])
    scale = np.maximum(o["F"], o["K"])
    np.testing.assert_allclose(c.price - p.price, forward_value, rtol=0, atol=1e-11 * scale.max())
    np.testing.assert_allclose(c.delta - p.delta, disc, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c.gamma, p.gamma, rtol=1e-14)
    np.testing.assert_allclose(c.vega, p.vega, rtol=1e-14)
    np.testing.assert_allclose(
        c.theta - p.theta, o["r"] * forward_value / 365.0, rtol=0, atol=1e-13 * scale.max()
    )


def test_black76_at_expiry_and_zero_vol_is_intrinsic() -> None:
    """At expiry or zero vol, black76 returns the intrinsic limit (T < 0 counts as expiry)."""
    # Price D max(theta (F - K), 0), delta theta D in the money (half at it, 0 out of it),
    # gamma and vega 0, theta r price / 365.
    f = np.array([110.0, 90.0, 100.0, 110.0, 90.0])
    k = 100.0
    t = np.array([0.0, 0.0, 0.0, 0.5, -1.0])
    sigma = np.array([0.2, 0.2, 0.2, 0.0, 0.2])
    r = 0.05
    disc = np.exp(-r * np.maximum(t, 0.0))
    for call, sign in ((True, 1.0), (False, -1.0)):
        g = black76(f, k, t, r, sigma, call)
        intrinsic = np.maximum(sign * (f - k), 0.0)
        itm = np.where(sign * (f - k) > 0, 1.0, np.where(f == k, 0.5, 0.0))
        np.testing.assert_allclose(g.price, disc * intrinsic, rtol=1e-15)
        np.testing.assert_allclose(g.delta, sign * disc * itm, rtol=1e-15)
        assert np.all(g.gamma == 0.0) and np.all(g.vega == 0.0)
        np.testing.assert_allclose(g.theta, r * disc * intrinsic / 365.0, rtol=1e-15)


def test_black76_right_forms_broadcast_and_reject_unknown() -> None:
    """Right enums, "C"/"P" and bools agree; inputs broadcast; bad right raises, bad number NaN."""
    strikes = np.array([[90.0], [100.0], [110.0]])
    by_enum = black76(100.0, strikes, 0.25, 0.03, 0.2, [Right.CALL, Right.PUT])
    by_text = black76(100.0, strikes, 0.25, 0.03, 0.2, ["C", "P"])
    by_bool = black76(100.0, strikes, 0.25, 0.03, 0.2, [True, False])
    assert by_enum.price.shape == (3, 2)
    for a, b, c in zip(by_enum, by_text, by_bool, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    scalar = black76(100.0, 100.0, 0.25, 0.03, 0.2, "C")
    assert scalar.price.shape == () and scalar.price > 0
    with pytest.raises(ValueError):
        black76(100.0, 100.0, 0.25, 0.03, 0.2, ["C", "X"])
    bad = black76([np.nan, -100.0, 100.0], 100.0, 0.25, 0.03, [0.2, 0.2, -0.2], "C")
    assert np.all(np.isnan(bad.price))


def test_implied_vol_round_trip_well_posed() -> None:
    """Prices from black76 give back their sigma to 1e-8, with no failure, when well posed."""
    # Well posed: sigma in [0.01, 3], T in [1 hour, 3 years], |ln(F/K)| <= 3 sigma sqrt(T).
    # Within three standard deviations the time value is at least ~1e-8 of F even at the
    # smallest sigma sqrt(T) here, so a float64 price still pins sigma down to better than
    # 1e-8; far beyond, the price rounds to (or within 1e-16 of) intrinsic and no solver
    # can recover sigma from it.
    o = random_options(20_000, seed=3, max_sd=3.0)
    price = black76(o["F"], o["K"], o["T"], o["r"], o["sigma"], o["call"]).price
    result = implied_vol(price, o["F"], o["K"], o["T"], o["r"], o["call"])
    assert np.all(result.reason == IVReason.OK)
    assert np.max(np.abs(result.sigma - o["sigma"])) < 1e-8


def test_implied_vol_matches_vollib() -> None:
    """On mid-market quotes our implied vol agrees with vollib's (Jäckel's LetsBeRational)."""
    o = random_options(300, seed=4, max_sd=2.5)
    price = black76(o["F"], o["K"], o["T"], o["r"], o["sigma"], o["call"]).price
    # Quoted prices: rounded to a cent, so the implied vol is not just the input sigma.
    quoted = np.maximum(np.round(price, 2), 0.01)
    ours = implied_vol(quoted, o["F"], o["K"], o["T"], o["r"], o["call"])
    for i in np.flatnonzero(ours.reason == IVReason.OK):
        flag = "c" if o["call"][i] else "p"
        ref = vollib_iv(quoted[i], o["F"][i], o["K"][i], o["r"][i], o["T"][i], flag)
        assert ours.sigma[i] == pytest.approx(ref, rel=1e-9, abs=1e-10)
    assert np.mean(ours.reason == IVReason.OK) > 0.9


def crafted_bad_inputs() -> tuple[list[tuple[float, float, float, float, float, object]], list]:
    """(price, F, K, T, r, right) rows and the reason each must get. D = exp(-0.04 * 0.5)."""
    d = math.exp(-0.02)
    max_price = float(black76(100.0, 100.0, 0.5, 0.04, 6.0, "C").price)  # above max_sigma=5
    rows = [
        (d * 10.0 - 0.01, 110.0, 100.0, 0.5, 0.04, "C"),  # below intrinsic (ITM call)
        (d * 10.0 - 0.01, 90.0, 100.0, 0.5, 0.04, "P"),  # below intrinsic (ITM put)
        (max_price, 100.0, 100.0, 0.5, 0.04, "C"),  # above the price at sigma = 5
        (d * 100.0 + 0.01, 100.0, 90.0, 0.5, 0.04, "C"),  # above the bound D F
        (d * 90.0, 100.0, 90.0, 0.5, 0.04, "P"),  # at the bound D K
        (5.0, 100.0, 100.0, 0.0, 0.04, "C"),  # T = 0
        (5.0, 100.0, 100.0, -0.1, 0.04, "P"),  # T < 0
        (np.nan, 100.0, 100.0, 0.5, 0.04, "C"),  # NaN price
        (-1.0, 100.0, 100.0, 0.5, 0.04, "C"),  # negative price
        (5.0, -100.0, 100.0, 0.5, 0.04, "C"),  # negative F
        (5.0, 100.0, 0.0, 0.5, 0.04, "C"),  # zero strike
        (5.0, 100.0, np.inf, 0.5, 0.04, "C"),  # infinite strike
        (5.0, 100.0, 100.0, np.nan, 0.04, "C"),  # NaN T (bad, not "no time")
        (5.0, 100.0, 100.0, 0.5, np.inf, "C"),  # infinite rate
        (5.0, 100.0, 100.0, 0.5, 0.04, "X"),  # unknown right
    ]
    reasons = [IVReason.BELOW_INTRINSIC] * 2 + [IVReason.ABOVE_MAX] * 3
    reasons += [IVReason.NO_TIME] * 2 + [IVReason.BAD_INPUT] * 8
    return rows, reasons


def test_implied_vol_reason_codes_and_isolation() -> None:
    """Each crafted bad quote gets its reason and NaN and leaves the good quotes' results as is."""
    rows, reasons = crafted_bad_inputs()
    o = random_options(len(rows) * 3, seed=5, max_sd=2.0)
    good_price = black76(o["F"], o["K"], o["T"], o["r"], o["sigma"], o["call"]).price
    good = [
        (good_price[i], o["F"][i], o["K"][i], o["T"][i], o["r"][i], "C" if o["call"][i] else "P")
        for i in range(len(good_price))
    ]
    alone = implied_vol(*(np.array(c) for c in zip(*good, strict=True)))
    mixed_rows = [row for i, bad in enumerate(rows) for row in (*good[3 * i : 3 * i + 3], bad)]
    mixed = implied_vol(*(np.array(c) for c in zip(*mixed_rows, strict=True)))
    is_bad = np.arange(len(mixed_rows)) % 4 == 3
    np.testing.assert_array_equal(mixed.reason[is_bad], reasons)
    assert np.all(np.isnan(mixed.sigma[is_bad]))
    np.testing.assert_array_equal(mixed.sigma[~is_bad], alone.sigma)
    np.testing.assert_array_equal(mixed.reason[~is_bad], alone.reason)


def test_implied_vol_at_intrinsic_is_zero() -> None:
    """A price at D times intrinsic (rounding included) or an OTM price of 0 has vol 0, OK."""
    f, k, t, r = np.array([5100.0, 4900.0, 5000.0]), 5000.0, 0.1, 0.04
    rights = np.array(["C", "P", "C"])
    at_intrinsic = np.exp(-r * t) * np.array([100.0, 100.0, 0.0])
    result = implied_vol(at_intrinsic, f, k, t, r, rights)
    np.testing.assert_array_equal(result.reason, IVReason.OK)
    np.testing.assert_array_equal(result.sigma, 0.0)
    above = implied_vol(at_intrinsic + 0.01, f, k, t, r, rights)
    assert np.all(above.reason == IVReason.OK) and np.all(above.sigma > 0)


finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=150, deadline=None)
@given(
    f=st.floats(1.0, 10_000.0, **finite),
    log_moneyness=st.floats(-1.5, 1.5, **finite),
    t=st.floats(1e-4, 5.0, **finite),
    r=st.floats(-0.02, 0.2, **finite),
    sigmas=st.lists(st.floats(0.001, 4.0, **finite), min_size=2, max_size=8),
    call=st.booleans(),
)
def test_price_monotone_in_sigma_within_no_arbitrage_bounds(
    f: float, log_moneyness: float, t: float, r: float, sigmas: list[float], call: bool
) -> None:
    """Price is monotone in sigma and within the no-arbitrage bounds, up to float rounding."""
    # Bounds: D max(theta (F - K), 0) <= price <= D F (call) or D K (put).
    k = f * math.exp(log_moneyness)
    sigma = np.sort(np.array(sigmas))
    price = black76(f, k, t, r, sigma, call).price
    disc = math.exp(-r * t)
    rounding = 1e-12 * max(f, k)
    assert np.all(np.diff(price) >= -rounding)
    intrinsic = disc * max((f - k) if call else (k - f), 0.0)
    upper = disc * (f if call else k)
    assert np.all(price >= intrinsic - rounding)
    assert np.all(price <= upper + rounding)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
            st.one_of(st.floats(-1.0, 10.0), st.just(math.nan)),
            st.one_of(st.floats(-0.1, 0.3), st.just(math.nan)),
            st.sampled_from(["C", "P", "c", "x", ""]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_implied_vol_never_raises_and_reason_matches_nan(values: list[tuple]) -> None:
    """Any floats at all: no exception, and sigma is finite exactly where reason is OK."""
    columns = [np.array(c) for c in zip(*values, strict=True)]
    result = implied_vol(*columns)
    assert result.reason.dtype == np.int8
    np.testing.assert_array_equal(np.isfinite(result.sigma), result.reason == IVReason.OK)
    assert np.all(result.sigma[result.reason == IVReason.OK] >= 0)


def parity_chain(
    forward: float, discount: float, strikes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Call and put prices with C - P = D (F - K) exactly (calls from Black-76 at 20%)."""
    call = black76(forward, strikes, 0.25, 0.04, 0.2, True).price
    return call, call - discount * (forward - strikes)


def test_implied_forward_recovers_known_forward_and_discount() -> None:
    """On exact parity prices the fit returns the F and D they were built from, residual ~0."""
    strikes = np.arange(4800.0, 5225.0, 25.0)
    forward, discount = 5012.3, math.exp(-0.05 * 0.25)  # financing rate 5%, r given as 4%
    call, put = parity_chain(forward, discount, strikes)
    fit = implied_forward(strikes, call, put, T=0.25, r=0.04)
    assert fit is not None
    assert fit.forward == pytest.approx(forward, abs=1e-8)
    assert fit.discount == pytest.approx(discount, abs=1e-12)
    assert fit.residual_usd < 1e-9
    assert fit.atm_strike == 5000.0 and fit.pairs_used == 3


def test_implied_forward_residual_shows_one_noisy_pair() -> None:
    """One noisy pair shows in the residual exactly as least squares predicts (e/3)."""
    # Noise e on the 5025 call, an end point of the 4975/5000/5025 fit, leaves residuals
    # (I - H) e with H the hat matrix (1/3 + k_i k_j / sum k^2 on centred strikes):
    # e/6, -e/3, e/6, so the reported (largest) residual is e/3.
    strikes = np.arange(4800.0, 5225.0, 25.0)
    discount = math.exp(-0.04 * 0.25)
    call, put = parity_chain(5012.3, discount, strikes)
    noise = 0.5
    call[strikes == 5025.0] += noise
    # The noise tilts the line by 0.01 in D (4 rate points at T = 0.25): a wide rate
    # guard keeps the least-squares line whose residuals this test checks.
    fit = implied_forward(strikes, call, put, T=0.25, r=0.04, max_rate_gap_frac=0.2)
    assert fit is not None and fit.pairs_used == 3
    assert fit.residual_usd == pytest.approx(noise / 3.0, abs=1e-9)


def test_implied_forward_fallbacks_and_none() -> None:
    """One usable pair or an implausible D falls back to D = exp(-rT); no usable pair is None."""
    # The fallback: F = K + (C - P)/D from the nearest pair, the others' deviations shown.
    t, r = 0.5, 0.04
    disc = math.exp(-r * t)
    strikes = np.array([4950.0, 5000.0, 5050.0])
    one = implied_forward(strikes, [np.nan, 30.0, 10.0], [60.0, 20.0, np.nan], T=t, r=r)
    assert one is not None
    assert one.discount == pytest.approx(disc, rel=1e-15)
    assert one.forward == pytest.approx(5000.0 + 10.0 / disc, rel=1e-15)
    assert one.residual_usd == 0.0 and one.pairs_used == 1
    # Two pairs whose line has slope +1 (D = -1): refused; the other pair's deviation shows.
    wild = implied_forward([5000.0, 5010.0], [12.0, 30.0], [10.0, 18.0], T=t, r=r)
    assert wild is not None and wild.discount == pytest.approx(disc, rel=1e-15)
    assert wild.forward == pytest.approx(5000.0 + 2.0 / disc, rel=1e-15)
    assert wild.residual_usd == pytest.approx(abs(12.0 - disc * (wild.forward - 5010.0)))
    assert implied_forward(strikes, [np.nan] * 3, [1.0, 2.0, 3.0], T=t, r=r) is None
    assert implied_forward([], [], [], T=t, r=r) is None


def test_implied_forward_refuses_a_rate_a_trader_would_not_accept() -> None:
    """A parity line implying a rate 5 points off r (a ~1% discount error at 75 DTE) is refused
    by default and by the configured tolerance; one within it is kept."""
    t, r = 75 / 365, 0.04
    strikes = np.array([4975.0, 5000.0, 5025.0])
    off = math.exp(-(r + 0.05) * t)  # a 9% financing rate, as bad quotes would imply
    call, put = parity_chain(5010.0, off, strikes)
    fallback = math.exp(-r * t)
    refused = implied_forward(strikes, call, put, T=t, r=r)
    assert refused is not None and refused.discount == pytest.approx(fallback, rel=1e-15)
    cfg = PricingParams().forward_rate_tolerance_frac
    refused_cfg = implied_forward(strikes, call, put, T=t, r=r, max_rate_gap_frac=cfg)
    assert refused_cfg is not None and refused_cfg.discount == pytest.approx(fallback, rel=1e-15)
    near = math.exp(-(r + 0.005) * t)  # half a rate point: kept
    call, put = parity_chain(5010.0, near, strikes)
    kept = implied_forward(strikes, call, put, T=t, r=r, max_rate_gap_frac=cfg)
    assert kept is not None and kept.discount == pytest.approx(near, rel=1e-12)
    assert kept.forward == pytest.approx(5010.0, rel=1e-12)
