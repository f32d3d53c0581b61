"""Technical indicators on daily series: Wilder RSI, MACD, realised vol, A/D-line slope.

Every function takes a 1-D series oldest first and returns only defined values: a series
result is aligned to the *end* of its input (``result[-1]`` belongs to the last input),
with no NaN padding at the front. A series too short for the formula raises
``InsufficientHistory`` (a ``ValueError``), which the signals turn into "unavailable".

Seeding follows TA-Lib's defaults (ta-lib.org, ``ta_RSI.c``, ``ta_EMA.c``, ``ta_MACD.c``) so
the values agree with it on the same input:

- RSI: the first average gain/loss is the simple mean of the first ``period`` changes,
  then Wilder's smoothing ``avg = (avg * (period - 1) + x) / period``.
- EMA: seeded with the simple mean of the ``period`` values ending where the EMA starts,
  then ``ema += k (x - ema)`` with ``k = 2 / (period + 1)``.
- MACD: both EMAs start at index ``slow - 1`` (so the fast EMA's seed is the mean of the
  ``fast`` closes ending there, not of the first ``fast`` closes); the signal line is an
  EMA of the MACD line seeded the same way.

On a truncated history the seed still matters: its weight decays like ``(1 - 1/period)^n``
for RSI and ``(1 - k)^n`` for an EMA, i.e. below 1e-6 after about 190 sessions for RSI(14)
and 180 for the 26-session EMA. The daemon's history is long enough that the signal's
value is the indicator's, not the seed's; tests check both the exact match and the washout.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

TRADING_DAYS_PER_YEAR = 252  # annualisation of daily returns, the market convention


class InsufficientHistory(ValueError):
    """The series is shorter than the formula needs."""

    def __init__(self, what: str, needed: int, got: int) -> None:
        super().__init__(f"{what} needs at least {needed} values, got {got}")
        self.needed = needed
        self.got = got


def as_series(values: npt.ArrayLike, what: str = "series") -> FloatArray:
    """A 1-D float64 copy of ``values``; ``ValueError`` for any other shape."""
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    return arr


def _require(n_have: int, n_need: int, what: str) -> None:
    if n_have < n_need:
        raise InsufficientHistory(what, n_need, n_have)


def _require_period(period: int, minimum: int, what: str) -> None:
    if period < minimum:
        raise ValueError(f"{what} period must be >= {minimum}, got {period}")


def rsi_wilder(closes: npt.ArrayLike, period: int) -> FloatArray:
    """Wilder's RSI (0-100) of ``closes``; ``len(closes) - period`` values, end-aligned.

    Source: J. W. Wilder, *New Concepts in Technical Trading Systems* (1978), seeded as
    TA-Lib does (module docstring). One deliberate difference: a window with no movement
    at all (average gain and loss both 0) scores 50, neutral, where TA-Lib returns 0,
    which would read as a crash."""
    _require_period(period, 2, "RSI")
    prices = as_series(closes, "closes")
    _require(len(prices), period + 1, f"RSI({period})")
    changes = np.diff(prices)
    gains = np.clip(changes, 0.0, None)
    losses = np.clip(-changes, 0.0, None)
    avg_gain = float(np.mean(gains[:period]))
    avg_loss = float(np.mean(losses[:period]))
    out = [_rsi_value(avg_gain, avg_loss)]
    # The recursion on Python floats (the same IEEE double arithmetic as numpy scalars,
    # without a numpy scalar per step: ~300 closes a cycle).
    for gain, loss in zip(gains[period:].tolist(), losses[period:].tolist(), strict=True):
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
        out.append(_rsi_value(avg_gain, avg_loss))
    return np.array(out, dtype=np.float64)


def rsi_last(closes: npt.ArrayLike, period: int) -> float:
    """``rsi_wilder(closes, period)[-1]`` bit for bit, without the series (the signal
    reads only today's value): the same operations in the same order, spelt without
    numpy's Python-level wrappers. ``np.clip(x, 0.0, None)`` is ``np.maximum(x, 0.0)``
    (a -0.0 loss stays -0.0), ``np.mean`` is ``np.add.reduce`` then a division by the
    count, and an int converts to the same double in ``x * (period - 1)``."""
    _require_period(period, 2, "RSI")
    prices = as_series(closes, "closes")
    _require(len(prices), period + 1, f"RSI({period})")
    changes = np.diff(prices)
    gains = np.maximum(changes, 0.0)
    losses = np.maximum(-changes, 0.0)
    avg_gain = float(np.add.reduce(gains[:period])) / period
    avg_loss = float(np.add.reduce(losses[:period])) / period
    keep = float(period - 1)
    for gain, loss in zip(gains[period:].tolist(), losses[period:].tolist(), strict=True):
        avg_gain = (avg_gain * keep + gain) / period
        avg_loss = (avg_loss * keep + loss) / period
    return _rsi_value(avg_gain, avg_loss)


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    total = avg_gain + avg_loss
    if total <= 0.0:
        return 50.0
    return 100.0 * avg_gain / total


def ema(values: npt.ArrayLike, period: int, start: int | None = None) -> FloatArray:
    """EMA of ``values`` from index ``start`` (default ``period - 1``) to the end.

    Seeded with the mean of the ``period`` values ending at ``start`` (TA-Lib's seeding),
    then ``ema += k (x - ema)``, ``k = 2 / (period + 1)``. Returns ``len(values) - start``
    values, end-aligned."""
    _require_period(period, 1, "EMA")
    series = as_series(values, "values")
    first = period - 1 if start is None else start
    if first < period - 1:
        raise ValueError(f"EMA({period}) cannot start before index {period - 1}, got {first}")
    _require(len(series), first + 1, f"EMA({period}) from index {first}")
    k = 2.0 / (period + 1)
    value = float(np.mean(series[first - period + 1 : first + 1]))
    out = [value]
    for x in series[first + 1 :].tolist():  # Python floats, as in ``rsi_wilder``
        value = value + k * (x - value)
        out.append(value)
    return np.array(out, dtype=np.float64)


class Macd(NamedTuple):
    """MACD series, end-aligned, all the same length: line = EMA_fast - EMA_slow,
    signal = EMA_signal(line), histogram = line - signal (price units)."""

    macd_line: FloatArray
    signal_line: FloatArray
    histogram: FloatArray


def _macd_prices(closes: npt.ArrayLike, fast: int, slow: int, signal: int) -> FloatArray:
    """``closes`` as a series once MACD(fast, slow, signal)'s periods and length are checked."""
    _require_period(fast, 2, "MACD fast")
    _require_period(signal, 1, "MACD signal")
    if fast >= slow:
        raise ValueError(f"MACD fast period ({fast}) must be shorter than slow ({slow})")
    prices = as_series(closes, "closes")
    _require(len(prices), slow + signal - 1, f"MACD({fast},{slow},{signal})")
    return prices


def macd(closes: npt.ArrayLike, fast: int, slow: int, signal: int) -> Macd:
    """Appel's MACD(fast, slow, signal) of ``closes``, seeded as TA-Lib (module docstring).

    Needs ``slow + signal - 1`` closes; returns ``len(closes) - slow - signal + 2`` values
    of each series."""
    prices = _macd_prices(closes, fast, slow, signal)
    line = ema(prices, fast, start=slow - 1) - ema(prices, slow, start=slow - 1)
    signal_line = ema(line, signal)
    line = line[signal - 1 :]
    return Macd(line, signal_line, line - signal_line)


def macd_histogram_tail(
    closes: npt.ArrayLike, fast: int, slow: int, signal: int, count: int
) -> FloatArray:
    """The last ``count`` values of ``macd(closes, fast, slow, signal).histogram``, bit for
    bit: the same seeds (``np.mean`` of the same slices) and the same recursion steps in
    the same order, the two price EMAs in one loop and no series but the tail kept (the
    MACD signal reads today's histogram and its cross look-back)."""
    prices = _macd_prices(closes, fast, slow, signal)
    n_hist = len(prices) - slow - signal + 2
    if not 1 <= count <= n_hist:
        raise ValueError(f"MACD histogram tail of {count} out of {n_hist} values")
    # ``np.mean`` spelt as ``np.add.reduce`` then a division by the count, as it computes.
    k_fast, k_slow, k_signal = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
    ema_fast = float(np.add.reduce(prices[slow - fast : slow])) / fast  # starts at slow - 1
    ema_slow = float(np.add.reduce(prices[:slow])) / slow
    rest = prices[slow:].tolist()  # the closes after the line's first value
    # The line's first ``signal`` values seed the signal EMA (``ema(line, signal)``: the
    # mean of a float64 array of them); then one loop steps the three EMAs together.
    head = [ema_fast - ema_slow]
    for x in rest[: signal - 1]:
        ema_fast = ema_fast + k_fast * (x - ema_fast)
        ema_slow = ema_slow + k_slow * (x - ema_slow)
        head.append(ema_fast - ema_slow)
    value = float(np.add.reduce(np.array(head, dtype=np.float64))) / signal
    # ``rest[j]`` gives the line's value at index j + 1; the histogram is kept from line
    # index ``first_kept`` on (the line has ``len(rest) + 1`` values).
    first_kept = len(rest) + 1 - count
    tail = [head[-1] - value] if first_kept == signal - 1 else []
    for x in rest[signal - 1 : max(signal - 1, first_kept - 1)]:
        ema_fast = ema_fast + k_fast * (x - ema_fast)
        ema_slow = ema_slow + k_slow * (x - ema_slow)
        value = value + k_signal * (ema_fast - ema_slow - value)
    for x in rest[max(signal - 1, first_kept - 1) :]:
        ema_fast = ema_fast + k_fast * (x - ema_fast)
        ema_slow = ema_slow + k_slow * (x - ema_slow)
        line = ema_fast - ema_slow
        value = value + k_signal * (line - value)
        tail.append(line - value)
    return np.array(tail, dtype=np.float64)


def realised_vol_pts(closes: npt.ArrayLike, window: int) -> float:
    """Close-to-close realised vol of the last ``window`` returns, annualised, vol points.

    ``r_i = ln(C_i / C_{i-1})`` over the last ``window + 1`` closes,
    ``RV = 100 * sqrt(252) * stdev(r)`` with the sample stdev (ddof = 1), so 0.01 daily
    returns of alternating sign give about 15.9 vol points."""
    _require_period(window, 2, "realised vol window")
    prices = as_series(closes, "closes")
    _require(len(prices), window + 1, f"{window}-session realised vol")
    tail = prices[-(window + 1) :]
    if (tail <= 0.0).any():
        raise ValueError("realised vol needs positive closes")
    returns = np.diff(np.log(tail))
    return 100.0 * math.sqrt(TRADING_DAYS_PER_YEAR) * _sample_std(returns)


def _sample_std(x: FloatArray) -> float:
    """``float(np.std(x, ddof=1))`` of a 1-D float64 array of 2 or more values, bit for
    bit: numpy's own steps (``numpy/_core/_methods.py`` ``_var``: the pairwise sum over
    the count, the deviations squared, their pairwise sum over count - 1, the root)
    without its Python-level argument handling, most of its time on 20 returns."""
    deviations = x - np.add.reduce(x) / len(x)
    return math.sqrt(float(np.add.reduce(deviations * deviations)) / (len(x) - 1))


def ad_line_slope(
    advancing: npt.ArrayLike,
    declining: npt.ArrayLike,
    unchanged: npt.ArrayLike,
    sessions: int,
) -> float:
    """Least-squares slope of the cumulative A/D line over the last ``sessions`` sessions,
    divided by the average daily issues traded (adv + dec + unch) over the same sessions.

    The A/D line is the running sum of (advancing - declining); its slope is in issues per
    session, so the result is a fraction of the traded issues per session (+0.05: the line
    rises by 5% of the issues each day). The line's starting level cancels in the slope,
    so only the last ``sessions`` days are needed."""
    _require_period(sessions, 2, "A/D slope")
    adv = as_series(advancing, "advancing")
    dec = as_series(declining, "declining")
    unch = as_series(unchanged, "unchanged")
    if not len(adv) == len(dec) == len(unch):
        raise ValueError(f"breadth series differ in length: {len(adv)}, {len(dec)}, {len(unch)}")
    _require(len(adv), sessions, f"{sessions}-session A/D slope")
    adv, dec, unch = adv[-sessions:], dec[-sessions:], unch[-sessions:]
    line = np.cumsum(adv - dec)
    x_dev, x_var = _slope_abscissa(sessions)
    # ``np.sum`` and ``.mean()`` are ``np.add.reduce`` (then over the count): spelt so,
    # without their Python-level dispatch.
    deviations = line - np.add.reduce(line) / sessions
    slope = float(np.add.reduce(x_dev * deviations) / x_var)
    issues = float(np.add.reduce(adv + dec + unch) / sessions)
    if not issues > 0.0:
        raise ValueError("A/D slope needs a positive number of issues traded")
    return slope / issues


@functools.lru_cache(maxsize=8)
def _slope_abscissa(sessions: int) -> tuple[FloatArray, np.float64]:
    """The least-squares slope's sessions 0..n-1 less their mean, and the sum of their
    squares: a function of ``sessions`` alone, worked out once per window length."""
    x = np.arange(sessions, dtype=np.float64)
    x_dev = x - x.mean()
    x_dev.flags.writeable = False
    return x_dev, np.sum(x_dev * x_dev)
