"""Black-76, vectorised over numpy arrays: price, greeks, implied forward (and implied vol).

Units: ``F`` and ``K`` in index points (= USD per share), prices USD per share (discounted),
``T`` in ACT/365 years, ``r`` and ``sigma`` decimal annual rates (0.04, 0.185).

Black (1976), discounted by D = exp(-rT), with theta = +1 for a call and -1 for a put:

    d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt(T)),   d2 = d1 - sigma sqrt(T)
    price = theta D (F N(theta d1) - K N(theta d2))

Greeks follow ``vollib.black.greeks.analytical``: delta and gamma with respect to F, vega per
vol point (sigma + 0.01), theta per calendar day = -(d price / dT) / 365.

The implied-vol solver lives in ``implied_vol.py``; ``implied_vol``, ``IVReason`` and
``IVResult`` are re-exported here so the pricing API stays one import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from daemon.core.arrays import BoolArray, FloatArray, as_f64, flat, flat_blocks, parse_right
from daemon.core.black76_parts import intrinsic, kernel_inputs, price_lines
from daemon.core.implied_vol import IVReason, IVResult, implied_vol

__all__ = [
    "BoolArray",
    "FloatArray",
    "ForwardFit",
    "Greeks",
    "IVReason",
    "IVResult",
    "black76",
    "implied_forward",
    "implied_forward_of_floats",
    "implied_vol",
]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_DAYS_PER_YEAR = 365.0  # theta per calendar day, as vollib
_VOL_POINT = 0.01  # vega per vol point
# implied_forward's default guard on the least-squares discount factor: the financing
# rate it implies, -ln(D)/T, must be within this of r (one rate point; the configured
# value is ``pricing.forward_rate_tolerance_frac``, see docs/model.md section 1).
_MAX_RATE_GAP_FRAC = 0.01


class Greeks(NamedTuple):
    """Discounted price (USD/share) and greeks; delta, gamma w.r.t. F, vega per vol point,
    theta per calendar day."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray


class ForwardFit(NamedTuple):
    """Parity forward (index points), discount factor, the largest parity deviation of the
    pairs used (USD per share), the strike nearest the money and how many pairs were used."""

    forward: float
    discount: float
    residual_usd: float
    atm_strike: float
    pairs_used: int


def black76(
    F: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    sigma: npt.ArrayLike,
    right: npt.ArrayLike,
) -> Greeks:
    """Discounted Black-76 price and greeks, broadcast over all inputs.

    ``T <= 0`` is treated as expiry (T = 0). Where sigma sqrt(T) = 0 the result is the
    intrinsic limit: price D max(theta (F - K), 0), delta theta D in the money (half that
    at the money, 0 out of it), gamma and vega 0, theta r price / 365. NaN, negative F or K,
    or negative sigma give NaN. ``ValueError`` for a ``right`` that is not a call/put label."""
    is_call, valid = parse_right(right)
    if not valid.all():  # array methods: numpy's module wrappers cost more than the test
        raise ValueError("right must be Right, 'C'/'P' or bool")
    arrays = [as_f64(a) for a in (F, K, T, r, sigma)]
    shape, blocks = flat_blocks(*arrays, is_call)
    f, k, t, rate, vol = (flat(a, shape) for a in arrays)
    call = flat(is_call, shape)
    out = np.empty((5, f.size))
    for b in blocks:
        for row, values in zip(
            out, _greeks(f[b], k[b], t[b], rate[b], vol[b], call[b]), strict=True
        ):
            row[b] = values
    return Greeks(*(row.reshape(shape) for row in out))


