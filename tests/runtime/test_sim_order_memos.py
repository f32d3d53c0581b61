"""The sim broker's kept answers give what asking afresh gives: an order's checked legs
(a re-priced copy has the same legs' tuple) and the VIX futures' quotes within one
market time and step.

Oracles: ``validate`` without the kept legs (the full check); a second broker built at
the same market time (a fresh computation); the clock's own time for a new step's quotes.
"""

from __future__ import annotations

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
from daemon.core.calendar import NY
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
