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
    """Distance of the nearest short strike from spot in sigmas, from the risk layer: the
    closer, the more hedge. The figure is signed the way the risk layer reports it:
    positive while the strike is out of the money, negative once spot has crossed it. A
    breached strike is therefore *below* every breakpoint and scores the map's first z
    (+1 by default, the most hedge), never a distance that reads as safe."""

    name = "proximity"

    def __init__(self, params: ProximityParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        sigmas = inputs.nearest_short_sigmas
        if sigmas is None:
            raise Unavailable(UnavailableReason.NO_POSITIONS, "no short strikes in the book")
        value = float(sigmas)
        if not math.isfinite(value):
            raise Unavailable(UnavailableReason.NOT_A_NUMBER, f"short-strike distance {sigmas!r}")
        where = "beyond spot" if value < 0 else "from spot"
        return Score(value, note=f"nearest short strike {abs(value):.2f} sigma {where}")
