"""The sim broker's kept answers give what asking afresh gives: an order's checked legs
(a re-priced copy has the same legs' tuple), the VIX futures' quotes within one market
time and step, the sorted positions between trades, settlement times by object.

Oracles: ``validate`` without the kept legs (the full check); a second broker built at
the same market time (a fresh computation); the clock's own time for a new step's quotes;
sorting the book's positions afresh; ``settlement_time`` itself.
"""

from __future__ import annotations

import asyncio
import functools
import math
from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.brokers.sim.orders import check_legs, validate
from daemon.core.broker import ComboLeg, ComboOrder, OrderStatus
from daemon.core.calendar import NY, settlement_time
from daemon.core.models import Action, Contract, Right, SecType
from daemon.errors import OrderRejected
from tests.runtime.sim_rig import run_with_broker

START = datetime(2026, 3, 2, 10, 0, tzinfo=NY)  # Monday, mid-morning
PARAMS = SimParams(seed=11)


def _broker_now() -> tuple[SimBroker, datetime]:
    broker = SimBroker(PARAMS, SimClock.manual(START))
    return broker, broker.sync()


@functools.cache
def _one_broker() -> tuple[SimBroker, datetime]:
    return _broker_now()  # validate reads its chains only: one serves every example


def _spread_legs(broker: SimBroker, now: datetime) -> tuple[ComboLeg, ...]:
    expiry = broker.chains.expiries("VIX", now)[1]

    def call(k: float) -> Contract:
        return Contract("VIX", SecType.OPTION, "VIX", expiry, k, Right.CALL)

    return (ComboLeg(call(18.0), 1, Action.BUY), ComboLeg(call(25.0), 1, Action.SELL))


@settings(max_examples=60, deadline=None)
@given(
    quantity=st.one_of(st.integers(-3, 50), st.floats(0.5, 3.0)),
    limit=st.one_of(
        st.integers(-200, 2000).map(lambda n: n * 0.05),
        st.floats(-20.0, 100.0),
        st.sampled_from([math.nan, math.inf, -math.inf]),
    ),
)
def test_an_order_on_checked_legs_validates_as_the_full_check(
    quantity: float, limit: float
) -> None:
    """Any quantity and limit (invalid ones included) on legs checked before at this
    market time get the full check's answer: the same order (legs equal), or the same
    reason."""
    broker, now = _one_broker()
    legs = _spread_legs(broker, now)

    def resolve(c: Contract) -> Contract | None:
        return broker.chains.resolve(c, now)

    checked, reason = check_legs(legs, resolve)
    assert checked is not None and reason == ""
    order = ComboOrder(legs, quantity, limit, "adj-1")  # type: ignore[arg-type]
    want = validate(order, resolve, broker.chains.combo_tick)
    got = validate(order, resolve, broker.chains.combo_tick, checked)
    assert got == want


def test_a_repriced_copy_is_checked_again_at_a_later_time() -> None:
    """The kept legs serve one market time: a re-priced copy (same legs' tuple) placed
    after its legs expired is rejected as the full check rejects it."""

    async def body(broker: SimBroker) -> None:
        today = START.date()
        strikes = await broker.option_strikes("SPX", "SPXW", today)
        put = Contract("SPX", SecType.OPTION, "SPXW", today, strikes[0], Right.PUT)
        # Selling a far put for a 10.00 credit: never marketable, it rests.
        order = ComboOrder((ComboLeg(put, 1, Action.SELL),), 1, -10.0, "adj-1")
        first = await broker.place_combo(order)
        assert first.status is OrderStatus.SUBMITTED
        again = await broker.place_combo(replace(order, limit_price_usd=-9.95))
        assert again.status is OrderStatus.SUBMITTED  # same time: the kept legs
        received = broker.orders_received
        assert received[0][1].legs == received[1][1].legs
        broker.clock.advance_to(datetime.combine(today, time(16, 30), NY))  # it settled
        with pytest.raises(OrderRejected, match="unknown or expired"):
            await broker.place_combo(replace(order, limit_price_usd=-9.9))

    run_with_broker(PARAMS, START, body)


def test_vix_futures_asked_twice_at_one_time_equal_a_fresh_computation() -> None:
    """Asked again at the same market time: equal quotes, in a dict of the caller's own;
    equal to what a broker built at that time computes; after a step, new quotes at the
    new time."""

    async def body(broker: SimBroker) -> None:
        first = await broker.vix_futures()
        first.clear()  # the caller's own dict: the next answer is whole
        second = await broker.vix_futures()
        fresh, _ = _broker_now()
        await fresh.connect()
        try:
            assert second == await fresh.vix_futures() and second
        finally:
            await fresh.close()
        broker.clock.advance(timedelta(minutes=30))
        later = await broker.vix_futures()
        assert {q.time for q in later.values()} == {broker.clock.now()}

    run_with_broker(PARAMS, START, body)


_KS = [float(k) for k in range(5000, 7001, 100)]


@functools.cache
def _trading_broker() -> tuple[SimBroker, datetime]:
    return _broker_now()  # its book carries the trades of earlier examples: more cases


@settings(max_examples=40, deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(_KS), st.sampled_from([Right.PUT, Right.CALL]), st.integers(-3, 3)
        ),
        max_size=12,
    )
)
def test_positions_are_listed_sorted_after_every_trade(
    trades: list[tuple[float, Right, int]],
) -> None:
    """After each trade (opening, adding, closing, flipping, on equal but distinct contract
    objects) ``positions()`` lists what sorting the book's positions afresh lists; each
    answer is the caller's own list."""
    broker, now = _trading_broker()
    expiry = broker.chains.expiries("SPXW", now)[-1]

    async def body() -> None:
        await broker.connect()
        for k, right, qty in trades:
            contract = Contract("SPX", SecType.OPTION, "SPXW", expiry, k, right)
            broker._book.apply_trade(contract, qty, 1.0)
            listed = await broker.positions()
            fresh = sorted(broker._book.positions.values(), key=lambda p: p.contract)
            assert listed == fresh
            listed.clear()
            assert await broker.positions() == fresh

    asyncio.run(body())


def test_settlement_times_of_equal_contracts_are_their_own() -> None:
    """Equal but distinct contract objects, and contracts of other expiries and classes,
    each get ``settlement_time`` of themselves."""
    broker, now = _broker_now()
    contracts = [
        Contract("SPX", SecType.OPTION, tc, e, 6000.0, Right.PUT)
        for tc in ("SPX", "SPXW")
        for e in broker.chains.expiries(tc, now)[:3]
        for _ in range(2)  # two objects of each contract
    ]
    for c in [*contracts, *reversed(contracts)]:
        assert broker._settlement(c) == settlement_time(c)


def test_a_settled_position_leaves_the_listing() -> None:
    """A position listed before its expiry's settlement is gone from ``positions()`` after
    it (the book settled it), the others still listed as sorting them afresh lists them."""

    async def body(broker: SimBroker) -> None:
        today = START.date()
        strikes = await broker.option_strikes("SPX", "SPXW", today)
        put = broker.chains.resolve(
            Contract("SPX", SecType.OPTION, "SPXW", today, strikes[0], Right.PUT), START
        )
        assert put is not None
        broker._book.apply_trade(put, 2, 0.05)
        assert put in [p.contract for p in await broker.positions()]
        broker.clock.advance_to(datetime.combine(today, time(16, 30), NY))
        listed = await broker.positions()
        assert put not in [p.contract for p in listed]
        assert listed == sorted(broker._book.positions.values(), key=lambda p: p.contract)

    run_with_broker(PARAMS, START, body)
