"""The strikes a cycle asks for: delta windows checked against Black-76 delta computed
independently (scipy's normal CDF), and hand tables for the grid, pairs and neighbours."""

from __future__ import annotations

import asyncio
import math
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from daemon.config import SnapshotParams
from daemon.core.calendar import NY
from daemon.core.models import Contract, Position, Right, SecType
from daemon.core.params import ModelParams
from daemon.runtime.chain_window import (
    OptionContracts,
    WindowParams,
    held_neighbours,
    nearest,
    spx_window,
    strike_at_delta,
    vix_window,
    window_middle,
)
from daemon.runtime.snapshot import SnapshotTaker

P = WindowParams(
    spx_strike_step_pts=25.0, spx_put_delta_min=0.02, spx_window_vol_mult=1.5,
    spx_min_band_frac=0.03, forward_pair_strikes=3, held_neighbour_strikes=2,
    vix_call_delta_min=0.05, vix_call_delta_max=0.6, vix_window_vol=1.2, vix_pair_strikes=2,
)  # fmt: skip
TODAY = date(2026, 11, 24)


def _delta(forward: float, strike: float, vol: float, t: float, right: Right) -> float:
    s = vol * math.sqrt(t)
    d1 = (math.log(forward / strike) + 0.5 * s * s) / s
    return float(norm.cdf(d1)) if right is Right.CALL else float(-norm.cdf(-d1))


@given(
    forward=st.floats(5.0, 8000.0),
    vol=st.floats(0.05, 2.0),
    t=st.floats(1 / 365, 1.0),
    delta=st.floats(0.01, 0.95),
    right=st.sampled_from([Right.PUT, Right.CALL]),
)
def test_strike_at_delta_has_that_delta(
    forward: float, vol: float, t: float, delta: float, right: Right
) -> None:
    """The strike returned has the asked Black-76 delta (a put's as -|delta|)."""
    k = strike_at_delta(forward, vol, t, delta, right)
    expected = delta if right is Right.CALL else -delta
    assert math.isclose(_delta(forward, k, vol, t, right), expected, abs_tol=1e-9)


def test_spx_window_puts_to_the_delta_floor_and_pairs_at_the_money() -> None:
    """75 DTE at VIX 16: puts on the 25-point grid from the 2-delta strike (vol 24%) up to
    spot, and 3 grid strikes either side of spot as call/put pairs."""
    strikes = [float(k) for k in range(3000, 8001, 5)]
    expiry = date(2027, 2, 7)  # 75 days
    puts, calls = spx_window(strikes, 6010.0, 16.0, expiry, TODAY, P)
    floor = 6010.0 * math.exp(
        norm.ppf(0.02) * 0.24 * math.sqrt(75 / 365) + 0.5 * 0.24**2 * 75 / 365
    )
    assert calls == [5950.0, 5975.0, 6000.0, 6025.0, 6050.0, 6075.0]
    assert min(puts) == 25 * math.ceil(floor / 25) and max(puts) == 6075.0
    assert all(k % 25 == 0 for k in puts)
    assert len(puts) == len(set(puts))


def test_short_expiries_keep_a_minimum_band() -> None:
    """A 1-day expiry's delta window is a few points wide: the band floor still reaches
    3% below spot."""
    puts, _ = spx_window([float(k) for k in range(5000, 7001, 5)], 6000.0, 12.0, TODAY, TODAY, P)
    assert min(puts) == 5825.0  # 25 x ceil(6000 x 0.97 / 25)


