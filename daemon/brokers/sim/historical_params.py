"""Knobs of the historical market (``historical.py``) and its proxy surface (``surface.py``).

Every surface and spread parameter is fitted by ``benchmarks/fit_surface.py`` on the real
chains in ``shared/data/market``; the fit and its errors are in docs/replay.md ("Proxy
surface"). Units: vols and fractions as decimals, VIX-family levels in vol points, money
in USD per share, tenors in calendar days.
"""

from __future__ import annotations

from pydantic import Field

from daemon.core.params import Section


class HistoricalSurfaceParams(Section):
    """SPX smile from VIX, VIX3M and SKEW; VIX options' vol of vol (see ``surface.py``)."""

    spx_atm_ratio: float = Field(
        0.78, gt=0, le=3, description="SPX ATM vol / the VIX-VIX3M variance curve at the tenor"
    )
    spx_skew_slope_per_skew_pt: float = Field(
        -0.0054,
        ge=-0.1,
        le=0.1,
        description="Smile slope per SKEW point above 100 (slope = this x (SKEW - 100))",
    )
    spx_skew_default_pts: float = Field(
        125.0, ge=100, le=200, description="SKEW used on a day without a SKEW print"
    )
    spx_slope_term_exponent: float = Field(
        -0.114,
        ge=-1,
        le=1,
        description="Slope scales as (30 days / tenor)^exponent (in standardised moneyness)",
    )
    spx_smile_curvature: float = Field(
        0.0693, ge=0, le=2, description="Relative vol change per squared standardised moneyness"
    )
    spx_moneyness_clip: float = Field(
        3.0,
        gt=0,
        le=20,
        description="Standardised moneyness the smile flattens toward (soft clip, tanh)",
    )
    min_tenor_days: float = Field(
        1.0, gt=0, le=30, description="Shortest tenor used for the smile (0DTE floor)"
    )
    vix_atm_sigma: float = Field(
        0.701, gt=0, le=5, description="VIX option ATM vol at the reference tenor"
    )
    vix_ref_tenor_days: float = Field(30.0, gt=0, le=365, description="Tenor of vix_atm_sigma")
    vix_term_exponent: float = Field(
        0.113, ge=0, le=2, description="VIX option ATM vol scales as (ref / tenor)^exponent"
    )
    vix_call_skew_slope: float = Field(
        0.442, ge=-2, le=2, description="VIX option relative vol change per standardised moneyness"
    )
    vix_moneyness_clip: float = Field(
        3.0,
        gt=0,
        le=20,
        description="VIX standardised moneyness the smile flattens toward (soft clip)",
    )
    sigma_floor: float = Field(0.03, gt=0, le=1, description="Lowest implied vol quoted")
    sigma_cap: float = Field(5.0, gt=0.1, le=20, description="Highest implied vol quoted")


class HistoricalQuoteParams(Section):
    """Bid/ask: spread = (frac x price + min) x (VIX / ref)^exponent, capped, on ticks."""

    spx_spread_frac: float = Field(0.0066, ge=0, le=1, description="SPX spread / price")
    spx_spread_min_usd: float = Field(0.24, ge=0, le=10, description="SPX spread floor")
    spx_spread_max_usd: float = Field(5.0, gt=0, le=100, description="Widest SPX spread at ref")
    vix_spread_frac: float = Field(0.05, ge=0, le=1, description="VIX option spread / price")
    vix_spread_min_usd: float = Field(0.05, ge=0, le=10, description="VIX option spread floor")
    vix_spread_max_usd: float = Field(0.5, gt=0, le=10, description="Widest VIX spread at ref")
    spread_ref_vix_pts: float = Field(
        20.0, gt=0, le=100, description="VIX at which spreads are their base width"
    )
    spread_vix_exponent: float = Field(
        1.0, ge=0, le=3, description="Spreads scale as (VIX / ref)^exponent (wider in stress)"
    )


class HistoricalParams(Section):
    """The historical market: when its prints appear and how its options are priced."""

    close_print_min_before_close: int = Field(
        15,
        ge=1,
        le=120,
        description="The day's closing values are shown from this many minutes before the"
        " close, so a daily cycle after it trades at closing prices",
    )
    vix3m_proxy_scale: float = Field(
        1.029,
        gt=0,
        le=2,
        description="VIX3M proxy (before 2009-09-18) = scale x the 93-day variance average"
        " of VIX and the VX curve",
    )
    dividend_yield_frac: float = Field(
        0.018, ge=0, le=0.2, description="SPX dividend yield; forward = S exp((r - q) T)"
    )
    rate_frac: float = Field(
        0.02, ge=-0.05, le=0.25, description="Risk-free rate for forwards and discounting"
    )
    surface: HistoricalSurfaceParams = HistoricalSurfaceParams()
    quotes: HistoricalQuoteParams = HistoricalQuoteParams()
