"""The parity forward as ``daemon.core.pricing.implied_forward`` computed it on numpy
arrays before it became a conversion to ``implied_forward_of_floats``: kept here as the
oracle the float path is held to, bit for bit (tests/core/test_market_fast_paths.py).
The least-squares line is the module's own ``_parity_line`` (tests/core/test_pricing.py
checks it against known forwards and discounts)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from daemon.core.arrays import as_f64
from daemon.core.pricing import _MAX_RATE_GAP_FRAC, ForwardFit, _parity_line


def array_implied_forward(
    strikes: npt.ArrayLike,
    call_mids: npt.ArrayLike,
    put_mids: npt.ArrayLike,
    T: float,
    r: float,
    pairs: int = 3,
    max_rate_gap_frac: float = _MAX_RATE_GAP_FRAC,
) -> ForwardFit | None:
    """``implied_forward`` on arrays, as it was (module docstring)."""
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    if not (math.isfinite(T) and T >= 0 and math.isfinite(r)):
        raise ValueError(f"T must be finite and >= 0 and r finite, got T={T!r}, r={r!r}")
    # Array methods rather than numpy's module-level wrappers throughout: the market view
    # calls this once per expiry on a dozen strikes, where each wrapper's overhead counts.
    k_all, c, p = (as_f64(a).ravel() for a in (strikes, call_mids, put_mids))
    if not k_all.shape == c.shape == p.shape:
        raise ValueError("strikes, call_mids and put_mids must have the same length")
    # (Comparisons with NaN are False without a warning: they need no errstate.)
    usable = np.isfinite(k_all) & np.isfinite(c) & np.isfinite(p)
    usable &= (k_all > 0) & (c >= 0) & (p >= 0)
    if not usable.any():
        return None
    diff_all = c - p
    if not usable.all():  # the market view passes usable pairs only: no mask to apply
        k_all, diff_all = k_all[usable], diff_all[usable]
    nearest = np.abs(diff_all).argsort(kind="stable")[:pairs]
    k, diff = k_all[nearest], diff_all[nearest]
    # The no-line test on the arrays, as ``_parity_line`` made it before it moved to floats.
    no_line = k.size < 2 or T <= 0 or k.min() == k.max()
    fit = None if no_line else _parity_line(k.tolist(), diff.tolist(), T, r, max_rate_gap_frac)
    if fit is None:
        discount = math.exp(-r * T)
        forward = float(k[0] + diff[0] / discount)
    else:
        discount, forward = fit
    deviations = np.abs(diff - discount * (forward - k))
    if fit is None:
        deviations[0] = 0.0  # F solves this pair's parity: 0 but for rounding
    return ForwardFit(forward, discount, float(deviations.max()), float(k[0]), int(k.size))
