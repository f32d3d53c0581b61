"""IbBroker driving the real IB client library against the fake gateway over loopback.

Runs with whichever of ib_async / ib_insync is installed (they cannot share a venv:
``make test-ib-insync`` runs this file under ib_insync). The expected values come from the
fake's book, declared by hand in tests/ib/book.py, never from the adapter.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import structlog

from daemon.brokers.ib import IbBroker
from daemon.brokers.ib.client import load_library
from daemon.brokers.ib.params import IbParams
from daemon.core.broker import (
    AccountInfo,
    ConnectionState,
    OrderEvent,
    OrderEventStream,
)
from daemon.core.calendar import NY
from daemon.core.models import Contract, FeedKind, Right, SecType
from daemon.core.params import ModelParams
from daemon.core.quote_checks import DataProblemCode, check_quote
from daemon.errors import BrokerDisconnected, BrokerError, BrokerTimeout
from tests.ib.book import (
    AAPL,
    SPX_MONTHLY,
    SPX_SESSIONS,
    SPXW_A,
    SPXW_B,
    VIX_DEC,
    Book,
    option,
)
from tests.ib.fake_gateway import FakeGateway

LIBRARIES = [n for n in ("ib_async", "ib_insync") if importlib.util.find_spec(n) is not None]
pytestmark = pytest.mark.skipif(not LIBRARIES, reason="no IB client library is installed")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=NY)  # a Tuesday, the session in progress
Body = Callable[[IbBroker, FakeGateway], Awaitable[None]]


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(
    library: str,
    body: Body,
    book: Book | None = None,
    setup: Callable[[FakeGateway], None] | None = None,
    connect: bool = True,
    **overrides: Any,
) -> None:
    """Start the fake gateway, build the broker on its port, run ``body``, tear down."""

    async def go() -> None:
        async with FakeGateway(book) as gw:
            if setup is not None:
                setup(gw)
            settings = {"connect_timeout_s": 2.0, "request_timeout_s": 2.0, **overrides}
            params = IbParams(port=gw.port, library=library, **settings)  # type: ignore[arg-type]
            broker = IbBroker(params, clock=lambda: NOW, library=load_library(library))
            try:
                if connect:
                    await broker.connect()
                await asyncio.wait_for(body(broker, gw), 10.0)
            finally:
                await broker.close()

    asyncio.run(go())


def spxw(expiry: date, strike: float, right: Right) -> Contract:
    return Contract("SPX", SecType.OPTION, "SPXW", expiry, strike, right)


async def until_state(broker: IbBroker, state: ConnectionState) -> None:
    while broker.connection_state is not state:
        await asyncio.sleep(0.01)


async def reconnects_after_a_lost_socket(broker: IbBroker, gw: FakeGateway) -> None:
    """A broker whose socket was lost refuses calls until it connects again, then reads
    the book again over a second handshake."""
    with pytest.raises(BrokerDisconnected):
        await broker.positions()
    await broker.connect()
    assert broker.connection_state is ConnectionState.CONNECTED
    assert len(gw.handshakes) == 2
    assert len(await broker.positions()) == 4


async def until_terminal(stream: OrderEventStream, order_id: int) -> list[OrderEvent]:
    events: list[OrderEvent] = []
    async for event in stream:
        if event.state.order_id == order_id:
            events.append(event)
            if event.state.status.is_terminal:
                break
    return events


# ---- connection and account ----------------------------------------------------------------
@pytest.mark.parametrize(("account", "paper"), [("DU1234567", True), ("U7654321", False)])
def test_connect_handshake_and_account(library: str, account: str, paper: bool) -> None:
    """connect() completes the v176 handshake and start-up sync; DU accounts are paper."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        assert broker.connection_state is ConnectionState.CONNECTED
        low, high = gw.handshakes[0].removeprefix("v").split("..")
        assert int(low) <= 176 <= int(high)
        assert gw.requests_of(71)[0][2] == "17"  # startApi with the configured client id
        await broker.positions()  # a round trip: the gateway has read all sent before
        assert gw.market_data_types == [1]  # "live"
        assert await broker.account() == AccountInfo(account, is_paper=paper)

    book = Book(account=account)
    run(library, body, book=book)


