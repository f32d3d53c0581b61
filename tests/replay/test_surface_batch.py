"""Several expiries priced in one vectorised pass are bit-identical to each priced alone,
and the historical market reads each contract off its own expiry's grid.

Oracles: one expiry at a time, written out as the surface defines it (Black-76 calls, the
lower convex hull where they are not arbitrage-free, puts by parity), and the smile of
each expiry from its own scalar terms; a contract's values looked up by hand, one at a
time, in its expiry's priced grid."""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimParams
from daemon.brokers.sim.historical import HistoricalSource
from daemon.brokers.sim.historical_params import HistoricalSurfaceParams
from daemon.brokers.sim.surface import (
    ExpiryPrices,
    no_arbitrage_calls,
    price_expiries,
    smile_sigma,
    spx_smile_terms,
    vix_smile_terms,
)
from daemon.core.models import Contract, Right
from daemon.core.pricing import black76
from daemon.replay.data import MarketData
from tests.replay.option_menu import option_menu

P = HistoricalSurfaceParams()
RATE = 0.03


def _alone(grid: np.ndarray, fwd: float, t: float, sigma: np.ndarray) -> ExpiryPrices:
    d = math.exp(-RATE * t)
    calls = no_arbitrage_calls(
        grid, np.asarray(black76(fwd, grid, t, RATE, sigma, True).price), fwd, d
    )
    delta = np.asarray(black76(fwd, grid, t, RATE, sigma, True).delta)
    puts = np.maximum(calls - d * (fwd - grid), 0.0)
    return ExpiryPrices(grid, calls, puts, sigma, delta, fwd, d)


def _same(got: ExpiryPrices, want: ExpiryPrices) -> None:
    for name in ("strikes", "calls", "puts", "sigma", "call_delta"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.tobytes() == b.tobytes(), name  # bit for bit, not approximately
    assert (got.forward, got.discount) == (want.forward, want.discount)


expiry = st.tuples(
    st.booleans(),  # VIX (True) or SPX
    st.floats(0.001, 1.5),  # tenor in years
    st.floats(0.8, 1.2),  # forward / reference level
    st.floats(9.0, 80.0),  # VIX (sets the SPX ATM vol)
    st.floats(100.0, 170.0),  # SKEW
    st.lists(st.integers(-60, 60), min_size=1, max_size=40, unique=True),  # strike steps
)


@settings(max_examples=150, deadline=None)
@given(expiries=st.lists(expiry, min_size=1, max_size=8))
def test_expiries_priced_together_equal_each_alone(
    expiries: list[tuple[bool, float, float, float, float, list[int]]],
) -> None:
    """Any mix of SPX and VIX expiries: prices, deltas and vols as if priced one by one."""
    grids, smiles, tenors, want = [], [], [], []
    for is_vix, t, level, vix, skew, steps in expiries:
        if is_vix:
            fwd, grid = 20.0 * level, np.unique(20.0 + 0.5 * np.array(steps, dtype=float))
            grid = grid[grid > 0]
            if grid.size == 0:
                continue
            smile = vix_smile_terms(fwd, t, P)
        else:
            fwd, grid = 4000.0 * level, np.unique(4000.0 + 25.0 * np.array(steps, dtype=float))
            smile = spx_smile_terms(fwd, t, vix / 100.0, skew, P)
        grids.append(grid)
        smiles.append(smile)
        tenors.append(t)
        want.append(_alone(grid, fwd, t, smile_sigma(grid, smile, P)))
    for got, alone in zip(price_expiries(grids, smiles, tenors, RATE, P), want, strict=True):
        _same(got, alone)


@settings(max_examples=100, deadline=None)
@given(
    wild=st.lists(
        st.tuples(st.floats(0.01, 1.0), st.integers(3, 30), st.integers(0, 2**32 - 1)),
        min_size=1,
        max_size=6,
    )
)
def test_a_grid_needing_the_hull_is_repaired_alone(wild: list[tuple[float, int, int]]) -> None:
    """Grids whose smile makes arbitrage (flat, wild vols) are each repaired as alone; the
    others in the same pass are untouched by it."""
    grids, smiles, tenors, want = [], [], [], []
    for t, size, seed in wild:
        rng = np.random.default_rng(seed)
        grid = np.unique(np.round(rng.uniform(50.0, 150.0, size), 1))
        # A smile with a steep random slope and a negative curvature: often not convex.
        smile = spx_smile_terms(100.0, t, rng.uniform(0.05, 1.5), 100.0, P)
        smile = type(smile)(100.0, smile.unit, 3.0, smile.atm, rng.uniform(-3, 3), -2.0)
        grids.append(grid)
        smiles.append(smile)
        tenors.append(t)
        want.append(_alone(grid, 100.0, t, smile_sigma(grid, smile, P)))
    for got, alone in zip(price_expiries(grids, smiles, tenors, RATE, P), want, strict=True):
        _same(got, alone)


def test_one_strike_grids_meeting_at_a_strike_price_quietly() -> None:
    """Expiries of one strike each, all at the same strike (held legs of several expiries):
    the slopes across the grids are infinite and masked out; no numpy warning reaches the
    terminal (``alvh replay`` printed one), and each grid is priced as alone."""
    grids = [np.array([4000.0]) for _ in range(3)]
    tenors = [0.05, 0.2, 0.6]
    smiles = [spx_smile_terms(4000.0, t, 0.2, 130.0, P) for t in tenors]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = price_expiries(grids, smiles, tenors, RATE, P)
    for prices, grid, t, smile in zip(got, grids, tenors, smiles, strict=True):
        _same(prices, _alone(grid, 4000.0, t, smile_sigma(grid, smile, P)))


def _by_hand(source: HistoricalSource, contract: Contract) -> tuple[float, float, float, float]:
    """One contract's values read off its expiry's priced grid, one strike at a time."""
    assert contract.expiry is not None and contract.strike is not None
    grid = source._cache[(contract.trading_class, contract.expiry)]
    i = grid.strikes.tolist().index(contract.strike)
    if contract.right is Right.CALL:
        return grid.calls[i], grid.call_delta[i], grid.sigma[i], grid.forward
    return grid.puts[i], grid.call_delta[i] - grid.discount, grid.sigma[i], grid.forward


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_theo_reads_each_contract_off_its_expiry_grid(
    market_data: MarketData, data: st.DataObject
) -> None:
    """Requests in one market step, shuffled, with repeats, some strikes already priced and
    some new (the grid then grows): every contract gets its own expiry's strike and side."""
    params = SimParams(book=())
    source = HistoricalSource(market_data, params)
    now = source.close_print_time(market_data.days[-5])
    source.advance_to(now)
    menu = option_menu(source, now, every=7, count=6)
    for _ in range(3):  # the later requests find grids priced by the earlier ones
        asked = data.draw(st.lists(st.sampled_from(menu), min_size=1, max_size=60))
        theo = source.theo(asked, now)
        for i, contract in enumerate(asked):
            got = (theo.price[i], theo.delta[i], theo.sigma[i], theo.forward[i])
            assert got == _by_hand(source, contract)
