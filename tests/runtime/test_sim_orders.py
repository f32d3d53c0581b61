"""The sim's matching engine through the port: fills, resting orders, partial fills, rejects.

Oracles: the legs' own quotes from ``option_quotes`` (natural price = what taking every
leg's quote costs), hand-written position arithmetic (legs x ratio x quantity), IB's
average-cost rules worked by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import pytest

from daemon.brokers.sim import SimBroker, SimParams
from daemon.brokers.sim.orders import OrderBook
from daemon.brokers.sim.params import OrderParams
from daemon.core.broker import ComboLeg, ComboOrder, OrderEvent, OrderEventStream, OrderStatus
from daemon.core.calendar import NY
from daemon.core.models import Action, Contract, Position, Right, SecType
from daemon.errors import OrderRejected
from tests.runtime.sim_rig import run_with_broker

T = TypeVar("T")
START = datetime(2026, 3, 2, 10, 0, tzinfo=NY)  # Monday, mid-morning


def with_broker(body: Callable[[SimBroker], Awaitable[T]], **orders: object) -> T:
    params = SimParams(seed=11, orders=OrderParams.model_validate(orders))
    return run_with_broker(params, START, body)


async def vix_call_spread(broker: SimBroker, long_k: float, short_k: float) -> tuple[ComboLeg, ...]:
    expiry = (await broker.option_expiries("VIX", "VIX"))[1]

    def call(k: float) -> Contract:
        return Contract("VIX", SecType.OPTION, "VIX", expiry, k, Right.CALL)

    return (ComboLeg(call(long_k), 1, Action.BUY), ComboLeg(call(short_k), 1, Action.SELL))


async def natural_and_mid(broker: SimBroker, legs: tuple[ComboLeg, ...]) -> tuple[float, float]:
    """The combo's natural (take every quote) and mid price from the legs' quotes."""
    quotes = await broker.option_quotes([leg.contract for leg in legs])
    natural = mid = 0.0
    for leg, q in zip(legs, quotes, strict=True):
        bid, ask = q.quote.bid, q.quote.ask
        assert bid is not None and ask is not None
        sign = 1 if leg.action is Action.BUY else -1
        natural += sign * leg.ratio * (ask if leg.action is Action.BUY else bid)
        mid += sign * leg.ratio * 0.5 * (bid + ask)
    return round(natural, 2), mid


def held(positions: list[Position]) -> dict[str, int]:
    return {p.contract.key: p.quantity for p in positions}


async def drain(stream: OrderEventStream, count: int) -> list[OrderEvent]:
    it = stream.__aiter__()
    return [await asyncio.wait_for(it.__anext__(), 1.0) for _ in range(count)]


def test_marketable_combo_fills_and_moves_positions_by_legs_times_quantity() -> None:
    """A limit at the natural fills at once; each leg moves by ratio x quantity."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        natural, _ = await natural_and_mid(broker, legs)
        before = held(await broker.positions())
        state = await broker.place_combo(ComboOrder(legs, 4, natural, "adj-1"))
        assert state.status is OrderStatus.FILLED and state.filled_qty == 4
        assert state.avg_fill_price_usd == pytest.approx(natural)
        after = held(await broker.positions())
        assert after[legs[0].contract.key] == before.get(legs[0].contract.key, 0) + 4
        assert after[legs[1].contract.key] == before.get(legs[1].contract.key, 0) - 4
        untouched = {k: v for k, v in after.items() if k not in {c.contract.key for c in legs}}
        assert untouched == before
        assert await broker.open_orders() == []

    with_broker(body, price_improvement_frac=0.0)


