"""The simulated broker through the port: account, initial book, listings, every fault knob.

Oracles: the Cboe expiry rules written out by hand (third Fridays, VIX Wednesdays 30 days
before the next month's third Friday), vollib's Black-76 delta for the initial strikes,
the quotes' own mids for the book's costs, and the clock for quote times.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from vollib.black.greeks.analytical import delta as vollib_delta

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.core.broker import Broker, ComboLeg, ComboOrder, ConnectionState, OrderStatus
from daemon.core.calendar import NY, is_session, time_to_expiry_years
from daemon.core.models import Action, Contract, FeedKind, OptionQuote, Quote, Right, SecType
from daemon.errors import BrokerDisconnected, BrokerTimeout
from tests.runtime.sim_rig import run_with_broker

T = TypeVar("T")
START = datetime(2026, 3, 2, 10, 0, tzinfo=NY)  # Monday, mid-morning


def with_broker(body: Callable[[SimBroker], Awaitable[T]], **params: Any) -> T:
    return run_with_broker(SimParams.model_validate({"seed": 5, **params}), START, body)


async def some_options(broker: SimBroker) -> list[Contract]:
    contracts = []
    for symbol, tc, index in (("SPX", "SPXW", 1), ("SPX", "SPX", 1), ("VIX", "VIX", 1)):
        expiry = (await broker.option_expiries(symbol, tc))[index]
        strikes = await broker.option_strikes(symbol, tc, expiry)
        contracts += [
            Contract(symbol, SecType.OPTION, tc, expiry, k, right)
            for k in strikes[len(strikes) // 2 - 10 : len(strikes) // 2 + 10]
            for right in (Right.CALL, Right.PUT)
        ]
    return contracts


def test_sim_broker_satisfies_the_port() -> None:
    """SimBroker is a structural Broker (mypy checks the assignment below too)."""
    broker: Broker = SimBroker(SimParams(seed=1), SimClock.manual(START))
    assert broker.connection_state is ConnectionState.DISCONNECTED


# ---- account and book ------------------------------------------------------------------------
@pytest.mark.parametrize(("live", "prefix", "paper"), [(False, "DU", True), (True, "U", False)])
def test_account_is_paper_unless_the_knob_says_live(live: bool, prefix: str, paper: bool) -> None:
    """Paper 'DU...' by default; the live_looking knob gives a 'U...' live account."""

    async def body(broker: SimBroker) -> None:
        info = await broker.account()
        assert info.account_id == prefix + "1234567" and info.is_paper is paper

    with_broker(body, account={"live_looking": live})


def test_initial_book_is_the_configured_condors_priced_at_first_mids() -> None:
    """Two iron condors by delta: strike order, sizes, DTE, short deltas and costs at mids."""

    async def body(broker: SimBroker) -> None:
        positions = await broker.positions()
        assert len(positions) == 8
        r = broker.params.market.rate_frac
        for condor in broker.params.book:
            legs = sorted(
                (p for p in positions if p.contract.trading_class == condor.trading_class),
                key=lambda p: (p.contract.strike or 0.0, p.contract.right == Right.CALL),
            )
            rights = [p.contract.right for p in legs]
            assert rights == [Right.PUT, Right.PUT, Right.CALL, Right.CALL]
            q = condor.quantity
            assert [p.quantity for p in legs] == [q, -q, -q, q]
            strikes = [p.contract.strike or 0.0 for p in legs]
            assert strikes[1] - strikes[0] == strikes[3] - strikes[2] == condor.wing_width_pts
            expiry = legs[0].contract.expiry
            assert expiry is not None
            listed = await broker.option_expiries("SPX", condor.trading_class)
            gap = abs((expiry - START.date()).days - condor.dte_days)
            assert all(gap <= abs((d - START.date()).days - condor.dte_days) for d in listed)
            quotes = await broker.option_quotes([p.contract for p in legs])
            for p, oq in zip(legs, quotes, strict=True):
                assert oq.quote.mid is not None
                assert p.avg_cost_usd == pytest.approx(oq.quote.mid * 100)
            for p, oq in zip(legs[1:3], quotes[1:3], strict=True):
                t = time_to_expiry_years(p.contract, START)
                fwd = broker.chains.spx_forward(p.contract, broker.state, START)
                flag = "c" if p.contract.right is Right.CALL else "p"
                sigma = oq.quote.model_iv_sigma
                d = vollib_delta(flag, fwd, p.contract.strike, t, r, sigma)
                # Strikes are 5 points apart: the nearest one is within a few delta points.
                assert abs(abs(d) - condor.short_delta) < 0.02

    with_broker(body)


# ---- listings -----------------------------------------------------------------------------
def _third_friday(year: int, month: int) -> date:
    fridays = [date(year, month, d) for d in range(15, 22) if date(year, month, d).weekday() == 4]
    return fridays[0]


def test_expiries_follow_the_cboe_rules() -> None:
    """SPX third Fridays; SPXW every session ahead and Fridays; VIX Wednesdays before them."""

    async def body(broker: SimBroker) -> None:
        spx = await broker.option_expiries("SPX", "SPX")
        assert spx[:3] == [date(2026, 3, 20), date(2026, 4, 17), date(2026, 5, 15)]
        assert all(d == _third_friday(d.year, d.month) or d.weekday() == 3 for d in spx)
        spxw = await broker.option_expiries("SPX", "SPXW")
        assert spxw[:5] == [date(2026, 3, d) for d in (2, 3, 4, 5, 6)]
        assert all(is_session(d) for d in spxw)
        vix = await broker.option_expiries("VIX", "VIX")
        assert vix == sorted(await broker.vix_futures())
        for d in vix:
            # 30 days before the next month's third Friday (the Thursday if it is a holiday:
            # 2026-06-19 is Juneteenth, so May's VIX expiry is a Tuesday).
            friday = _third_friday(d.year + d.month // 12, d.month % 12 + 1)
            settle = friday if is_session(friday) else friday - timedelta(days=1)
            assert d == settle - timedelta(days=30)
            assert d.weekday() == (2 if settle == friday else 1)
        assert await broker.option_expiries("SPX", "VIX") == []

    with_broker(body)


def test_strikes_are_on_their_grids_around_spot() -> None:
    """SPX strikes every 5 points within 30% of spot; VIX every point from 10 to 80."""

    async def body(broker: SimBroker) -> None:
        spot = (await broker.index_quotes())["SPX"].last
        assert spot is not None
        expiry = (await broker.option_expiries("SPX", "SPXW"))[0]
        strikes = await broker.option_strikes("SPX", "SPXW", expiry)
        assert all(k % 5 == 0 for k in strikes)
        assert strikes[0] >= 0.7 * spot - 5 and strikes[-1] <= 1.3 * spot + 5
        assert strikes == sorted(strikes) and min(strikes) < spot < max(strikes)
        vix_expiry = (await broker.option_expiries("VIX", "VIX"))[0]
        vix_strikes = await broker.option_strikes("VIX", "VIX", vix_expiry)
        assert vix_strikes == [float(k) for k in range(10, 81)]
        assert await broker.option_strikes("SPX", "SPXW", date(2026, 3, 7)) == []

    with_broker(body)


def test_unknown_contracts_come_back_without_a_market() -> None:
    """A contract the sim does not list gets no bid and no ask, in its place in the list."""

    async def body(broker: SimBroker) -> None:
        good = (await some_options(broker))[0]
        bad = Contract("SPX", SecType.OPTION, "SPXW", date(2026, 3, 7), 6000.0, Right.CALL)
        quotes = await broker.option_quotes([bad, good])
        assert [q.contract for q in quotes] == [bad, good]
        assert quotes[0].quote.bid is None and quotes[0].quote.ask is None
        assert quotes[1].quote.bid is not None

    with_broker(body)


def state_of(broker: SimBroker) -> ConnectionState:
    return broker.connection_state


# ---- faults -----------------------------------------------------------------------------
def test_dropped_connection_raises_until_reconnected() -> None:
    """drop_connection: the next call and all after raise BrokerDisconnected until connect()."""

    async def body(broker: SimBroker) -> None:
        broker.set_faults(drop_connection=True)
        with pytest.raises(BrokerDisconnected):
            await broker.index_quotes()
        assert broker.connection_state is ConnectionState.DISCONNECTED
        with pytest.raises(BrokerDisconnected):
            await broker.positions()
        await broker.connect()
        assert state_of(broker) is ConnectionState.CONNECTED
        assert (await broker.index_quotes())["SPX"].last is not None

    with_broker(body)


def test_refused_connection_raises_until_the_gateway_is_back() -> None:
    """refuse_connect: connect() raises BrokerDisconnected; clearing it lets connect() work."""

    async def body(broker: SimBroker) -> None:
        await broker.close()
        broker.set_faults(refuse_connect=True)
        with pytest.raises(BrokerDisconnected):
            await broker.connect()
        broker.set_faults(refuse_connect=False)
        await broker.connect()
        assert (await broker.account()).is_paper

    with_broker(body)


def test_stale_quotes_carry_old_times() -> None:
    """stale_quotes_s: every quote is stamped that many seconds before the market's now."""

    async def body(broker: SimBroker) -> None:
        broker.clock.advance(timedelta(minutes=3))
        now = broker.clock.now()
        fresh = await broker.index_quotes()
        assert all(q.time == now for q in fresh.values())
        broker.set_faults(stale_quotes_s=90)
        old = now - timedelta(seconds=90)
        assert all(q.time == old for q in (await broker.index_quotes()).values())
        assert all(q.time == old for q in (await broker.vix_futures()).values())
        options = await broker.option_quotes((await some_options(broker))[:10])
        assert all(q.quote.time == old for q in options)

    with_broker(body)


