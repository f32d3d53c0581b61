"""The historical market: it serves the input history, and settles on the documented prints."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.brokers.sim.historical import HistoricalSource
from daemon.core.broker import ComboLeg, ComboOrder, OrderStatus
from daemon.core.calendar import (
    session_bounds,
    spx_monthly_expiry,
    time_to_expiry_years,
    vix_expiry,
)
from daemon.core.models import Action, Contract, Right, SecType
from daemon.core.pricing import implied_forward
from daemon.replay.book import choose_condor, is_roll_day, next_standard_expiry
from daemon.replay.chain import Strike, _quotes, _with_deltas, option, spx_expiry
from daemon.replay.data import MarketData, load_market_data
from daemon.replay.params import BookRuleParams
from tests.replay.data_factory import Written, write_market_data

T = TypeVar("T")


def run(
    data: MarketData, day: date, body: Callable[[SimBroker, HistoricalSource], Awaitable[T]]
) -> T:
    """``body`` on a connected broker playing ``data`` from ``day``'s close print."""

    async def go() -> T:
        params = SimParams(book=())
        source = HistoricalSource(data, params)
        broker = SimBroker(params, SimClock.manual(source.close_print_time(day)), source=source)
        await broker.connect()
        try:
            return await body(broker, source)
        finally:
            await broker.close()

    return asyncio.run(go())


def test_indices_are_the_input_opens_and_closes(
    history: tuple[object, Written], market_data: MarketData
) -> None:
    """At each open the opening prints, at each close print the closes, session by session."""
    w = history[1]
    days = market_data.sessions(date(2019, 2, 1), date(2019, 3, 29))

    async def body(broker: SimBroker, source: HistoricalSource) -> None:
        for day in days[1:]:
            broker.clock.advance_to(source.open_time(day))
            q = await broker.index_quotes()
            assert q["SPX"].last == pytest.approx(w.spx_open[day], abs=0.005)
            assert q["VIX"].last == pytest.approx(w.vix_open[day], abs=0.005)
            broker.clock.advance_to(source.close_print_time(day))
            q = await broker.index_quotes()
            assert q["SPX"].last == pytest.approx(w.spx_close[day], abs=0.005)
            assert q["VIX"].last == pytest.approx(w.vix_close[day], abs=0.005)
            assert q["VIX3M"].last == pytest.approx(w.vix3m[day], abs=0.005)
            futures = await broker.vix_futures()
            listed = {e: s for e, s in w.vx[day] if e in futures}
            assert len(listed) >= 6
            for expiry, settle in listed.items():
                assert futures[expiry].bid is not None and futures[expiry].ask is not None
                assert futures[expiry].bid <= settle <= futures[expiry].ask

    run(market_data, days[0], body)


def test_daily_history_is_the_completed_sessions(
    history: tuple[object, Written], market_data: MarketData
) -> None:
    """Before the close only earlier sessions are history; after it, the day joins."""
    w = history[1]
    day = date(2019, 3, 14)

    async def body(broker: SimBroker, source: HistoricalSource) -> None:
        bars = await broker.spx_daily_history(5)
        earlier = [d for d in w.days if d < day][-5:]
        assert [b.day for b in bars] == earlier
        assert [b.close for b in bars] == [w.spx_close[d] for d in earlier]
        breadth = await broker.breadth_history(3)
        assert [(b.advancing, b.declining, b.unchanged) for b in breadth] == [
            w.breadth[d] for d in earlier[-3:]
        ]
        broker.clock.advance_to(session_bounds(day)[1] + timedelta(minutes=1))
        assert (await broker.spx_daily_history(1))[0].day == day

    run(market_data, day, body)


def test_a_day_without_vix3m_shows_the_proxy(tmp_path: object, market_data: MarketData) -> None:
    """Without a VIX3M print the index is the documented variance proxy of VIX and the curve."""
    i = market_data.index_of(date(2019, 3, 14))
    real = market_data.vix3m_close[i]
    market_data.vix3m_close[i] = float("nan")
    try:

        async def body(broker: SimBroker, source: HistoricalSource) -> float:
            return (await broker.index_quotes())["VIX3M"].last or 0.0

        got = run(market_data, date(2019, 3, 14), body)
    finally:
        market_data.vix3m_close[i] = real
    vix = market_data.vix_close[i]
    day = market_data.days[i]
    curve = [(0.0, vix)] + [(float((e - day).days), s) for e, s in market_data.vx_curve(i)]

    def f(t: float) -> float:  # linear interpolation, by hand
        for (t0, v0), (t1, v1) in itertools.pairwise(curve):
            if t0 <= t <= t1:
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return curve[-1][1]

    scale = SimParams().historical.vix3m_proxy_scale
    expected = (
        scale * ((30 * vix**2 + 30 * f(30) ** 2 + 30 * f(60) ** 2 + 3 * f(90) ** 2) / 93) ** 0.5
    )
    assert got == pytest.approx(expected, abs=0.006)