def test_fill_prices_split_over_legs_add_up_to_the_combo_price() -> None:
    """The legs' average costs (x ratio, signed) add up to the combo fill price x 100."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 17, 22)
        natural, _ = await natural_and_mid(broker, legs)
        await broker.place_combo(ComboOrder(legs, 2, round(natural + 0.50, 2), "adj-2"))
        by_key = {p.contract.key: p for p in await broker.positions()}
        long_cost = by_key[legs[0].contract.key].avg_cost_usd
        short_cost = by_key[legs[1].contract.key].avg_cost_usd
        assert long_cost - short_cost == pytest.approx(natural * 100)

    with_broker(body, price_improvement_frac=0.0)


def test_resting_order_fills_at_its_limit_once_the_market_crosses_it() -> None:
    """A limit below the natural rests; it fills at the limit at a step where natural <= limit."""

    async def body(broker: SimBroker) -> None:
        expiry = (await broker.option_expiries("SPX", "SPXW"))[2]
        call = Contract("SPX", SecType.OPTION, "SPXW", expiry, 6000.0, Right.CALL)
        legs = (ComboLeg(call, 1, Action.BUY),)
        natural, _ = await natural_and_mid(broker, legs)
        limit = round(natural - 8.0, 1)
        stream = broker.order_events()
        state = await broker.place_combo(ComboOrder(legs, 1, limit, "adj-3"))
        assert state.status is OrderStatus.SUBMITTED
        assert [o.order_id for o in await broker.open_orders()] == [state.order_id]
        for _ in range(3 * 390):
            broker.clock.advance(timedelta(minutes=1))
            natural_now, _ = await natural_and_mid(broker, legs)
            if not await broker.open_orders():
                break
            assert natural_now > limit  # still resting: the market has not come to it
        else:
            pytest.fail("the market never reached the limit in three sessions")
        assert natural_now <= limit
        events = await drain(stream, 2)
        assert [e.state.status for e in events] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]
        fill = events[1].fill
        assert fill is not None and fill.price_usd == pytest.approx(limit) and fill.qty == 1

    with_broker(body, price_improvement_frac=0.0)


def test_resting_order_can_be_cancelled() -> None:
    """cancel() ends a resting order with CANCELLED and no position change."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        before = held(await broker.positions())
        stream = broker.order_events()
        state = await broker.place_combo(ComboOrder(legs, 3, 0.01, "adj-4"))
        await broker.cancel(state.order_id)
        await broker.cancel(state.order_id)  # a second cancel is a no-op
        events = await drain(stream, 2)
        assert [e.state.status for e in events] == [OrderStatus.SUBMITTED, OrderStatus.CANCELLED]
        assert await broker.open_orders() == []
        assert held(await broker.positions()) == before
        with pytest.raises(OrderRejected):
            await broker.cancel(9999)

    with_broker(body)


def test_time_in_force_cancels_an_order_that_did_not_fill() -> None:
    """An order with tif_s is cancelled that long (market time) after it arrived."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        stream = broker.order_events()
        await broker.place_combo(ComboOrder(legs, 1, 0.01, "adj-5", tif_s=300))
        broker.clock.advance(timedelta(minutes=4))
        assert len(await broker.open_orders()) == 1
        broker.clock.advance(timedelta(minutes=2))
        assert await broker.open_orders() == []
        events = await drain(stream, 2)
        assert events[1].state.status is OrderStatus.CANCELLED
        assert "time in force" in events[1].state.reason

    with_broker(body)


def test_partial_fills_at_most_the_cap_per_step() -> None:
    """With a cap of 2 per step, 5 units fill 2 + 2 + 1 over three steps, events in order."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        natural, _ = await natural_and_mid(broker, legs)
        limit = round(natural + 1.0, 2)
        stream = broker.order_events()
        before = held(await broker.positions()).get(legs[0].contract.key, 0)
        state = await broker.place_combo(ComboOrder(legs, 5, limit, "adj-6"))
        assert state.status is OrderStatus.PARTIALLY_FILLED
        assert (state.filled_qty, state.remaining_qty) == (2, 3)
        broker.clock.advance(timedelta(minutes=1))
        assert (await broker.open_orders())[0].filled_qty == 4
        broker.clock.advance(timedelta(minutes=1))
        assert await broker.open_orders() == []
        events = await drain(stream, 4)
        assert [e.state.status for e in events] == [
            OrderStatus.SUBMITTED,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
        ]
        assert [e.fill.qty for e in events[1:] if e.fill] == [2, 2, 1]
        assert events[-1].state.filled_qty == 5
        assert held(await broker.positions())[legs[0].contract.key] == before + 5

    with_broker(body, max_fill_per_step_contracts=2, price_improvement_frac=0.0)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -2}, "quantity"),
        ({"ratio": 0}, "ratio"),
        ({"ratio": -1}, "ratio"),
        ({"strike": 18.5}, "unknown"),
        ({"expiry": date(2026, 3, 20)}, "unknown"),
        ({"limit": 1.234}, "tick"),
    ],
)
def test_invalid_orders_are_rejected(change: dict[str, Any], why: str) -> None:
    """Zero or negative quantity, bad ratios, unknown contracts and off-tick limits reject."""

    async def body(broker: SimBroker) -> None:
        legs = list(await vix_call_spread(broker, 18, 25))
        c = legs[0].contract
        contract = replace(c, **{k: v for k, v in change.items() if k in ("expiry", "strike")})
        legs[0] = ComboLeg(contract, change.get("ratio", 1), Action.BUY)
        quantity = change.get("quantity", 1)
        limit = change.get("limit", 1.0)
        stream = broker.order_events()
        with pytest.raises(OrderRejected, match=why):
            await broker.place_combo(ComboOrder(tuple(legs), quantity, limit, "bad"))
        (event,) = await drain(stream, 1)
        assert event.state.status is OrderStatus.REJECTED and why in event.state.reason
        assert await broker.open_orders() == []

    with_broker(body)


