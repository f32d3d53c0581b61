"""Black-76 implied vol, vectorised: Jäckel's normalised price, Householder iterations.

Units as ``pricing.py``: ``F`` and ``K`` in index points, prices USD per share
(discounted), ``T`` in ACT/365 years, ``r`` and ``sigma`` decimal annual rates.

Implied vol works on the normalised price of Jäckel, "Let's be rational" (Wilmott 2015):
with x = ln(F/K) and s = sigma sqrt(T), the undiscounted price over sqrt(F K) is
b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2) for a call, and its time value is the
same for a call and a put. The solver always works on the out-of-the-money side (x <= 0),
where 0 < b < e^{x/2}, and b is convex in s below the inflection point s_c = sqrt(2|x|) and
concave above it. It runs bracketed third-order Householder steps on 1/ln(b) below s_c and
on ln(e^{x/2} - b) above, two transforms that are nearly linear in s where b itself is
exponentially flat (Jäckel, section 3). The starting point is the inverse of the
small-s expansion of b around the Bachelier price (tabulated once at import), which is
within ~1e-5 of the root for s < 0.3, else an asymptotic inverse or a Householder step
from s_c. Two evaluations of b (three for a few) reach 1e-12 relative accuracy in s; a
step that leaves the bracket is replaced by bisection, so every element converges.

Limits: b is evaluated as a difference of two N() terms, so where the strike is within
~1e-8 of F and sigma sqrt(T) is far smaller still (a time value below the float64
resolution of F), the vol is approximate; a quote whose numbers leave float64 altogether
(F/K or F K overflowing, a time value that underflows) gets BAD_INPUT.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import erfcx, ndtr, ndtri

from daemon.core.arrays import BoolArray, FloatArray, as_f64, flat, flat_blocks, parse_right

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# An in-the-money price within this fraction of max(F, K) of the discounted intrinsic
# value is "at intrinsic" (implied vol 0): it absorbs the rounding of D * (F - K).
_INTRINSIC_TOL_FRAC = 1e-12
_STEP_TOL_FRAC = 1e-8  # converged: a third-order step this small leaves an error ~ its cube
_MAX_ITERATIONS = 64  # with the bisection fallback; two or three are the norm
# The Bachelier starting table: u = ln(beta/|x|) from -80 (z ~ 12 standard deviations) to
# 6 (z ~ 0.001) in steps of 1/64; linear interpolation of ln(1/z) errs by < 1e-5.
_BACHELIER_U_MIN, _BACHELIER_U_MAX, _BACHELIER_DU = -80.0, 6.0, 1.0 / 64.0
_BACHELIER_NODES = round((_BACHELIER_U_MAX - _BACHELIER_U_MIN) / _BACHELIER_DU) + 1
_BACHELIER_MAX_S = 2.0  # beyond this the s^5 terms make the other starting points better


class IVReason(IntEnum):
    OK = 0
    BELOW_INTRINSIC = 1
    ABOVE_MAX = 2
    NO_TIME = 3
    BAD_INPUT = 4


class IVResult(NamedTuple):
    """``sigma`` (decimal, NaN where ``reason != OK``) and ``reason`` (int8 IVReason)."""

    sigma: FloatArray
    reason: npt.NDArray[np.int8]


def implied_vol(
    price: npt.ArrayLike,
    F: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    right: npt.ArrayLike,
    max_sigma: float = 5.0,
) -> IVResult:
    """Black-76 implied vol of discounted prices, broadcast over all inputs; never raises
    for a bad element (only for a ``max_sigma`` that is not a positive number).

    Reasons, first match wins: BAD_INPUT (a non-finite input, F or K <= 0, price < 0, an
    unknown right), NO_TIME (T <= 0), BELOW_INTRINSIC (price below D times intrinsic),
    ABOVE_MAX (at or above the no-arbitrage bound D F for a call, D K for a put, or above
    the price at ``max_sigma``). A price at D times intrinsic (within 1e-12 of max(F, K) in
    the money, exactly 0 out of it) has implied vol 0, the limit, with reason OK."""
    if not (math.isfinite(max_sigma) and max_sigma > 0):
        raise ValueError(f"max_sigma must be a positive number, got {max_sigma!r}")
    is_call, known_right = parse_right(right)
    arrays = [as_f64(a) for a in (price, F, K, T, r)]
    shape, blocks = flat_blocks(*arrays, is_call)
    p, f, k, t, rate = (flat(a, shape) for a in arrays)
    call, known = flat(is_call, shape), flat(known_right, shape)
    sigma = np.full(p.size, np.nan)
    reason = np.full(p.size, IVReason.OK, dtype=np.int8)
    for b in blocks:
        sigma[b], reason[b] = _implied_vol(
            p[b], f[b], k[b], t[b], rate[b], call[b], known[b], max_sigma
        )
    return IVResult(sigma.reshape(shape), reason.reshape(shape))


def _implied_vol(
    p: FloatArray,
    f: FloatArray,
    k: FloatArray,
    t: FloatArray,
    rate: FloatArray,
    call: BoolArray,
    known_right: BoolArray,
    max_sigma: float,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """``implied_vol`` on 1-D arrays: the reason codes, then the solver where they are OK."""
    sigma = np.full(p.size, np.nan)
    reason = np.full(p.size, IVReason.OK, dtype=np.int8)
    with np.errstate(all="ignore"):
        finite = np.isfinite(p) & np.isfinite(f) & np.isfinite(k) & np.isfinite(t)
        bad = ~(finite & np.isfinite(rate) & known_right & (f > 0) & (k > 0) & (p >= 0))
        no_time = ~bad & (t <= 0)
        live = ~bad & ~no_time
        # Time value, undiscounted (USD), then normalised: beta = b(x, s) with x <= 0.
        intrinsic = np.maximum((2.0 * call - 1.0) * (f - k), 0.0)
        time_value = p / np.exp(-rate * t) - intrinsic
        # Only a price with intrinsic value carries the rounding of D (F - K).
        tol = np.where(intrinsic > 0, _INTRINSIC_TOL_FRAC * np.maximum(f, k), 0.0)
        x = -np.abs(np.log(f / k))
        beta = time_value / (np.sqrt(f) * np.sqrt(k))  # F K itself may overflow
        above = live & (time_value > tol) & (beta >= np.exp(0.5 * x))
        reason[bad] = IVReason.BAD_INPUT
        reason[no_time] = IVReason.NO_TIME
        reason[live & (time_value < -tol)] = IVReason.BELOW_INTRINSIC
        reason[above] = IVReason.ABOVE_MAX
        sigma[live & (np.abs(time_value) <= tol)] = 0.0
        # beta = 0 with a positive time value has underflowed: left NaN, then BAD_INPUT.
        todo = np.flatnonzero(live & (time_value > tol) & ~above & (beta > 0))
        sqrt_t = np.sqrt(t[todo])
        s, too_high = _normalised_vol(x[todo], beta[todo], max_sigma * sqrt_t)
        sigma[todo] = s / sqrt_t  # NaN where too high
    reason[todo[too_high]] = IVReason.ABOVE_MAX
    # Inputs finite but beyond float64 (F/K or F K overflowing) leave no number: bad input.
    reason[(reason == IVReason.OK) & ~np.isfinite(sigma)] = IVReason.BAD_INPUT
    return sigma, reason


def _normalised_vol(
    x: FloatArray, beta: FloatArray, s_max: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Solve b(x, s) = beta for s in (0, s_max], with x <= 0 and 0 < beta < e^{x/2}.

    Returns s and the mask of elements whose root lies beyond s_max (s NaN there). Runs
    under the caller's ``np.errstate(all="ignore")``: a NaN or an infinity in a step only
    sends that element to bisection."""
    s = np.full(x.size, np.nan)
    too_high = np.zeros(x.size, dtype=np.bool_)
    s_c = np.sqrt(-2.0 * x)  # inflection point of b in s
    b_max = np.exp(0.5 * x)
    # At s_c, d1 = 0 and d2 = -s_c, so b needs one N() and b'(s_c) = e^{x/2} / sqrt(2 pi).
    b_c = 0.5 * b_max - np.exp(-0.5 * x) * ndtr(-s_c)
    nu_c = (beta - b_c) / (b_max * _INV_SQRT_2PI)  # Newton step from s_c on b itself
    lower = beta < b_c
    # The root is above s_c in the upper region: past s_max already if s_c is.
    too_high[~lower & ((s_c > s_max) | ((s_c == s_max) & (beta > b_c)))] = True
    # Both sides in one pass (each element on its own side's objective): the iterations'
    # numpy calls are paid once, not once per side, and each element's steps are its own.
    i = np.flatnonzero(lower | ~too_high)
    s[i], too_high[i] = _householder(x[i], beta[i], s_max[i], s_c[i], nu_c[i], lower[i])
    return s, too_high


