"""The historical market's proxy option surface: vectorised, one expiry's strike grid at once.

SPX and SPXW (``spx_atm_sigma``, ``spx_smile``), on the forward F = S exp((r - q) T):

    ATM variance   v(T): VIX^2 up to 30 days, VIX3M^2 from 93 days, total variance
                   v T linear in T between (the VIX indices are 30- and 93-day variance
                   swap rates, Cboe VIX white paper); atm = spx_atm_ratio sqrt(v) / 100
    moneyness      x = L tanh(ln(K / F) / (atm sqrt(T)) / L), L = spx_moneyness_clip (a soft
                   clip: a hard one would kink the smile, and a kink is an arbitrage)
    smile slope    b = spx_skew_slope_per_skew_pt (SKEW - 100) (30 d / T)^spx_slope_term_exponent
                   (SKEW = 100 - 10 x the risk-neutral skewness of 30-day returns, Cboe SKEW
                   white paper: 100 is no skew)
    sigma(K)       atm (1 + b x + spx_smile_curvature x^2), within [floor, cap]

Calls are Black-76; puts come from parity P = C - D (F - K), so parity holds exactly.
``no_arbitrage_calls`` then makes the calls convex and non-increasing in strike with
slopes in [-D, 0] (the lower convex hull of the grid with the bounds (0, D F) and
(infinity, 0)); the fitted smile needs it on no tested grid: it is the guarantee, not
the shape.

VIX options (``vix_smile``): Black-76 on the VX future of the same expiry, with
atm = vix_atm_sigma (ref / T_days)^vix_term_exponent and sigma = atm (1 + vix_call_skew_slope x)
(x soft-clipped at vix_moneyness_clip; calls richer than puts); the same parity and hull.

``price_expiries`` prices several expiries' grids in one vectorised pass (element-wise
kernels: bit-identical to one expiry at a time; only the arbitrage check is per expiry).

Spreads (``spread_usd``, ``ticked_bid_ask``): (frac x price + min) x (VIX / ref)^exponent,
capped at the max scaled the same way: quotes widen in stress, as they do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from daemon.brokers.sim.historical_params import HistoricalQuoteParams, HistoricalSurfaceParams
from daemon.core.params import TickRule
from daemon.core.pricing import black76
from daemon.core.ticks import TickRules, rule_ticks

FloatArray = npt.NDArray[np.float64]
VIX_DAYS, VIX3M_DAYS = 30.0, 93.0
_ARB_TOL = 1e-9  # see is_arbitrage_free


@dataclass(frozen=True)
class ExpiryPrices:
    """One expiry's grid: strikes ascending, call and put prices (USD per share), the
    smile's sigma and the call delta per strike, and the forward."""

    strikes: FloatArray
    calls: FloatArray
    puts: FloatArray
    sigma: FloatArray
    call_delta: FloatArray
    forward: float
    discount: float


def _soft_clip(x: FloatArray, limit: float | FloatArray) -> FloatArray:
    """limit tanh(x / limit): x near the money, flattening smoothly to +-limit in the wings.
    A hard clip puts a kink in the smile, and a kink is a butterfly arbitrage."""
    return np.asarray(limit * np.tanh(x / limit), dtype=np.float64)


@dataclass(frozen=True)
class Smile:
    """One expiry's smile: sigma(K) = atm (1 + slope x + curvature x^2) within [floor, cap],
    with x = limit tanh(ln(K / F) / unit / limit) and unit = atm sqrt(tenor in years)."""

    forward: float
    unit: float
    limit: float
    atm: float
    slope: float
    curvature: float


@dataclass(frozen=True)
class _SmileArrays:
    """``Smile`` terms per strike of several expiries' grids laid end to end."""

    forward: FloatArray
    unit: FloatArray
    limit: FloatArray
    atm: FloatArray
    slope: FloatArray
    curvature: FloatArray


