"""RSI and MACD against TA-Lib, realised vol and the A/D slope against hand-computed tables.

Warm-up: on a truncated history the indicators depend on their seed. The seed's weight
decays like (13/14)^n for RSI(14) (Wilder's alpha = 1/14) and (25/27)^n for the 26-session
EMA of MACD (alpha = 2/27), the slowest recursion in either. After 300 sessions these are
2e-10 and 1e-10: times a seed error of at most ~100 RSI points or ~100 SPX points that is
below 1e-7, so 300 sessions of warm-up make a truncated history agree with TA-Lib run on
the full one to 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from daemon.core.signals.indicators import (
    InsufficientHistory,
    ad_line_slope,
    ema,
    macd,
    realised_vol_pts,
    rsi_wilder,
)

WARM_UP = 300


def random_walk(n: int, seed: int) -> np.ndarray:
    """Arithmetic random walk around 100 (TA-Lib works on any real series)."""
    rng = np.random.default_rng(seed)
    return 100.0 + np.cumsum(rng.normal(0.0, 1.0, n))


def spx_like(n: int, seed: int) -> np.ndarray:
    """A real-looking SPX path: GARCH(1,1) daily log returns with a drift, from 5800,
    with a 6-session selloff two thirds of the way through."""
    rng = np.random.default_rng(seed)
    var, returns = 1e-4, np.empty(n)
    for i in range(n):
        r = 0.0003 + math.sqrt(var) * rng.standard_normal()
        if 2 * n // 3 <= i < 2 * n // 3 + 6:
            r -= 0.02
        returns[i] = r
        var = 2e-6 + 0.09 * r * r + 0.89 * var
    return 5800.0 * np.exp(np.cumsum(returns))


SERIES = {
    "random_walk": random_walk(700, seed=11),
    "spx_like": spx_like(700, seed=5),
}


def valid(x: np.ndarray) -> np.ndarray:
    """TA-Lib pads the front with NaN; keep the defined values."""
    return x[~np.isnan(x)]


@pytest.mark.parametrize("name", sorted(SERIES))
@pytest.mark.parametrize("period", [14, 5])
def test_rsi_matches_talib_on_the_same_series(name: str, period: int) -> None:
    """On the same input, every RSI value equals TA-Lib's (same seeding)."""
    closes = SERIES[name]
    ours = rsi_wilder(closes, period)
    ref = valid(talib.RSI(closes, timeperiod=period))
    assert len(ours) == len(ref) == len(closes) - period
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SERIES))
def test_rsi_on_truncated_history_converges_after_warm_up(name: str) -> None:
    """RSI on the last 400 closes matches TA-Lib on all 700 once 300 sessions have passed."""
    closes = SERIES[name]
    ours = rsi_wilder(closes[-400:], 14)
    ref = valid(talib.RSI(closes, timeperiod=14))
    np.testing.assert_allclose(ours[WARM_UP:], ref[-len(ours) + WARM_UP :], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SERIES))
@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5)])
def test_macd_matches_talib_on_the_same_series(
    name: str, fast: int, slow: int, signal: int
) -> None:
    """On the same input, MACD line, signal and histogram equal TA-Lib's."""
    closes = SERIES[name]
    ours = macd(closes, fast, slow, signal)
    ref = talib.MACD(closes, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    for mine, theirs in zip(ours, ref, strict=True):
        theirs = valid(theirs)
        assert len(mine) == len(theirs) == len(closes) - slow - signal + 2
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SERIES))
def test_macd_on_truncated_history_converges_after_warm_up(name: str) -> None:
    """MACD(12,26,9) on the last 400 closes matches TA-Lib on all 700 after 300 sessions."""
    closes = SERIES[name]
    ours = macd(closes[-400:], 12, 26, 9)
    ref = talib.MACD(closes, fastperiod=12, slowperiod=26, signalperiod=9)
    for mine, theirs in zip(ours, ref, strict=True):
        np.testing.assert_allclose(mine[WARM_UP:], theirs[-len(mine) + WARM_UP :], atol=1e-6)


def test_ema_matches_talib() -> None:
    """The EMA (SMA-seeded) equals TA-Lib's EMA."""
    closes = SERIES["spx_like"]
    np.testing.assert_allclose(ema(closes, 26), valid(talib.EMA(closes, 26)), atol=1e-9)