def _start(
    x: FloatArray, beta: FloatArray, s_c: FloatArray, nu_c: FloatArray, lower: BoolArray
) -> FloatArray:
    """Starting point: the Bachelier inverse while s is small (relative error ~1e-5 for
    s < 0.3, ~3e-3 at s = 1), else a third-order step from s_c or an asymptotic inverse
    (``lower``: the element's root is below s_c).

    From s_c, where b'' = 0 and b'''/b' = -1, Householder's step on b is nu / (1 - nu^2 / 6)
    (nu the Newton step). Far below s_c, b ~ (2 pi |x| / 3^{3/2}) N(-|x| / (sqrt(3) s))^3
    (Jäckel's lower map, exact to leading order as s -> 0); far above, e^{x/2} - b ~
    2 N(-s/2) (exact at x = 0)."""
    s_start = _bachelier_start(x, beta)
    other = ~(s_start < _BACHELIER_MAX_S)  # NaN (off the table) included
    if not other.any():
        return s_start
    x, beta, s_c, nu_c, lower = x[other], beta[other], s_c[other], nu_c[other], lower[other]
    step_from_c = s_c + nu_c / (1.0 - nu_c * nu_c / 6.0)
    u = np.cbrt(3.0 * math.sqrt(3.0) * beta / (-2.0 * math.pi * x))
    far_below = x / (math.sqrt(3.0) * ndtri(np.minimum(u, 0.5)))
    far_above = -2.0 * ndtri(0.5 * (np.exp(0.5 * x) - beta))
    far = np.where(lower, far_below, far_above)
    usable = (np.abs(nu_c) >= 0.5 * math.sqrt(6.0)) & np.isfinite(far) & (far > 0)
    s_start[other] = np.where(usable, far, step_from_c)
    return s_start