def test_client_id_in_use_fails_fast(library: str) -> None:
    """Error 326 during the handshake raises BrokerDisconnected without waiting it out."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        started = time.monotonic()
        with pytest.raises(BrokerDisconnected, match=r"326.*every client id of 17\.\.19"):
            await broker.connect()
        assert time.monotonic() - started < 1.5
        assert broker.connection_state is ConnectionState.DISCONNECTED
        assert [f[2] for f in gw.requests_of(71)] == ["17", "18", "19"]  # the pool, in turn

    run(
        library,
        body,
        setup=lambda gw: setattr(gw, "client_id_in_use", True),
        connect=False,
        client_id_pool_size=3,
    )


def test_326_rotates_to_the_next_free_client_id_and_back(library: str) -> None:
    """326 on the configured id: the next id of the pool connects, the rotation is logged;
    a later connect starts again from the configured id once it is free."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.busy_client_ids.add(17)
        with structlog.testing.capture_logs() as logs:
            await broker.connect()
        assert broker.connection_state is ConnectionState.CONNECTED
        assert [f[2] for f in gw.requests_of(71)] == ["17", "18"]
        rotated = [e for e in logs if e["event"] == "ib_client_id_rotated"]
        assert [(e["from_id"], e["to_id"]) for e in rotated] == [(17, 18)]
        await broker.close()
        gw.busy_client_ids.clear()
        await broker.connect()
        assert [f[2] for f in gw.requests_of(71)] == ["17", "18", "17"]

    run(library, body, connect=False)


def test_drop_after_1100_then_reconnect(library: str) -> None:
    """After 1100 and a dropped socket the next call raises BrokerDisconnected; connect()
    works again."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        await gw.drop_with_1100()
        await until_state(broker, ConnectionState.DISCONNECTED)
        await reconnects_after_a_lost_socket(broker, gw)

    run(library, body)


def test_1100_without_drop_until_1102(library: str) -> None:
    """While the gateway has no link to IB (1100, socket open) calls raise
    BrokerDisconnected; after 1102 connect() returns on the same socket and calls work."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        await gw.broadcast_error(1100, "Connectivity between IB and TWS has been lost.")
        await until_state(broker, ConnectionState.DISCONNECTED)
        with pytest.raises(BrokerDisconnected, match="1100"):
            await broker.index_quotes()
        await gw.broadcast_error(1102, "Connectivity between IB and TWS has been restored.")
        await broker.connect()
        assert broker.connection_state is ConnectionState.CONNECTED
        assert len(gw.handshakes) == 1
        assert (await broker.index_quotes())["VIX"].last == 17.45

    run(library, body)


def test_unanswered_request_times_out(library: str) -> None:
    """A request the gateway never answers raises BrokerTimeout after request_timeout_s,
    and the connection stays usable."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.silent.add(78)  # reqSecDefOptParams
        started = time.monotonic()
        with pytest.raises(BrokerTimeout):
            await broker.option_expiries("SPX", "SPXW")
        assert 0.45 <= time.monotonic() - started < 1.2
        assert (await broker.index_quotes())["SPX"].last == 5950.25

    run(library, body, request_timeout_s=0.5)


# ---- positions and quotes ---------------------------------------------------------------------
def test_positions_map_options_and_pass_other_contracts(library: str) -> None:
    """SPX (AM, expiry from the OCC symbol), SPXW and VIX options map to core contracts; a
    stock passes through as an OTHER contract."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        got = {p.contract.con_id: p for p in await broker.positions()}
        spx = option("SPX", SPX_MONTHLY, 5800.0, "P")
        want = {
            spx.con_id: (Contract("SPX", SecType.OPTION, "SPX", SPX_MONTHLY, 5800.0, Right.PUT,
                                  100, spx.con_id), -2, 1250.0),
            option("SPXW", SPXW_A, 6000.0, "C").con_id: (
                spxw(SPXW_A, 6000.0, Right.CALL), 3, 4010.5),
            option("VIX", VIX_DEC, 30.0, "C").con_id: (
                Contract("VIX", SecType.OPTION, "VIX", VIX_DEC, 30.0, Right.CALL), 10, 95.0),
            AAPL.con_id: (Contract("AAPL", SecType.OTHER, "", multiplier=1), 100, 187.25),
        }  # fmt: skip
        assert set(got) == set(want)
        for con_id, (contract, qty, cost) in want.items():
            p = got[con_id]
            assert (p.quantity, p.avg_cost_usd) == (qty, cost)
            assert p.contract.sec_type is contract.sec_type
            assert p.contract.symbol == contract.symbol
            assert p.contract.multiplier == contract.multiplier
            if contract.is_option:
                assert p.contract.key == contract.key  # class, expiry, strike, right

    run(library, body)


