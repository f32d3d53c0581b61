"""The proxy surface's chains: put-call parity and no static arbitrage, spreads that widen."""

from __future__ import annotations

import asyncio
import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.brokers.sim.chains import Chains
from daemon.brokers.sim.historical import HistoricalSource
from daemon.brokers.sim.historical_params import HistoricalQuoteParams, HistoricalSurfaceParams
from daemon.brokers.sim.surface import (
    expiry_prices,
    is_arbitrage_free,
    no_arbitrage_calls,
    spread_usd,
    spx_atm_sigma,
    spx_smile,
    ticked_bid_ask,
    vix_smile,
)
from daemon.core.calendar import time_to_expiry_years
from daemon.core.models import Contract, Right, SecType
from daemon.core.ticks import RoundMode, TickRules, round_to_tick
from daemon.replay.data import MarketData


def _assert_no_arbitrage(
    strikes: np.ndarray, calls: np.ndarray, puts: np.ndarray, d: float, f: float
) -> None:
    """Parity C - P = D (F - K); calls non-increasing, puts non-decreasing, both convex."""
    np.testing.assert_allclose(calls - puts, d * (f - strikes), atol=1e-7)
    dk = np.diff(strikes)
    call_slope, put_slope = np.diff(calls) / dk, np.diff(puts) / dk
    assert np.all(call_slope <= 1e-9) and np.all(put_slope >= -1e-9)
    assert np.all(call_slope >= -d - 1e-9) and np.all(put_slope <= d + 1e-9)
    assert np.all(np.diff(call_slope) >= -1e-7) and np.all(np.diff(put_slope) >= -1e-7)
    assert np.all(calls >= d * np.maximum(f - strikes, 0) - 1e-9)


@settings(max_examples=300, deadline=None)
@given(
    vix=st.floats(9.0, 90.0),
    term=st.floats(0.6, 1.4),
    skew=st.floats(100.0, 170.0),
    days=st.floats(0.05, 400.0),
    slope=st.floats(-0.03, 0.0),
    curvature=st.floats(0.0, 0.5),
)
def test_spx_chains_are_arbitrage_free_for_any_market(
    vix: float, term: float, skew: float, days: float, slope: float, curvature: float
) -> None:
    """Whatever VIX, term structure, SKEW, tenor and smile knobs: parity, monotone, convex."""
    p = HistoricalSurfaceParams(spx_skew_slope_per_skew_pt=slope, spx_smile_curvature=curvature)
    spot, t = 4000.0, days / 365.0
    fwd = spot * math.exp(0.01 * t)
    strikes = np.arange(spot * 0.5, spot * 1.3, 5.0)
    atm = spx_atm_sigma(vix, vix * term, days, p.spx_atm_ratio)
    sigma = spx_smile(strikes, fwd, t, atm, skew, p)
    g = expiry_prices(strikes, fwd, t, 0.03, sigma)
    _assert_no_arbitrage(strikes, g.calls, g.puts, g.discount, fwd)


@settings(max_examples=200, deadline=None)
@given(fwd=st.floats(10.0, 80.0), days=st.floats(0.5, 250.0), skew=st.floats(-0.5, 1.0))
def test_vix_chains_are_arbitrage_free(fwd: float, days: float, skew: float) -> None:
    """VIX options on their future: parity, monotone and convex in strike."""
    p = HistoricalSurfaceParams(vix_call_skew_slope=skew)
    strikes = np.arange(5.0, 120.0, 1.0)
    t = days / 365.0
    g = expiry_prices(strikes, fwd, t, 0.03, vix_smile(strikes, fwd, t, p))
    _assert_no_arbitrage(strikes, g.calls, g.puts, g.discount, fwd)


def test_atm_variance_follows_vix_and_vix3m() -> None:
    """30 days is VIX, 93 days is VIX3M, between them total variance is linear (hand values)."""
    assert spx_atm_sigma(20.0, 25.0, 30.0, 1.0) == pytest.approx(0.20)
    assert spx_atm_sigma(20.0, 25.0, 93.0, 1.0) == pytest.approx(0.25)
    w = 0.04 * 30 + (0.0625 * 93 - 0.04 * 30) * (60 - 30) / 63
    assert spx_atm_sigma(20.0, 25.0, 60.0, 1.0) == pytest.approx(math.sqrt(w / 60))


def test_spreads_widen_with_vix() -> None:
    """The same option is quoted wider when VIX is higher, in proportion (exponent 1)."""
    q = HistoricalQuoteParams()
    price = np.array([1.0, 10.0, 50.0])
    calm, stress = spread_usd(price, 12.0, False, q), spread_usd(price, 48.0, False, q)
    np.testing.assert_allclose(stress, 4 * calm)


@pytest.mark.parametrize("day", [date(2018, 12, 24), date(2019, 5, 15)])
def test_served_chains_hold_parity_within_the_spread(market_data: MarketData, day: date) -> None:
    """Every listed expiry the broker serves: theo parity exact, quotes consistent with it."""

    async def go() -> None:
        params = SimParams(book=())
        source = HistoricalSource(market_data, params)
        broker = SimBroker(params, SimClock.manual(source.close_print_time(day)), source=source)
        await broker.connect()
        now = broker.clock.now()
        for symbol, tc in (("SPX", "SPX"), ("SPX", "SPXW"), ("VIX", "VIX")):
            for expiry in (await broker.option_expiries(symbol, tc))[:6]:
                strikes = await broker.option_strikes(symbol, tc, expiry)
                calls = [
                    Contract(symbol, SecType.OPTION, tc, expiry, k, Right.CALL) for k in strikes
                ]
                puts = [Contract(symbol, SecType.OPTION, tc, expiry, k, Right.PUT) for k in strikes]
                c, p = source.theo(calls, now), source.theo(puts, now)
                t = time_to_expiry_years(calls[0], now)
                d = math.exp(-params.historical.rate_frac * t)
                k = np.array(strikes)
                _assert_no_arbitrage(k, c.price, p.price, d, float(c.forward[0]))
                cq = await broker.option_quotes(calls)
                pq = await broker.option_quotes(puts)
                for ki, a, b in zip(k, cq, pq, strict=True):
                    assert a.quote.bid is not None and a.quote.ask is not None
                    assert b.quote.bid is not None and b.quote.ask is not None
                    parity = d * (float(c.forward[0]) - ki)
                    assert a.quote.bid - b.quote.ask <= parity + 1e-9
                    assert a.quote.ask - b.quote.bid >= parity - 1e-9
        await broker.close()

    asyncio.run(go())


