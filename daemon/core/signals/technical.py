"""Price-momentum signals on SPX: Wilder RSI and MACD (model page, section 3).

Both score the daily closes with today's live SPX price appended as the last close, so an
intraday selloff shows up the same day rather than at tomorrow's first cycle. Without a
live price neither scores (``MISSING_QUOTE``): yesterday's value presented as today's
would hide exactly the move the signal exists to catch.
"""

from __future__ import annotations

import numpy as np

from daemon.core.params import MacdParams, RsiParams
from daemon.core.signals.base import (
    BuiltinSignal,
    FloatArray,
    Score,
    SignalInputs,
    Unavailable,
    UnavailableReason,
    require_finite,
    require_quote,
)
from daemon.core.signals.indicators import InsufficientHistory, macd_histogram_tail, rsi_last


def closes_with_live(inputs: SignalInputs) -> FloatArray:
    """Past closes plus today's live SPX price as the last close (index points)."""
    last = require_quote(inputs.spx_last, "SPX")
    if len(inputs.spx_closes) == 0:
        raise Unavailable(UnavailableReason.NO_DATA, "no SPX daily closes")
    closes = require_finite(inputs.spx_closes, "SPX daily closes")
    return np.append(closes, last)


def too_short(exc: InsufficientHistory) -> Unavailable:
    return Unavailable(UnavailableReason.TOO_SHORT_HISTORY, str(exc))


class RsiSignal(BuiltinSignal):
    """Wilder RSI(period) of SPX, 0-100: oversold (low) asks for more hedge."""

    name = "rsi"

    def __init__(self, params: RsiParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        closes = closes_with_live(inputs)
        period = self.params.period_sessions
        try:
            value = rsi_last(closes, period)  # ``rsi_wilder(..)[-1]`` bit for bit
        except InsufficientHistory as exc:
            raise too_short(exc) from exc
        return Score(value, note=f"RSI({period}) {value:.1f} on {len(closes)} closes incl. live")


class MacdSignal(BuiltinSignal):
    """MACD histogram / SPX price x 1000 (dimensionless), plus a z bonus when the MACD
    line crossed below its signal line within the last ``cross_lookback_sessions``.

    A cross "within the last N sessions" is a sign change of the histogram from >= 0 to
    < 0 between two consecutive values among the last N + 1 (today's, with the live price,
    is the last), so the history must reach N + 1 histogram values."""

    name = "macd"

    def __init__(self, params: MacdParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        p = self.params
        closes = closes_with_live(inputs)
        needed = p.slow_sessions + p.signal_sessions - 1 + p.cross_lookback_sessions
        if len(closes) < needed:
            raise too_short(InsufficientHistory("MACD with cross look-back", needed, len(closes)))
        # The histogram's last N + 1 values: all the cross look-back reads (class docstring).
        hist = macd_histogram_tail(
            closes,
            p.fast_sessions,
            p.slow_sessions,
            p.signal_sessions,
            p.cross_lookback_sessions + 1,
        )
        price = float(closes[-1])
        if price <= 0.0:
            raise Unavailable(UnavailableReason.NOT_A_NUMBER, f"SPX price {price} <= 0")
        raw = float(hist[-1]) / price * 1000.0
        ago = bearish_cross_sessions_ago(hist, p.cross_lookback_sessions)
        note = f"histogram {hist[-1]:.2f} pts / SPX {price:.2f} x 1000"
        if ago is None:
            return Score(raw, note=note)
        note += f"; bearish cross {ago} session(s) ago: z +{p.cross_bonus_z:g}"
        return Score(raw, z_bonus=p.cross_bonus_z, note=note)


def bearish_cross_sessions_ago(histogram: FloatArray, lookback: int) -> int | None:
    """How many sessions ago (0 = today) the MACD line last crossed below its signal
    line, looking back ``lookback`` sessions; ``None`` if it did not."""
    last = len(histogram) - 1
    for ago in range(0, min(lookback, last)):
        i = last - ago
        if histogram[i - 1] >= 0.0 > histogram[i]:
            return ago
    return None
