"""Orders across client ids: an earlier run's order still working after IB's 326 moved
the restarted daemon to another client id is seen, kept open and watched, never resent.

Runs under whichever of ib_async / ib_insync is installed, against the fake gateway, which
answers reqOpenOrders (5) with the calling client's orders only and reqAllOpenOrders (16)
with every client's, as IB does, and streams an order's changes to its own client only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon.brokers.ib import IbBroker
from daemon.brokers.ib.client import load_library
from daemon.brokers.ib.params import IbParams
from daemon.config import ExecutionParams
from daemon.core.broker import ComboLeg, ComboOrder, OrderStatus
from daemon.core.models import Action, Contract, Right, SecType
from daemon.core.params import TickParams
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.follow import OrderFollower
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.notify import Fanout
from daemon.runtime.notify.params import AlertParams
from daemon.runtime.order_codec import order_to_json
from tests.ib.book import SPXW_A
from tests.ib.fake_gateway import FakeGateway
from tests.ib.test_ib_adapter import LIBRARIES, NOW

pytestmark = pytest.mark.skipif(not LIBRARIES, reason="no IB client library is installed")
REF = "3f2a9c0d41b7e5a8"  # an adjustment id, as the daemon writes order references


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        return NOW


def _broker(library: str, port: int) -> IbBroker:
    params = IbParams(port=port, library=library, connect_timeout_s=2.0, request_timeout_s=2.0)  # type: ignore[arg-type]
    return IbBroker(params, clock=lambda: NOW, library=load_library(library))


def _spread(ref: str) -> ComboOrder:
    leg = lambda k, a: ComboLeg(Contract("SPX", SecType.OPTION, "SPXW", SPXW_A, k, Right.PUT), 1, a)  # noqa: E731
    return ComboOrder((leg(5900.0, Action.SELL), leg(5800.0, Action.BUY)), 2, -1.35, ref, 120.0)


async def _restart_under_another_id(gw: FakeGateway, library: str) -> tuple[IbBroker, IbBroker]:
    """Run 1 places an order and its session lingers (client id 17 stays taken); run 2
    connects, gets 326 for 17 and moves to 18."""
    first = _broker(library, gw.port)
    await first.connect()
    gw.order_mode = "rest"
    await first.place_combo(_spread(REF))
    gw.order_mode = "fill"
    gw.busy_client_ids.add(17)
    second = _broker(library, gw.port)
    await second.connect()
    assert [f[2] for f in gw.requests_of(71)] == ["17", "17", "18"]
    return first, second


def test_open_orders_include_an_earlier_client_ids_order(library: str) -> None:
    """reqAllOpenOrders, not reqOpenOrders: the order placed under client 17 is reported to
    the session on client 18, as not owned; orders of other programs (a reference that is
    not an adjustment id) are left out."""

    async def go() -> None:
        async with FakeGateway() as gw:
            first, second = await _restart_under_another_id(gw, library)
            try:
                gw.order_mode = "rest"
                await first.place_combo(_spread("manual-hedge"))  # not the daemon's
                (state,) = await second.open_orders()
                assert (state.order_ref, state.owned) == (REF, False)
                assert state.status is OrderStatus.SUBMITTED
                assert len(gw.requests_of(16)) == 1  # reqAllOpenOrders, not reqOpenOrders
                (mine,) = [s for s in await first.open_orders() if s.order_ref == REF]
                assert mine.owned
            finally:
                await second.close()
                await first.close()

    asyncio.run(go())


def test_restart_under_another_client_id_keeps_following_not_resending(
    library: str, tmp_path: Path
) -> None:
    """Reconciliation after the restart keeps the order open in the journal (so the
    duplicate, busy-legs and family guards still count it) and watches it; when it fills
    under its own client it leaves the open orders and is closed ENDED_UNSEEN. Nothing
    is sent or cancelled by the second session."""

    async def go() -> None:
        async with FakeGateway() as gw:
            first, second = await _restart_under_another_id(gw, library)
            journal = SqliteJournal.open(tmp_path / "j.sqlite")
            try:
                journal.record_order_intent(
                    REF, cycle_id="c1", trading_day=NOW.date(), now=NOW, quantity=2,
                    limit_usd=-1.35, debit_usd=0.0, leg_keys=("a", "b"),
                    order=order_to_json(_spread(REF), -1.2),
                )  # fmt: skip
                (order_id,) = gw.orders
                journal.record_order_state(REF, now=NOW, status="SUBMITTED", order_id=str(order_id))
                params = ExecutionParams(foreign_order_poll_s=0.05)
                alerts = DecisionAlerts(journal, Fanout.log_only(), AlertParams())
                follower = OrderFollower(second, journal, params, TickParams(), _Clock(), alerts)
                await follower.reconcile()
                assert follower.following == (REF,)
                assert [r["order_ref"] for r in journal.open_orders()] == [REF]
                sent_before = len(gw.orders)
                await gw.fill_resting(order_id)
                await asyncio.wait_for(follower.wait(), 5.0)
                (row,) = journal.recent_orders(limit=10)
                assert row["status"] == "ENDED_UNSEEN" and "another client id" in row["reason"]
                assert len(gw.orders) == sent_before and gw.cancels == []
            finally:
                journal.close()
                await second.close()
                await first.close()

    asyncio.run(go())