def spx_atm_sigma(vix_pts: float, vix3m_pts: float, tenor_days: float, ratio: float) -> float:
    """ATM vol (decimal) at a tenor from the VIX/VIX3M variance term structure."""
    v1, v3 = (vix_pts / 100.0) ** 2, (vix3m_pts / 100.0) ** 2
    t = max(tenor_days, 1e-6)
    if t <= VIX_DAYS:
        var = v1
    elif t >= VIX3M_DAYS:
        var = v3
    else:
        w = v1 * VIX_DAYS + (v3 * VIX3M_DAYS - v1 * VIX_DAYS) * (t - VIX_DAYS) / (
            VIX3M_DAYS - VIX_DAYS
        )
        var = w / t
    return ratio * math.sqrt(max(var, 0.0))


def spx_smile_terms(
    forward: float, t_years: float, atm: float, skew_pts: float, p: HistoricalSurfaceParams
) -> Smile:
    tenor_days = max(t_years * 365.0, p.min_tenor_days)
    root_t = math.sqrt(tenor_days / 365.0)
    slope = p.spx_skew_slope_per_skew_pt * (skew_pts - 100.0)
    slope *= (VIX_DAYS / tenor_days) ** p.spx_slope_term_exponent
    return Smile(forward, atm * root_t, p.spx_moneyness_clip, atm, slope, p.spx_smile_curvature)


def vix_smile_terms(forward: float, t_years: float, p: HistoricalSurfaceParams) -> Smile:
    tenor_days = max(t_years * 365.0, p.min_tenor_days)
    atm = p.vix_atm_sigma * (p.vix_ref_tenor_days / tenor_days) ** p.vix_term_exponent
    atm = min(p.sigma_cap, max(p.sigma_floor, atm))
    unit = atm * math.sqrt(tenor_days / 365.0)
    # No curvature: 1 + slope x + (0 x) x is 1 + slope x bit for bit (x is finite or NaN).
    return Smile(forward, unit, p.vix_moneyness_clip, atm, p.vix_call_skew_slope, 0.0)


def smile_sigma(
    strikes: FloatArray, s: Smile | _SmileArrays, p: HistoricalSurfaceParams
) -> FloatArray:
    """sigma per strike; the terms are one expiry's (floats) or one per strike (arrays).
    Element-wise, so a strike's sigma does not depend on what else is priced with it."""
    x = _soft_clip(np.log(strikes / s.forward) / s.unit, s.limit)
    sigma = s.atm * (1.0 + s.slope * x + s.curvature * x * x)
    return np.asarray(np.clip(sigma, p.sigma_floor, p.sigma_cap), dtype=np.float64)


def spx_smile(
    strikes: FloatArray, forward: float, t_years: float, atm: float, skew_pts: float,
    p: HistoricalSurfaceParams,
) -> FloatArray:  # fmt: skip
    return smile_sigma(strikes, spx_smile_terms(forward, t_years, atm, skew_pts, p), p)


def vix_smile(
    strikes: FloatArray, forward: float, t_years: float, p: HistoricalSurfaceParams
) -> FloatArray:
    return smile_sigma(strikes, vix_smile_terms(forward, t_years, p), p)


