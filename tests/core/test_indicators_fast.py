"""The signals' fast indicator paths equal the general constructions bit for bit.

``rsi_last`` and ``macd_histogram_tail`` keep only what the RSI and MACD signals read; the
oracle is the general path (``rsi_wilder``, ``macd``, itself checked against TA-Lib in
``test_indicators.py``). ``ad_line_slope`` remembers its window's abscissa; the oracle is
the formula written out with the abscissa built afresh. Compared with ``==`` /
``array_equal``, not a tolerance: the journal's fingerprints must not move by a last bit.
The realised vol's sample standard deviation is held to ``np.std(.., ddof=1)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.signals.indicators import (
    InsufficientHistory,
    ad_line_slope,
    macd,
    macd_histogram_tail,
    realised_vol_pts,
    rsi_last,
    rsi_wilder,
)

# Daily moves of a few percent, and exact zeros: a flat day is a change of 0.0 whose
# negation is -0.0, the case where a different clipping could flip a zero's sign.
_MOVES = st.one_of(st.just(0.0), st.floats(-0.08, 0.08, allow_nan=False))


def _closes(moves: list[float], first: float) -> np.ndarray:
    return first * np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(moves)]))


@settings(max_examples=200, deadline=None)
@given(
    moves=st.lists(_MOVES, min_size=2, max_size=400),
    first=st.floats(1.0, 10_000.0),
    period=st.integers(2, 40),
)
def test_rsi_last_is_the_series_last_value(moves: list[float], first: float, period: int) -> None:
    """rsi_last equals rsi_wilder(..)[-1] exactly, or both refuse a too short history."""
    closes = _closes(moves, first)
    if len(closes) < period + 1:
        with pytest.raises(InsufficientHistory):
            rsi_last(closes, period)
        return
    expected = rsi_wilder(closes, period)[-1]
    got = rsi_last(closes, period)
    assert np.array_equal(np.float64(got), expected)
    assert np.signbit(got) == np.signbit(expected)


@settings(max_examples=200, deadline=None)
@given(
    moves=st.lists(_MOVES, min_size=40, max_size=400),
    first=st.floats(1.0, 10_000.0),
    fast=st.integers(2, 15),
    extra=st.integers(1, 20),
    signal=st.integers(1, 12),
    data=st.data(),
)
def test_macd_tail_is_the_histogram_tail(
    moves: list[float], first: float, fast: int, extra: int, signal: int, data: st.DataObject
) -> None:
    """macd_histogram_tail(.., count) equals macd(..).histogram[-count:] bit for bit,
    for every count from 1 to the whole histogram."""
    closes = _closes(moves, first)
    slow = fast + extra
    if len(closes) < slow + signal - 1:
        with pytest.raises(InsufficientHistory):
            macd_histogram_tail(closes, fast, slow, signal, 1)
        return
    histogram = macd(closes, fast, slow, signal).histogram
    count = data.draw(st.integers(1, len(histogram)))
    tail = macd_histogram_tail(closes, fast, slow, signal, count)
    assert np.array_equal(tail, histogram[-count:])
    assert np.array_equal(np.signbit(tail), np.signbit(histogram[-count:]))


def test_macd_tail_refuses_more_values_than_the_histogram_has() -> None:
    """Asking for more (or fewer than one) histogram values is an error, not a short tail."""
    closes = np.arange(40.0) + 100.0  # MACD(12, 26, 9): 40 - 26 - 9 + 2 = 7 values
    assert len(macd_histogram_tail(closes, 12, 26, 9, 7)) == 7
    for count in (0, 8):
        with pytest.raises(ValueError, match="tail"):
            macd_histogram_tail(closes, 12, 26, 9, count)


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(
        st.tuples(st.integers(0, 3000), st.integers(0, 3000), st.integers(1, 300)),
        min_size=2,
        max_size=80,
    ),
    data=st.data(),
)
def test_ad_slope_equals_the_formula_with_a_fresh_abscissa(
    days: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    """Same slope, bit for bit, as building x = 0..n-1 and its deviations every call,
    for window lengths drawn in any order (the remembered abscissa is per length)."""
    adv, dec, unch = (np.array(column, dtype=np.float64) for column in zip(*days, strict=True))
    for _ in range(3):
        sessions = data.draw(st.integers(2, len(days)))
        a, d, u = adv[-sessions:], dec[-sessions:], unch[-sessions:]
        line = np.cumsum(a - d)
        x = np.arange(sessions, dtype=np.float64)
        x_dev = x - x.mean()
        slope = float(np.sum(x_dev * (line - line.mean())) / np.sum(x_dev * x_dev))
        expected = slope / float(np.mean(a + d + u))
        assert ad_line_slope(adv, dec, unch, sessions) == expected


@settings(max_examples=300, deadline=None)
@given(moves=st.lists(_MOVES, min_size=3, max_size=80), first=st.floats(1.0, 10_000.0))
def test_realised_vol_equals_numpys_sample_std(moves: list[float], first: float) -> None:
    """100 sqrt(252) np.std(log returns, ddof=1), bit for bit, for every window."""
    closes = _closes(moves, first)
    for window in {2, len(closes) // 2, len(closes) - 1} - {0, 1}:
        returns = np.diff(np.log(closes[-(window + 1) :]))
        expected = 100.0 * math.sqrt(252) * float(np.std(returns, ddof=1))
        assert realised_vol_pts(closes, window) == expected