def test_vix_window_calls_by_delta_on_the_future_and_pairs() -> None:
    """VIX calls whose delta at 120% vol on the future lies in [0.05, 0.60], plus the two
    call/put pairs either side of the future."""
    strikes = [
        *map(float, range(10, 30)),
        *(30 + 2.5 * i for i in range(8)),
        *map(float, range(50, 101, 5)),
    ]
    expiry = date(2027, 1, 20)
    t = (expiry - TODAY).days / 365
    puts, calls = vix_window(strikes, 19.3, expiry, TODAY, P)
    assert puts == [18.0, 19.0, 20.0, 21.0]
    outside = [k for k in calls if k not in puts]
    deltas = [_delta(19.3, k, 1.2, t, Right.CALL) for k in outside]
    assert all(0.05 <= d <= 0.60 for d in deltas)
    left_out = [k for k in strikes if k not in calls]
    assert all(not 0.05 <= _delta(19.3, k, 1.2, t, Right.CALL) <= 0.60 for k in left_out)


def test_held_neighbours_of_the_same_right() -> None:
    """Two listed strikes either side of each held leg, on its own right only."""
    strikes = [5700.0, 5725.0, 5750.0, 5775.0, 5800.0, 5825.0, 5850.0]
    leg = Contract("SPX", SecType.OPTION, "SPXW", TODAY, 5750.0, Right.PUT)
    assert held_neighbours([leg], strikes, Right.PUT, 2) == {5700.0, 5725.0, 5750.0, 5775.0, 5800.0}
    assert held_neighbours([leg], strikes, Right.CALL, 2) == set()


def test_window_middle_orders_by_distance_from_the_middle() -> None:
    """Long-window expiries nearest the middle of [60, 90] DTE first, earlier on a tie."""
    days = [
        date(2027, 1, 22),
        date(2027, 2, 5),
        date(2027, 2, 8),
        date(2027, 2, 22),
        date(2027, 3, 1),
    ]
    # DTE 59, 73, 76, 90, 97: inside are 73, 76, 90; middle 75.
    assert window_middle(days, TODAY, 60, 90, 2) == [date(2027, 2, 8), date(2027, 2, 5)]


class _Listings:
    """A broker that lists expiries only: what the snapshot's expiry choice asks."""

    def __init__(self, days: dict[str, list[date]]) -> None:
        self.days = days

    async def option_expiries(self, symbol: str, trading_class: str) -> list[date]:
        return self.days.get(trading_class, [])


def test_the_short_leg_expiries_start_past_the_minimum_dte() -> None:
    """A condor two days from expiry: the diagonal's short-leg expiries quoted start at
    today + diagonal.short_min_dte_days (5), as the core's candidate rule does, so the
    quotes it needs are there; the held expiry itself is quoted too."""
    dailies = [date(2026, 11, d) for d in (25, 26, 27, 30)] + [date(2026, 12, d) for d in (1, 2, 3)]
    held = Contract("SPX", SecType.OPTION, "SPXW", date(2026, 11, 26), 5500.0, Right.PUT)
    taker = SnapshotTaker(_Listings({"SPXW": dailies}), ModelParams(), SnapshotParams(), ())  # type: ignore[arg-type]
    chosen = {d for _, d in asyncio.run(taker._spx_expiries(TODAY, [held]))}
    assert date(2026, 11, 26) in chosen  # the held expiry
    assert {date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)} <= chosen  # >= 29 Nov
    assert date(2026, 11, 27) not in chosen  # 3 days: too near for a short leg


@pytest.mark.parametrize(("tenor", "skew_day", "other"), [(30, 20, 44), (40, 44, 20)])
def test_the_skew_expiry_quoted_follows_the_configured_tenor(
    tenor: int, skew_day: int, other: int
) -> None:
    """Monthlies 20, 44 and 200 days out, nothing held: the skew's expiry is the one
    nearest ``signals.skew.tenor_days`` (30 -> 20 days, 40 -> 44 days); the other is not
    asked for (200 is past the diagonal's long window and the skew's)."""
    listed = [TODAY + timedelta(days=d) for d in (20, 44, 200)]
    model = ModelParams.model_validate({"signals": {"skew": {"tenor_days": tenor}}})
    taker = SnapshotTaker(_Listings({"SPX": listed}), model, SnapshotParams(), ())  # type: ignore[arg-type]
    chosen = {d for _, d in asyncio.run(taker._spx_expiries(TODAY, []))}
    assert chosen == {TODAY + timedelta(days=skew_day)}
    assert TODAY + timedelta(days=other) not in chosen