def _buy(contract: Contract, quantity: int, limit: float) -> ComboOrder:
    return ComboOrder((ComboLeg(contract, 1, Action.BUY),), quantity, limit, "t-1")


@pytest.mark.parametrize(
    ("trading_class", "right", "expiry", "print_of"),
    [
        ("SPX", Right.PUT, spx_monthly_expiry(2019, 4), "spx_open"),
        ("SPXW", Right.CALL, spx_monthly_expiry(2019, 4), "spx_close"),
        ("VIX", Right.CALL, vix_expiry(2019, 4), "vix_open"),
    ],
)
def test_settlement_at_the_documented_print_and_cash_adds_up(
    history: tuple[object, Written],
    market_data: MarketData,
    trading_class: str,
    right: Right,
    expiry: date,
    print_of: str,
) -> None:
    """SPX AM and VIX settle on the expiry day's open, SPXW on its close; cash = -cost + payoff."""
    w = history[1]
    value = getattr(w, print_of)[expiry]
    symbol = "VIX" if trading_class == "VIX" else "SPX"
    step = 1.0 if symbol == "VIX" else 5.0
    strike = round(value / step) * step + (step if right is Right.PUT else -step) * 2
    contract = Contract(symbol, SecType.OPTION, trading_class, expiry, strike, right)

    async def body(broker: SimBroker, source: HistoricalSource) -> None:
        quote = (await broker.option_quotes([contract]))[0].quote
        assert quote.ask is not None
        state = await broker.place_combo(_buy(contract, 3, quote.ask))
        assert state.status is OrderStatus.FILLED
        paid = 3 * 100 * (state.avg_fill_price_usd or 0.0)
        assert broker.cash_usd == pytest.approx(-paid, abs=1e-6)
        broker.clock.advance_to(session_bounds(expiry)[1] + timedelta(hours=1))
        assert await broker.positions() == []
        (settled,) = broker.settlements
        assert settled.value_pts == pytest.approx(value)
        intrinsic = max(value - strike, 0) if right is Right.CALL else max(strike - value, 0)
        assert intrinsic > 0
        assert settled.payoff_usd == pytest.approx(3 * 100 * intrinsic)
        assert broker.cash_usd == pytest.approx(-paid + 3 * 100 * intrinsic, abs=1e-6)

    run(market_data, expiry - timedelta(days=9), body)


def test_initial_book_opens_on_the_historical_surface(market_data: MarketData) -> None:
    """The configured condors open at the first mids of the history, by delta, four legs each."""
    params = SimParams()  # the default book: two condors

    async def go() -> None:
        source = HistoricalSource(market_data, params)
        day = date(2019, 3, 14)
        broker = SimBroker(params, SimClock.manual(source.close_print_time(day)), source=source)
        await broker.connect()
        positions = await broker.positions()
        await broker.close()
        assert len(positions) == 8
        spot = market_data.spx_close[market_data.index_of(day)]
        for p in positions:
            assert p.contract.strike is not None
            otm = (
                p.contract.strike < spot
                if p.contract.right is Right.PUT
                else p.contract.strike > spot
            )
            assert otm
            mark = source.mark(p.contract, broker.clock.now())
            assert mark is not None and mark > 0
            # Sold at the mid of the first quote: the mark now is that same mid.
            assert p.avg_cost_usd == pytest.approx(mark * 100)
        # The credit of the shorts minus the longs is the cash received.
        assert broker.cash_usd == pytest.approx(
            -sum(p.quantity * p.avg_cost_usd for p in positions)
        )
        assert broker.cash_usd > 0

    asyncio.run(go())


VX_FILES = frozenset(
    {
        "vx_futures_contracts_2004_2014_cboe.csv",
        "vix_futures_vx1_vx8_continuous.csv",
        "vix_futures_ux1_ux2_bloomberg.csv",
    }
)


