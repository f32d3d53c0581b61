"""SPX put skew and the VIX share of the overlay (model page, section 4).

skew = IV(25-delta put) - IV(ATM), in vol points, on one SPX expiry's put smile. A steep
skew means SPX puts are dear, so the overlay leans on VIX call spreads; the configured map
turns the skew into the VIX share of the target payoff.

Method: the ATM IV is the smile interpolated linearly in strike at the implied forward.
The 25-delta put is found on the quoted strikes: each strike's Black-76 put delta
(``daemon.core.pricing.black76``, with respect to the forward, discounted, using that
strike's own IV) is computed, and the IV is interpolated linearly in delta between the
two neighbouring strikes whose deltas bracket the target, scanning down from the forward
(the 25-delta put is out of the money). No extrapolation: a chain that does not reach the
target delta, or whose strikes do not straddle the forward, gives ``None``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from daemon.core.black76_parts import black76_delta
from daemon.core.params import SkewParams
from daemon.core.signals.base import SkewChain
from daemon.core.signals.maps import piecewise_linear


def skew_pts(
    strikes: npt.ArrayLike,
    put_iv_sigma: npt.ArrayLike,
    forward: float,
    t_years: float,
    rate: float,
    target_delta: float,
) -> float | None:
    """25-delta put IV minus ATM IV in vol points (section docstring), or ``None`` when
    the chain cannot give it. Strikes in index points, IVs decimal (NaN = no quote),
    ``t_years`` ACT/365, ``rate`` decimal, ``target_delta`` a put delta such as -0.25."""
    k = np.asarray(strikes, dtype=np.float64)
    iv = np.asarray(put_iv_sigma, dtype=np.float64)
    if k.shape != iv.shape or k.ndim != 1:
        raise ValueError(f"strikes {k.shape} and implied vols {iv.shape} must be matching 1-D")
    if not (math.isfinite(forward) and forward > 0 and math.isfinite(t_years) and t_years > 0):
        return None
    ok = np.isfinite(k) & np.isfinite(iv) & (k > 0) & (iv > 0)
    k, iv = k[ok], iv[ok]
    order = np.argsort(k)
    k, iv = k[order], iv[order]
    if len(k) < 2 or np.any(np.diff(k) <= 0) or not k[0] <= forward <= k[-1]:
        return None
    atm_iv = float(np.interp(forward, k, iv))
    # ``black76(forward, k, t_years, rate, iv, Right.PUT).delta`` bit for bit: the same
    # kernel lines on the arrays black76 would broadcast the scalars to.
    n = len(k)
    deltas = black76_delta(
        np.full(n, forward), k, np.full(n, t_years), np.full(n, rate), iv, np.zeros(n, np.bool_)
    )
    target_iv = _iv_at_delta(k, iv, deltas, forward, target_delta)
    if target_iv is None:
        return None
    return 100.0 * (target_iv - atm_iv)


def _iv_at_delta(
    k: npt.NDArray[np.float64],
    iv: npt.NDArray[np.float64],
    deltas: npt.NDArray[np.float64],
    forward: float,
    target: float,
) -> float | None:
    """IV interpolated linearly in delta between the first bracketing pair of strikes,
    scanning down from the highest strike at or above the forward."""
    top = int(np.searchsorted(k, forward, side="left"))
    for hi in range(min(top, len(k) - 1), 0, -1):
        lo = hi - 1
        d_lo, d_hi = float(deltas[lo]), float(deltas[hi])
        if min(d_lo, d_hi) <= target <= max(d_lo, d_hi):
            if d_hi == d_lo:
                return float(iv[lo])
            w = (target - d_lo) / (d_hi - d_lo)
            return float(iv[lo] + w * (iv[hi] - iv[lo]))
    return None


def chain_skew_pts(chain: SkewChain, params: SkewParams) -> float | None:
    """``skew_pts`` on a ``SkewChain`` with the configured target delta."""
    return skew_pts(
        chain.strikes,
        chain.put_iv_sigma,
        chain.forward,
        chain.t_years,
        chain.rate_frac,
        params.target_delta,
    )


def vix_share(skew: float, params: SkewParams) -> float:
    """The share (0-1) of the overlay's target payoff given to VIX call spreads, from the
    skew in vol points through the configured map (defaults 1.2 -> 0.4, 1.9 -> 0.6,
    3.9 -> 0.75, flat beyond: fitted on 2007-2016, docs/validation.md)."""
    return piecewise_linear(skew, params.breakpoints)