def _greeks(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> tuple[FloatArray, ...]:
    """price, delta, gamma, vega, theta of 1-D arrays (see ``black76``). The lines the
    price- and delta-only kernels share are in ``black76_parts``."""
    t, sign, sqrt_t, s, disc, d1 = kernel_inputs(f, k, t, r, vol, call)
    n1, price = price_lines(f, k, sign, s, disc, d1)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = sign * disc * n1
        disc_pdf = disc * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        gamma = disc_pdf / (f * s)
        vega_raw = f * disc_pdf * sqrt_t  # d price / d sigma
        # -(d price / dT) / 365: the option's decay less the carry of its discounted value.
        theta = (r * price - 0.5 * vega_raw * vol / t) / _DAYS_PER_YEAR
    greeks = (price, delta, gamma, vega_raw * _VOL_POINT, theta)
    zero = s == 0.0
    if zero.any():
        price[zero], delta[zero] = intrinsic(f, k, sign, disc, zero)
        gamma[zero] = greeks[3][zero] = 0.0
        theta[zero] = r[zero] * price[zero] / _DAYS_PER_YEAR
    negative = vol < 0
    if negative.any():
        for values in greeks:
            values[negative] = np.nan
    return greeks


def implied_forward(
    strikes: npt.ArrayLike,
    call_mids: npt.ArrayLike,
    put_mids: npt.ArrayLike,
    T: float,
    r: float,
    pairs: int = 3,
    max_rate_gap_frac: float = _MAX_RATE_GAP_FRAC,
) -> ForwardFit | None:
    """Forward and discount factor of one expiry from put-call parity, C - P = D (F - K).

    Uses the ``pairs`` call/put pairs with the smallest |C - P| (nearest the money); a pair
    with a non-finite or negative mid or a non-positive strike is ignored. With two or more
    distinct strikes, D and F come from the least-squares line C - P = D F - D K; that fit
    is kept only if D > 0 and its rate -ln(D)/T is within ``max_rate_gap_frac`` of r
    (else, and with one pair, D = exp(-rT) and F = K + (C - P)/D from the nearest pair).
    ``residual_usd`` is the largest |C - P - D (F - K)| over the pairs used. ``None`` when
    no pair is usable."""
    k, c, p = (as_f64(a).ravel() for a in (strikes, call_mids, put_mids))
    if not k.shape == c.shape == p.shape:
        raise ValueError("strikes, call_mids and put_mids must have the same length")
    return implied_forward_of_floats(
        k.tolist(), c.tolist(), p.tolist(), T, r, pairs, max_rate_gap_frac
    )


def implied_forward_of_floats(
    strikes: Sequence[float],
    call_mids: Sequence[float],
    put_mids: Sequence[float],
    T: float,
    r: float,
    pairs: int = 3,
    max_rate_gap_frac: float = _MAX_RATE_GAP_FRAC,
) -> ForwardFit | None:
    """``implied_forward`` of Python floats, the same result bit for bit: the market view
    fits a dozen expiries of a dozen pairs a cycle, where numpy's fixed cost per call was
    most of the time. The selection, the fallback forward and the residuals are the same
    IEEE operations on floats; the least-squares line (numpy's sums and dot) is the
    general path's own ``_parity_line``. ``implied_forward`` converts its arrays and
    calls this."""
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    if not (math.isfinite(T) and T >= 0 and math.isfinite(r)):
        raise ValueError(f"T must be finite and >= 0 and r finite, got T={T!r}, r={r!r}")
    if not len(strikes) == len(call_mids) == len(put_mids):
        raise ValueError("strikes, call_mids and put_mids must have the same length")
    finite = math.isfinite
    usable = [
        (k, c - p)
        for k, c, p in zip(strikes, call_mids, put_mids, strict=True)
        if finite(k) and finite(c) and finite(p) and k > 0 and c >= 0 and p >= 0
    ]
    if not usable:
        return None
    usable.sort(key=lambda pair: abs(pair[1]))  # stable, as the stable argsort
    k = [pair[0] for pair in usable[:pairs]]
    diff = [pair[1] for pair in usable[:pairs]]
    fit = _parity_line(k, diff, T, r, max_rate_gap_frac)
    if fit is None:
        discount = math.exp(-r * T)
        forward = k[0] + _ratio(diff[0], discount)
    else:
        discount, forward = fit
    deviations = [abs(d - discount * (forward - s)) for s, d in zip(k, diff, strict=True)]
    if fit is None:
        deviations[0] = 0.0  # F solves this pair's parity: 0 but for rounding
    # ``ndarray.max`` says NaN if any is NaN; Python's ``max`` depends on where it is.
    residual = math.nan if any(v != v for v in deviations) else max(deviations)
    return ForwardFit(forward, discount, residual, k[0], len(k))


def _ratio(x: float, y: float) -> float:
    """x / y as IEEE division gives it (numpy's), where Python raises for y = 0: a discount
    factor that underflows to 0 makes the fallback forward infinite (NaN for x = 0)."""
    if y != 0.0:
        return x / y
    return math.copysign(math.inf, x) * math.copysign(1.0, y) if x != 0.0 else math.nan


def _parity_line(
    strikes: list[float], diffs: list[float], T: float, r: float, max_rate_gap_frac: float
) -> tuple[float, float] | None:
    """(D, F) from the least-squares line diff = D F - D k, or None if it is not usable.
    The strikes are finite (the callers keep usable pairs only): the no-line test runs on
    the floats, before any array is made (an array's ``min``/``max`` cost a few µs each)."""
    if len(strikes) < 2 or T <= 0 or min(strikes) == max(strikes):  # one distinct strike
        return None
    k, diff = np.array(strikes), np.array(diffs)
    # The means as sum / size: what ``ndarray.mean`` computes, without its Python layer.
    k_mean, diff_mean = k.sum() / k.size, diff.sum() / diff.size
    k_dev = k - k_mean
    slope = float(np.dot(k_dev, diff - diff_mean) / np.dot(k_dev, k_dev))
    discount = -slope
    if not (discount > 0 and abs(-math.log(discount) / T - r) <= max_rate_gap_frac):
        return None
    intercept = float(diff_mean) - slope * float(k_mean)
    return discount, intercept / discount