def _lower_hull(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """Andrew's monotone chain, lower half: the greatest convex minorant's vertices."""
    hx: list[float] = []
    hy: list[float] = []
    for x, y in zip(xs, ys, strict=True):
        while len(hx) >= 2 and (hy[-1] - hy[-2]) * (x - hx[-2]) >= (y - hy[-2]) * (hx[-1] - hx[-2]):
            hx.pop()
            hy.pop()
        hx.append(x)
        hy.append(y)
    return hx, hy


def is_arbitrage_free(strikes: FloatArray, calls: FloatArray, discount: float) -> bool:
    """Call slopes in [-D, 0] and non-decreasing (convex), to 1e-9 (float noise in a
    Black-76 price is ~1e-13, so anything larger is a real, if tiny, arbitrage)."""
    if strikes.size < 2:
        return True
    slopes = np.diff(calls) / np.diff(strikes)
    tol = _ARB_TOL
    return bool(
        np.all(slopes <= tol)
        and np.all(slopes >= -discount - tol)
        and np.all(np.diff(slopes) >= -tol)
    )


def no_arbitrage_calls(
    strikes: FloatArray, calls: FloatArray, forward: float, discount: float
) -> FloatArray:
    """The calls unchanged if arbitrage-free, else their lower convex hull with the bounds."""
    intrinsic = discount * np.maximum(forward - strikes, 0.0)
    calls = np.maximum(calls, intrinsic)
    if is_arbitrage_free(strikes, calls, discount):
        return calls
    far = float(strikes[-1]) * 10.0 + forward * 10.0
    xs = [0.0, *strikes.tolist(), far]
    ys = [discount * forward, *calls.tolist(), 0.0]
    hx, hy = _lower_hull(xs, ys)
    return np.asarray(np.interp(strikes, hx, hy), dtype=np.float64)


def expiry_prices(
    strikes: FloatArray, forward: float, t_years: float, rate: float, sigma: FloatArray
) -> ExpiryPrices:
    """Calls by Black-76, made arbitrage-free; puts by parity."""
    return _priced([strikes], [forward], [t_years], rate, sigma)[0]


def price_expiries(
    grids: Sequence[FloatArray],
    smiles: Sequence[Smile],
    t_years: Sequence[float],
    rate: float,
    p: HistoricalSurfaceParams,
) -> list[ExpiryPrices]:
    """``expiry_prices`` of each grid on its smile, in one vectorised pass over all of them
    (a quote request spans ~10 expiries; numpy's per-call cost dominates grids this small).
    The kernels are element-wise, so each price is bit-identical to pricing its expiry alone;
    only the arbitrage check and its repair are per expiry."""
    if not grids:
        return []
    sizes = [g.size for g in grids]

    def each(values: Sequence[float]) -> FloatArray:
        return np.repeat(np.asarray(values, dtype=np.float64), sizes)

    terms = _SmileArrays(
        *(each([getattr(s, name) for s in smiles]) for name in _SmileArrays.__dataclass_fields__)
    )
    sigma = smile_sigma(np.concatenate(grids), terms, p)
    return _priced(grids, [s.forward for s in smiles], t_years, rate, sigma)


def _priced(
    grids: Sequence[FloatArray],
    forwards: Sequence[float],
    t_years: Sequence[float],
    rate: float,
    sigma: FloatArray,
) -> list[ExpiryPrices]:
    """Calls by Black-76, made arbitrage-free, and puts by parity, of grids laid end to end
    (``sigma`` per strike of all of them)."""
    sizes = [g.size for g in grids]
    discounts = [math.exp(-rate * t) for t in t_years]
    strikes = np.concatenate(grids)
    fwd, disc, t = (
        np.repeat(np.asarray(v, dtype=np.float64), sizes) for v in (forwards, discounts, t_years)
    )
    g = black76(fwd, strikes, t, rate, sigma, True)
    raw = np.asarray(g.price, dtype=np.float64)
    delta = np.asarray(g.delta, dtype=np.float64)
    calls = np.maximum(raw, disc * np.maximum(fwd - strikes, 0.0))
    puts = np.maximum(calls - disc * (fwd - strikes), 0.0)
    free = _arbitrage_free_each(strikes, calls, [-d - _ARB_TOL for d in discounts], sizes)
    out, start = [], 0
    for grid, forward, discount, ok in zip(grids, forwards, discounts, free, strict=True):
        b = slice(start, start + grid.size)
        start = b.stop
        c, p = calls[b], puts[b]
        if not ok:  # rare: the lower convex hull of this expiry's calls, as no_arbitrage_calls
            c = no_arbitrage_calls(grid, raw[b], forward, discount)
            p = np.maximum(c - discount * (forward - grid), 0.0)
        out.append(ExpiryPrices(grid, c, p, sigma[b], delta[b], forward, discount))
    return out


def _arbitrage_free_each(
    strikes: FloatArray, calls: FloatArray, lowest_slope: Sequence[float], sizes: Sequence[int]
) -> list[bool]:
    """``is_arbitrage_free`` of each grid laid end to end; ``lowest_slope`` = -D - tol."""
    grid = np.repeat(np.arange(len(sizes)), sizes)
    within = grid[1:] == grid[:-1]  # a slope between two strikes of one grid
    # Across grids a slope (and a change of slope) can be inf or nan (two grids meet at
    # one strike): masked out by ``within``, so numpy's warning is noise on the terminal.
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.diff(calls) / np.diff(strikes)
        curvature = np.diff(slopes)
    floor = np.repeat(np.asarray(lowest_slope, dtype=np.float64), sizes)[:-1]
    bad = within & ~((slopes <= _ARB_TOL) & (slopes >= floor))
    bent = within[1:] & within[:-1] & ~(curvature >= -_ARB_TOL)
    broken = np.zeros(len(sizes), dtype=bool)
    broken[grid[:-1][bad]] = True
    broken[grid[:-2][bent]] = True
    return [not b for b in broken.tolist()]


def spread_usd(
    price_usd: FloatArray, vix_pts: float, is_vix: bool | npt.NDArray[np.bool_],
    q: HistoricalQuoteParams,
) -> FloatArray:  # fmt: skip
    """The bid/ask width around each model price (before rounding to ticks); ``is_vix``
    one flag for every price, or one per price (a request mixing SPX and VIX options:
    each price's width is then the one its own class's flag gives, bit for bit)."""
    frac: float | FloatArray
    floor: float | FloatArray
    cap: float | FloatArray
    if isinstance(is_vix, np.ndarray):
        frac = np.where(is_vix, q.vix_spread_frac, q.spx_spread_frac)
        floor = np.where(is_vix, q.vix_spread_min_usd, q.spx_spread_min_usd)
        cap = np.where(is_vix, q.vix_spread_max_usd, q.spx_spread_max_usd)
    elif is_vix:
        frac, floor, cap = q.vix_spread_frac, q.vix_spread_min_usd, q.vix_spread_max_usd
    else:
        frac, floor, cap = q.spx_spread_frac, q.spx_spread_min_usd, q.spx_spread_max_usd
    stress = (max(vix_pts, 1.0) / q.spread_ref_vix_pts) ** q.spread_vix_exponent
    return np.asarray(
        np.minimum((frac * price_usd + floor) * stress, cap * stress), dtype=np.float64
    )


def ticked_bid_ask(
    price_usd: FloatArray, width_usd: FloatArray, rule: TickRule | TickRules, min_ticks: int
) -> tuple[FloatArray, FloatArray]:
    """Bid and ask around each price: at least ``min_ticks`` ticks apart, the bid rounded
    down and the ask up, each on the tick of its own price (Cboe: SPX 0.05 under 3.00,
    0.10 at or above); the ask at least one tick, the bid at least 0. ``TickRules``: each
    price under its own rule (element by element, the same floats as its rule alone)."""
    width = np.maximum(width_usd, min_ticks * rule_ticks(price_usd, rule))
    low, high = price_usd - width / 2.0, price_usd + width / 2.0
    low_tick = rule_ticks(low, rule)
    bid = np.maximum(0.0, np.floor(low / low_tick + 1e-9) * low_tick)
    ask = np.ceil(high / rule.below_usd - 1e-9) * rule.below_usd
    above = np.ceil(high / rule.at_or_above_usd - 1e-9) * rule.at_or_above_usd
    ask = np.maximum(np.where(ask >= rule.threshold_usd, above, ask), rule.below_usd)
    out_bid = np.asarray(np.round(bid, 6) + 0.0, dtype=np.float64)
    return out_bid, np.asarray(np.round(ask, 6) + 0.0, dtype=np.float64)