def test_nan_quotes_appear_on_a_share_of_instruments() -> None:
    """nan_quote_frac: that share of instruments quotes NaN, the same ones on every call."""

    async def body(broker: SimBroker) -> None:
        contracts = await some_options(broker)
        broker.set_faults(nan_quote_frac=0.3)
        first = await broker.option_quotes(contracts)
        hit = [q.quote.bid is not None and math.isnan(q.quote.bid) for q in first]
        assert 0.15 < sum(hit) / len(hit) < 0.45
        assert all(math.isnan(q.quote.ask or 0.0) == h for q, h in zip(first, hit, strict=True))
        again = await broker.option_quotes(contracts)
        assert [q.quote.bid is not None and math.isnan(q.quote.bid) for q in again] == hit
        broker.set_faults(nan_quote_frac=1.0)
        indices = await broker.index_quotes()
        assert all(q.last is not None and math.isnan(q.last) for q in indices.values())

    with_broker(body)


def test_crossed_quotes_appear_on_a_share_of_instruments() -> None:
    """crossed_quote_frac: that share of two-sided quotes has bid > ask; 1.0 crosses all."""

    async def body(broker: SimBroker) -> None:
        contracts = await some_options(broker)
        broker.set_faults(crossed_quote_frac=0.3)
        quotes = await broker.option_quotes(contracts)
        crossed = [(q.quote.bid or 0.0) > (q.quote.ask or 0.0) for q in quotes]
        assert 0.15 < sum(crossed) / len(crossed) < 0.45
        broker.set_faults(crossed_quote_frac=1.0)
        futures = await broker.vix_futures()
        assert all((q.bid or 0.0) > (q.ask or 0.0) for q in futures.values())

    with_broker(body)


