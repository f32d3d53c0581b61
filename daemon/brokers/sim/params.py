"""Every knob of the simulated broker: seed, clock, market model, chains, quotes, orders,
the initial book and the fault injections (all off by default).

Units: index levels and strikes in points, VIX in vol points (18.5), rates and vols as
decimal fractions per year, ``_per_year`` rates in trading-time years (252 sessions of
390 minutes), times to expiry in ACT/365 calendar years, money in USD per share.
The model itself is described in ``daemon.brokers.sim.market``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from daemon.brokers.sim.historical_params import HistoricalParams
from daemon.core.params import Section, TickRule


class MarketParams(Section):
    """The stochastic model of SPX, VIX and its term structure (see ``market.py``)."""

    spx_start_pts: float = Field(6000.0, gt=100, le=100_000, description="SPX at the start")
    vix_start_pts: float = Field(16.0, ge=5, le=150, description="VIX at the start")
    vix_long_run_pts: float = Field(
        19.0, ge=5, le=80, description="Long-run mean of VIX (geometric), the slow level's pull"
    )
    vix_level_start_pts: float | None = Field(
        None, ge=5, le=150, description="Slow level of VIX at the start; None = the long-run mean"
    )
    vix_reversion_per_year: float = Field(
        6.0, ge=0, le=100, description="Pull of ln VIX toward the slow level (half-life ln2/k)"
    )
    vix_vol_per_sqrt_year: float = Field(
        1.0, ge=0, le=5, description="Volatility of ln VIX (diffusive part)"
    )
    level_reversion_per_year: float = Field(
        0.7, ge=0, le=50, description="Pull of the slow level toward the long-run mean"
    )
    level_vol_per_sqrt_year: float = Field(
        0.25, ge=0, le=5, description="Volatility of the slow level of ln VIX"
    )
    spx_vol_ratio: float = Field(
        0.8,
        gt=0,
        le=3,
        description="SPX instantaneous vol = ratio x VIX / 100 (realised < implied)",
    )
    spx_vix_correlation: float = Field(
        -0.75, ge=-1, le=1, description="Correlation of SPX and ln VIX diffusive shocks"
    )
    spx_drift_frac_per_year: float = Field(0.06, ge=-1, le=1, description="SPX expected return")
    dividend_yield_frac: float = Field(
        0.013, ge=0, le=0.2, description="SPX dividend yield; forward = S exp((r - q) T)"
    )
    rate_frac: float = Field(0.04, ge=-0.05, le=0.25, description="Risk-free rate (discounting)")
    jump_rate_per_year: float = Field(
        4.0, ge=0, le=100_000, description="Intensity of VIX-up / SPX-down jumps"
    )
    jump_log_vix_mean: float = Field(
        0.25, ge=0, le=3, description="Mean jump of ln VIX (exponential size; 0.25 = +28%)"
    )
    jump_spx_per_log_vix: float = Field(
        0.12, ge=0, le=2, description="SPX log drop per unit jump of ln VIX (0.25 jump -> -3%)"
    )
    jump_level_share: float = Field(
        0.3, ge=0, le=1, description="Share of a jump that also lifts the slow level"
    )
    term_premium_log: float = Field(
        0.08, ge=-1, le=1, description="Log premium of long-dated VIX futures over expected VIX"
    )
    term_premium_tenor_years: float = Field(
        0.25, gt=0, le=5, description="Tenor over which the term premium builds up"
    )
    step_min: float = Field(1.0, gt=0, le=60, description="Simulated minutes per market step")
    overnight_variance_sessions: float = Field(
        0.2, ge=0, le=5, description="Variance of the opening gap step, in sessions of variance"
    )
    history_sessions: int = Field(
        400, ge=300, le=5000, description="Synthetic sessions of daily history before the start"
    )
    breadth_issues: int = Field(3000, ge=100, le=20_000, description="NYSE issues traded a day")
    breadth_unchanged_frac: float = Field(
        0.03, ge=0, le=0.5, description="Share of issues unchanged on a day"
    )
    breadth_beta: float = Field(
        0.8, ge=0, le=5, description="Advancing share = Phi(beta x day return in sigmas + noise)"
    )
    breadth_noise_sigma: float = Field(0.35, ge=0, le=5, description="Noise of the breadth probit")


class SurfaceParams(Section):
    """Implied vols: SPX tied to the VIX curve with a put skew, VIX options with call skew."""

    spx_atm_ratio: float = Field(
        0.9, gt=0, le=3, description="SPX ATM vol = ratio x RMS of the VIX curve over the tenor"
    )
    spx_skew_slope: float = Field(
        -0.25, ge=-2, le=2, description="Relative vol change per unit standardised moneyness"
    )
    spx_skew_curvature: float = Field(
        0.05, ge=0, le=2, description="Relative vol change per squared standardised moneyness"
    )
    min_tenor_days: float = Field(
        1.0, gt=0, le=30, description="Shortest tenor used for ATM vols (0DTE floor)"
    )
    vix_atm_sigma: float = Field(
        0.85, gt=0, le=5, description="VIX option ATM vol at the reference tenor and at VIX = mean"
    )
    vix_ref_tenor_days: float = Field(30.0, gt=0, le=365, description="Tenor of vix_atm_sigma")
    vix_term_exponent: float = Field(
        0.35, ge=0, le=2, description="VIX option ATM vol scales as (ref tenor / tenor)^exponent"
    )
    vix_level_exponent: float = Field(
        0.3, ge=-2, le=2, description="VIX option ATM vol scales as (VIX / long-run mean)^exponent"
    )
    vix_call_skew_slope: float = Field(
        0.2, ge=-2, le=2, description="VIX option relative vol change per standardised moneyness"
    )
    moneyness_clip: float = Field(
        4.0, gt=0, le=20, description="Standardised moneyness beyond which the smile is flat"
    )
    sigma_floor: float = Field(0.03, gt=0, le=1, description="Lowest implied vol quoted")
    sigma_cap: float = Field(4.0, gt=0.1, le=20, description="Highest implied vol quoted")


class ChainParams(Section):
    """Which expiries and strikes are listed."""

    spx_strike_step_pts: float = Field(5.0, gt=0, le=100, description="SPX/SPXW strike grid")
    spx_strike_band_frac: float = Field(
        0.3, gt=0, le=0.95, description="Strikes listed within spot x (1 -/+ band)"
    )
    spx_monthly_count: int = Field(12, ge=1, le=60, description="SPX monthly (AM) expiries listed")
    spxw_daily_sessions: int = Field(
        10, ge=0, le=60, description="SPXW dailies: every session this many sessions ahead"
    )
    spxw_weekly_max_days: int = Field(
        180, ge=7, le=1000, description="SPXW Friday weeklies listed this many days ahead"
    )
    vix_expiry_count: int = Field(8, ge=1, le=24, description="VIX monthly futures and options")
    vix_strike_step_pts: float = Field(1.0, gt=0, le=10, description="VIX strike grid")
    vix_strike_min_pts: float = Field(10.0, gt=0, le=100, description="Lowest VIX strike listed")
    vix_strike_max_pts: float = Field(80.0, gt=0, le=500, description="Highest VIX strike listed")


class QuoteParams(Section):
    """Bid/ask around the model price: spread = clip(frac x price, ticks, max), on ticks."""

    spx_ticks: TickRule = Field(TickRule(), description="SPX/SPXW option and combo ticks")
    vix_ticks: TickRule = Field(
        TickRule(below_usd=0.01, at_or_above_usd=0.05, combo_usd=0.01),
        description="VIX option and combo ticks",
    )
    vix_future_tick_usd: float = Field(0.05, gt=0, le=1, description="VIX future tick")
    spx_spread_frac: float = Field(0.02, ge=0, le=1, description="SPX option spread / price")
    spx_max_spread_usd: float = Field(2.0, gt=0, le=100, description="Widest SPX option spread")
    vix_spread_frac: float = Field(0.05, ge=0, le=1, description="VIX option spread / price")
    vix_max_spread_usd: float = Field(0.3, gt=0, le=10, description="Widest VIX option spread")
    min_spread_ticks: int = Field(1, ge=1, le=20, description="Narrowest spread, in ticks")
    future_spread_ticks: int = Field(1, ge=1, le=20, description="VIX future spread, in ticks")


class OrderParams(Section):
    """How the matching engine fills combo limit orders."""

    max_fill_per_step_contracts: int | None = Field(
        None, ge=1, le=100_000, description="Combo units filled per market step; None = all"
    )
    price_improvement_frac: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A buy limit this fraction of the way from the natural price to the mid"
        " already fills (combos trade inside the legs' spreads); 0 = only at natural",
    )


class CondorParams(Section):
    """One SPX iron condor of the initial book; strikes chosen by delta at the start."""

    trading_class: Literal["SPX", "SPXW"] = Field("SPXW", description="Monthly AM or PM class")
    dte_days: int = Field(35, ge=1, le=400, description="The listed expiry nearest this DTE")
    short_delta: float = Field(0.15, gt=0, lt=0.5, description="|delta| of the short strikes")
    wing_width_pts: float = Field(50.0, gt=0, le=1000, description="Long strike distance")
    quantity: int = Field(10, ge=1, le=10_000, description="Condors (contracts per leg)")


class AccountParams(Section):
    number: str = Field("1234567", pattern=r"^[0-9]{4,10}$", description="Digits of the id")
    live_looking: bool = Field(
        False, description="Report a live-looking 'U...' account (for guard tests)"
    )


class FaultParams(Section):
    """Injected faults, all off by default; ``SimBroker.set_faults`` changes them at run time."""

    drop_connection: bool = Field(
        False,
        description="The next call finds the connection dropped (raises BrokerDisconnected);"
        " it stays down until connect(). The flag clears itself once it has fired.",
    )
    refuse_connect: bool = Field(False, description="connect() raises BrokerDisconnected")
    stale_quotes_s: float = Field(
        0.0, ge=0, le=86_400, description="Quote timestamps lag the market by this many seconds"
    )
    nan_quote_frac: float = Field(
        0.0, ge=0, le=1, description="Share of instruments (fixed per instrument) quoted NaN"
    )
    crossed_quote_frac: float = Field(
        0.0, ge=0, le=1, description="Share of instruments (fixed per instrument) quoted crossed"
    )
    reject_all_orders: bool = Field(False, description="Every new order is rejected")
    reject_order_frac: float = Field(
        0.0, ge=0, le=1, description="Share of new orders rejected (deterministic per order id)"
    )
    slow_reply_s: float = Field(
        0.0, ge=0, le=600, description="Real seconds every reply is delayed (asyncio.sleep)"
    )
    keep_settled_positions_min: float = Field(
        0.0,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes a settled position stays listed by positions() after its"
        " settlement (its cash is settled at once), as IB lists it until overnight processing",
    )


def _default_book() -> tuple[CondorParams, ...]:
    # A small fund's book: 20 front-month SPXW condors and 10 SPX monthlies further out.
    # At this size one SPX put diagonal (~30 points of debit) fits the carry budget beside
    # the VIX spreads, so the demo shows both hedge families, as a real book of it would.
    return (
        CondorParams(quantity=20),
        CondorParams(
            trading_class="SPX", dte_days=60, short_delta=0.12, wing_width_pts=75, quantity=10
        ),
    )


class SimParams(Section):
    """The simulated broker, whole."""

    seed: int = Field(7, ge=0, le=2**63 - 1, description="Seed of every random draw")
    start: AwareDatetime | None = Field(
        None, description="Market time at the start; None = the next session open from now"
    )
    clock_speed_x: float = Field(
        60.0, gt=0, le=1e6, description="Market seconds per real second while a session is open"
    )
    closed_speed_x: float = Field(
        3600.0, gt=0, le=1e7, description="Market seconds per real second while closed"
    )
    pump_interval_s: float = Field(
        0.25, gt=0, le=60, description="Real seconds between background market updates"
    )
    request_timeout_s: float = Field(
        10.0, gt=0, le=600, description="A reply slower than this raises BrokerTimeout"
    )
    received_orders_path: str = Field(
        "",
        max_length=4096,
        description="File the sim appends every order it receives to (one JSON line, synced"
        " before the order is handled), so a record outlives a killed daemon; empty = none",
    )
    account: AccountParams = AccountParams()
    market: MarketParams = MarketParams()
    surface: SurfaceParams = SurfaceParams()
    chains: ChainParams = ChainParams()
    quotes: QuoteParams = QuoteParams()
    orders: OrderParams = OrderParams()
    book: tuple[CondorParams, ...] = Field(
        default_factory=_default_book, description="Iron condors held at the start"
    )
    faults: FaultParams = FaultParams()
    historical: HistoricalParams = Field(
        HistoricalParams(), description="The historical market of `alvh replay` (historical.py)"
    )


__all__ = [
    "AccountParams",
    "ChainParams",
    "CondorParams",
    "FaultParams",
    "MarketParams",
    "OrderParams",
    "QuoteParams",
    "SimParams",
    "SurfaceParams",
]