@settings(max_examples=300, deadline=None)
@given(price=st.floats(0.0, 400.0), width=st.floats(0.0, 6.0), vix=st.booleans())
def test_vector_ticks_match_the_scalar_tick_rounding(price: float, width: float, vix: bool) -> None:
    """The vectorised bid/ask equals the one-at-a-time rule on ``round_to_tick`` (oracle)."""
    q = SimParams().quotes
    rule = q.vix_ticks if vix else q.spx_ticks

    def tick(p: float) -> float:
        return rule.below_usd if p < rule.threshold_usd else rule.at_or_above_usd

    w = max(width, q.min_spread_ticks * tick(price))
    low, high = price - w / 2, price + w / 2
    bid = max(0.0, round_to_tick(low, tick(low), RoundMode.DOWN))
    ask = round_to_tick(high, rule.below_usd, RoundMode.UP)
    if ask >= rule.threshold_usd:
        ask = round_to_tick(high, rule.at_or_above_usd, RoundMode.UP)
    ask = max(ask, rule.below_usd)
    got_bid, got_ask = ticked_bid_ask(
        np.array([price]), np.array([width]), rule, q.min_spread_ticks
    )
    assert float(got_bid[0]) == pytest.approx(bid, abs=1e-9)
    assert float(got_ask[0]) == pytest.approx(ask, abs=1e-9)
    assert got_bid[0] <= price <= got_ask[0]


def test_the_hull_repairs_a_chain_with_arbitrage() -> None:
    """A hand-made chain with a slope steeper than -D (80-90), a butterfly bump (110) and a
    rising call (130) comes back arbitrage-free, under the originals, over intrinsic."""
    strikes = np.array([80.0, 90.0, 100.0, 110.0, 120.0, 130.0])
    d, f = 0.99, 100.0
    calls = np.array([21.0, 10.2, 6.0, 3.5, 0.5, 0.7])
    fixed = no_arbitrage_calls(strikes, calls, f, d)
    assert not is_arbitrage_free(strikes, calls, d)
    assert is_arbitrage_free(strikes, fixed, d)
    assert np.all(fixed <= calls + 1e-12)
    assert np.all(fixed >= d * np.maximum(f - strikes, 0) - 1e-12)
    # By hand: 80 falls to the chord (0, 99)-(90, 10.2), 110 to the chord 100-120, 130 to
    # the chord from 120 to (infinity, 0); 90, 100 and 120 are on the hull and stay.
    np.testing.assert_allclose(fixed[[1, 2, 4]], [10.2, 6.0, 0.5])
    assert fixed[0] == pytest.approx(99 + (10.2 - 99) * 80 / 90)
    assert fixed[3] == pytest.approx(3.25)
    assert fixed[5] < 0.5


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.floats(0.0, 400.0), st.booleans()), min_size=1, max_size=20),
    vix_pts=st.floats(5.0, 90.0),
)
def test_a_mixed_request_is_quoted_as_each_class_alone(
    rows: list[tuple[float, bool]], vix_pts: float
) -> None:
    """A request mixing SPX and VIX prices, quoted in one pass with per-price rules
    (``TickRules``, per-price spread flags), gets the very floats each class's own pass
    gives (oracle: the one-class path, as the request was quoted before)."""
    q, hq = SimParams().quotes, SimParams().historical.quotes
    price = np.array([p for p, _ in rows])
    flags = np.array([v for _, v in rows])
    width = spread_usd(price, vix_pts, flags, hq)
    bid, ask = ticked_bid_ask(
        price, width, TickRules.pick(flags, q.vix_ticks, q.spx_ticks), q.min_spread_ticks
    )
    for is_vix in (True, False):
        mine = flags == is_vix
        alone = spread_usd(price[mine], vix_pts, is_vix, hq)
        assert alone.tolist() == width[mine].tolist()
        rule = q.vix_ticks if is_vix else q.spx_ticks
        want_bid, want_ask = ticked_bid_ask(price[mine], alone, rule, q.min_spread_ticks)
        assert [b.hex() for b in bid[mine].tolist()] == [b.hex() for b in want_bid.tolist()]
        assert [a.hex() for a in ask[mine].tolist()] == [a.hex() for a in want_ask.tolist()]


def test_a_future_quote_is_kept_by_fair_value() -> None:
    """The futures' bid/ask kept by fair value are what a fresh computation gives: the
    tick at or below the value, the ask the configured ticks above (hand-checked)."""
    chains = Chains(SimParams())
    tick = SimParams().quotes.vix_future_tick_usd
    spread = SimParams().quotes.future_spread_ticks * tick
    for fair in (18.43, 18.43, 20.0, 18.43):
        bid, ask = chains.future_bid_ask(fair)
        fresh = Chains(SimParams()).future_bid_ask(fair)
        assert (bid, ask) == fresh
        assert bid <= fair < bid + tick + 1e-12 and ask == pytest.approx(bid + spread)