def _nearest_by_filter(strikes: list[float], level: float, count: int) -> list[float]:
    """The definition, by filtering and sorting: the reference for ``nearest``."""
    below = sorted((k for k in strikes if k <= level), reverse=True)[:count]
    return below + sorted(k for k in strikes if k > level)[:count]


_LISTED = [float(k) for k in range(4000, 8001, 5)]
_STRIKES = st.lists(st.sampled_from(_LISTED), max_size=120)
# A level on a listed strike as often as between two: "at or below" is the edge case.
_LEVEL = st.one_of(st.floats(3900.0, 8100.0), st.sampled_from(_LISTED))


@given(
    strikes=_STRIKES,
    level=_LEVEL,
    count=st.integers(0, 6),
)
def test_nearest_is_the_filtered_definition(strikes: list[float], level: float, count: int) -> None:
    """``nearest`` (bisect on the sorted listing) picks the same strikes in the same order
    as filtering the listing either side of the level, duplicates included."""
    assert nearest(strikes, level, count) == _nearest_by_filter(strikes, level, count)


@given(
    strikes=_STRIKES,
    spot=_LEVEL,
    vix=st.floats(5.0, 90.0),
    days=st.integers(0, 400),
    pairs=st.integers(1, 5),
    band=st.floats(0.0, 0.5),
)
def test_spx_window_is_the_filtered_definition(
    strikes: list[float], spot: float, vix: float, days: int, pairs: int, band: float
) -> None:
    """The window's slices of the sorted grid equal the rule read literally: grid strikes
    from the put floor up to spot plus the pairs for the puts, the pairs for the calls."""
    p = WindowParams(**{**vars(P), "forward_pair_strikes": pairs, "spx_min_band_frac": band})
    expiry = date.fromordinal(TODAY.toordinal() + days)
    grid = [k for k in strikes if k % p.spx_strike_step_pts == 0]
    vol = max(vix, 1.0) / 100.0 * p.spx_window_vol_mult
    t = max(days, 1) / 365.0
    low = min(strike_at_delta(spot, vol, t, p.spx_put_delta_min, Right.PUT), spot * (1 - band))
    near = _nearest_by_filter(grid, spot, pairs)
    expected_puts = sorted({k for k in grid if low <= k <= spot} | set(near))
    assert spx_window(strikes, spot, vix, expiry, TODAY, p) == (expected_puts, sorted(near))


def test_no_level_no_window() -> None:
    """An index level that is NaN (a data hole) lies at, below and above no strike: the
    windows are empty rather than the listing's end; a NaN VIX leaves no put floor, so
    the puts are the pairs alone."""
    strikes = [float(k) for k in range(5000, 7001, 5)]
    pairs = [5950.0, 5975.0, 6000.0, 6025.0, 6050.0, 6075.0]  # 3 at or below, 3 above
    assert spx_window(strikes, 6000.0, math.nan, date(2027, 1, 15), TODAY, P) == (pairs, pairs)
    assert spx_window(strikes, math.nan, 16.0, date(2027, 1, 15), TODAY, P) == ([], [])
    assert nearest(strikes, math.nan, 3) == []
    assert vix_window([10.0, 15.0, 20.0], math.nan, date(2027, 1, 20), TODAY, P) == ([], [])


class _Chain(_Listings):
    """Listings and strikes: all the snapshot's contract choice asks of a broker."""

    async def option_strikes(self, symbol: str, trading_class: str, expiry: date) -> list[float]:
        if trading_class == "VIX":
            return [float(k) for k in range(10, 41)]
        return [float(k) for k in range(4000, 8001, 5)]


