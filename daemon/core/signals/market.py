"""Market-internals and volatility signals: breadth, VIX term structure, RV - IV
(model page, section 3)."""

from __future__ import annotations

from daemon.core.params import BreadthParams, RvIvParams, TermParams
from daemon.core.signals.base import (
    BuiltinSignal,
    Score,
    SignalInputs,
    Unavailable,
    UnavailableReason,
    require_finite,
    require_quote,
)
from daemon.core.signals.indicators import InsufficientHistory, ad_line_slope, realised_vol_pts


class BreadthSignal(BuiltinSignal):
    """Slope of the cumulative NYSE A/D line over ``slope_sessions``, per session, as a
    fraction of the average issues traded: a falling line (narrowing rally, broad
    selling) asks for more hedge."""

    name = "breadth"

    def __init__(self, params: BreadthParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        n = self.params.slope_sessions
        if len(inputs.advancing) == 0:
            why = inputs.breadth_unavailable
            detail = "no NYSE advance/decline history"
            raise Unavailable(UnavailableReason.NO_DATA, f"{detail}: {why}" if why else detail)
        series = [
            require_finite(getattr(inputs, part), f"NYSE {part} issues")
            for part in ("advancing", "declining", "unchanged")
        ]
        try:
            slope = ad_line_slope(series[0], series[1], series[2], n)
        except InsufficientHistory as exc:
            raise Unavailable(UnavailableReason.TOO_SHORT_HISTORY, str(exc)) from exc
        except ValueError as exc:  # no issues traded: the ratio has no meaning
            raise Unavailable(UnavailableReason.NOT_A_NUMBER, str(exc)) from exc
        return Score(slope, note=f"{n}-session A/D slope {slope:+.4f} of issues per session")


class TermSignal(BuiltinSignal):
    """VIX / VIX3M: above 1 (backwardation) the market pays up for near-term protection."""

    name = "term"

    def __init__(self, params: TermParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        vix = require_quote(inputs.vix, "VIX")
        vix3m = require_quote(inputs.vix3m, "VIX3M")
        if vix <= 0.0 or vix3m <= 0.0:
            raise Unavailable(
                UnavailableReason.NOT_A_NUMBER, f"VIX {vix:g} / VIX3M {vix3m:g}: not positive"
            )
        ratio = vix / vix3m
        return Score(ratio, note=f"VIX {vix:.2f} / VIX3M {vix3m:.2f} = {ratio:.3f}")


class RvIvSignal(BuiltinSignal):
    """Realised vol of SPX over ``window_sessions`` completed sessions (vol points)
    minus VIX: realised running above implied means the options are cheap for the risk.

    Only completed closes are used (not the live price): a partial day's return would
    be a fraction of a daily return scaled as if it were a whole one."""

    name = "rv_iv"

    def __init__(self, params: RvIvParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        vix = require_quote(inputs.vix, "VIX")
        n = self.params.window_sessions
        if len(inputs.spx_closes) == 0:
            raise Unavailable(UnavailableReason.NO_DATA, "no SPX daily closes")
        closes = require_finite(inputs.spx_closes, "SPX daily closes")
        try:
            rv = realised_vol_pts(closes, n)
        except InsufficientHistory as exc:
            raise Unavailable(UnavailableReason.TOO_SHORT_HISTORY, str(exc)) from exc
        except ValueError as exc:  # a non-positive close
            raise Unavailable(UnavailableReason.NOT_A_NUMBER, str(exc)) from exc
        spread = rv - vix
        return Score(spread, note=f"{n}-session RV {rv:.2f} - VIX {vix:.2f} = {spread:+.2f} pts")
