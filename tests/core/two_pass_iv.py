"""The implied-vol solver's iterations as they were before both sides of the inflection
point shared one pass (commit e6d74c3): one pass per side, the side a Python flag. The
oracle that ``tests/core/test_market_fast_paths.py`` holds the one-pass solver to, bit
for bit; not used by the daemon."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from daemon.core.arrays import BoolArray, FloatArray
from daemon.core.implied_vol import (
    _BACHELIER_MAX_S,
    _INV_SQRT_2PI,
    _MAX_ITERATIONS,
    _STEP_TOL_FRAC,
    _bachelier_start,
    _safeguard,
)


def two_pass_normalised_vol(
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
    for group, is_lower in ((lower, True), (~lower & ~too_high, False)):
        i = np.flatnonzero(group)
        s[i], too_high[i] = _householder(x[i], beta[i], s_max[i], s_c[i], nu_c[i], is_lower)
    return s, too_high


def _start(
    x: FloatArray, beta: FloatArray, s_c: FloatArray, nu_c: FloatArray, lower: bool
) -> FloatArray:
    """Starting point: the Bachelier inverse while s is small (relative error ~1e-5 for
    s < 0.3, ~3e-3 at s = 1), else a third-order step from s_c or an asymptotic inverse.

    From s_c, where b'' = 0 and b'''/b' = -1, Householder's step on b is nu / (1 - nu^2 / 6)
    (nu the Newton step). Far below s_c, b ~ (2 pi |x| / 3^{3/2}) N(-|x| / (sqrt(3) s))^3
    (Jäckel's lower map, exact to leading order as s -> 0); far above, e^{x/2} - b ~
    2 N(-s/2) (exact at x = 0)."""
    s_start = _bachelier_start(x, beta)
    other = ~(s_start < _BACHELIER_MAX_S)  # NaN (off the table) included
    if not np.any(other):
        return s_start
    x, beta, s_c, nu_c = x[other], beta[other], s_c[other], nu_c[other]
    step_from_c = s_c + nu_c / (1.0 - nu_c * nu_c / 6.0)
    if lower:
        u = np.cbrt(3.0 * math.sqrt(3.0) * beta / (-2.0 * math.pi * x))
        far = x / (math.sqrt(3.0) * ndtri(np.minimum(u, 0.5)))
    else:
        far = -2.0 * ndtri(0.5 * (np.exp(0.5 * x) - beta))
    usable = (np.abs(nu_c) >= 0.5 * math.sqrt(6.0)) & np.isfinite(far) & (far > 0)
    s_start[other] = np.where(usable, far, step_from_c)
    return s_start


def _householder(
    x: FloatArray,
    beta: FloatArray,
    s_max: FloatArray,
    s_c: FloatArray,
    nu_c: FloatArray,
    lower: bool,
) -> tuple[FloatArray, BoolArray]:
    """Bracketed Householder(3) iterations on one side of the inflection point.

    The objective is f = 1/ln(b) - 1/ln(beta) below s_c and ln(m) - ln(m*) above it, with
    m = e^{x/2} - b evaluated as e^{x/2} N(-d1) + e^{-x/2} N(d2) (no cancellation). With
    v the evaluated value (b or m) and u = v'/v, the derivatives of b come in closed form:
    b' = e^{-(x^2/s^2 + s^2/4)/2} / sqrt(2 pi), b''/b' = x^2/s^3 - s/4 = g2 and
    b'''/b' = g2^2 - 3 x^2/s^4 - 1/4 = g3, hence u'/u = g2 - u = a1 and
    u''/u = g3 - g2 u - 2 u a1 = a2."""
    n = x.size
    s_out = np.full(n, np.nan)
    high_out = np.zeros(n, dtype=np.bool_)
    sign = 1.0 if lower else -1.0
    ex, emx = np.exp(0.5 * x), np.exp(-0.5 * x)
    # What v is compared with, and the log target of the objective.
    goal = beta if lower else ex - beta
    log_goal = np.log(goal)
    if lower:
        lo, hi, hi_known = np.zeros(n), np.minimum(s_c, s_max), s_c <= s_max
    else:
        lo, hi, hi_known = s_c.copy(), s_max.copy(), np.zeros(n, dtype=np.bool_)
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
        # Newton step nu = -f/f' and the ratios f''/f', f'''/f' of the objective.
        if lower:
            w = 1.0 / log_v
            nu = log_v * (1.0 - log_v / log_goal) / u
            f2 = a1 - 2.0 * u * w
            f3 = a2 - 6.0 * u * a1 * w + 6.0 * u * u * w * w
        else:
            nu = (log_goal - log_v) / u
            f2, f3 = a1, a2
        # Householder's third-order step (Householder 1970, as in Jäckel 2015).
        step = nu * (1.0 + 0.5 * f2 * nu) / (1.0 + nu * (f2 + f3 * nu / 6.0))
        new = s + step
        below = v < goal if lower else v > goal  # b(s) < beta: the root is above s
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
        x, ex, emx, goal, log_goal, s_max, lo, hi = (
            a[keep] for a in (x, ex, emx, goal, log_goal, s_max, lo, hi)
        )
        pos, hi_known = pos[keep], hi_known[keep]
        s = _safeguard(new[keep], lo, hi, hi_known)
    return s_out, high_out  # the unconverged (never seen in practice) stay NaN