@pytest.mark.parametrize(
    ("skip", "has_vix3m", "futures"),
    [
        (frozenset({"vix3m_daily_cboe.csv"}), True, True),  # the proxy from the curve
        (VX_FILES | {"vix3m_daily_cboe.csv"}, False, False),  # nothing to build it from
        (VX_FILES | {"skew_daily_cboe.csv", "nyse_unchanged_issues.csv"}, True, False),
    ],
)
def test_missing_series_leave_a_working_market(
    tmp_path: Path, skip: frozenset[str], has_vix3m: bool, futures: bool
) -> None:
    """Without a series the market still quotes SPX, VIX and option chains; what is gone is
    absent (VIX3M, futures, breadth), never invented from nothing."""
    write_market_data(tmp_path, date(2019, 1, 2), date(2019, 3, 29), skip=skip)
    data = load_market_data(tmp_path)
    day = date(2019, 3, 14)

    async def body(broker: SimBroker, source: HistoricalSource) -> None:
        indices = await broker.index_quotes()
        assert {"SPX", "VIX"} <= set(indices)
        assert ("VIX3M" in indices) is has_vix3m
        assert bool(await broker.vix_futures()) is futures
        expiry = (await broker.option_expiries("VIX", "VIX"))[1]
        call = Contract("VIX", SecType.OPTION, "VIX", expiry, 20.0, Right.CALL)
        quote = (await broker.option_quotes([call]))[0].quote
        assert quote.bid is not None and quote.ask is not None and quote.ask > 0
        breadth = await broker.breadth_history(5)
        assert (len(breadth) == 5) is ("nyse_unchanged_issues.csv" not in skip)

    run(data, day, body)


def test_the_rolls_otm_chain_picks_the_condor_the_whole_chain_picks(
    market_data: MarketData,
) -> None:
    """``spx_expiry`` quotes only OTM strikes and the pairs nearest spot; the forward and the
    condor must be those of every strike of the band, both rights, on each roll day."""
    days = [d for d in market_data.sessions(date(2019, 1, 2), date(2019, 12, 31)) if is_roll_day(d)]
    assert len(days) >= 6

    async def whole(
        broker: SimBroker, expiry: date, spot: float
    ) -> tuple[list[Strike], list[Strike]]:
        now = broker.clock.now()
        ks = [
            k for k in await broker.option_strikes("SPX", "SPX", expiry) if abs(k / spot - 1) <= 0.4
        ]
        puts = await _quotes(broker, [option("SPX", "SPX", expiry, k, Right.PUT) for k in ks])
        calls = await _quotes(broker, [option("SPX", "SPX", expiry, k, Right.CALL) for k in ks])
        put_mid = {c.strike: 0.5 * (b + a) for c, b, a in puts}
        pairs = [
            (c.strike, 0.5 * (b + a), put_mid[c.strike]) for c, b, a in calls if c.strike in put_mid
        ]
        t = time_to_expiry_years(option("SPX", "SPX", expiry, spot, Right.PUT), now)
        ks_, calls_, puts_ = (list(col) for col in zip(*pairs, strict=True))
        fit = implied_forward(ks_, calls_, puts_, t, 0.02)
        assert fit is not None
        rate = -math.log(fit.discount) / t
        return _with_deltas(puts, fit.forward, t, rate), _with_deltas(calls, fit.forward, t, rate)

    async def body(broker: SimBroker, source: HistoricalSource) -> None:
        rule = BookRuleParams()
        for day in days:
            broker.clock.advance_to(source.close_print_time(day))
            expiry = next_standard_expiry(day)
            spot = (await broker.index_quotes())["SPX"].mid
            assert spot is not None
            puts, calls = await spx_expiry(broker, "SPX", expiry, broker.clock.now(), 0.02, spot)
            # OTM strikes, and the pairs nearest spot
            assert sum(1 for p in puts if (p.contract.strike or 0.0) > spot) <= 8
            assert sum(1 for c in calls if (c.contract.strike or 0.0) < spot) <= 8
            all_puts, all_calls = await whole(broker, expiry, spot)
            assert len(all_puts) > len(puts) and len(all_calls) > len(calls)
            chosen = choose_condor(puts, calls, rule, 1_000_000.0)
            assert chosen is not None
            assert chosen == choose_condor(all_puts, all_calls, rule, 1_000_000.0)

    run(market_data, days[0], body)