def _bachelier_table() -> tuple[FloatArray, FloatArray]:
    """ln(1/z) and k(z) on the uniform grid of u = ln h(z), h(z) = phi(z)/z - N(-z).

    Taylor expansion of b in s at fixed z = |x|/s gives b = s B(z) + s^3 (z^2 B - phi)/24
    + O(s^5), with B(z) = phi(z) - z N(-z) the normalised Bachelier price. So beta/|x| =
    h(z) gives s_B = |x|/z, and the s^3 term corrects it to s = s_B (1 + k s_B^2) with
    k = (1 - z^2 B/phi)/24. h is decreasing in z: each node is solved by bisection."""
    u = np.linspace(_BACHELIER_U_MIN, _BACHELIER_U_MAX, _BACHELIER_NODES)
    lo, hi = np.full(u.size, 1e-6), np.full(u.size, 40.0)
    for _ in range(56):
        z = 0.5 * (lo + hi)
        mills = math.sqrt(0.5 * math.pi) * erfcx(z / math.sqrt(2.0))  # N(-z)/phi(z)
        above = -0.5 * z * z + np.log(_INV_SQRT_2PI * (1.0 / z - mills)) > u
        lo, hi = np.where(above, z, lo), np.where(above, hi, z)
    z = 0.5 * (lo + hi)
    mills = math.sqrt(0.5 * math.pi) * erfcx(z / math.sqrt(2.0))
    return -np.log(z), (1.0 - z * z * (1.0 - z * mills)) / 24.0


def _bachelier_start(x: FloatArray, beta: FloatArray) -> FloatArray:
    """s from the Bachelier table; NaN below it (beta/|x| < e^-80, z > 12)."""
    u = np.log(beta / np.abs(x))  # +inf at the money (x = 0)
    pos = (np.minimum(u, _BACHELIER_U_MAX) - _BACHELIER_U_MIN) / _BACHELIER_DU
    off_table = ~(pos >= 0)
    i = np.minimum(pos.astype(np.intp), _BACHELIER_NODES - 2)
    i[off_table] = 0  # masked below
    w = pos - i
    ln_inv_z, k = _BACHELIER_LN_INV_Z, _BACHELIER_K
    inv_z = np.exp(ln_inv_z[i] + w * (ln_inv_z[i + 1] - ln_inv_z[i]))
    k_s = k[i] + w * (k[i + 1] - k[i])
    # Above the table z -> 0, where h(z) ~ phi(0)/z - 1/2 and k -> 1/24.
    top = u > _BACHELIER_U_MAX
    s_b = np.where(top, (beta - 0.5 * x) / _INV_SQRT_2PI, -x * inv_z)
    s: FloatArray = s_b * (1.0 + s_b * s_b * np.where(top, 1.0 / 24.0, k_s))
    s[off_table] = np.nan
    return s


_BACHELIER_LN_INV_Z, _BACHELIER_K = _bachelier_table()


def _safeguard(
    proposal: FloatArray, lo: FloatArray, hi: FloatArray, hi_known: BoolArray
) -> FloatArray:
    """Keep a proposal strictly inside (lo, hi); otherwise test s_max if the upper end is
    not yet known to be above the root, else bisect (geometrically once lo > 0)."""
    inside = (proposal > lo) & (proposal < hi)
    bisect = np.where(lo > 0, np.sqrt(lo * hi), 0.5 * hi)
    fallback = np.where(~hi_known & (proposal >= hi), hi, bisect)
    result: FloatArray = np.where(inside, proposal, fallback)
    return result


