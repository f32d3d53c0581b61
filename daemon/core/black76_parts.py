"""Parts of ``pricing.black76`` for callers that need one output on flat arrays.

``black76`` takes anything (scalars, lists, labels, broadcast shapes) and returns the
price and four greeks; the stress set needs only prices and the skew only put deltas, on
a few dozen elements, where the general call's argument handling and unused greeks were
most of the time. ``pricing._greeks`` is built from the same pieces (``kernel_inputs``,
``price_lines``, ``intrinsic``), so each output here is the general one bit for bit
(``tests/core/test_black76_parts.py`` holds them together with hypothesis).

Inputs: 1-D float64 arrays of one length, contiguous (``black76`` works on contiguous
copies too: a ufunc's result must not depend on the memory layout), ``call`` bool.
Units and conventions as in ``pricing.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from daemon.core.arrays import BoolArray, FloatArray


def kernel_inputs(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """T floored at 0, sign (+1 call, -1 put), sqrt(T), sigma sqrt(T), the discount
    factor and d1: the first lines of every Black-76 kernel here and of ``pricing._greeks``."""
    t = np.maximum(t, 0.0)
    sign: FloatArray = np.where(call, 1.0, -1.0)  # 2 call - 1, exactly
    sqrt_t = np.sqrt(t)
    s = vol * sqrt_t
    disc = np.exp(-r * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1: FloatArray = np.log(f / k) / s + 0.5 * s
    return t, sign, sqrt_t, s, disc, d1


def price_lines(
    f: FloatArray, k: FloatArray, sign: FloatArray, s: FloatArray, disc: FloatArray, d1: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """N(sign d1) and the discounted price (Black 1976): sign D (F N(sign d1) - K N(sign d2))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n1: FloatArray = ndtr(sign * d1)
        price: FloatArray = sign * disc * (f * n1 - k * ndtr(sign * (d1 - s)))
    return n1, price


def intrinsic(
    f: FloatArray, k: FloatArray, sign: FloatArray, disc: FloatArray, zero: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Price and delta where sigma sqrt(T) = 0 (``zero``): D max(theta (F - K), 0), and
    theta D in the money, half that at the money, 0 out of it."""
    moneyness = sign[zero] * (f[zero] - k[zero])
    itm = np.where(moneyness > 0, 1.0, np.where(moneyness == 0, 0.5, 0.0))
    return disc[zero] * np.maximum(moneyness, 0.0), sign[zero] * disc[zero] * itm


def black76_price(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> FloatArray:
    """``black76(f, k, t, r, vol, call).price``: with the intrinsic limit where
    sigma sqrt(T) = 0 and NaN for a negative vol."""
    _, sign, _, s, disc, d1 = kernel_inputs(f, k, t, r, vol, call)
    price = price_lines(f, k, sign, s, disc, d1)[1]
    zero = s == 0.0
    if zero.any():
        price[zero] = intrinsic(f, k, sign, disc, zero)[0]
    return _nan_where_negative(price, vol)


def black76_delta(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> FloatArray:
    """``black76(f, k, t, r, vol, call).delta`` (with respect to F, discounted): theta D
    in the money where sigma sqrt(T) = 0 (half at the money, 0 out of it), NaN for a
    negative vol."""
    _, sign, _, s, disc, d1 = kernel_inputs(f, k, t, r, vol, call)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta: FloatArray = sign * disc * ndtr(sign * d1)
    zero = s == 0.0
    if zero.any():
        delta[zero] = intrinsic(f, k, sign, disc, zero)[1]
    return _nan_where_negative(delta, vol)


def _nan_where_negative(values: FloatArray, vol: FloatArray) -> FloatArray:
    negative = vol < 0
    if negative.any():
        values[negative] = np.nan
    return values