def test_flat_series_rsi_is_neutral() -> None:
    """A window without any movement scores 50 (TA-Lib says 0, which reads as a crash)."""
    assert rsi_wilder(np.full(30, 5800.0), 14)[-1] == 50.0


def test_indicators_refuse_short_history() -> None:
    """A series shorter than the formula needs raises InsufficientHistory, never a value."""
    with pytest.raises(InsufficientHistory):
        rsi_wilder(np.arange(14.0) + 1, 14)  # 14 closes: 13 changes < 14
    with pytest.raises(InsufficientHistory):
        macd(np.arange(33.0) + 1, 12, 26, 9)  # needs 26 + 9 - 1 = 34
    with pytest.raises(InsufficientHistory):
        realised_vol_pts(np.ones(20), 20)  # needs 21 closes for 20 returns
    with pytest.raises(InsufficientHistory):
        ad_line_slope(np.ones(9), np.ones(9), np.ones(9), 10)
    assert len(rsi_wilder(np.arange(15.0) + 1, 14)) == 1
    assert len(macd(np.arange(34.0) + 1, 12, 26, 9).histogram) == 1


def closes_from_log_returns(returns: list[float], first: float = 100.0) -> np.ndarray:
    return first * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


# Realised vol, by hand: r_i = ln(C_i / C_{i-1}); RV = 100 * sqrt(252 * s^2),
# s^2 = sum (r_i - mean)^2 / (n - 1).
#  r = [+.01, -.01, +.01, -.01]: mean 0, s^2 = 4e-4 / 3, 252 s^2 = 0.0336 -> 18.3303 pts
#  r = [.02, 0, -.01]: mean 1/300, sum r^2 = 5e-4, minus 3 mean^2 = 1/30000 -> 4.6667e-4,
#      s^2 = 2.3333e-4, 252 s^2 = 0.0588 -> 24.2487 pts
#  r = [.005, .005, .005]: no dispersion -> 0
@pytest.mark.parametrize(
    ("returns", "window", "expected_pts"),
    [
        ([0.01, -0.01, 0.01, -0.01], 4, 18.3303),
        ([0.02, 0.0, -0.01], 3, 24.2487),
        ([0.005, 0.005, 0.005], 3, 0.0),
        # Only the last window + 1 closes count: a 50% jump before them is ignored.
        ([0.5, 0.02, 0.0, -0.01], 3, 24.2487),
    ],
)
def test_realised_vol_hand_table(returns: list[float], window: int, expected_pts: float) -> None:
    """Realised vol equals the hand-computed values (sample stdev, sqrt(252), vol points)."""
    closes = closes_from_log_returns(returns)
    assert realised_vol_pts(closes, window) == pytest.approx(expected_pts, abs=1e-4)


# A/D slope, by hand: line = running sum of (adv - dec) over the last N sessions; for
# N = 3 the least-squares slope is (y3 - y1) / 2; divided by the mean issues per session.
#  net [200, 200, 200] of 1000 issues: slope 200 -> 0.2
#  net [50, 100, -30]: line [50, 150, 120], slope 35 of 1000 -> 0.035
#  net [-100, -100, -100] of 2000 issues: -0.05
@pytest.mark.parametrize(
    ("adv", "dec", "unch", "expected"),
    [
        ([600, 600, 600], [400, 400, 400], [0, 0, 0], 0.2),
        ([500, 520, 450], [450, 420, 480], [50, 60, 70], 0.035),
        ([900, 950, 900], [1000, 1050, 1000], [100, 0, 100], -0.05),
    ],
)
def test_ad_slope_hand_table(
    adv: list[int], dec: list[int], unch: list[int], expected: float
) -> None:
    """The A/D slope per session over issues traded matches the hand-computed values."""
    assert ad_line_slope(adv, dec, unch, 3) == pytest.approx(expected, abs=1e-12)


def test_ad_slope_matches_polyfit_on_the_last_sessions() -> None:
    """Over a long random history the slope equals numpy.polyfit on the last N sessions."""
    rng = np.random.default_rng(3)
    adv = rng.integers(800, 2200, 60).astype(float)
    dec = rng.integers(800, 2200, 60).astype(float)
    unch = rng.integers(20, 120, 60).astype(float)
    line = np.cumsum(adv - dec)
    slope = np.polyfit(np.arange(10.0), line[-10:], 1)[0]
    expected = slope / np.mean((adv + dec + unch)[-10:])
    assert ad_line_slope(adv, dec, unch, 10) == pytest.approx(expected, rel=1e-9)