def _householder(
    x: FloatArray,
    beta: FloatArray,
    s_max: FloatArray,
    s_c: FloatArray,
    nu_c: FloatArray,
    lower: BoolArray,
) -> tuple[FloatArray, BoolArray]:
    """Bracketed Householder(3) iterations, each element on its side of the inflection
    point (``lower``: below s_c).

    The objective is f = 1/ln(b) - 1/ln(beta) below s_c and ln(m) - ln(m*) above it, with
    m = e^{x/2} - b evaluated as e^{x/2} N(-d1) + e^{-x/2} N(d2) (no cancellation). With
    v the evaluated value (b or m) and u = v'/v, the derivatives of b come in closed form:
    b' = e^{-(x^2/s^2 + s^2/4)/2} / sqrt(2 pi), b''/b' = x^2/s^3 - s/4 = g2 and
    b'''/b' = g2^2 - 3 x^2/s^4 - 1/4 = g3, hence u'/u = g2 - u = a1 and
    u''/u = g3 - g2 u - 2 u a1 = a2. Every element gets both sides' step terms and keeps
    its own side's (``np.where``): the floats of iterating each side alone, element by
    element, at half the numpy calls (two sides used to be two passes)."""
    n = x.size
    s_out = np.full(n, np.nan)
    high_out = np.zeros(n, dtype=np.bool_)
    sign = np.where(lower, 1.0, -1.0)
    ex, emx = np.exp(0.5 * x), np.exp(-0.5 * x)
    # What v is compared with, and the log target of the objective.
    goal = np.where(lower, beta, ex - beta)
    log_goal = np.log(goal)
    lo = np.where(lower, 0.0, s_c)
    hi = np.where(lower, np.minimum(s_c, s_max), s_max)
    hi_known = lower & (s_c <= s_max)
    s = _safeguard(_start(x, beta, s_c, nu_c, lower), lo, hi, hi_known)
    pos = np.arange(n)
    for _ in range(_MAX_ITERATIONS):
        q = x / s
        d1 = q + 0.5 * s
        v = ex * ndtr(sign * d1) - sign * emx * ndtr(d1 - s)
        log_v = np.log(v)
        u = sign * _INV_SQRT_2PI * np.exp(-0.5 * (q * q + 0.25 * s * s)) / v
        g2 = (q * q - 0.25 * s * s) / s
        a1 = g2 - u
        a2 = (
            g2 * g2 - 3.0 * (q / s) ** 2 - 0.25 - g2 * u - 2.0 * u * a1
        )  # (q/s)^2: s^2 may underflow
        # Newton step nu = -f/f' and the ratios f''/f', f'''/f' of each side's objective.
        w = 1.0 / log_v
        nu = np.where(lower, log_v * (1.0 - log_v / log_goal) / u, (log_goal - log_v) / u)
        f2 = np.where(lower, a1 - 2.0 * u * w, a1)
        f3 = np.where(lower, a2 - 6.0 * u * a1 * w + 6.0 * u * u * w * w, a2)
        # Householder's third-order step (Householder 1970, as in Jäckel 2015).
        step = nu * (1.0 + 0.5 * f2 * nu) / (1.0 + nu * (f2 + f3 * nu / 6.0))
        new = s + step
        below = np.where(lower, v < goal, v > goal)  # the root is above s
        lo = np.where(below, s, lo)
        hi = np.where(below, hi, s)
        hi_known = hi_known | ~below
        over = below & (s >= s_max)  # even s_max prices below beta
        converged = (np.abs(step) <= _STEP_TOL_FRAC * s) | (hi - lo <= 4e-16 * hi)
        done = over | (converged & (hi_known | (new < hi)))
        fin = pos[done]
        s_out[fin] = np.where(over[done], np.nan, np.clip(new[done], lo[done], hi[done]))
        high_out[fin] = over[done]
        keep = np.flatnonzero(~done)
        if keep.size == 0:
            return s_out, high_out
        x, ex, emx, goal, log_goal, s_max, lo, hi, sign = (
            a[keep] for a in (x, ex, emx, goal, log_goal, s_max, lo, hi, sign)
        )
        pos, hi_known, lower = pos[keep], hi_known[keep], lower[keep]
        s = _safeguard(new[keep], lo, hi, hi_known)
    return s_out, high_out  # the unconverged (never seen in practice) stay NaN
