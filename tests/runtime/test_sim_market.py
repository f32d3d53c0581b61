"""The simulated market: determinism, no-arbitrage of its quotes, the VIX curve, the clock.

Oracles: put-call parity C - P = D (F - K) on the sim's own forward; the Cboe tick rules
written out by hand; the VIX index quote for futures at expiry; the XNYS calendar for
session hours; hand-computed clock maps.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.brokers.sim.evolution import SimMarket
from daemon.brokers.sim.market import MarketState, vix3m_pts, vix_curve_pts
from daemon.brokers.sim.params import MarketParams
from daemon.core.calendar import NY, is_session, session_bounds, time_to_expiry_years
from daemon.core.models import Contract, OptionQuote, Right, SecType
from tests.runtime.sim_rig import run_with_broker

T = TypeVar("T")
START = datetime(2026, 3, 2, 9, 30, tzinfo=NY)  # a Monday open


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def with_broker(
    body: Callable[[SimBroker], Awaitable[T]], seed: int = 1, start: datetime = START
) -> T:
    return run_with_broker(SimParams(seed=seed), start, body)


async def chain_sample(broker: SimBroker, trading_class: str, expiry_index: int) -> list[Contract]:
    symbol = "VIX" if trading_class == "VIX" else "SPX"
    expiry = (await broker.option_expiries(symbol, trading_class))[expiry_index]
    strikes = await broker.option_strikes(symbol, trading_class, expiry)
    spot = (await broker.index_quotes())["SPX" if symbol == "SPX" else "VIX"].last
    assert spot is not None
    near = sorted(strikes, key=lambda k: abs(k - spot))[:24]
    return [
        Contract(symbol, SecType.OPTION, trading_class, expiry, k, right)
        for k in sorted(near)
        for right in (Right.CALL, Right.PUT)
    ]


async def snapshot(broker: SimBroker) -> tuple[object, ...]:
    contracts = await chain_sample(broker, "SPXW", 3) + await chain_sample(broker, "VIX", 1)
    quotes = await broker.option_quotes(contracts)
    return (
        await broker.index_quotes(),
        await broker.vix_futures(),
        [(q.quote.bid, q.quote.ask, q.quote.time) for q in quotes],
    )


# ---- determinism --------------------------------------------------------------------------
def test_same_seed_and_times_give_identical_quotes_whatever_was_asked_before() -> None:
    """Same seed and query time -> identical quotes, however often the market was asked."""
    times = [START + timedelta(minutes=m) for m in (7, 95, 391, 1500, 2900)]

    async def every_time(broker: SimBroker) -> tuple[object, ...]:
        for t in times[:-1]:
            broker.clock.advance_to(t)
            await snapshot(broker)
        broker.clock.advance_to(times[-1])
        return await snapshot(broker)

    async def only_last(broker: SimBroker) -> tuple[object, ...]:
        broker.clock.advance_to(times[-1])
        return await snapshot(broker)

    assert with_broker(every_time) == with_broker(only_last)


def test_different_seeds_give_different_markets() -> None:
    """A different seed gives a different path (and different history)."""

    async def later(broker: SimBroker) -> tuple[object, ...]:
        broker.clock.advance(timedelta(days=3))
        return (await snapshot(broker), await broker.spx_daily_history(50))

    assert with_broker(later, seed=1) != with_broker(later, seed=2)


def test_market_stands_still_while_closed() -> None:
    """Between the close and the next open SPX and VIX do not move."""

    async def body(broker: SimBroker) -> None:
        broker.clock.advance_to(ny(2026, 3, 2, 16, 0))
        at_close = await broker.index_quotes()
        broker.clock.advance_to(ny(2026, 3, 3, 9, 29))
        before_open = await broker.index_quotes()
        assert [q.last for q in at_close.values()] == [q.last for q in before_open.values()]
        broker.clock.advance_to(ny(2026, 3, 3, 9, 31))
        assert (await broker.index_quotes())["SPX"].last != at_close["SPX"].last

    with_broker(body)


# ---- quotes: parity, sides, ticks ------------------------------------------------------------
def _spread(q: OptionQuote) -> float:
    assert q.quote.bid is not None and q.quote.ask is not None
    return q.quote.ask - q.quote.bid


def _mid(q: OptionQuote) -> float:
    mid = q.quote.mid
    assert mid is not None
    return mid


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    minutes=st.integers(0, 3 * 1440),
    spx_expiry=st.integers(0, 14),
    vix_expiry=st.integers(0, 5),
)
def test_put_call_parity_holds_on_mids_within_the_spread(
    seed: int, minutes: int, spx_expiry: int, vix_expiry: int
) -> None:
    """C - P = D (F - K) on mids, to within half the two spreads (SPX forward, VIX future)."""

    async def body(broker: SimBroker) -> None:
        broker.clock.advance(timedelta(minutes=minutes))
        now = broker.sync()
        r = broker.params.market.rate_frac
        for tc, index in (("SPXW", spx_expiry), ("SPX", spx_expiry % 6), ("VIX", vix_expiry)):
            contracts = await chain_sample(broker, tc, index)
            quotes = await broker.option_quotes(contracts)
            for call, put in zip(quotes[::2], quotes[1::2], strict=True):
                c = call.contract
                assert c.expiry is not None and c.strike is not None
                t_years = time_to_expiry_years(c, now)
                if tc == "VIX":
                    fwd = broker.chains.vix_future_pts(c.expiry, broker.state, now)
                else:
                    fwd = broker.chains.spx_forward(c, broker.state, now)
                parity = math.exp(-r * t_years) * (fwd - c.strike)
                tolerance = 0.5 * (_spread(call) + _spread(put)) + 1e-9
                assert abs(_mid(call) - _mid(put) - parity) <= tolerance, c.key

    with_broker(body, seed=seed)


def _on_grid(price: float, tick: float) -> bool:
    return abs(price / tick - round(price / tick)) < 1e-6


def _cboe_tick(symbol: str, price: float) -> float:
    # Cboe minimum increments as configured by default: SPX 0.05 under 3.00, else 0.10;
    # VIX 0.01 under 3.00, else 0.05.
    if symbol == "SPX":
        return 0.05 if price < 3.0 else 0.10
    return 0.01 if price < 3.0 else 0.05


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), minutes=st.integers(0, 5 * 1440))
def test_bid_below_ask_and_both_on_the_tick_grid(seed: int, minutes: int) -> None:
    """Every option and future quote has 0 <= bid < ask, each side on its Cboe tick."""

    async def body(broker: SimBroker) -> None:
        broker.clock.advance(timedelta(minutes=minutes))
        contracts = []
        for tc, index in (("SPXW", 0), ("SPXW", 8), ("SPX", 2), ("VIX", 0), ("VIX", 4)):
            contracts += await chain_sample(broker, tc, index)
        for q in await broker.option_quotes(contracts):
            bid, ask = q.quote.bid, q.quote.ask
            assert bid is not None and ask is not None
            assert 0.0 <= bid < ask, q.contract.key
            assert _on_grid(bid, _cboe_tick(q.contract.symbol, bid)), (q.contract.key, bid)
            assert _on_grid(ask, _cboe_tick(q.contract.symbol, ask)), (q.contract.key, ask)
        for fut in (await broker.vix_futures()).values():
            assert fut.bid is not None and fut.ask is not None
            assert fut.bid < fut.ask and _on_grid(fut.bid, 0.05) and _on_grid(fut.ask, 0.05)

    with_broker(body, seed=seed)


# ---- the VIX curve --------------------------------------------------------------------------
def test_vix_futures_converge_to_vix_at_expiry() -> None:
    """One minute before its settlement the front future is within a tick of spot VIX."""

    async def body(broker: SimBroker) -> None:
        front = min(await broker.vix_futures())
        assert (front - START.date()).days > 7  # a real convergence, from a distance
        broker.clock.advance_to(
            datetime.combine(front, datetime.min.time(), NY) + timedelta(hours=9, minutes=29)
        )
        futures = await broker.vix_futures()
        vix = (await broker.index_quotes())["VIX"].last
        mid = futures[front].mid
        assert vix is not None and mid is not None
        assert abs(mid - vix) <= 0.05
        broker.clock.advance(timedelta(minutes=2))  # settled: no longer listed
        assert front not in await broker.vix_futures()

    for seed in (1, 2, 3):
        with_broker(body, seed=seed)


def test_curve_starts_at_spot_vix() -> None:
    """At zero tenor the curve is spot VIX (F(0) = VIX, to rounding)."""
    p = MarketParams()
    for vix, level in ((12.0, 19.0), (19.0, 19.0), (45.0, 25.0)):
        state = MarketState(START, 6000.0, math.log(vix), math.log(level))
        assert math.isclose(float(vix_curve_pts(state, [0.0], p)[0]), vix, rel_tol=1e-12)


def test_calm_market_is_in_contango_and_a_spike_in_backwardation() -> None:
    """VIX below its level: curve rising; VIX far above it: curve falling."""
    p = MarketParams()
    taus = np.array([0.0, 30, 60, 120, 180]) / 365.0
    calm = vix_curve_pts(MarketState(START, 6000.0, math.log(13), math.log(18)), taus, p)
    spike = vix_curve_pts(MarketState(START, 6000.0, math.log(45), math.log(24)), taus, p)
    assert np.all(np.diff(calm) > 0)
    assert np.all(np.diff(spike) < 0)


def test_selloff_jumps_raise_vix_and_vix3m_and_push_the_curve_toward_backwardation() -> None:
    """Over many seeds, steps with a jump: SPX down, VIX and VIX3M up, VIX/VIX3M up."""
    p = MarketParams(jump_rate_per_year=252.0)  # about one jump a session
    month = 30 / 365.0
    rows: list[tuple[float, ...]] = []
    for seed in range(40):
        market = SimMarket(p, seed, START)
        prev = [market.state]

        def record(state: MarketState, prev: list[MarketState] = prev) -> None:
            before = prev[0]
            prev[0] = state
            if state.jump_log_vix > 0:
                f_before = vix_curve_pts(before, [month, 4 * month], p)
                f_after = vix_curve_pts(state, [month, 4 * month], p)
                rows.append(
                    (
                        state.spx_pts / before.spx_pts - 1,
                        state.vix_pts - before.vix_pts,
                        vix3m_pts(state, p) - vix3m_pts(before, p),
                        state.vix_pts / vix3m_pts(state, p) - before.vix_pts / vix3m_pts(before, p),
                        (f_after[1] - f_after[0]) - (f_before[1] - f_before[0]),
                    )
                )

        market.add_listener(record)
        market.advance_to(ny(2026, 3, 2, 16, 0))
    table = np.array(rows)
    assert len(table) >= 20
    spx_down, vix_up, vix3m_up, ratio_up, slope_down = (
        np.mean(table[:, 0] < 0),
        np.mean(table[:, 1] > 0),
        np.mean(table[:, 2] > 0),
        np.mean(table[:, 3] > 0),
        np.mean(table[:, 4] < 0),
    )
    assert min(spx_down, vix_up, vix3m_up, ratio_up, slope_down) >= 0.9


# ---- history ------------------------------------------------------------------------------------
def test_history_covers_300_sessions_before_the_start_and_grows_each_close() -> None:
    """At least 300 prior sessions from day one; each close appends that session's SPX."""

    async def body(broker: SimBroker) -> None:
        bars = await broker.spx_daily_history(1000)
        breadth = await broker.breadth_history(1000)
        assert len(bars) >= 300 and len(breadth) == len(bars)
        days = [b.day for b in bars]
        assert days == sorted(set(days)) and all(is_session(d) for d in days)
        assert days[-1] == date(2026, 2, 27)  # the Friday before the Monday start
        assert bars[-1].close == broker.params.market.spx_start_pts
        for b in breadth:
            assert b.advancing + b.declining + b.unchanged == broker.params.market.breadth_issues
        broker.clock.advance_to(session_bounds(date(2026, 3, 2))[1])
        spx_at_close = (await broker.index_quotes())["SPX"].last
        new = (await broker.spx_daily_history(1))[0]
        assert new.day == date(2026, 3, 2) and round(new.close, 2) == spx_at_close
        assert (await broker.breadth_history(1))[0].day == date(2026, 3, 2)

    with_broker(body)