def test_reject_all_orders_knob_rejects_a_valid_order() -> None:
    """With reject_all_orders set, even a marketable, valid order is rejected."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        natural, _ = await natural_and_mid(broker, legs)
        before = held(await broker.positions())
        broker.set_faults(reject_all_orders=True)
        with pytest.raises(OrderRejected, match="reject_all_orders"):
            await broker.place_combo(ComboOrder(legs, 1, natural, "adj-7"))
        assert held(await broker.positions()) == before
        broker.set_faults(reject_all_orders=False)
        state = await broker.place_combo(ComboOrder(legs, 1, natural, "adj-8"))
        assert state.status is OrderStatus.FILLED

    with_broker(body)


def test_orders_placed_while_closed_wait_for_the_open() -> None:
    """A marketable order placed after the close rests and fills in the next session."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        broker.clock.advance_to(datetime(2026, 3, 2, 18, 0, tzinfo=NY))
        natural, _ = await natural_and_mid(broker, legs)
        state = await broker.place_combo(ComboOrder(legs, 1, round(natural + 1.0, 2), "adj-9"))
        assert state.status is OrderStatus.SUBMITTED
        broker.clock.advance_to(datetime(2026, 3, 3, 9, 31, tzinfo=NY))
        assert await broker.open_orders() == []

    with_broker(body, price_improvement_frac=0.0)


@pytest.mark.parametrize(
    ("trades", "expected_qty", "expected_avg"),
    [
        # Hand-worked IB average cost (per contract, multiplier 100).
        ([(2, 1.00), (2, 2.00)], 4, 150.0),  # adding averages
        ([(-3, 2.00), (-1, 4.00)], -4, 250.0),  # adding to a short averages too
        ([(4, 1.00), (-1, 3.00)], 3, 100.0),  # reducing keeps the cost
        ([(2, 1.00), (-5, 3.00)], -3, 300.0),  # flipping starts at the fill
        ([(2, 1.00), (-2, 3.00)], 0, None),  # flat: the position is gone
    ],
)
def test_average_cost_follows_ib_conventions(
    trades: list[tuple[int, float]], expected_qty: int, expected_avg: float | None
) -> None:
    """Positions average on adds, keep cost on reductions, restart on flips, vanish at 0."""
    book = OrderBook(OrderParams(), lambda cs, now: [], lambda symbol: 0.05)
    contract = Contract("SPX", SecType.OPTION, "SPXW", date(2026, 3, 20), 6000.0, Right.PUT)
    for qty, price in trades:
        book.apply_trade(contract, qty, price)
    position = book.positions.get(contract)
    if expected_avg is None:
        assert position is None
    else:
        assert position is not None and position.quantity == expected_qty
        assert position.avg_cost_usd == pytest.approx(expected_avg)


def test_open_orders_are_the_unfinished_ones_in_arrival_order() -> None:
    """Filled, cancelled and rejected orders drop out of the working set at once (a step
    matches only what is still working); the rest stay listed in arrival order and are
    still matched, here cancelled by their time in force; ``received`` keeps every order."""

    async def body(broker: SimBroker) -> None:
        legs = await vix_call_spread(broker, 18, 25)
        natural, _ = await natural_and_mid(broker, legs)
        filled = await broker.place_combo(ComboOrder(legs, 1, natural + 1.0, "adj-a"))
        resting = [
            await broker.place_combo(ComboOrder(legs, 1, 0.01, f"adj-r{i}", tif_s=600))
            for i in range(3)
        ]
        await broker.cancel(resting[1].order_id)
        with pytest.raises(OrderRejected):
            await broker.place_combo(ComboOrder(legs, 0, 0.01, "adj-bad"))
        assert filled.status is OrderStatus.FILLED
        working = [resting[0].order_id, resting[2].order_id]
        assert [o.order_id for o in await broker.open_orders()] == working
        broker.clock.advance(timedelta(minutes=11))
        assert await broker.open_orders() == []
        assert len(broker.orders_received) == 5

    with_broker(body)