@pytest.mark.parametrize(
    ("data_type", "code", "feed"),
    [("live", 1, FeedKind.LIVE), ("delayed", 3, FeedKind.DELAYED), ("frozen", 2, FeedKind.FROZEN)],
)
def test_index_quotes(library: str, data_type: str, code: int, feed: FeedKind) -> None:
    """SPX, VIX and VIX3M: the last price, no sides, stamped when the ticks arrived, in
    the configured market data type, which each quote carries as its feed."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        before = datetime.now(UTC)
        quotes = await broker.index_quotes()
        after = datetime.now(UTC)
        assert gw.market_data_types == [code]
        assert {k: q.last for k, q in quotes.items()} == {
            "SPX": 5950.25,
            "VIX": 17.45,
            "VIX3M": 19.1,
        }
        for q in quotes.values():
            assert q.bid is None and q.ask is None
            assert before <= q.time <= after
            assert q.feed is feed

    run(library, body, market_data_type=data_type)


def test_delayed_quotes_fail_validation_whatever_their_stamp(library: str) -> None:
    """With 10167 (delayed data shown instead of live) a freshly stamped SPX quote is still
    STALE for the cycle's checks: no proposal can be made on it."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        quotes = await broker.index_quotes()
        checked = check_quote(quotes["SPX"], "SPX", quotes["SPX"].time, ModelParams(), index=True)
        assert checked.value is None and checked.stale
        assert [p.code for p in checked.problems] == [DataProblemCode.STALE]
        assert "delayed" in checked.problems[0].detail
        assert any(f[0] == "1" for f in gw.requests)  # the snapshot did go out

    run(library, body, market_data_type="delayed")


def test_option_quotes_sides_and_model_iv(library: str) -> None:
    """Missing sides are None, the model IV is carried, an unlisted contract has no sides,
    order is kept and snapshots go out in batches of at most snapshot_batch_size."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.snapshot_delay_s = 0.05
        held = option("VIX", VIX_DEC, 30.0, "C").con_id  # known by conId, as positions are
        asked = [
            spxw(SPXW_A, 5800.0, Right.PUT),  # bid -1 size 0
            spxw(SPXW_A, 6000.0, Right.CALL),  # no model computation
            Contract("SPX", SecType.OPTION, "SPX", SPX_MONTHLY, 6000.0, Right.CALL),
            Contract("VIX", SecType.OPTION, "VIX", VIX_DEC, 20.0, Right.PUT),
            spxw(SPXW_A, 6100.0, Right.CALL),  # not listed
            Contract("VIX", SecType.OPTION, "VIX", VIX_DEC, 30.0, Right.CALL, con_id=held),
        ]
        quotes = await broker.option_quotes(asked)
        assert [q.contract for q in quotes] == asked
        book = gw.book.quotes
        spx_c = book[option("SPX", SPX_MONTHLY, 6000.0, "C").con_id]
        vix_p = book[option("VIX", VIX_DEC, 20.0, "P").con_id]
        vix_c = book[held]
        got = [(q.quote.bid, q.quote.ask, q.quote.model_iv_sigma) for q in quotes]
        assert got == [
            (None, 0.05, 0.31),
            (40.1, 40.6, None),
            (spx_c.bid, spx_c.ask, spx_c.model_iv),
            (vix_p.bid, vix_p.ask, vix_p.model_iv),
            (None, None, None),
            (vix_c.bid, vix_c.ask, vix_c.model_iv),
        ]
        assert gw.max_open_snapshots == 2

    run(library, body, snapshot_batch_size=2)


def test_no_market_data_permission_is_a_broker_error(library: str) -> None:
    """Error 354 on a snapshot raises BrokerError naming the instrument."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.no_market_data.add("VIX3M")
        with pytest.raises(BrokerError, match=r"VIX3M.*354"):
            await broker.index_quotes()

    run(library, body)


