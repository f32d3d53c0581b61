"""A small quote request read strike by strike off the priced grids gives the very floats
the array path gives.

Oracles: the array path itself (``HistoricalSource.quotes`` of a request too large for
the one-by-one reading, and ``spread_usd`` + ``ticked_bid_ask`` on arrays), compared bit
for bit; ``np.round`` for the rounding of one float."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimParams
from daemon.brokers.sim.chains import option_contract
from daemon.brokers.sim.grid_rows import SMALL_REQUEST, priced_rows
from daemon.brokers.sim.historical import HistoricalSource
from daemon.brokers.sim.surface import _round6, bid_ask_one, spread_usd, ticked_bid_ask
from daemon.core.models import Right
from daemon.replay.data import MarketData

PARAMS = SimParams(book=())


def _bits(values: list[float]) -> list[str]:
    return [v.hex() for v in values]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_small_request_quotes_as_the_array_path(
    market_data: MarketData, data: st.DataObject
) -> None:
    """After a cycle's request priced the grids, any few of its contracts (repeats, both
    rights, SPX, SPXW and VIX) get bit-identical theo values and bid/ask from the one-by-one
    reading as from the array path."""
    source = HistoricalSource(market_data, PARAMS)
    day = data.draw(st.sampled_from(market_data.days[5:-5]))
    now = source.close_print_time(day)
    source.advance_to(now)
    chains = source.chains
    menu = [
        option_contract(tc, expiry, k, right)
        for tc in ("SPX", "SPXW", "VIX")
        for expiry in chains.expiries(tc, now)[:3]
        for k in chains.strikes(tc, expiry, source.spx_pts())[::5][:8]
        for right in (Right.CALL, Right.PUT)
    ]
    source.quotes(menu, now)  # the snapshot's request: every grid priced
    asked = data.draw(st.lists(st.sampled_from(menu), min_size=1, max_size=SMALL_REQUEST))
    assert priced_rows(source._cache, asked) is not None  # the one-by-one reading is taken
    theo, sides = source.quotes(asked, now)
    padded = asked * (SMALL_REQUEST // len(asked) + 1)  # too many for it: the array path
    assert priced_rows(source._cache, padded) is None
    want_theo, want_sides = source.quotes(padded, now)
    n = len(asked)
    for got, want in zip(theo.__dict__.values(), want_theo.__dict__.values(), strict=True):
        assert _bits(got.tolist()) == _bits(want[:n].tolist())
    assert [(b.hex(), a.hex()) for b, a in sides] == [(b.hex(), a.hex()) for b, a in want_sides[:n]]
    assert _bits(source.theo(asked, now).price.tolist()) == _bits(want_theo.price[:n].tolist())


def test_a_strike_not_priced_goes_to_the_array_path(market_data: MarketData) -> None:
    """A small request with a strike its grid lacks, or an expiry not priced this step, is
    not read one by one (the array path prices it)."""
    source = HistoricalSource(market_data, PARAMS)
    now = source.close_print_time(market_data.days[10])
    source.advance_to(now)
    expiry = source.chains.expiries("SPXW", now)[0]
    strikes = source.chains.strikes("SPXW", expiry, source.spx_pts())
    priced = option_contract("SPXW", expiry, strikes[10], Right.PUT)
    source.quotes([priced], now)
    assert priced_rows(source._cache, [priced]) is not None
    other = option_contract("SPXW", expiry, strikes[11], Right.PUT)
    assert priced_rows(source._cache, [priced, other]) is None
    later = source.chains.expiries("SPXW", now)[1]
    assert (
        priced_rows(source._cache, [option_contract("SPXW", later, strikes[10], Right.PUT)]) is None
    )


prices = st.one_of(
    st.floats(0.0, 2000.0),
    st.floats(-1.0, 1.0),
    # On and next to the tick grid and the 3.00 threshold, where rounding decides.
    st.builds(
        lambda n, e: n * 0.05 + e, st.integers(0, 200), st.sampled_from([0.0, 1e-12, -1e-12, 1e-9])
    ),
)


@settings(max_examples=300, deadline=None)
@given(price=prices, vix=st.floats(0.0, 120.0), is_vix=st.booleans())
def test_one_bid_ask_is_the_array_bid_ask(price: float, vix: float, is_vix: bool) -> None:
    """``bid_ask_one`` of a price is bit for bit the array path's bid and ask of it."""
    q, h = PARAMS.quotes, PARAMS.historical.quotes
    rule = q.vix_ticks if is_vix else q.spx_ticks
    array = np.array([price])
    bid, ask = ticked_bid_ask(array, spread_usd(array, vix, is_vix, h), rule, q.min_spread_ticks)
    got = bid_ask_one(price, vix, is_vix, h, rule, q.min_spread_ticks)
    assert got is not None
    assert (got[0].hex(), got[1].hex()) == (float(bid[0]).hex(), float(ask[0]).hex())


def test_a_price_not_finite_has_no_one_by_one_quote() -> None:
    """NaN and infinite prices are left to the array path."""
    q, h = PARAMS.quotes, PARAMS.historical.quotes
    for price in (math.nan, math.inf, -math.inf):
        assert bid_ask_one(price, 20.0, False, h, q.spx_ticks, q.min_spread_ticks) is None


@given(n=st.integers(-(10**9), 10**9), frac=st.sampled_from([0.5, 0.25, 0.0, 0.4999999]))
def test_round6_is_numpys_round(n: int, frac: float) -> None:
    """One float rounded to 6 decimals as ``np.round`` does: halves to even, zero's sign."""
    for x in ((n + frac) / 1e6, -0.5e-6, 0.5e-6, 1.5e-6, -2.5e-6):
        assert _round6(x).hex() == float(np.round(np.float64(x), 6)).hex()