def test_breadth_follows_spx_returns() -> None:
    """Advancing minus declining issues correlates strongly with the SPX daily return."""

    async def body(broker: SimBroker) -> None:
        closes = np.array([b.close for b in await broker.spx_daily_history(400)])
        breadth = (await broker.breadth_history(400))[1:]
        net = np.array([b.advancing - b.declining for b in breadth], dtype=float)
        assert np.corrcoef(np.diff(np.log(closes)), net)[0, 1] > 0.6

    with_broker(body)


# ---- the clock ------------------------------------------------------------------------------
class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_accelerated_clock_runs_fast_in_sessions_and_faster_overnight() -> None:
    """60x during the session, 3600x after the close; to_wall inverts to_market."""
    mono = FakeMonotonic()
    wall0 = datetime(2026, 3, 2, 20, 59, tzinfo=UTC)
    clock = SimClock(
        ny(2026, 3, 2, 15, 59), speed_x=60, closed_speed_x=3600, monotonic=mono, wall=lambda: wall0
    )
    mono.t += 1.0  # 60 market seconds: the close
    assert clock.now() == ny(2026, 3, 2, 16, 0)
    mono.t += 1.0  # one real second overnight = one market hour
    assert clock.now() == ny(2026, 3, 2, 17, 0)
    mono.t += 16.5  # 16.5 closed hours reach the next open; then 60x again
    assert clock.now() == ny(2026, 3, 3, 9, 30)
    mono.t += 2.0
    assert clock.now() == ny(2026, 3, 3, 9, 32)
    for real_s in (0.0, 0.5, 1.7, 10.0, 18.5, 30.0):
        wall = wall0 + timedelta(seconds=real_s)
        assert abs((clock.to_wall(clock.to_market(wall)) - wall).total_seconds()) < 1e-6


def test_advancing_across_a_dst_change_lands_on_the_asked_time() -> None:
    """advance_to over the March 2026 spring-forward reaches 09:30 EDT, not 10:30."""
    clock = SimClock.manual(ny(2026, 3, 6, 16, 0))
    assert clock.advance_to(ny(2026, 3, 9, 9, 30)) == ny(2026, 3, 9, 9, 30)
    assert clock.now().utcoffset() == timedelta(hours=-4)
    # Elapsed time is physical: 24 h after Saturday noon EST is Sunday 13:00 EDT.
    clock = SimClock.manual(ny(2026, 3, 7, 12, 0))
    assert clock.advance(timedelta(hours=24)) == ny(2026, 3, 8, 13, 0)


def test_manual_clock_moves_only_when_advanced() -> None:
    """A manual clock stands still until advance(), and never goes back."""
    clock = SimClock.manual(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(timedelta(minutes=5)) == START + timedelta(minutes=5)
    try:
        clock.advance(timedelta(minutes=-1))
    except ValueError:
        pass
    else:
        raise AssertionError("a manual clock must refuse to go back")