def test_refusal_names_a_held_leg_known_by_con_id(library: str) -> None:
    """A 354 on a held leg asked for by conId (the library contract has no symbol) names the
    leg as the daemon knows it, not an empty string."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        gw.no_market_data.add("VIX")
        held = option("VIX", VIX_DEC, 30.0, "C").con_id
        leg = Contract("VIX", SecType.OPTION, "VIX", VIX_DEC, 30.0, Right.CALL, con_id=held)
        with pytest.raises(BrokerError) as caught:
            await broker.option_quotes([leg])
        assert f"permission for {leg.key} (354" in str(caught.value)

    run(library, body)


def test_vix_futures_monthlies_by_settlement_date(library: str) -> None:
    """VIX futures are keyed by final settlement date; weeklies and minis are left out."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        futures = await broker.vix_futures()
        assert list(futures) == [date(2026, 12, 16), date(2027, 1, 20)]
        assert [(q.bid, q.ask) for q in futures.values()] == [(18.1, 18.2), (19.0, 19.15)]

    run(library, body)


def test_option_expiries_from_sec_def_and_strikes_per_expiry(library: str) -> None:
    """Expiries come from the sec-def parameters (AM classes mapped from the last trading
    day to settlement); strikes are the chosen expiry's own, not the class's union."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        assert await broker.option_expiries("SPX", "SPXW") == [SPXW_A, SPXW_B]
        assert await broker.option_expiries("SPX", "SPX") == [SPX_MONTHLY]
        assert await broker.option_expiries("VIX", "VIX") == [VIX_DEC]
        assert await broker.option_strikes("SPX", "SPXW", SPXW_B) == [5850.0, 6050.0]
        assert await broker.option_strikes("SPX", "SPX", SPX_MONTHLY) == [5800.0, 6000.0]

    run(library, body)


# ---- history ---------------------------------------------------------------------------------
def test_spx_history_is_completed_sessions_only(library: str) -> None:
    """Daily TRADES bars in regular hours; the bar of the session in progress is dropped."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        bars = await broker.spx_daily_history(5)
        days = [date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in SPX_SESSIONS[-6:-1]]
        assert [b.day for b in bars] == days
        assert [b.close for b in bars] == [5800.0 + 5 * i for i in range(17, 22)]
        request = gw.history_requests[0]
        assert (request["bar_size"], request["what"], request["use_rth"]) == (
            "1 day",
            "TRADES",
            "1",
        )
        assert len(await broker.spx_daily_history(100)) == len(SPX_SESSIONS) - 1

    run(library, body)


def test_breadth_history_when_listed(library: str) -> None:
    """With ADV/DECL/UNCH-NYSE listed, each session's closes become one BreadthDay."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        days = await broker.breadth_history(2)
        assert [(d.day, d.advancing, d.declining, d.unchanged) for d in days] == [
            (date(2026, 11, 20), 1520, 1280, 102),
            (date(2026, 11, 23), 1521, 1279, 100),
        ]

    book = Book()
    book.list_breadth()
    run(library, body, book=book)


def test_breadth_history_unavailable_is_a_broker_error(library: str) -> None:
    """Without the breadth indices at IB, breadth_history raises BrokerError naming the
    symbol, and does not ask again on the same connection."""

    async def body(broker: IbBroker, gw: FakeGateway) -> None:
        for _ in range(2):
            with pytest.raises(BrokerError, match="ADV-NYSE"):
                await broker.breadth_history(5)
        assert sum("ADV-NYSE" in f for f in gw.requests_of(9)) == 1

    run(library, body)