def test_slow_replies_wait_and_time_out_past_the_request_timeout() -> None:
    """slow_reply_s delays each reply in real time; at the timeout the call raises."""

    async def body(broker: SimBroker) -> None:
        broker.set_faults(slow_reply_s=0.05)
        started = time.monotonic()
        await broker.index_quotes()
        assert time.monotonic() - started >= 0.05
        broker.set_faults(slow_reply_s=0.2)
        started = time.monotonic()
        with pytest.raises(BrokerTimeout):
            await broker.index_quotes()
        assert 0.1 <= time.monotonic() - started < 0.2
        broker.set_faults(slow_reply_s=0.0)
        assert (await broker.index_quotes())["VIX"].last is not None

    with_broker(body, request_timeout_s=0.1)


def test_unknown_fault_knob_is_refused() -> None:
    """set_faults validates names and bounds like the config does."""
    broker = SimBroker(SimParams(seed=1), SimClock.manual(START))
    with pytest.raises(ValueError):
        broker.set_faults(nan_quote_frac=2.0)
    with pytest.raises(ValueError):
        broker.set_faults(no_such_knob=True)


# ---- events without calls ---------------------------------------------------------------------
def test_background_pump_delivers_fills_to_a_listener_that_makes_no_calls() -> None:
    """An engine that only listens sees its resting order fill once market time passes."""

    async def body(broker: SimBroker) -> None:
        expiry = (await broker.option_expiries("VIX", "VIX"))[1]
        call = Contract("VIX", SecType.OPTION, "VIX", expiry, 20.0, Right.CALL)
        broker.clock.advance_to(datetime(2026, 3, 2, 20, 0, tzinfo=NY))  # after the close
        stream = broker.order_events()
        state = await broker.place_combo(ComboOrder((ComboLeg(call, 1, Action.BUY),), 1, 9.0, "p"))
        assert state.status is OrderStatus.SUBMITTED
        broker.clock.advance_to(datetime(2026, 3, 3, 9, 35, tzinfo=NY))
        statuses = []
        async for event in stream:
            statuses.append(event.state.status)
            if event.state.status.is_terminal:
                break
        stream.close()
        assert statuses == [OrderStatus.SUBMITTED, OrderStatus.FILLED]

    async def guarded(broker: SimBroker) -> None:
        await asyncio.wait_for(body(broker), 5.0)

    with_broker(guarded, pump_interval_s=0.01)


def test_close_ends_open_event_streams() -> None:
    """close() ends every open order-event stream, so followers stop."""

    async def body(broker: SimBroker) -> list[object]:
        stream = broker.order_events()
        await broker.close()
        return [event async for event in stream]

    assert with_broker(body) == []


def test_option_quotes_are_the_constructors_values() -> None:
    """The quotes the broker makes without calling the constructors equal, hash and stay
    frozen as the constructors' own; which holds while neither class gains a
    ``__post_init__`` or slots (the shortcut's premise, checked here)."""
    for cls in (Quote, OptionQuote):
        assert "__post_init__" not in vars(cls) and "__slots__" not in vars(cls)

    async def body(broker: SimBroker) -> None:
        asked = await some_options(broker)
        got = await broker.option_quotes(asked)
        assert len(got) == len(asked)
        for contract, oq in zip(asked, got, strict=True):
            q = oq.quote
            rebuilt = Quote(q.bid, q.ask, q.time, None, q.model_iv_sigma)
            assert type(q) is Quote and q == rebuilt and hash(q) == hash(rebuilt)
            assert q.feed is FeedKind.LIVE and q.last is None
            assert q.bid is not None and q.ask is not None and q.bid < q.ask
            assert oq == OptionQuote(contract, rebuilt) and oq.contract is contract
            with pytest.raises(dataclasses.FrozenInstanceError):
                q.bid = 0.0  # type: ignore[misc]

    with_broker(body)
