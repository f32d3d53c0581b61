"""Test-data builders shared by the core tests: contracts, positions, quotes, snapshots.

Everything defaults to one fixed, realistic moment so tests read as tables:

- ``NOW`` = Monday 2026-03-02 11:00 New York, a regular session.
- ``SPX_EXPIRY`` = Friday 2026-04-17, the April standard expiry (both the AM-settled SPX
  monthly and the PM-settled SPXW list it); ``SPX_FAR_EXPIRY`` = 2026-05-15.
- ``VIX_EXPIRY`` = Wednesday 2026-04-15 (the April VIX expiry by the Cboe rule).
- ``RATE`` = 4% continuously compounded, the model's default.

Option quotes are priced by the model's own Black-76 (``daemon.core.pricing.black76``)
with time to expiry from ``daemon.core.calendar``: a chain built with a known forward and
vol is then the oracle that ``market.build_market_view`` must recover. Quotes are
symmetric around the model price (``mid`` is exact) with a relative half-spread small
enough to pass validation unless a test widens it.

Units as in ``daemon.core.models``: prices USD per share, strikes in index points, vols as
decimal ``sigma``; ``avg_cost`` is IB's (per contract, multiplier included, positive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

from daemon.core.calendar import NY, time_to_expiry_years
from daemon.core.models import (
    Contract,
    MarketSnapshot,
    OptionQuote,
    Position,
    Quote,
    Right,
    SecType,
)
from daemon.core.pricing import black76

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=NY)
SPX_EXPIRY = date(2026, 4, 17)
SPX_FAR_EXPIRY = date(2026, 5, 15)
VIX_EXPIRY = date(2026, 4, 15)
RATE = 0.04
SPOT = 5000.0
VIX_SPOT = 18.0
VIX3M = 20.0
VIX_FUTURE = 19.5
HALF_SPREAD_FRAC = 0.01  # bid/ask = mid * (1 -/+ this)

# A vol per strike, or a flat vol.
VolSpec = float | Callable[[float], float]


# ---- contracts ----------------------------------------------------------------------------
def spx_option(
    strike: float,
    right: Right | str,
    expiry: date = SPX_EXPIRY,
    trading_class: str = "SPXW",
) -> Contract:
    """An SPX-family option; ``trading_class`` "SPXW" (PM) or "SPX" (monthly, AM)."""
    return Contract(
        symbol="SPX",
        sec_type=SecType.OPTION,
        trading_class=trading_class,
        expiry=expiry,
        strike=float(strike),
        right=Right(right),
    )


def vix_option(
    strike: float, right: Right | str = Right.CALL, expiry: date = VIX_EXPIRY
) -> Contract:
    return Contract(
        symbol="VIX",
        sec_type=SecType.OPTION,
        trading_class="VIX",
        expiry=expiry,
        strike=float(strike),
        right=Right(right),
    )


def vix_future(expiry: date = VIX_EXPIRY) -> Contract:
    return Contract(
        symbol="VIX", sec_type=SecType.FUTURE, trading_class="VX", expiry=expiry, multiplier=1000
    )


def stock(symbol: str = "AAPL") -> Contract:
    """A non-option position the model must leave alone."""
    return Contract(symbol=symbol, sec_type=SecType.OTHER, multiplier=1)


# ---- positions ----------------------------------------------------------------------------
def pos(contract: Contract, quantity: int, avg_cost_usd: float = 0.0) -> Position:
    return Position(contract=contract, quantity=quantity, avg_cost_usd=avg_cost_usd)


def iron_condor(
    strikes: tuple[float, float, float, float],
    quantity: int = 1,
    expiry: date = SPX_EXPIRY,
    trading_class: str = "SPXW",
    leg_costs_usd: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> list[Position]:
    """Positions of ``quantity`` condors (long put, short put, short call, long call)."""
    lp, sp, sc, lc = strikes
    rights = (Right.PUT, Right.PUT, Right.CALL, Right.CALL)
    signs = (1, -1, -1, 1)
    return [
        pos(spx_option(k, r, expiry, trading_class), s * quantity, cost)
        for k, r, s, cost in zip((lp, sp, sc, lc), rights, signs, leg_costs_usd, strict=True)
    ]


# ---- quotes -------------------------------------------------------------------------------
def quote(
    bid: float | None,
    ask: float | None,
    time: datetime = NOW,
    last: float | None = None,
    model_iv_sigma: float | None = None,
) -> Quote:
    return Quote(bid=bid, ask=ask, time=time, last=last, model_iv_sigma=model_iv_sigma)


def index_quote(value: float, time: datetime = NOW) -> Quote:
    """An index as IB sends it: a last price, no bid/ask."""
    return Quote(bid=None, ask=None, time=time, last=value)


def two_sided(
    mid: float, half_spread_frac: float = HALF_SPREAD_FRAC, time: datetime = NOW
) -> Quote:
    return Quote(bid=mid * (1 - half_spread_frac), ask=mid * (1 + half_spread_frac), time=time)


def _vol(spec: VolSpec, strike: float) -> float:
    return spec(strike) if callable(spec) else float(spec)


def model_price(
    contract: Contract, forward: float, sigma: float, now: datetime = NOW, rate: float = RATE
) -> float:
    """Discounted Black-76 price, USD per share, of ``contract`` at ``now``."""
    assert contract.strike is not None and contract.right is not None
    t_years = time_to_expiry_years(contract, now)
    return float(black76(forward, contract.strike, t_years, rate, sigma, contract.right).price)


def priced_quote(
    contract: Contract,
    forward: float,
    sigma: float,
    now: datetime = NOW,
    rate: float = RATE,
    half_spread_frac: float = HALF_SPREAD_FRAC,
    quote_time: datetime | None = None,
    model_iv_sigma: float | None = None,
) -> OptionQuote:
    """A quote centred on the model price (``mid`` exact), stamped ``quote_time`` or now."""
    mid = model_price(contract, forward, sigma, now, rate)
    q = two_sided(mid, half_spread_frac, quote_time or now)
    if model_iv_sigma is not None:
        q = Quote(q.bid, q.ask, q.time, q.last, model_iv_sigma)
    return OptionQuote(contract, q)


def chain(
    strikes: Iterable[float],
    forward: float,
    vol: VolSpec,
    expiry: date = SPX_EXPIRY,
    trading_class: str = "SPXW",
    now: datetime = NOW,
    rate: float = RATE,
    rights: Sequence[Right] = (Right.CALL, Right.PUT),
) -> list[OptionQuote]:
    """Calls and puts of one SPX-family expiry priced at ``forward`` with ``vol``."""
    return [
        priced_quote(spx_option(k, r, expiry, trading_class), forward, _vol(vol, k), now, rate)
        for k in strikes
        for r in rights
    ]


def vix_chain(
    strikes: Iterable[float],
    future: float = VIX_FUTURE,
    vol: VolSpec = 0.9,
    expiry: date = VIX_EXPIRY,
    now: datetime = NOW,
    rate: float = RATE,
    rights: Sequence[Right] = (Right.CALL, Right.PUT),
) -> list[OptionQuote]:
    """VIX options of one expiry priced on the VIX future ``future`` with ``vol``."""
    return [
        priced_quote(vix_option(k, r, expiry), future, _vol(vol, k), now, rate)
        for k in strikes
        for r in rights
    ]


def skew(atm_sigma: float = 0.18, slope_per_pt: float = -0.00015, spot: float = SPOT) -> VolSpec:
    """A linear put skew: sigma(K) = atm + slope x (K - spot), floored at 8%."""
    return lambda k: max(0.08, atm_sigma + slope_per_pt * (k - spot))


def strikes(lo: float, hi: float, step: float) -> list[float]:
    n = round((hi - lo) / step)
    return [lo + i * step for i in range(n + 1)]


# ---- snapshots ----------------------------------------------------------------------------
def snapshot(
    *,
    now: datetime = NOW,
    positions: Sequence[Position] = (),
    options: Sequence[OptionQuote] = (),
    spx: Quote | float = SPOT,
    vix: Quote | float = VIX_SPOT,
    vix3m: Quote | float | None = VIX3M,
    vix_futures: dict[date, Quote | float] | None = None,
) -> MarketSnapshot:
    """A snapshot; floats become fresh index quotes (futures: two-sided quotes)."""
    futures = {VIX_EXPIRY: VIX_FUTURE} if vix_futures is None else vix_futures

    def idx(v: Quote | float) -> Quote:
        return v if isinstance(v, Quote) else index_quote(v, now)

    return MarketSnapshot(
        now=now,
        account_id="DU0000000",
        is_paper=True,
        positions=tuple(positions),
        spx=idx(spx),
        vix=idx(vix),
        vix3m=None if vix3m is None else idx(vix3m),
        vix_futures={
            d: q if isinstance(q, Quote) else two_sided(q, 0.002, now) for d, q in futures.items()
        },
        options=tuple(options),
    )


def spx_forward(spot: float = SPOT, expiry: date = SPX_EXPIRY, now: datetime = NOW) -> float:
    """A plausible forward: carry at RATE less a 1.3% dividend yield (any value works; tests
    only need the chain and the expectation to agree)."""
    t_years = (datetime.combine(expiry, datetime.min.time(), NY) - now) / timedelta(days=365)
    return spot * (1 + (RATE - 0.013) * t_years)


def standard_snapshot(
    positions: Sequence[Position] = (),
    now: datetime = NOW,
    spx_vol: VolSpec | None = None,
    vix_vol: VolSpec = 0.9,
) -> MarketSnapshot:
    """SPXW chains for SPX_EXPIRY and SPX_FAR_EXPIRY (4400..5600 step 25), the April VIX
    chain (10..50 step 1) on VIX_FUTURE, SPX 5000, VIX 18, VIX3M 20."""
    vol = spx_vol if spx_vol is not None else skew()
    options: list[OptionQuote] = []
    for expiry in (SPX_EXPIRY, SPX_FAR_EXPIRY):
        options += chain(
            strikes(4400, 5600, 25), spx_forward(SPOT, expiry, now), vol, expiry, now=now
        )
    options += vix_chain(strikes(10, 50, 1), VIX_FUTURE, vix_vol, now=now)
    return snapshot(now=now, positions=positions, options=options)
