"""Parts of ``pricing.black76`` for callers that need one output on flat arrays.

``black76`` takes anything (scalars, lists, labels, broadcast shapes) and returns the
price and four greeks; the stress set needs only prices and the skew only put deltas, on
a few dozen elements, where the general call's argument handling and unused greeks were
most of the time. Each function here is the lines of ``pricing._greeks`` that give its
output, the same ufuncs in the same order, so the result is the general one bit for bit
(``tests/core/test_black76_parts.py`` holds them together with hypothesis).

Inputs: 1-D float64 arrays of one length, contiguous (``black76`` works on contiguous
copies too: a ufunc's result must not depend on the memory layout), ``call`` bool.
Units and conventions as in ``pricing.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from daemon.core.arrays import BoolArray, FloatArray


def _d1(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """sign (+1 call, -1 put), sigma sqrt(T), the discount factor and d1 (T floored at 0)."""
    t = np.maximum(t, 0.0)
    sign: FloatArray = np.where(call, 1.0, -1.0)  # 2 call - 1, exactly
    s = vol * np.sqrt(t)
    disc = np.exp(-r * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1: FloatArray = np.log(f / k) / s + 0.5 * s
    return sign, s, disc, d1


def black76_price(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> FloatArray:
    """``black76(f, k, t, r, vol, call).price``: with the intrinsic limit where
    sigma sqrt(T) = 0 and NaN for a negative vol."""
    sign, s, disc, d1 = _d1(f, k, t, r, vol, call)
    with np.errstate(divide="ignore", invalid="ignore"):
        n1 = ndtr(sign * d1)
        price: FloatArray = sign * disc * (f * n1 - k * ndtr(sign * (d1 - s)))
    zero = s == 0.0
    if np.any(zero):
        moneyness = sign[zero] * (f[zero] - k[zero])
        price[zero] = disc[zero] * np.maximum(moneyness, 0.0)
    return _nan_where_negative(price, vol)


def black76_delta(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, vol: FloatArray, call: BoolArray
) -> FloatArray:
    """``black76(f, k, t, r, vol, call).delta`` (with respect to F, discounted): theta D
    in the money where sigma sqrt(T) = 0 (half at the money, 0 out of it), NaN for a
    negative vol."""
    sign, s, disc, d1 = _d1(f, k, t, r, vol, call)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta: FloatArray = sign * disc * ndtr(sign * d1)
    zero = s == 0.0
    if np.any(zero):
        moneyness = sign[zero] * (f[zero] - k[zero])
        itm = np.where(moneyness > 0, 1.0, np.where(moneyness == 0, 0.5, 0.0))
        delta[zero] = sign[zero] * disc[zero] * itm
    return _nan_where_negative(delta, vol)


def _nan_where_negative(values: FloatArray, vol: FloatArray) -> FloatArray:
    negative = vol < 0
    if np.any(negative):
        values[negative] = np.nan
    return values