def test_a_held_leg_inside_a_window_is_asked_for_once() -> None:
    """Held legs come first, once each (held twice, asked once); a held strike that its
    expiry's window also reaches is not asked for again; every other contract is
    distinct; held legs of an expiry the windows do not reach are still asked for."""
    near = date(2026, 12, 18)  # 24 DTE: the skew expiry, so windowed
    off = date(2026, 11, 27)  # 3 DTE: no rule windows it unless held
    days = [off, near, date(2027, 1, 15), date(2027, 2, 19), date(2027, 3, 19)]
    inside = Contract("SPX", SecType.OPTION, "SPXW", near, 6000.0, Right.PUT)
    elsewhere = Contract("SPX", SecType.OPTION, "SPXW", off, 5000.0, Right.PUT)
    vix_leg = Contract("VIX", SecType.OPTION, "VIX", date(2026, 12, 16), 25.0, Right.CALL)
    positions = [
        Position(inside, -1),
        Position(inside, -1),
        Position(elsewhere, 1),
        Position(vix_leg, 2),
    ]
    broker = _Chain({"SPXW": days, "VIX": [date(2026, 12, 16), date(2027, 1, 20)]})
    taker = SnapshotTaker(broker, ModelParams(), SnapshotParams(), ())  # type: ignore[arg-type]
    now = datetime(2026, 11, 24, 15, 0, tzinfo=NY)
    asked = asyncio.run(taker._contracts(now, positions, 6010.0, 16.0, {}))
    keys = [c.key for c in asked]
    assert keys[:3] == [inside.key, elsewhere.key, vix_leg.key]
    assert len(keys) == len(set(keys))
    puts, _ = spx_window(
        [float(k) for k in range(4000, 8001, 5)], 6010.0, 16.0, near, TODAY, taker._window
    )
    assert 6000.0 in puts  # the held strike is inside its expiry's window
    assert sum(1 for c in asked if c.trading_class == "SPXW" and c.expiry == off) > 1


def test_window_contracts_are_made_once_and_forgotten_after_expiry() -> None:
    """The contracts handed out equal ones made from their fields (puts then calls, each
    by strike, a strike once); a later cycle gets the same objects back; once the expiry
    is past they are made anew."""
    made = OptionContracts()
    expiry = date(2026, 12, 18)
    first = made.window("SPX", "SPXW", expiry, [6000.0, 5950.0, 6000.0], [6050.0])
    expected = [
        Contract("SPX", SecType.OPTION, "SPXW", expiry, 5950.0, Right.PUT),
        Contract("SPX", SecType.OPTION, "SPXW", expiry, 6000.0, Right.PUT),
        Contract("SPX", SecType.OPTION, "SPXW", expiry, 6050.0, Right.CALL),
    ]
    assert first == expected
    again = made.window("SPX", "SPXW", expiry, [5950.0], [6050.0, 6100.0])
    assert again[0] is first[0] and again[1] is first[2]
    assert again[2] == Contract("SPX", SecType.OPTION, "SPXW", expiry, 6100.0, Right.CALL)
    made.forget_expired(expiry)  # the expiry's own day: still listed
    assert made.window("SPX", "SPXW", expiry, [5950.0], [])[0] is first[0]
    made.forget_expired(date(2026, 12, 19))
    later = made.window("SPX", "SPXW", expiry, [5950.0], [])[0]
    assert later == first[0] and later is not first[0]


def test_a_listing_windowed_again_gives_the_same_fresh_lists() -> None:
    """The same listing windowed again (every SPX expiry of a cycle shares one) answers as
    the first time, with lists of its own: changing one answer leaves the next intact."""
    strikes = [float(k) for k in range(5000, 7001, 5)]
    first = spx_window(strikes, 6010.0, 16.0, date(2027, 1, 15), TODAY, P)
    expected = (list(first[0]), list(first[1]))
    first[0].clear()
    first[1].clear()
    assert spx_window(list(strikes), 6010.0, 16.0, date(2027, 1, 15), TODAY, P) == expected
