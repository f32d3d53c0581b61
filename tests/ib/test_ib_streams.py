"""The core set streamed, the rest snapshotted, each phase within its budget: IbBroker and
the snapshot taker against the fake gateway, under whichever client library is installed.

The gateway counts what it is sent; the expected counts come from the fake's book
(tests/ib/book.py), declared by hand.
"""

from __future__ import annotations

import asyncio

import pytest

from daemon.brokers.ib import IbBroker
from daemon.config import SnapshotParams
from daemon.core.models import Contract, Right, SecType
from daemon.core.params import ModelParams
from daemon.errors import BrokerTimeout
from daemon.runtime.snapshot import SnapshotTaker
from tests.ib.book import FUTURES, SPX, VIX, VIX3M, VIX_DEC, option
from tests.ib.fake_gateway import FakeGateway
from tests.ib.test_ib_adapter import LIBRARIES, NOW, run
from tests.ib.wire import BookContract

pytestmark = pytest.mark.skipif(not LIBRARIES, reason="no IB client library is installed")


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _mkt(gw: FakeGateway, snapshot: bool) -> list[list[str]]:
    return [f for f in gw.requests_of(1) if (f[17] == "1") is snapshot]


def _streamed(gw: FakeGateway) -> set[int]:
    return {contract.con_id for _, contract in gw.streams.values()}


def test_indices_and_futures_are_streamed_once(library: str) -> None:
    """The indices and VX futures are subscribed on the first read and read again with no
    request; the quotes follow the stream (a later tick is a later time)."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        first = await broker.index_quotes()
        await broker.vix_futures()
        asked = len(gw.requests_of(1))
        assert _mkt(gw, snapshot=False) and not _mkt(gw, snapshot=True)
        await asyncio.sleep(3 * gw.stream_interval_s)
        again = await broker.index_quotes()
        await broker.vix_futures()
        assert len(gw.requests_of(1)) == asked  # nothing asked twice
        assert again["SPX"].time >= first["SPX"].time
        indices = {SPX.con_id, VIX.con_id, VIX3M.con_id}
        assert indices | {FUTURES[0].con_id, FUTURES[1].con_id} <= _streamed(gw)

    run(library, body)


def test_held_legs_streamed_the_rest_snapshotted_and_dropped_when_sold(library: str) -> None:
    """After positions(), a held leg's quote comes from a standing stream and any other
    option from a snapshot; a leg no longer held has its stream cancelled."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        held = option("VIX", VIX_DEC, 30.0, "C")
        other = option("VIX", VIX_DEC, 20.0, "P")
        positions = await broker.positions()
        legs = {p.contract.con_id: p.contract for p in positions}
        asked = [legs[held.con_id], _core(other)]
        quotes = await broker.option_quotes(asked)
        assert quotes[0].quote.bid == gw.book.quotes[held.con_id].bid
        assert held.con_id in _streamed(gw) and other.con_id not in _streamed(gw)
        assert len(_mkt(gw, snapshot=True)) == 1  # the other leg only
        gw.book.positions = [p for p in gw.book.positions if p[0].con_id != held.con_id]
        await broker.positions()
        await asyncio.sleep(0.05)  # the cancel is on its way to the gateway
        assert held.con_id not in _streamed(gw)

    run(library, body)


def test_1101_renews_the_streams(library: str) -> None:
    """IB's 1101 (restored, market data lost) drops the standing subscriptions: the next
    read subscribes again instead of reading a ticker that will never tick."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        await broker.index_quotes()
        before = len(_mkt(gw, snapshot=False))
        await gw.broadcast_error(1101, "Connectivity restored - data lost.")
        await asyncio.sleep(0.05)
        await broker.index_quotes()
        assert len(_mkt(gw, snapshot=False)) == before + 3

    run(library, body)


@pytest.mark.parametrize(("budget_s", "ran_out"), [(0.1, True), (5.0, False)])
def test_slow_snapshots_finish_in_budget_or_name_the_phase(
    library: str, budget_s: float, ran_out: bool
) -> None:
    """Option snapshots taking 0.3 s each: within a 5 s options budget the snapshot is
    whole; with 0.1 s the cycle's error names the options phase and its setting."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.snapshot_delay_s = 0.3
        budgets = SnapshotParams().phase_budgets.model_copy(update={"options_s": budget_s})
        params = SnapshotParams().model_copy(update={"phase_budgets": budgets})
        taker = SnapshotTaker(broker, ModelParams(), params, ())
        if ran_out:
            with pytest.raises(BrokerTimeout, match=r"'options'.*phase_budgets\.options_s"):
                await taker.take(NOW)
        else:
            snapshot = await taker.take(NOW)
            held = {p.contract.key for p in snapshot.positions if p.contract.is_option}
            assert held <= {q.contract.key for q in snapshot.options}

    run(library, body, request_timeout_s=5.0)


def _core(c: BookContract) -> Contract:
    """The core contract of a book VIX option, without its conId (as a candidate is asked)."""
    return Contract("VIX", SecType.OPTION, "VIX", VIX_DEC, c.strike, Right(c.right))
