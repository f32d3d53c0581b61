"""IbBroker's orders against the fake gateway: the BAG encoding, fills, cancels and
rejections, under whichever client library is installed (see test_ib_adapter.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from daemon.brokers.ib import IbBroker
from daemon.core.broker import ComboLeg, ComboOrder, OrderStatus
from daemon.core.calendar import NY
from daemon.core.models import Action, Right
from daemon.errors import OrderRejected
from tests.ib.book import SPXW_A, option
from tests.ib.fake_gateway import FakeGateway
from tests.ib.test_ib_adapter import LIBRARIES, run, spxw, until_terminal

pytestmark = pytest.mark.skipif(not LIBRARIES, reason="no IB client library is installed")


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ---- orders ----------------------------------------------------------------------------------
def credit_spread(ref: str) -> ComboOrder:
    return ComboOrder(
        legs=(
            ComboLeg(spxw(SPXW_A, 5900.0, Right.PUT), 1, Action.SELL),
            ComboLeg(spxw(SPXW_A, 5800.0, Right.PUT), 1, Action.BUY),
        ),
        quantity=2,
        limit_price_usd=-1.35,
        order_ref=ref,
        tif_s=120.0,
    )


def test_place_combo_encodes_bag_and_streams_the_fill(library: str) -> None:
    """A combo goes out as a BAG (legs, ratios, actions as the gateway parses them); its
    Submitted and Filled states reach the stream with the fill and the order_ref."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        stream = broker.order_events()
        state = await broker.place_combo(credit_spread("adj-42"))
        events = await until_terminal(stream, state.order_id)
        stream.close()
        sent = gw.orders[state.order_id]
        assert (sent.contract.sec_type, sent.contract.symbol, sent.contract.exchange) == (
            "BAG", "SPX", "SMART")  # fmt: skip
        assert sent.legs == [
            (option("SPXW", SPXW_A, 5900.0, "P").con_id, 1, "SELL", "SMART"),
            (option("SPXW", SPXW_A, 5800.0, "P").con_id, 1, "BUY", "SMART"),
        ]
        assert (sent.action, sent.quantity, sent.order_type, sent.limit_price) == (
            "BUY", 2, "LMT", -1.35)  # fmt: skip
        assert (sent.order_ref, sent.account, sent.transmit) == ("adj-42", "DU1234567", True)
        assert (sent.tif, sent.good_till) == ("GTD", "20261124-20:02:00")  # 15:00 ET + 120 s
        assert [e.state.status for e in events] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]
        assert {e.state.order_ref for e in events} == {"adj-42"}
        filled = events[-1]
        assert (filled.state.filled_qty, filled.state.remaining_qty) == (2, 0)
        assert filled.state.avg_fill_price_usd == pytest.approx(-1.35)
        assert filled.fill is not None
        assert (filled.fill.order_ref, filled.fill.qty) == ("adj-42", 2)
        assert filled.fill.price_usd == pytest.approx(-1.35)
        assert filled.fill.time == datetime(2026, 11, 24, 15, 0, 1, tzinfo=NY)

    run(library, body)


def test_cancel_yields_cancelled(library: str) -> None:
    """cancel() of a resting order ends its stream with CANCELLED; an unknown id is refused."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.order_mode = "rest"
        stream = broker.order_events()
        state = await broker.place_combo(credit_spread("00000000000000a7"))
        assert state.status is OrderStatus.SUBMITTED
        assert [s.order_id for s in await broker.open_orders()] == [state.order_id]
        await broker.cancel(state.order_id)
        events = await until_terminal(stream, state.order_id)
        assert events[-1].state.status is OrderStatus.CANCELLED
        assert events[-1].state.order_ref == "00000000000000a7"
        assert gw.cancels == [state.order_id]
        with pytest.raises(OrderRejected):
            await broker.cancel(9999)

    run(library, body)


def test_error_201_on_placement_raises_order_rejected(library: str) -> None:
    """Error 201 on placement raises OrderRejected and publishes a REJECTED event."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.order_mode = "reject"
        stream = broker.order_events()
        with pytest.raises(OrderRejected, match="Insufficient margin"):
            await broker.place_combo(credit_spread("adj-9"))
        (sent_id,) = gw.orders
        events = await until_terminal(stream, sent_id)
        assert events[-1].state.status is OrderStatus.REJECTED
        assert events[-1].state.order_ref == "adj-9"

    run(library, body)
