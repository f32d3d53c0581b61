"""The book's own signal: how close the nearest short strike is (model page, section 3),
and the distance it reads.

The distance is the model page's (section 2): ln(K/S) / (sigma sqrt T) with S the SPX
spot and sigma the expiry's ATM implied vol, signed positive while the strike is out of
the money. Not the strike's own (skewed) IV and not the forward: with its own IV a put's
distance shrinks and a call's grows as the skew steepens, so the reading would move with
the smile rather than with the market's distance to the strike; and the forward is not
where the index is. The ATM IV is the expiry's smile at its forward (the out-of-the-money
side of each strike, interpolated linearly in strike), the usual meaning of "ATM vol".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from daemon.core.models import Right
from daemon.core.params import ProximityParams
from daemon.core.signals.base import (
    BuiltinSignal,
    Score,
    SignalInputs,
    Unavailable,
    UnavailableReason,
)

# A module constant: ``Right.PUT`` is a class attribute look-up (~0.15 µs) per option.
_PUT = Right.PUT


def atm_iv_sigma(
    strikes: Sequence[float], rights: Sequence[Right], ivs: Sequence[float], forward: float
) -> float | None:
    """One expiry's ATM implied vol: the out-of-the-money options' IVs (puts at or below
    the forward, calls at or above; both at a strike equal to it, averaged) interpolated
    linearly in strike at the forward. ``None`` when no usable strike lies on each side of
    the forward (no extrapolation) or the forward is not a positive number."""
    if not (math.isfinite(forward) and forward > 0):
        return None
    by_strike: dict[float, list[float]] = {}
    for k, right, iv in zip(strikes, rights, ivs, strict=True):
        if not (math.isfinite(k) and math.isfinite(iv) and iv > 0):
            continue
        otm = k <= forward if right is _PUT else k >= forward
        if otm:
            by_strike.setdefault(float(k), []).append(float(iv))
    ks = sorted(by_strike)
    if not ks or ks[0] > forward or ks[-1] < forward:
        return None
    return float(np.interp(forward, ks, [sum(by_strike[k]) / len(by_strike[k]) for k in ks]))


def short_strike_distance(
    strike: float, right: Right, spot: float, atm_iv: float, t_years: float
) -> float | None:
    """A short strike's distance out of the money in ATM sigmas (module docstring):
    ln(S/K) / (sigma sqrt T) for a put, ln(K/S) / (sigma sqrt T) for a call; negative once
    spot has crossed it. ``None`` when an input cannot give a number (T <= 0, a
    non-positive price or vol)."""
    values = (strike, spot, atm_iv, t_years)
    if not all(math.isfinite(v) and v > 0 for v in values):
        return None
    log_moneyness = math.log(strike / spot)
    signed = -log_moneyness if right is Right.PUT else log_moneyness
    return signed / (atm_iv * math.sqrt(t_years))


class ProximitySignal(BuiltinSignal):
    """Distance of the nearest short strike from spot in ATM sigmas (module docstring):
    the closer, the more hedge. Positive while the strike is out of the money, negative
    once spot has crossed it, so a breached strike sits *below* the map's first breakpoint
    and scores its first z (+1 by default, the most hedge), never a distance that reads
    as safe. The default map reads a fresh 20-delta, ~45-DTE condor about 0
    (docs/validation.md)."""

    name = "proximity"

    def __init__(self, params: ProximityParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        sigmas = inputs.nearest_short_sigmas
        if sigmas is None:
            raise Unavailable(UnavailableReason.NO_POSITIONS, "no short strikes in the book")
        value = float(sigmas)
        if not math.isfinite(value):
            raise Unavailable(
                UnavailableReason.NOT_A_NUMBER,
                f"short-strike distance {sigmas!r}: no spot, ATM IV or time for any short leg",
            )
        where = "beyond spot" if value < 0 else "from spot"
        return Score(value, note=f"nearest short strike {abs(value):.2f} ATM sigma {where}")
