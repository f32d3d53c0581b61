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

Spreads (``spread_usd``, ``ticked_bid_ask``): (frac x price + min) x (VIX / ref)^exponent,
capped at the max scaled the same way: quotes widen in stress, as they do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from daemon.brokers.sim.historical_params import HistoricalQuoteParams, HistoricalSurfaceParams
from daemon.core.params import TickRule
from daemon.core.pricing import black76
from daemon.core.ticks import rule_ticks

FloatArray = npt.NDArray[np.float64]
VIX_DAYS, VIX3M_DAYS = 30.0, 93.0


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


def _soft_clip(x: FloatArray, limit: float) -> FloatArray:
    """limit tanh(x / limit): x near the money, flattening smoothly to +-limit in the wings.
    A hard clip puts a kink in the smile, and a kink is a butterfly arbitrage."""
    return np.asarray(limit * np.tanh(x / limit), dtype=np.float64)


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


def spx_smile(
    strikes: FloatArray, forward: float, t_years: float, atm: float, skew_pts: float,
    p: HistoricalSurfaceParams,
) -> FloatArray:  # fmt: skip
    tenor_days = max(t_years * 365.0, p.min_tenor_days)
    root_t = math.sqrt(tenor_days / 365.0)
    x = _soft_clip(np.log(strikes / forward) / (atm * root_t), p.spx_moneyness_clip)
    slope = p.spx_skew_slope_per_skew_pt * (skew_pts - 100.0)
    slope *= (VIX_DAYS / tenor_days) ** p.spx_slope_term_exponent
    sigma = atm * (1.0 + slope * x + p.spx_smile_curvature * x * x)
    return np.asarray(np.clip(sigma, p.sigma_floor, p.sigma_cap), dtype=np.float64)


def vix_smile(
    strikes: FloatArray, forward: float, t_years: float, p: HistoricalSurfaceParams
) -> FloatArray:
    tenor_days = max(t_years * 365.0, p.min_tenor_days)
    atm = p.vix_atm_sigma * (p.vix_ref_tenor_days / tenor_days) ** p.vix_term_exponent
    atm = min(p.sigma_cap, max(p.sigma_floor, atm))
    x = np.log(strikes / forward) / (atm * math.sqrt(tenor_days / 365.0))
    x = _soft_clip(x, p.vix_moneyness_clip)
    sigma = atm * (1.0 + p.vix_call_skew_slope * x)
    return np.asarray(np.clip(sigma, p.sigma_floor, p.sigma_cap), dtype=np.float64)


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
    tol = 1e-9
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
    discount = math.exp(-rate * t_years)
    g = black76(forward, strikes, t_years, rate, sigma, True)
    calls = no_arbitrage_calls(strikes, np.asarray(g.price, dtype=np.float64), forward, discount)
    puts = calls - discount * (forward - strikes)
    return ExpiryPrices(
        strikes=strikes,
        calls=calls,
        puts=np.maximum(puts, 0.0),
        sigma=sigma,
        call_delta=np.asarray(g.delta, dtype=np.float64),
        forward=forward,
        discount=discount,
    )


def spread_usd(
    price_usd: FloatArray, vix_pts: float, is_vix: bool, q: HistoricalQuoteParams
) -> FloatArray:
    """The bid/ask width around each model price (before rounding to ticks)."""
    if is_vix:
        frac, floor, cap = q.vix_spread_frac, q.vix_spread_min_usd, q.vix_spread_max_usd
    else:
        frac, floor, cap = q.spx_spread_frac, q.spx_spread_min_usd, q.spx_spread_max_usd
    stress = (max(vix_pts, 1.0) / q.spread_ref_vix_pts) ** q.spread_vix_exponent
    return np.asarray(
        np.minimum((frac * price_usd + floor) * stress, cap * stress), dtype=np.float64
    )


def ticked_bid_ask(
    price_usd: FloatArray, width_usd: FloatArray, rule: TickRule, min_ticks: int
) -> tuple[FloatArray, FloatArray]:
    """Bid and ask around each price: at least ``min_ticks`` ticks apart, the bid rounded
    down and the ask up, each on the tick of its own price (Cboe: SPX 0.05 under 3.00,
    0.10 at or above); the ask at least one tick, the bid at least 0."""
    width = np.maximum(width_usd, min_ticks * rule_ticks(price_usd, rule))
    low, high = price_usd - width / 2.0, price_usd + width / 2.0
    low_tick = rule_ticks(low, rule)
    bid = np.maximum(0.0, np.floor(low / low_tick + 1e-9) * low_tick)
    ask = np.ceil(high / rule.below_usd - 1e-9) * rule.below_usd
    above = np.ceil(high / rule.at_or_above_usd - 1e-9) * rule.at_or_above_usd
    ask = np.maximum(np.where(ask >= rule.threshold_usd, above, ask), rule.below_usd)
    out_bid = np.asarray(np.round(bid, 6) + 0.0, dtype=np.float64)
    return out_bid, np.asarray(np.round(ask, 6) + 0.0, dtype=np.float64)
