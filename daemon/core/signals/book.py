"""The book's own signal: how close the nearest short strike is (model page, section 3)."""

from __future__ import annotations

import math

from daemon.core.params import ProximityParams
from daemon.core.signals.base import (
    BuiltinSignal,
    Score,
    SignalInputs,
    Unavailable,
    UnavailableReason,
)


class ProximitySignal(BuiltinSignal):
    """Distance of the nearest short strike from spot in sigmas, |ln(K/S)| / (sigma sqrt T),
    from the risk layer: the closer, the more hedge. The absolute value is taken here so
    a signed figure (negative for a put below spot) still reads as a distance."""

    name = "proximity"

    def __init__(self, params: ProximityParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        sigmas = inputs.nearest_short_sigmas
        if sigmas is None:
            raise Unavailable(UnavailableReason.NO_POSITIONS, "no short strikes in the book")
        value = abs(float(sigmas))
        if not math.isfinite(value):
            raise Unavailable(UnavailableReason.NOT_A_NUMBER, f"short-strike distance {sigmas!r}")
        return Score(value, note=f"nearest short strike {value:.2f} sigma from spot")
